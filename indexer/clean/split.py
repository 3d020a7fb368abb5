"""Split a cleaned page into reports and find each report's title.

A compilation page prints several reports one after another.  These shapes are
recognised, all by their layout, never by wording of one site:

* numbered pieces: a line "篇1" / "篇一" / "【篇一】" / "第2篇" / "范文一" starts each
  report (its title may follow on the same line), or the title carries the number
  at its end ("卫生监督工作计划篇1", "…范文2"; two or more, numbered in order; the
  report may run on after it on the same line when every marker names one title);
* repeated titles: the same title line naming a document type starts each report
  (with at least 150 characters of prose after every copy);
* stacked reports: a short title line naming a document type (…总结, …范文,
  …计划, …材料, …报告 …) set off by more white space than the page uses
  between paragraphs (two or more blank lines before or after), with at least
  150 characters of prose on both sides.  Headings inside a report
  ("一、提高认识加强领导", "开展新农合工作 让农民群众看得起病") are numbered or
  name no document type, so they never split.

Titles: the page heading is a report's title only when it belongs to it.  For a
single report the candidates are the short lines before the body; a line the
page repeats, or that names a document type, wins; a year prefix or file
extension that the page added ("2023年….docx") is dropped when the document
states its own title without it.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from . import rules
from .normalize import cjk_count

DOC_SUFFIX = re.compile(
    r"(?:总结|范文|计划|规划|要点|材料|报告|方案|汇报|讲话|发言|发言稿|讲话稿|意见|通知|心得|体会|小结|纪要|简报|述职|自查|整改"
    r"|决议|决定|述评|致辞)(?:[（(][^()（）]{0,10}[)）])?$"
)
NUMBERED = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[（(]\s*[一二三四五六七八九十\d]+\s*[)）]|\d+\s*[、.．)]|第[一二三四五六七八九十\d]+[、,，章节条部分是]"
    r"|[①-⑳]|[一二三四五六七八九十]是)"
)
_N = r"[0-9０-９一二三四五六七八九十百]{1,4}"
# Numbered pieces of a compilation, as a whole line: 篇1 / 篇一 / 【篇一】 / 第一篇 / 范文一 / [范文2],
# optionally followed by the piece's title ("篇1：卫生院工作计划", "【篇二】XX总结").
_MARK = rf"(?:篇\s*{_N}|第\s*{_N}\s*篇|(?:精选|优秀)?范文\s*{_N})"
_PIECE_TITLE = r"([^。，；]{2,50})"
PIAN = re.compile(
    rf"^(?:[【\[〖]\s*{_MARK}\s*[】\]〗]\s*[:：.、．]?\s*{_PIECE_TITLE}?"  # 【篇一】 / 【篇一】XX总结
    rf"|{_MARK}\s*(?:(?:[:：.、．]|\s)\s*{_PIECE_TITLE})?)$"  # 篇1 / 第一篇：XX计划 (a title needs a separator:
)  # "第一篇讲的是…" is a sentence)


def _marker_title(m: re.Match[str]) -> str | None:
    return m.group(1) or m.group(2)
# The same with the title first: "卫生监督工作计划篇1", "XX总结范文2", "XX计划（篇3）".  A line
# ending in 篇N alone is weak evidence, so this shape needs two markers on the page.
PIAN_AFTER = re.compile(rf"^([^。，；]{{2,50}}?)\s*[（(【\[]?\s*(?:篇|范文)\s*({_N})\s*[)）】\]]?$")
# ... with the report's first words run on after it ("卫生监督工作计划篇2 为进一步加强…"):
# the same title on every marker is then required.
PIAN_AFTER_RUN_ON = re.compile(rf"^([^。，；\s]{{2,40}}?)(?:篇|范文)({_N})(?:\s+|[:：、．.]\s*)(\S.*)$")
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_TITLE_LABEL = re.compile(r"^(?:文章标题|标题|题目|文档标题)\s*[:：]\s*")
_YEAR_PREFIX = re.compile(r"^(?:\d{2,4}|[〇一二三四五六七八九零]{2,4}|20xx|20XX|xx|XX)\s*年(?:度)?\s*$")
_NORM_DROP = re.compile(r"[\s\d０-９〇年度\-_.·:：,，。“”\"'《》()（）]|docx?|pdf|txt", re.IGNORECASE)
_BAD_PUNCT = re.compile(r"[。，；！？,;!?]")
# A feed/forum column tag in front of a title: "重磅｜…", "干货 | …", "【求助】…".
_TAG_PREFIX = re.compile(r"^(?:【[^】]{1,6}】|\[[^\]]{1,6}\]|[\u4e00-\u9fa5]{1,4}\s*[｜|丨])\s*")


def strip_tag_prefix(title: str) -> str:
    """Drop a column tag in front of a title when a full title remains."""
    m = _TAG_PREFIX.match(title)
    if m and len(title) - m.end() >= 6 and cjk_count(title[m.end():]) >= 4:
        return title[m.end():]
    return title


@dataclass
class Segment:
    lines: list[str]  # non-blank lines of the report (title line included when present)
    title: str | None = None
    title_index: int | None = None  # index in lines of the title line
    extra: dict = field(default_factory=dict)


def title_key(s: str) -> str:
    """Title comparison key: no digits, years, punctuation, spaces or file extension."""
    return _NORM_DROP.sub("", rules.strip_file_ext(strip_tag_prefix(_TITLE_LABEL.sub("", s))))


def title_like(line: str, max_len: int = 50) -> bool:
    """Short, no sentence punctuation, not a numbered heading."""
    if not (4 <= len(line) <= max_len):
        return False
    if _BAD_PUNCT.search(line) or line[-1] in "：:" or line.startswith(("——", "--", "—")):
        return False
    if NUMBERED.match(line) or line[-1] in "的了和与及在对把将为向是、":
        return False
    return cjk_count(line) >= 4


def _blank_runs(lines: list[str]) -> list[tuple[str, int, int]]:
    """(line, blanks_before, blanks_after) for each non-blank line."""
    out: list[tuple[str, int, int]] = []
    blanks = 0
    for ln in lines:
        if not ln:
            blanks += 1
            continue
        if out:
            prev = out[-1]
            out[-1] = (prev[0], prev[1], blanks)
        out.append((ln, blanks, 0))
        blanks = 0
    if out:
        out[-1] = (out[-1][0], out[-1][1], blanks)
    return out


def piece_number(s: str) -> int | None:
    """The number of a 篇N marker: 3, 十二, 二十一 → int (None when it is not a number)."""
    s = s.strip().translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if s.isdigit():
        return int(s)
    if not s or any(c not in "零一二三四五六七八九十百" for c in s):
        return None
    if "百" in s:
        h, _, rest = s.partition("百")
        return (_CN_DIGITS.get(h, 1) if h else 1) * 100 + (piece_number(rest) or 0 if rest else 0)
    if "十" in s:
        t, _, u = s.partition("十")
        return (_CN_DIGITS.get(t, 1) if t else 1) * 10 + (_CN_DIGITS.get(u, 0) if u else 0)
    if len(s) == 1:
        return _CN_DIGITS.get(s)
    return None


def _pian_markers(texts: list[str]) -> list[tuple[int, str | None, str | None]]:
    """(line index, title named on the marker line, text run on after it) of every
    compilation-piece marker."""
    found: list[tuple[int, str | None, str | None]] = [
        (i, _marker_title(m), None) for i, t in enumerate(texts) if (m := PIAN.match(t))
    ]
    if found:
        return found
    after: list[tuple[int, str, int | None, str | None]] = []
    for i, t in enumerate(texts):
        if m := PIAN_AFTER.match(t):
            after.append((i, m.group(1).strip(), piece_number(m.group(2)), None))
        elif (m := PIAN_AFTER_RUN_ON.match(t)) and DOC_SUFFIX.search(m.group(1)):
            after.append((i, m.group(1), piece_number(m.group(2)), m.group(3)))
    after = [a for a in after if a[2] is not None and title_like(a[1], 50)]
    numbers = [a[2] for a in after]
    run_on_titles = {title_key(a[1]) for a in after if a[3] is not None}
    # title-first markers count only as a numbered sequence (1, 2, 3 …), never a lone "…篇2";
    # with text run on, only when every marker names the same title
    if (len(after) >= 2 and numbers == sorted(numbers) and len(set(numbers)) == len(numbers)  # type: ignore[type-var]
            and (not run_on_titles or len({title_key(a[1]) for a in after}) == 1)):
        return [(i, title, rest) for i, title, _, rest in after]
    return []


def _prose_mass(texts: list[str]) -> list[int]:
    """Per line, its CJK characters when it is prose (0 for a title-like line): how much report
    text lies between two candidate report starts."""
    return [cjk_count(t) if not title_like(t) else 0 for t in texts]


def _repeated_titles(texts: list[str], mass: list[int]) -> list[int]:
    """Lines starting reports that share one title: a title-like line naming a document type,
    printed two or more times with a report's worth of prose (150 CJK, ``mass``) after each copy."""
    by_key: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        if title_like(t, 40) and DOC_SUFFIX.search(t):
            by_key.setdefault(title_key(t), []).append(i)
    for key, idx in by_key.items():
        if len(idx) < 2 or not key:
            continue
        ends = idx[1:] + [len(texts)]
        if all(sum(mass[a + 1 : b]) >= 150 for a, b in zip(idx, ends)):
            return idx
    return []


