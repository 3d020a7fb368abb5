"""Year facet: the year a report *covers*, which is not the year it was published.

Evidence, strongest first: a year in the title (2020年…工作总结, 2026年政府工作报告);
years in the text, Arabic or Chinese digit-by-digit (二〇二六年, 二○一○年), weighted by
frequency and context (a full date, 全年/年度/以来 next to it); the publish date only
supports a candidate, it never creates one (a plan published in December covers next
year, a summary published in January covers last year: the date alone is a guess).

Template sites mask the report's own year (20xx, 20XX, 20*, 20**, 20××): a masked
title year, or masked years in a text whose explicit years are all single passing
references, leave the year unknown.  Years inside a range (20*-2010年, 2021—2025年)
name a planning period, not the report year, and are ignored.
"""
from __future__ import annotations

import logging
import re
from collections import defaultdict

from .textutil import cn_digits_to_int, fold_width

log = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 1949, 2100

_CN = "〇○零O一二三四五六七八九"
_YEAR = re.compile(rf"((?:19|20)\d\d|[一二][{_CN}]{{3}})\s*年(度)?")
_PLACEHOLDER = re.compile(r"(?:19|20)(?:[xX×ｘＸ*＊]{1,2}|\d[xX×ｘＸ*＊])\s*(?:年|-|—|–|~|至)|[二][〇○零][xX×*＊某]{1,2}年|[xX×*＊]{4}年")
_RANGE_AFTER = re.compile(rf"^\s*(?:年)?\s*(?:-|—|–|~|～|至|到)\s*(?:(?:19|20)\d\d|[一二][{_CN}]{{3}}|20[xX*×＊]+)")
_RANGE_BEFORE = re.compile(rf"(?:(?:19|20)\d\d|[一二][{_CN}]{{3}}|20[xX*×＊]+)\s*(?:年)?\s*(?:-|—|–|~|～|至|到)\s*$")
_CONTEXT_AFTER = re.compile(r"^(?:度|全年|以来|上半年|下半年|工作|全县|全市|全省|全区|全州|全国|我县|我市|我省|我区|是|,|，)")
_DATE_AFTER = re.compile(r"^\s*\d{1,2}\s*月")
_DELIVERED = re.compile(rf"((?:19|20)\d\d|[一二][{_CN}]{{3}})\s*年[^\n]{{0,12}}?日?\s*在[^\n]{{0,30}}?人民代表大会[^\n]{{0,16}}?会议上")
_ISO = re.compile(r"((?:19|20)\d\d)[-/.年]\s*(\d{1,2})(?:[-/.月]\s*(\d{1,2}))?")


def _to_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    return cn_digits_to_int(s)


def normalize_date(value: object) -> str | None:
    """ISO ``YYYY-MM-DD`` (or ``YYYY-MM``) from 2020/10/30 20:24:35, 2011-11-23 13:50, 2020年10月30日 …"""
    if not isinstance(value, str) or not value.strip():
        return None
    m = _ISO.search(fold_width(value))
    if not m:
        return None
    y, mo = int(m.group(1)), int(m.group(2))
    if not (MIN_YEAR <= y <= MAX_YEAR and 1 <= mo <= 12):
        return None
    if m.group(3):
        d = int(m.group(3))
        if 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    return f"{y:04d}-{mo:02d}"


def _years_in(text: str) -> list[tuple[int, int, int]]:
    """(year, start, end) for every explicit year not inside a range."""
    out = []
    for m in _YEAR.finditer(text):
        y = _to_int(m.group(1))
        if y is None or not (MIN_YEAR <= y <= MAX_YEAR):
            continue
        s, e = m.start(), m.end()
        if _RANGE_BEFORE.search(text[max(0, s - 12) : s]) or _RANGE_AFTER.match(text[m.end(1) : m.end(1) + 12]):
            continue
        out.append((y, s, e))
    return out


def extract_year(title: str | None, text: str | None, published: str | None = None, hint_year: object = None) -> int | None:
    """The year the report covers, or ``None`` when the page does not say. Never raises."""
    try:
        return _extract_year(fold_width(title), fold_width(text), published, hint_year)
    except Exception as exc:  # noqa: BLE001 - documented never to raise: a facet must not break indexing
        log.debug("year extraction failed: %r", exc)
        return None


def _extract_year(title: str, text: str, published: str | None, hint_year: object) -> int | None:
    if title:
        ty = _years_in(title)
        if ty:
            # several years in a title (2020年总结和2021年计划): the first one leads
            return ty[0][0]
        if _PLACEHOLDER.search(title):
            return None  # the template masked the report's own year
    # A report delivered to a people's congress covers the year it is delivered in:
    # "——2026年1月28日在云南省第十四届人民代表大会第四次会议上".
    m = _DELIVERED.search(text[:3000])
    if m:
        y = _to_int(m.group(1))
        if y is not None and MIN_YEAR <= y <= MAX_YEAR:
            return y
    scores: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    n = max(1, len(text))
    for y, s, e in _years_in(text):
        w = 1.0
        if _DATE_AFTER.match(text[e : e + 4]) or _CONTEXT_AFTER.match(text[e : e + 3]):
            w += 0.5
        if s < n * 0.2:
            w += 0.3
        scores[y] += w
        counts[y] += 1
    hy = _hint_year(hint_year)
    if hy is not None:
        # a record's stated year is strong evidence, but checked against the text:
        # it wins unless the text clearly talks about another year
        scores[hy] += 2.5
        counts[hy] += 2
    pub = normalize_date(published) if published else None
    if pub and scores:
        py = int(pub[:4])
        if py in scores:
            scores[py] += 0.5
    if not scores:
        return None
    best = max(scores, key=lambda y: (scores[y], y))
    if _PLACEHOLDER.search(text) and counts[best] < 2:
        return None  # the report's own year is masked; what is left are passing references
    return best


def _hint_year(v: object) -> int | None:
    try:
        y = int(str(v).strip()[:4]) if v is not None and str(v).strip() else None
    except (TypeError, ValueError):
        return None
    return y if y is not None and MIN_YEAR <= y <= MAX_YEAR else None
