"""Sentences stay whole: join a line break that falls inside a sentence.

PDF and docx previews, fixed-width transcriptions and ``<br>``-wrapped blocks
break lines wherever the width ran out ("…交出一份人" / "民满意的答卷。").
Stored that way, a sentence is cut in two: the 例句 view shows half of it and a
phrase query across the break fails.

Two predicates share one definition of the shape:

* :func:`suspect_break` (used to *count* over stored texts, which have no blank
  lines: ``python -m indexer.evaluate``): the line ends inside a sentence — with an
  ideograph, a letter/digit or a comma-like mark, not a terminal mark — is not a
  heading, list item or table row, and the next line starts with text.
* :func:`should_join` (used to *join*, before blank lines are dropped): the same
  shape, with at most one blank line between the pieces, and only after a long line
  when there is one (a heading is shorter and is followed by more white space).

Never joined: a heading (numbered "一、…", "（一）…", "第一章…", or a short line that
does not end with a comma-like mark), a list item, a table row, on either side.
"""
from __future__ import annotations

import itertools
import re

from . import rules

#: Marks after which a line may end inside a sentence.
_OPEN_END = "，、《“「『（(—-"
#: A line starting with one of these continues a sentence.
_CONT_START = re.compile(r"[\u4e00-\u9fffA-Za-z0-9０-９“《「『（(]")
#: List items and numbered headings (either side of a break is never joined across them).
_ITEM = re.compile(
    r"^(?:[一二三四五六七八九十百]+\s*[、.．]|[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|\d{1,3}\s*[、.．)）](?!\d)|第[一二三四五六七八九十百\d]+[章节条部分篇]"
    r"|[①-⑳]|[一二三四五六七八九十]是|[•·●○■□◆◇▪\-*]\s|篇\s*[0-9一二三四五六七八九十])"
)
_SENTENCE_PUNCT = re.compile(r"[，。；！？、,;]")
_CELL_GAP = re.compile(r"\S\s{2,}\S|\t|\|")
#: A line at least this long is prose even without punctuation (headings are shorter).
PROSE_LEN = 40
#: Lines shorter than this are never counted as ending inside a sentence (titles, names, dates).
MIN_SUSPECT_LEN = 15


def _ends_open(line: str) -> bool:
    last = line[-1]
    if last in rules.TERMINAL and last not in _OPEN_END:
        return False
    return last in _OPEN_END or last.isalnum()


def _table_row(line: str) -> bool:
    return bool(_CELL_GAP.search(line)) and not _SENTENCE_PUNCT.search(line)


def wrap_width(lines: list[str]) -> int | None:
    """The line width of a fixed-width transcription, when the text has one: a length
    (of lines of 15+ characters) shared by at least 3 lines and a quarter of them."""
    lengths = [len(ln) for ln in lines if len(ln) >= MIN_SUSPECT_LEN]
    if len(lengths) < 3:
        return None
    counts: dict[int, int] = {}
    for n in lengths:
        counts[n] = counts.get(n, 0) + 1
    width, k = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
    return width if k >= 3 and k * 4 >= len(lengths) else None


def suspect_break(prev: str, nxt: str, width: int | None = None) -> bool:
    """The break between ``prev`` and ``nxt`` falls inside a sentence.

    ``prev`` ends inside a sentence (an ideograph, letter or digit, or a comma-like
    mark), is not a numbered heading, list item or table row, and is either long
    (``PROSE_LEN``: headings are shorter), or as long as the text's fixed ``width``,
    or ends with a comma-like mark (a heading never does); ``nxt`` starts with text and
    is not a list item or table row.
    """
    if not prev or not nxt or len(prev) < MIN_SUSPECT_LEN:
        return False
    if not _ends_open(prev) or not _CONT_START.match(nxt) or _ITEM.match(nxt):
        return False
    if _ITEM.match(prev) and len(prev) <= 60:  # a numbered heading or list item ends where it ends
        return False
    if _table_row(prev) or _table_row(nxt):
        return False
    return prev[-1] in _OPEN_END or len(prev) >= PROSE_LEN or (width is not None and len(prev) >= width)


def should_join(prev: str, nxt: str, blanks_between: int = 0, width: int | None = None) -> bool:
    """Join ``nxt`` onto ``prev``: a mid-sentence break with no blank line between, or one
    blank line after a long line (transcriptions that put an empty line in every wrap;
    a heading is followed by more white space and is shorter)."""
    if blanks_between > 1 or (blanks_between == 1 and len(prev) < PROSE_LEN):
        return False
    return suspect_break(prev, nxt, width)


def _glue(a: str, b: str) -> str:
    """Join two pieces; one space between two Latin letters (an English word wrap), none
    otherwise (Chinese, and 'PM' + '2.5')."""
    if a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha():
        return a + " " + b
    return a + b


def join_broken_sentences(lines: list[str]) -> list[str]:
    """Join lines where a sentence was broken (see :func:`should_join`); other blanks are kept."""
    out: list[str] = []
    blanks = 0
    width = wrap_width(lines)
    for ln in lines:
        if not ln:
            blanks += 1
            out.append(ln)
            continue
        last = len(out) - 1 - blanks  # index of the previous non-blank line
        if last >= 0 and out[last] and should_join(out[last], ln, blanks, width) and len(out[last]) + len(ln) < 20000:
            out[last] = _glue(out[last], ln)
            del out[last + 1 :]  # the single blank line inside the sentence goes too
        else:
            out.append(ln)
        blanks = 0
    return out


def count_suspect_breaks(text: str) -> int:
    """Number of line breaks in ``text`` that look mid-sentence (consecutive lines only)."""
    lines = [ln.strip() for ln in text.split("\n")]
    width = wrap_width(lines)
    return sum(1 for a, b in itertools.pairwise(lines) if suspect_break(a, b, width))


def suspect_examples(text: str, limit: int = 3) -> list[str]:
    """A few suspect breaks as 'end of line ⏎ start of next' (for the evaluation report)."""
    lines = [ln.strip() for ln in text.split("\n")]
    width = wrap_width(lines)
    out = []
    for a, b in itertools.pairwise(lines):
        if suspect_break(a, b, width):
            out.append(f"…{a[-15:]}⏎{b[:15]}…")
            if len(out) >= limit:
                break
    return out