def split_segments(lines: list[str], stacked: bool = True) -> tuple[list[Segment], str]:
    """Cut the page into report segments; returns (segments, how).

    ``stacked=False`` for a record row (it is one document by construction):
    only explicit 篇N markers split it.
    """
    runs = _blank_runs(lines)
    texts = [r[0] for r in runs]
    if not texts:
        return [], "empty"
    markers = _pian_markers(texts)
    if markers:
        pian = [i for i, _, _ in markers]
        names = {i: title for i, title, _ in markers}
        run_on = {i: rest for i, _, rest in markers}
        segs: list[Segment] = []
        bounds = pian + [len(texts)]
        pre = texts[: pian[0]]
        if sum(cjk_count(t) for t in pre) >= 150:
            segs.append(Segment(pre))
        for a, b in itertools.pairwise(bounds):
            body = texts[a + 1 : b]
            first = run_on[a]
            if first:
                body = [first] + body
            named = names[a]
            if named:
                body = [named] + body
            if body:
                seg = Segment(body)
                if named:
                    seg.title, seg.title_index = named.strip(), 0
                elif len(body) > 1 and title_like(body[0]) and not rules.ends_sentence(body[0]):
                    seg.title, seg.title_index = body[0], 0
                segs.append(seg)
        return segs, "pian"
    if not stacked:
        return [Segment(texts)], "single"
    mass = _prose_mass(texts)  # shared by the repeated-title and the stacked-report cuts
    repeated = _repeated_titles(texts, mass)
    if repeated:
        segs = []
        pre = texts[: repeated[0]]
        if sum(cjk_count(t) for t in pre) >= 150:
            segs.append(Segment(pre))
        for a, b in zip(repeated, repeated[1:] + [len(texts)]):
            segs.append(Segment(texts[a:b], title=texts[a], title_index=0))
        return segs, "repeated"
    # stacked reports
    cands = [
        i
        for i, (t, bb, ba) in enumerate(runs)
        if i > 0 and title_like(t, 40) and DOC_SUFFIX.search(t) and (ba >= 2 or bb >= 2)
    ]
    bounds = [0]
    for c in cands:
        before = sum(mass[bounds[-1] : c])
        after_end = next((d for d in cands if d > c), len(texts))
        after = sum(mass[c + 1 : after_end])
        if before >= 150 and after >= 150:
            bounds.append(c)
    if len(bounds) == 1:
        return [Segment(texts)], "single"
    segs = []
    for a, b in zip(bounds, bounds[1:] + [len(texts)]):
        if b <= a:
            continue
        body = texts[a:b]
        seg = Segment(body)
        if title_like(body[0]) and not rules.ends_sentence(body[0]):
            seg.title, seg.title_index = body[0], 0
        segs.append(seg)
    return segs, "stacked"


