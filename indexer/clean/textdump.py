"""Line-level chrome removal for text (a text dump, a record's full_text, or the
lines an HTML page was flattened to).

Pipeline (each step a small pure function):

1. ``strip_inline``: adverts/page markers inside lines;
2. ``join_docx_chunks``: numbered docx-preview chunks back into paragraphs;
3. ``mark_chrome``: per-line kinds (rules.chrome_kind) plus the multi-line
   shapes: breadcrumbs printed one item per line, a field label whose value is
   on the next line, tiny fragments sandwiched between chrome;
4. ``tail_cut``: the first end-of-article marker (相关报道, 打印本页, 责任编辑,
   reply headers, the writing-tips appendix …) after the bulk of the text ends
   the report;
5. promotion blurbs of template sites are dropped; a 【提纲】 outline of the report's
   own headings is kept (rules.is_outline), and the page heading printed again below
   it is dropped (``drop_outline_echo``);
6. ``rejoin_fragments``: a sentence split over lines by inline links
   ("根据《" / "中华人民共和国著作权法" / "》第五条") is put back together;
7. ``linejoin.join_broken_sentences``: a line wrap inside a sentence (PDF/docx
   previews, fixed-width transcriptions) is joined; headings, list items and table
   rows never are.

Blank lines are kept (as "") because the article splitter reads them.
"""
from __future__ import annotations

import re

from . import rules
from .inline import join_docx_chunks, strip_inline
from .linejoin import join_broken_sentences
from .normalize import cjk_count


def mark_chrome(lines: list[str]) -> list[bool]:
    """Return ``drop[i]`` for each line: True when the line is site chrome."""
    n = len(lines)
    drop = [False] * n

    def next_nonblank(j: int) -> int:
        while j < n and not lines[j]:
            j += 1
        return j

    i = 0
    while i < n:
        ln = lines[i]
        if not ln:
            i += 1
            continue
        if rules.is_crumb_label(ln) and len(ln) <= 20 and rules.is_crumb_item(lines[next_nonblank(i + 1)] if next_nonblank(i + 1) < n else ""):
            # crumb printed one item per line with the separator at the end: 您所在的位置： / 快讯 > / 公司 > / 公司
            drop[i] = True
            j = next_nonblank(i + 1)
            while j < n and rules.is_crumb_item(lines[j]):
                drop[j] = True
                j = next_nonblank(j + 1)
            if j < n and len(lines[j]) <= 16 and not rules.ends_sentence(lines[j]) and rules.chrome_kind(lines[j]) is None:
                drop[j] = True  # the last item, without a separator
                j = next_nonblank(j + 1)
            i = j
            continue
        if rules.is_crumb_start(ln) and len(ln) <= 20:
            # crumb printed one item per line: label, 首页, >, 栏目, >, 栏目 [, 栏目 repeated]
            j = next_nonblank(i + 1)
            k = i
            if rules.is_crumb_sep(lines[j] if j < n else "") or rules.is_crumb_label(ln):
                drop[i] = True
                last = ""
                while j < n:
                    cur = lines[j]
                    if rules.is_crumb_sep(cur) or cur in ("首页", "网站首页"):
                        drop[j] = True
                        k = j
                        j2 = next_nonblank(j + 1)
                        if j2 < n and not rules.is_crumb_sep(lines[j2]) and len(lines[j2]) <= 16 and not rules.ends_sentence(lines[j2]):
                            drop[j2] = True
                            last = lines[j2]
                            k = j2
                            j = next_nonblank(j2 + 1)
                            continue
                        j = j2
                        continue
                    break
                j = next_nonblank(k + 1)
                if last and j < n and lines[j] == last:
                    drop[j] = True
                    k = j
                i = k + 1
                continue
        if rules.is_label_only(ln):
            drop[i] = True
            j = next_nonblank(i + 1)
            if (j < n and len(lines[j]) <= 24 and not re.search(r"[。，；]", lines[j]) and not rules.is_label_only(lines[j])
                    and rules.chrome_kind(lines[j]) is None and not lines[j].startswith(("【", "["))):
                drop[j] = True
                i = j + 1
                continue
            i += 1
            continue
        if rules.chrome_kind(ln) or rules.is_summary(ln):
            drop[i] = True
        i += 1
    # tiny fragments sandwiched between chrome lines ("大" "中" "小", "|", "×")
    idx = [i for i in range(n) if lines[i]]
    for a, b, c in zip(idx, idx[1:], idx[2:]):
        if not drop[b] and drop[a] and drop[c] and len(lines[b]) <= 4 and not rules.ends_sentence(lines[b]):
            drop[b] = True
    return drop


