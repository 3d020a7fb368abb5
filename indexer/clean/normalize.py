"""Character-level normalisation done before any rule looks at a page.

Scraped pages mix full-width spaces, NBSP, zero-width marks, CR/LF styles and
control characters; rules are written once against the normalised form so that
each rule does not need its own whitespace handling.  Everything here is linear
in the input size (str.translate and a few simple, non-backtracking regexes).
"""
from __future__ import annotations

import re

# Characters that are whitespace for a reader but not for ``str.split``, or
# invisible marks that break the line-shape regexes.
_TRANSLATE = {
    0x00A0: " ",  # NBSP
    0x3000: " ",  # ideographic space: pages indent paragraphs with it
    0x2002: " ", 0x2003: " ", 0x2009: " ", 0x202F: " ", 0x205F: " ",
    0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None, 0x00AD: None,
    0x2028: "\n", 0x2029: "\n", 0x0085: "\n",
    0x000B: "\n", 0x000C: "\n",
}
# C0/C1 control characters other than \t \n \r: random bytes decoded as str.
for _c in list(range(0x09)) + list(range(0x0E, 0x20)) + [0x7F] + list(range(0x80, 0x85)) + list(range(0x86, 0xA0)):
    _TRANSLATE.setdefault(_c, None)
_TRANSLATE_STR = {chr(k): v or "" for k, v in _TRANSLATE.items()}
_TRANSLATABLE = re.compile("[" + "".join(re.escape(c) for c in sorted(_TRANSLATE_STR)) + "]")
# Lone surrogates (from surrogateescape decoding) cannot be encoded later.
_SURROGATES = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t]+")

#: A line longer than this is cut into pieces at sentence ends before the line
#: rules run, so no rule ever works on a multi-megabyte string at once.
MAX_LINE = 20_000


def normalize_text(text: str) -> str:
    """Return ``text`` with unified newlines, spaces and no control characters."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # == text.translate(_TRANSLATE): translate looks every character up in the dict (slow on
    # CJK text), while a page holds only a few distinct characters to change, usually none
    # (no replacement is itself a key, so the order of the replacements does not matter)
    for ch in set(_TRANSLATABLE.findall(text)):
        text = text.replace(ch, _TRANSLATE_STR[ch])
    if _SURROGATES.search(text):
        text = _SURROGATES.sub("", text)
    return text


def split_lines(text: str) -> list[str]:
    """Split normalised text into stripped lines, keeping blank lines as ``""``.

    Blank lines are kept because the number of blank lines between blocks is
    evidence for the article splitter (a report title is followed by more white
    space than a heading inside a report).  Over-long lines are cut.
    """
    out: list[str] = []
    for line in text.split("\n"):
        if "\t" in line or "  " in line:  # (a lone space is already what the sub makes of it)
            line = _SPACES.sub(" ", line)
        line = line.strip()
        if len(line) > MAX_LINE:
            out.extend(_cut_long(line))
        else:
            out.append(line)
    return out


def _cut_long(line: str) -> list[str]:
    """Cut a very long line at sentence ends (or hard at MAX_LINE)."""
    pieces: list[str] = []
    start = 0
    n = len(line)
    while start < n:
        end = min(start + MAX_LINE, n)
        if end < n:
            cut = max(line.rfind("。", start, end), line.rfind(". ", start, end))
            if cut > start + MAX_LINE // 2:
                end = cut + 1
        pieces.append(line[start:end].strip())
        start = end
    return [p for p in pieces if p]


_CJK_RUN = re.compile("[\u4e00-\u9fff]+")


def cjk_count(s: str) -> int:
    """Number of CJK ideographs in ``s`` (a cheap 'is this prose' measure).

    Summed over runs found by a regex: called on every line of every page, and a
    per-character generator was ~6× slower.
    """
    return sum(map(len, _CJK_RUN.findall(s)))