def head_zone(lines: list[str]) -> int:
    """Number of leading lines before the report body starts."""
    for i, ln in enumerate(lines):
        if len(ln) >= 40 or (rules.ends_sentence(ln) and not ln.endswith(("）", ")"))):
            return i
    return len(lines)


def _strip_prefix_variant(title: str, cands: list[str]) -> str:
    """Prefer the document's own wording over a page heading that only adds a year prefix."""
    for c in cands:
        if c != title and len(c) >= 6 and title.endswith(c) and _YEAR_PREFIX.match(title[: -len(c)]):
            return c
    return title


def choose_title(lines: list[str], repeated: set[str], site: str | None) -> tuple[str | None, str | None]:
    """(title, page heading) of a single-report page from its head lines."""
    h = head_zone(lines)
    cands: list[tuple[int, str, int]] = []
    for i in range(min(h, 12)):
        raw = lines[i]
        t = strip_tag_prefix(rules.strip_file_ext(_TITLE_LABEL.sub("", raw)).strip())
        if site and (t == site or site in t and len(t) <= len(site) + 4):
            continue
        if not title_like(t, 60):
            continue
        score = 1 if not cands else 0
        if DOC_SUFFIX.search(t):
            score += 3
        if raw in repeated or any(title_key(raw) == title_key(x) for x in lines[i + 1 : h]):
            score += 2
        if re.search(r"在.{2,40}(?:会议|大会)上", t) or re.search(r"(?:市长|省长|主席|书记|局长|院长)\s*\S{1,4}$", t):
            score -= 5
        cands.append((score, t, i))
    if not cands:
        return None, None
    best = max(cands, key=lambda c: (c[0], -c[2]))
    heading = cands[0][1] if cands[0][2] == min(c[2] for c in cands) else None
    if best[0] < 1:
        return None, heading
    title = _strip_prefix_variant(best[1], [c[1] for c in cands])
    if heading == title:
        heading = None
    return title, heading


def strip_title_lines(lines: list[str], title: str | None, heading: str | None) -> list[str]:
    """Remove the title (and page-heading copies of it) from the head of the text."""
    keys = {title_key(x) for x in (title, heading) if x}
    keys.discard("")
    h = head_zone(lines)
    out = []
    for i, ln in enumerate(lines):
        if i < max(h, 1) + 1 and i < 15 and (title_key(ln) in keys or _TITLE_LABEL.match(ln)):
            continue
        out.append(ln)
    return out