def tail_cut(lines: list[str], drop: list[bool]) -> int:
    """Index where the report ends (len(lines) when no end marker qualifies).

    A marker ends the report only when at least as much prose lies before it as
    after it, so a "相关推荐" box at the top of a page does not delete the page.
    After a related-list header only sentences count as prose: the list's own
    titles are not (a long list under a short report would otherwise keep it).
    """
    mass = [0 if (drop[i] or not lines[i]) else cjk_count(lines[i]) for i in range(len(lines))]
    sentences = [m if m and (_SENTENCE.search(lines[i]) or len(lines[i]) >= 40) else 0 for i, m in enumerate(mass)]
    total, total_sentences = sum(mass), sum(sentences)
    before = before_sentences = 0
    for i, ln in enumerate(lines):
        if ln and rules.is_tail_marker(ln):
            after = total_sentences - before_sentences if rules.is_related_list(ln) else total - before
            if before >= 100 and before >= after:
                return i
        before += mass[i]
        before_sentences += sentences[i]
    return len(lines)


_SENTENCE = re.compile(r"[。！？；]")


def _unclosed(s: str) -> bool:
    return (s.count("《") > s.count("》")) or (s.count("“") > s.count("”")) or (s.count("（") > s.count("）"))


def rejoin_fragments(lines: list[str]) -> list[str]:
    """Join lines that an inline link or a line wrap split mid-sentence.

    Joins B onto A when A is not a finished sentence and either A ends with an
    opening bracket, B starts with closing/continuing punctuation, or B is a
    short fragment ( ≤ 12 chars, no punctuation) while A has an unclosed
    bracket or quote.  Headings are untouched: they are followed by full lines.
    """
    out: list[str] = []
    n = len(lines)
    for i, ln in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < n else ""
        if (
            out and ln and out[-1] and nxt and len(ln) <= 12 and nxt[0] in "。，、；：！？）》」』”"
            and out[-1][-1] not in "。！？；：" and not re.search(r"[。，；：！？]", ln)
        ):
            out[-1] = out[-1] + ln  # "…所作的" / "政府工作报告" / "。会议…": a linked word
            continue
        if out and ln and out[-1]:
            a = out[-1]
            if a[-1] not in rules.TERMINAL or a[-1] in "》）)”":
                join = (
                    a[-1] in rules.OPENERS
                    or (ln[0] in "。，、；：！？）》」』”,.;!?" and a[-1] not in "。！？；")
                    or (_unclosed(a) and len(ln) <= 12 and not re.search(r"[。，；：！？]", ln))
                    or (_unclosed(a) and re.match(r"^[^“《（]{0,12}[”》）]", ln) is not None)
                )
                if join and len(a) + len(ln) < 20000:
                    out[-1] = a + ln
                    continue
        out.append(ln)
    return out


def dedupe_head(lines: list[str]) -> tuple[list[str], set[str]]:
    """Drop earlier copies of a short line repeated before the body starts
    (a portal printing title and subtitle twice around its breadcrumb)."""
    first_body = next((i for i, ln in enumerate(lines) if len(ln) >= 60 and rules.ends_sentence(ln)), len(lines))
    seen: dict[str, int] = {}
    kill: set[int] = set()
    for i in range(first_body):
        ln = lines[i]
        if ln and len(ln) <= 80:
            if ln in seen:
                kill.add(seen[ln])
            seen[ln] = i
    repeated = {lines[i] for i in kill}
    return [ln for i, ln in enumerate(lines) if i not in kill], repeated


def drop_outline_echo(lines: list[str]) -> list[str]:
    """Drop the page heading printed again right below a kept 【提纲】 outline.

    Pages print "title / 【提纲】… / title / text": the first copy is the page's title
    (the title finder reads it above the outline), the second would otherwise stay in
    the report text, because the outline has already ended the head of the page.
    """
    out = list(lines)
    for i, ln in enumerate(lines):
        if not ln or not rules.is_outline(ln):
            continue
        j = next((k for k in range(i + 1, len(lines)) if lines[k]), None)
        if j is not None and len(lines[j]) <= 80 and lines[j] in lines[:i]:
            out[j] = ""
    return out


def clean_lines(lines: list[str], heading: str | None = None, join_breaks: bool = True) -> tuple[list[str], dict]:
    """Run the whole line pipeline; return kept lines (blanks as "") and notes.

    ``join_breaks=False`` leaves mid-sentence line breaks alone (the evaluation's
    before/after count uses it).
    """
    notes: dict = {}
    lines = [strip_inline(ln, heading) for ln in lines]
    lines, docx = join_docx_chunks(lines)
    notes["docx"] = docx
    drop = mark_chrome(lines)
    end = tail_cut(lines, drop)
    kept: list[str] = []
    promo: list[str] = []
    for i in range(end):
        ln = lines[i]
        if drop[i]:
            continue
        if ln and rules.is_promo(ln):
            promo.append(ln)
            continue
        kept.append(ln)
    notes["promo"] = promo
    kept = drop_outline_echo(kept)
    kept, notes["repeated"] = dedupe_head(kept)
    kept = rejoin_fragments(kept)
    if join_breaks:
        kept = join_broken_sentences(kept)
    return kept, notes
