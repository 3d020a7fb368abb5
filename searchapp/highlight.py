"""Snippets and highlights computed from the stored text, without re-segmenting it.

Page text is data, never markup: every piece of text is escaped and only the
``<mark>`` tags this module adds are markup.
"""
from __future__ import annotations

from markupsafe import Markup, escape

MAX_MATCHES = 2000


def find_spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans where any needle occurs (case-insensitive), longest first."""
    if not text or not needles:
        return []
    low = text.lower()
    taken = bytearray(len(text))
    spans: list[tuple[int, int]] = []
    for needle in sorted({n.lower() for n in needles if n}, key=len, reverse=True):
        start = 0
        while len(spans) < MAX_MATCHES:
            i = low.find(needle, start)
            if i < 0:
                break
            j = i + len(needle)
            if not any(taken[i:j]):
                spans.append((i, j))
                taken[i:j] = b"\x01" * (j - i)
            start = i + 1
    spans.sort()
    return spans


def mark(text: str, spans: list[tuple[int, int]], offset: int = 0) -> Markup:
    """Escape ``text`` and wrap the spans (relative to ``offset``) in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for s, e in spans:
        s, e = s - offset, e - offset
        if e <= 0 or s >= len(text):
            continue
        s, e = max(s, 0), min(e, len(text))
        out.append(str(escape(text[pos:s])))
        out.append("<mark>" + str(escape(text[s:e])) + "</mark>")
        pos = e
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def highlight(text: str, needles: list[str]) -> Markup:
    """The whole text, escaped, with every occurrence of the needles marked."""
    return mark(text, find_spans(text, needles))


def snippet(text: str, needles: list[str], width: int = 160) -> Markup:
    """A window of about ``width`` characters where the most (and longest) needles occur, marked.

    Without matches (browsing, or a match only in the title) it is the start of
    the text.
    """
    flat = " ".join(text.split())
    spans = find_spans(flat, needles)
    if not spans:
        cut = flat[:width]
        return Markup(str(escape(cut)) + ("…" if len(flat) > width else ""))
    lowered = {n.lower() for n in needles}
    best, best_score = spans[0][0], -1
    for anchor, _ in spans[:200]:
        lo = max(0, anchor - width // 4)
        window = flat[lo:lo + width].lower()
        # a needle weighs its length squared: the whole phrase (卫生监督) outweighs its words
        # (卫生, 监督) scattered over the window
        score = sum(len(n) ** 2 for n in lowered if n in window)
        if score > best_score:
            best, best_score = anchor, score
    lo = max(0, best - width // 4)
    hi = min(len(flat), lo + width)
    inside = [(s, e) for s, e in spans if s < hi and e > lo]
    body = mark(flat[lo:hi], inside, offset=lo)
    return Markup(("…" if lo > 0 else "") + str(body) + ("…" if hi < len(flat) else ""))
