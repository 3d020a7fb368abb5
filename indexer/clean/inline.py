"""Chrome that sits *inside* a line of report text, and the docx-preview chunk joiner.

* inline adverts in brackets, cut into a word: "改(工作总结之家:;卫生资讯网:;卫生健康网:)革" → "改革";
* page markers glued into a paragraph: "… 第9页 共9页", "文档名第3页";
* preview notices inside a paragraph: "……(某文库此处省略1078字。点击下载全文)……";
* docx preview chunks: a 文库 site prints a document as numbered chunks
  "1、…落实方\\n\\n2、针政策…" whose numbers cut words in two.  The chunk numbers
  are removed and the halves joined; real list items ("2、宣传防艾知识") stay.

All regexes use bounded quantifiers over negated classes: linear time.
"""
from __future__ import annotations

import itertools
import re

from .rules import PAGE_MARK, TERMINAL

# ≥2 "name:value" fields separated by ';' inside brackets: a keyword-stuffing advert.
_AD_PARENS = re.compile(
    r"[（(](?:[^()（）\n:：;；]{1,24}[:：][^()（）\n;；]{0,60}[;；]){1,8}[^()（）\n:：;；]{1,24}[:：][^()（）\n;；]{0,60}[)）]"
)
_PREVIEW_PARENS = re.compile(r"…*\s*[（(][^()（）\n]{0,80}此处省略[^()（）\n]{0,80}[)）]\s*…*")
_PAGE_MARK_SP = re.compile(r"\s*" + PAGE_MARK.pattern + r"\s*")
_CHUNK = re.compile(r"^(\d{1,3})、")


def strip_inline(line: str, heading: str | None = None) -> str:
    """Remove inline adverts, preview notices and page markers from one line."""
    if not line:
        return line
    if "(" in line or "（" in line:
        if ":" in line or "：" in line:
            line = _AD_PARENS.sub("", line)
        if "此处省略" in line:
            line = _PREVIEW_PARENS.sub("", line)
    if "页" in line:
        line = _PAGE_MARK_SP.sub(" ", line).strip()
        if heading and len(heading) >= 4 and heading in line:
            line = re.sub(re.escape(heading) + r"\s*第\s*\d{1,4}\s*页", "", line).strip()
    return line


def join_docx_chunks(lines: list[str]) -> tuple[list[str], bool]:
    """Join numbered docx-preview chunks back into running text.

    A run qualifies when the numbers start at 1 and go up by one, there are at
    least three chunks, the chunks are long (a site cuts a fixed number of
    characters) and most chunk boundaries fall mid-sentence.  List items of a
    report fail those tests: they are short, or each ends its sentence.
    Returns the new lines and whether a run was joined.
    """
    idx = [i for i, ln in enumerate(lines) if ln and _CHUNK.match(ln)]
    if len(idx) < 3:
        return lines, False
    # find the longest run numbered 1,2,3,… among non-blank lines
    runs: list[list[int]] = []
    cur: list[int] = []
    for i in idx:
        n = int(_CHUNK.match(lines[i]).group(1))  # type: ignore[union-attr]
        if n == 1:
            if len(cur) >= 3:
                runs.append(cur)
            cur = [i]
        elif cur and n == len(cur) + 1:
            cur.append(i)
        else:
            if len(cur) >= 3:
                runs.append(cur)
            cur = []
    if len(cur) >= 3:
        runs.append(cur)
    if not runs:
        return lines, False
    run = max(runs, key=len)
    # only blank lines may sit between chunks
    for a, b in itertools.pairwise(run):
        if any(lines[k] for k in range(a + 1, b)):
            return lines, False
    bodies = [_CHUNK.sub("", lines[i], count=1) for i in run]
    mean_len = sum(len(b) for b in bodies) / len(bodies)
    mid = sum(1 for b in bodies[:-1] if b and b[-1] not in TERMINAL)
    if mean_len < 150 or mid < max(1, (len(bodies) - 1) // 2):
        return lines, False
    text = bodies[0]
    for b in bodies[1:]:
        text += b if (text and text[-1] not in TERMINAL) else " " + b
    new = lines[: run[0]] + split_spaced_paragraphs(text) + lines[run[-1] + 1 :]
    return new, True


_PARA_SPACE = re.compile(r"(?<=[^\x00-\x7f]) +(?=[^\x00-\x7f])")


def split_spaced_paragraphs(text: str) -> list[str]:
    """A docx preview joins paragraphs with one space: put them back on lines."""
    return [p.strip() for p in _PARA_SPACE.split(text) if p.strip()]
