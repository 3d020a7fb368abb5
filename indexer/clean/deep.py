"""Flatten absurdly deep tag nesting before the HTML parser sees it.

Why: libxml2 (lxml's parser) stops building the tree past a fixed depth (256
levels, 2,048 with ``huge_tree``) and, with ``recover=True``, silently drops
everything below it.  A page wrapped in 5,000 ``<div>``s (machine-generated, or
hostile) then came out with an empty body and was reported as "no report text
found".  No real page needs more than a few dozen levels, so the tags below
:data:`MAX_DEPTH` are removed and their text kept in place: the report reads as
it did, only the markup deeper than the limit is gone.

The pass is a single scan over the tags with a stack (no recursion).  It costs
about a tenth of cleaning a page, so ``indexer.clean.html.parse`` runs it only
when libxml2 reports that it hit its depth limit.
"""
from __future__ import annotations

import re

MAX_DEPTH = 512  # tags nested deeper than this are dropped (their text is kept)

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:_-]*)\b[^>]*?(/?)>|<!--.*?-->|<![^>]*>|<\?[^>]*>", re.DOTALL)
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
                   "track", "wbr", "basefont", "bgsound", "frame", "keygen", "isindex"))
_RAW = frozenset(("script", "style", "textarea", "title", "xmp", "plaintext", "noscript"))


def flatten_deep(html: str, max_depth: int = MAX_DEPTH) -> str:
    """``html`` with every tag nested deeper than ``max_depth`` removed (text kept); unchanged if none is."""
    if html.count("<") <= max_depth:  # fewer tags than levels: cannot be too deep
        return html
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # (tag name, dropped)
    last = 0
    changed = False
    raw_until: str | None = None  # inside <script>…: tags are text until its end tag
    for m in _TAG.finditer(html):
        closing, name, selfclose = m.group(1), m.group(2), m.group(3)
        if name is None:  # comment, doctype, processing instruction
            continue
        name = name.lower()
        if raw_until is not None:
            if closing and name == raw_until:
                raw_until = None
            else:
                continue
        drop = False
        if closing:
            for k in range(len(stack) - 1, -1, -1):  # HTML is lenient: close up to the matching open tag
                if stack[k][0] == name:
                    drop = stack[k][1]
                    del stack[k:]
                    break
            else:
                drop = len(stack) >= max_depth  # a stray end tag down there: as deep as its neighbours
        elif name in _VOID or selfclose:
            drop = False
        else:
            drop = len(stack) >= max_depth
            stack.append((name, drop))
            if name in _RAW:
                raw_until = name
        if drop:
            out.append(html[last:m.start()])
            last = m.end()
            changed = True
    if not changed:
        return html
    out.append(html[last:])
    return "".join(out)
