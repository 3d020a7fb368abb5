"""Topic facet from the reviewable taxonomy in ``indexer/data/topics.toml``.

A work report is organised by task: one heading or numbered paragraph per line of
work.  A document therefore gets a topic on any of four kinds of evidence, all read
from the same weighted term counts (one Aho–Corasick pass, leftmost-longest, so
基本公共卫生服务 does not also count as 公共卫生):

1. **Whole document** – the topic's weighted count passes an absolute floor, a
   density floor (per 1,000 characters, so a 20,000-character government report that
   mentions 中医药 twice does not get 中医药) and a distinct-terms floor (one repeated
   slogan is not a topic).  The title's terms count triple: the title names the subject.
2. **An owned section** – in one section (a heading with the text under it, or a
   paragraph of its own) the topic scores at least ``section_min`` and
   ``section_ratio`` times any other topic.  A long report spends one section on each
   task, so a short section about 爱国卫生 makes it a topic even at a low overall
   density.  A section whose heading names *other* topics is about those: a long
   list of emergency measures under "加强公共卫生体系建设" does not make 卫生应急 a
   heading-level task.
3. **Headings** – a topic named outright (a term of weight ≥ ``heading_name_weight``)
   in at least ``heading_min_count`` distinct headings, e.g. in the review *and* in
   next year's plan.  This reads a site's 【提纲】 outline, which is often the only
   place a truncated preview still shows its later sections.
4. Finally a **relative floor**: a topic must reach ``min_share`` of the strongest
   topic's score, so a long report does not list every subject it touches.

Reports about every subject (政府工作报告, 党代会报告, resolutions on them: by document
type, title, or a long 报告 whose health passages are a small share) are read differently:
their health topics come from their **health passages** only (runs of sentences with a
health word or a term naming a health topic), where one naming term is enough, and topics
marked ``health = false`` (党建, 人才培养 …, which such reports use in a general sense) are
not taken from them (:func:`passage_topics`).

Sub-topics (``parent`` in the taxonomy, e.g. 免疫规划 under 疾病预防控制) are listed
on their own only when they have their own heading or section; a report that handles
vaccination as a few sentences of its disease-control section is about disease
control, and gets the parent instead.

Censored words printed as ``_`` (医药卫生_改革 for 医药卫生体制改革) are filled back
in when exactly one taxonomy term fits around the gap, for scoring only.

The taxonomy and every threshold live in the data file so that domain reviewers can
change them without touching code.
"""
from __future__ import annotations

import logging
import re
import threading
import tomllib
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import acmatch
from .textutil import fold_width

log = logging.getLogger(__name__)

try:  # pragma: no cover
    import ahocorasick  # type: ignore
except ImportError:  # pragma: no cover
    ahocorasick = None  # type: ignore

TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "data" / "topics.toml"


@dataclass
class Taxonomy:
    """Topic names, their weighted terms and the scoring thresholds (see the TOML file)."""

    names: list[str]
    # term -> list of (topic index, weight)
    terms: dict[str, list[tuple[int, float]]]
    parents: dict[int, int] = field(default_factory=dict)  # child topic index -> parent index
    min_score: float = 6.0
    min_density: float = 1.0
    min_distinct: int = 2
    max_topics: int = 6
    short_doc_floor: int = 1500
    section_min: float = 12.0
    section_ratio: float = 2.0
    named_section_ratio: float = 1.5
    heading_name_weight: float = 3.0
    heading_min_count: int = 2
    min_share: float = 0.0
    # -- long reports that cover many subjects (政府工作报告, 党代会报告): see extract_topics
    not_health: set[int] = field(default_factory=set)  # topics that are no health subject (党建 …)
    health_words: tuple[str, ...] = ()  # a sentence with one of these (or a naming term) is about health
    multi_subject_doc_types: tuple[str, ...] = ()
    multi_subject_title: re.Pattern[str] | None = None
    long_report_chars: int = 8000
    long_report_max_health_share: float = 0.2
    passage_min_score: float = 3.0
    passage_max_topics: int = 8
    automaton: object = field(default=None, repr=False)
    health_automaton: object = field(default=None, repr=False)
    # (text before a "_" gap, text after it) -> the one term that fits around the gap
    gaps: dict[tuple[str, str], str | None] = field(default_factory=dict, repr=False)


def load_taxonomy(path: Path | str = TAXONOMY_PATH) -> Taxonomy:
    """Parse and validate the TOML taxonomy (raises ``ValueError`` on a malformed file)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    sc = data.get("scoring", {})
    names: list[str] = []
    terms: dict[str, list[tuple[int, float]]] = defaultdict(list)
    parent_names: dict[int, str] = {}
    not_health: set[int] = set()
    for i, t in enumerate(data.get("topic", [])):
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"topic #{i} has no name")
        if name in names:
            raise ValueError(f"duplicate topic {name}")
        tt = t.get("terms") or {}
        if not isinstance(tt, dict) or not tt:
            raise ValueError(f"topic {name} has no terms")
        names.append(name)
        for term, w in tt.items():
            term = fold_width(term)
            if not term or not isinstance(w, (int, float)) or isinstance(w, bool) or w <= 0:
                raise ValueError(f"topic {name}: bad term {term!r}={w!r}")
            terms[term].append((len(names) - 1, float(w)))
        if "health" in t:
            if not isinstance(t["health"], bool):
                raise ValueError(f"topic {name}: health must be true or false")
            if not t["health"]:
                not_health.add(len(names) - 1)
        if "parent" in t:
            if not isinstance(t["parent"], str) or t["parent"] == name:
                raise ValueError(f"topic {name}: bad parent {t['parent']!r}")
            parent_names[len(names) - 1] = t["parent"]
    parents: dict[int, int] = {}
    for child, pname in parent_names.items():
        if pname not in names:
            raise ValueError(f"topic {names[child]}: unknown parent {pname}")
        parents[child] = names.index(pname)
    for child, parent in parents.items():  # one level only: a parent is not itself a child
        if parent in parents:
            raise ValueError(f"topic {names[child]}: parent {names[parent]} has a parent itself")
    tax = Taxonomy(
        names=names,
        terms=dict(terms),
        parents=parents,
        min_score=float(sc.get("min_score", 6.0)),
        min_density=float(sc.get("min_density", 1.0)),
        min_distinct=int(sc.get("min_distinct", 2)),
        max_topics=int(sc.get("max_topics", 6)),
        short_doc_floor=int(sc.get("short_doc_floor", 1500)),
        section_min=float(sc.get("section_min", 12.0)),
        section_ratio=float(sc.get("section_ratio", 2.0)),
        named_section_ratio=float(sc.get("named_section_ratio", 1.5)),
        heading_name_weight=float(sc.get("heading_name_weight", 3.0)),
        heading_min_count=int(sc.get("heading_min_count", 2)),
        min_share=float(sc.get("min_share", 0.0)),
        not_health=not_health,
    )
    rep = data.get("long_reports", {})
    if not isinstance(rep, dict):
        raise ValueError("[long_reports] must be a table")  # noqa: TRY004 - every malformed file is a ValueError
    words = rep.get("health_words", [])
    titles = rep.get("multi_subject_titles", [])
    types = rep.get("multi_subject_doc_types", [])
    for key, val in (("health_words", words), ("multi_subject_titles", titles), ("multi_subject_doc_types", types)):
        if not isinstance(val, list) or not all(isinstance(w, str) and w for w in val):
            raise ValueError(f"[long_reports] {key} must be a list of strings")
    tax.health_words = tuple(fold_width(w) for w in words)
    tax.multi_subject_doc_types = tuple(types)
    tax.multi_subject_title = re.compile("|".join(re.escape(fold_width(t)) for t in titles)) if titles else None
    tax.long_report_chars = int(rep.get("long_report_chars", 8000))
    tax.long_report_max_health_share = float(rep.get("long_report_max_health_share", 0.2))
    tax.passage_min_score = float(rep.get("passage_min_score", 3.0))
    tax.passage_max_topics = int(rep.get("passage_max_topics", 8))
    tax.gaps = _gap_table(tax.terms)
    if ahocorasick is not None or acmatch.ahocorasick_rs is not None:
        # leftmost-longest matches (ahocorasick-rs where installed: several times faster)
        tax.automaton = acmatch.LongestMatcher(((term, term) for term in tax.terms), plain=True)
        if tax.health_words:
            tax.health_automaton = acmatch.LongestMatcher(((w, w) for w in tax.health_words), plain=True)
    return tax


# -- censored-word gaps --------------------------------------------------------------

_GAP = re.compile(r"[_＿□]+")
_GAP_SIDE_MIN = 2  # visible characters needed on each side of a gap
_GAP_SIDE_MAX = 8


def _gap_table(terms: dict[str, list[tuple[int, float]]]) -> dict[tuple[str, str], str | None]:
    """Every way a term can be printed with one inner part censored: (head, tail) -> term.

    Only terms of 5+ characters, with at least two visible characters on each side, so
    that 4 visible characters pin the term down; a (head, tail) pair that fits two
    different terms maps to ``None`` (ambiguous: not filled).
    """
    table: dict[tuple[str, str], str | None] = {}
    for term in terms:
        n = len(term)
        if n < 2 * _GAP_SIDE_MIN + 1:
            continue
        for a in range(_GAP_SIDE_MIN, min(n - _GAP_SIDE_MIN - 1, _GAP_SIDE_MAX) + 1):
            for b in range(_GAP_SIDE_MIN, min(n - a - 1, _GAP_SIDE_MAX) + 1):
                key = (term[:a], term[n - b :])
                if key in table and table[key] != term:
                    table[key] = None
                else:
                    table[key] = term
    return table


def fill_gaps(text: str, tax: Taxonomy | None = None) -> str:
    """Fill ``_`` gaps (censored words) with the one taxonomy term that fits around them.

    "深化医药卫生_改革" → "深化医药卫生体制改革".  The longest visible context wins;
    nothing is changed when no term, or more than one, fits.  Used for scoring only:
    the indexed text keeps what the page printed.
    """
    tax = tax or taxonomy()
    if not text or not tax.gaps or not _GAP.search(text):
        return text
    out: list[str] = []
    pos = 0
    for m in _GAP.finditer(text):
        s, e = m.span()
        if s < pos:
            continue
        best: tuple[int, int, str] | None = None  # (chars before, chars after, term)
        for a in range(min(_GAP_SIDE_MAX, s - pos), _GAP_SIDE_MIN - 1, -1):
            for b in range(min(_GAP_SIDE_MAX, len(text) - e), _GAP_SIDE_MIN - 1, -1):
                term = tax.gaps.get((text[s - a : s], text[e : e + b]))
                if term and (best is None or a + b > best[0] + best[1]):
                    best = (a, b, term)
        if best is None:
            continue
        a, b, term = best
        out.append(text[pos : s - a])
        out.append(term)
        pos = e + b
    out.append(text[pos:])
    return "".join(out)


_TAX: Taxonomy | None = None
_LOCK = threading.Lock()


def taxonomy() -> Taxonomy:
    """The shipped taxonomy, loaded once per process."""
    global _TAX
    if _TAX is None:
        with _LOCK:
            if _TAX is None:
                try:
                    _TAX = load_taxonomy()
                except Exception as exc:  # noqa: BLE001 # pragma: no cover - broken data file: warned, no topics rather than no indexing
                    warnings.warn(f"topic taxonomy failed to load: {exc!r}", RuntimeWarning, stacklevel=2)
                    _TAX = Taxonomy(names=[], terms={})
    return _TAX


def _raw_scores(text: str, tax: Taxonomy) -> tuple[dict[int, float], dict[int, set[str]], dict[int, float]]:
    """topic index → weighted count, distinct terms, and the heaviest single term weight seen."""
    scores: dict[int, float] = defaultdict(float)
    distinct: dict[int, set[str]] = defaultdict(set)
    heaviest: dict[int, float] = defaultdict(float)
    if not text or not tax.terms:
        return scores, distinct, heaviest
    if tax.automaton is not None:
        matches = (key for _end, key in tax.automaton.iter_long(text))  # type: ignore[attr-defined]
    else:  # pragma: no cover - slow fallback without pyahocorasick
        matches = (t for t in tax.terms for _ in range(text.count(t)))
    for key in matches:
        for ti, w in tax.terms[key]:
            scores[ti] += w
            distinct[ti].add(key)
            heaviest[ti] = max(heaviest[ti], w)
    return scores, distinct, heaviest


_HEADINGS: dict[tuple[int, str], tuple[Taxonomy, tuple]] = {}
_HEADINGS_MAX = 20_000


def _heading_scores(heading: str, tax: Taxonomy) -> tuple[dict[int, float], dict[int, set[str]], dict[int, float]]:
    """:func:`_raw_scores` of a heading, remembered: a report's headings are scored up to three times
    (its section, the headings that name a topic, a sub-topic's own heading) and the same
    headings recur across reports.  Callers only read the result."""
    key = (id(tax), heading)
    hit = _HEADINGS.get(key)
    if hit is not None and hit[0] is tax:
        return hit[1]
    out = _raw_scores(heading, tax)
    if len(_HEADINGS) >= _HEADINGS_MAX:
        _HEADINGS.clear()
    _HEADINGS[key] = (tax, out)
    return out


def topic_scores(text: str, tax: Taxonomy | None = None) -> dict[str, tuple[float, int]]:
    """topic → (weighted count, distinct terms) for a text; the building block of ``extract_topics``."""
    tax = tax or taxonomy()
    scores, distinct, _ = _raw_scores(text, tax)
    return {tax.names[i]: (s, len(distinct[i])) for i, s in scores.items()}


# -- document structure ----------------------------------------------------------------

_CN_NUM = "一二三四五六七八九十"
# A numbering marker at the start of a heading or numbered paragraph:
# 一、 (一) （二） 1、 1. 第一， 一是 其一
_NUMBERED = re.compile(
    rf"^(?:[{_CN_NUM}]{{1,3}}\s*[、.．]|[(（]\s*[{_CN_NUM}\d]{{1,3}}\s*[)）]|\d{{1,2}}\s*[、．]|\d{{1,2}}\.(?!\d)"
    rf"|第[{_CN_NUM}]{{1,3}}[、，,是]?|[{_CN_NUM}]{{1,3}}是|其[{_CN_NUM}]{{1,2}}[、，,]?)"
)
# The same markers inside an outline line, where items follow each other.
_OUTLINE_ITEM = re.compile(rf"(?:[{_CN_NUM}]{{1,3}}、|[(（][{_CN_NUM}\d]{{1,3}}[)）])")
_OUTLINE = re.compile(r"^[【\[]\s*(?:提纲|大纲|目录)\s*[】\]]\s*")
_SENTENCE_END = re.compile(r"[。；;！!？?]")
_LEAD_END = re.compile(r"[。；;！!？?:：]")
HEADING_MAX = 40  # a heading (or a numbered paragraph's lead) is at most this long
SHORT_LEAD_MAX = 12  # "免疫规划工作。": an unnumbered paragraph led by a short label


@dataclass
class _Section:
    heading: str | None
    body: str


def _strip_marker(s: str) -> str:
    return _NUMBERED.sub("", s, count=1).strip(" ，,。；;:：")


def _structure(text: str) -> tuple[list[str], list[_Section]]:
    """Headings and sections of a report.

    * a line of at most ``HEADING_MAX`` characters that does not end a sentence is a
      heading; the plain paragraphs after it belong to its section;
    * a numbered paragraph whose first sentence is short ("(三)持续稳固健康扶贫成果。…",
      "二是深入开展城市除四害活动。…"), or any paragraph led by a short label
      ("免疫规划工作。…"), is a section of its own with that lead as heading;
    * a 【提纲】 outline line is a list of headings (with no text under them);
    * any other paragraph not under a heading line is a section of its own.
    """
    headings: list[str] = []
    sections: list[_Section] = []
    open_heading = False  # the last section started with a heading line and takes following paragraphs
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if m := _OUTLINE.match(line):
            items = _OUTLINE_ITEM.split(line[m.end() :])
            headings += [h for h in (_strip_marker(i) for i in items) if h]
            open_heading = False
            continue
        if len(line) <= HEADING_MAX and not _SENTENCE_END.search(line[-1]):
            h = _strip_marker(line)
            headings.append(h)
            sections.append(_Section(h, ""))
            open_heading = True
            continue
        lead_m = _LEAD_END.search(line)
        lead = line[: lead_m.start()] if lead_m else ""
        numbered = bool(_NUMBERED.match(line))
        if lead and (len(lead) <= SHORT_LEAD_MAX or (numbered and len(lead) <= HEADING_MAX)):
            h = _strip_marker(lead)
            headings.append(h)
            sections.append(_Section(h, line[lead_m.end() :]))  # type: ignore[union-attr]
            open_heading = False
            continue
        if open_heading and not numbered:
            sections[-1].body += line
            continue
        sections.append(_Section(None, line))
        open_heading = False
    # one heading printed twice (outline and body) is one heading
    seen: set[str] = set()
    uniq = [h for h in headings if not (h in seen or seen.add(h))]  # type: ignore[func-returns-value]
    return uniq, sections


def _owned_sections(sections: list[_Section], tax: Taxonomy) -> dict[int, float]:
    """topic index → best score of a section the topic owns (see the module docstring, rule 2)."""
    owned: dict[int, float] = {}
    for sec in sections:
        named: set[int] = set()
        if sec.heading:
            named = set(_heading_scores(sec.heading, tax)[0])
        text = (sec.heading or "") + "\n" + sec.body
        sc, dist, _ = _raw_scores(text, tax)
        if not sc:
            continue
        ranked = sorted(sc.items(), key=lambda kv: -kv[1])
        top, s = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if named and top not in named:
            continue  # the heading says what this section is about, and it is something else
        # a heading that names the leading topic confirms what the section is about:
        # the text then only has to lead clearly, not dominate
        ratio = tax.named_section_ratio if top in named else tax.section_ratio
        if s >= tax.section_min and len(dist[top]) >= 2 and s >= ratio * second:
            owned[top] = max(owned.get(top, 0.0), s)
    return owned


def _heading_names(headings: list[str], tax: Taxonomy) -> dict[int, int]:
    """topic index → number of distinct headings that name the topic outright."""
    count: dict[int, int] = defaultdict(int)
    for h in headings:
        _sc, _d, heaviest = _heading_scores(h, tax)
        for ti, w in heaviest.items():
            if w >= tax.heading_name_weight:
                count[ti] += 1
    return count


def extract_topics(title: str | None, text: str | None, tax: Taxonomy | None = None,
                   doc_type: str | None = None) -> list[str]:
    """The topics a report is substantially about, best first (at most ``max_topics``). Never raises.

    ``doc_type`` (from :mod:`indexer.meta.doctype`, optional) tells a government work
    report or a resolution on one, which covers every subject of public life, from a
    health report: its topics come from its health passages (:func:`passage_topics`).
    """
    try:
        tax = tax or taxonomy()
        if not tax.names:
            return []
        title_n = fill_gaps(fold_width(title), tax)
        body = fill_gaps(fold_width(text), tax)
        passages = is_multi_subject(title_n, body, tax, doc_type)
        if passages is not None:
            return passage_topics(passages, tax)
        scores, distinct, _ = _raw_scores(body, tax)
        # the title names the subject: its terms count as a strong paragraph
        t_scores, t_distinct, _ = _raw_scores(title_n, tax)
        for ti, s in t_scores.items():
            scores[ti] += 3.0 * s
            distinct[ti] |= {"title:" + k for k in t_distinct[ti]}
        if not scores:
            return []
        length = max(len(body), tax.short_doc_floor)
        headings, sections = _structure(body)
        owned = _owned_sections(sections, tax)
        named = _heading_names(headings, tax)
        # a sub-topic's own heading may name it with a strong but not naming term (结核病防治工作)
        own_heading = {ti for ti, n in named.items() if n >= 1}
        for h in headings:
            own_heading |= {ti for ti, w in _heading_scores(h, tax)[2].items() if w >= 2.0 and ti in tax.parents}

        def whole(ti: int) -> bool:
            s = scores.get(ti, 0.0)
            return s >= tax.min_score and s * 1000.0 / length >= tax.min_density and len(distinct[ti]) >= tax.min_distinct

        picked: set[int] = set()
        for ti in scores:
            if whole(ti) or ti in owned or named.get(ti, 0) >= tax.heading_min_count:
                picked.add(ti)
        # a sub-topic without a heading or section of its own is part of its parent
        for child in [c for c in picked if c in tax.parents]:
            if child in owned or child in own_heading:
                continue
            picked.discard(child)
            parent = tax.parents[child]
            scores[parent] += scores[child]
            distinct[parent] |= distinct[child]
            if whole(parent) or parent in owned:
                picked.add(parent)
        if not picked:
            return []
        top = max(scores[ti] for ti in picked)
        ranked = sorted(
            ((scores[ti] * 1000.0 / length + owned.get(ti, 0.0) / 10.0 + named.get(ti, 0), ti)
             for ti in picked if scores[ti] >= tax.min_share * top),
            reverse=True,
        )
        return [tax.names[ti] for _k, ti in ranked[: tax.max_topics]]
    except Exception as exc:  # noqa: BLE001 - never let a facet break indexing
        log.debug("topic extraction failed: %r", exc)
        return []


# -- long reports that cover many subjects -----------------------------------------------

_SENTENCE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]?")


#: A sentence without a health word is about health by a naming term alone only when it is
#: this short or has several health terms: "统筹做好疫情防控和经济社会发展，社会治理效能持续
#: 提升，平安山东…" lists every subject, it does not describe epidemic work.
_NAMING_ONLY_MAX = 60


def _is_health_sentence(sentence: str, tax: Taxonomy) -> bool:
    """A sentence about health work: it has a health word, or a term naming a health topic
    and is short or holds several health terms."""
    if tax.health_automaton is not None:
        for _end, _key in tax.health_automaton.iter_long(sentence):  # type: ignore[attr-defined]
            return True
    elif any(w in sentence for w in tax.health_words):  # pragma: no cover - no automaton library
        return True
    _sc, distinct, heaviest = _raw_scores(sentence, tax)
    health = [ti for ti in heaviest if ti not in tax.not_health]
    if not any(heaviest[ti] >= tax.heading_name_weight for ti in health):
        return False
    # terms that say something on their own (not 改革, 宣传, 常态化 …)
    terms = {t for ti in health for t in distinct[ti] if max(w for _t, w in tax.terms[t]) >= 1.5}
    return len(sentence) <= _NAMING_ONLY_MAX or len(terms) >= 2


def health_passages(text: str, tax: Taxonomy | None = None) -> list[str]:
    """The passages of a text that are about health work, in order.

    A passage is a run of consecutive health sentences inside one paragraph (a line):
    a government report gives health one paragraph (推进健康上海建设。…) or a few
    sentences inside a paragraph on public services (教育卫生服务提质增效。…), and
    what surrounds them is about something else.
    """
    tax = tax or taxonomy()
    out: list[str] = []
    for para in (text or "").split("\n"):
        run: list[str] = []
        for m in _SENTENCE.finditer(para):
            sent = m.group().strip()
            if sent and _is_health_sentence(sent, tax):
                run.append(sent)
            elif run:
                out.append("".join(run))
                run = []
        if run:
            out.append("".join(run))
    return out


def is_multi_subject(title: str, body: str, tax: Taxonomy, doc_type: str | None = None) -> list[str] | None:
    """The health passages of a report about every subject of public life (政府工作报告,
    党代会报告), or ``None`` for any other document.

    Known by its document type or title (listed in the taxonomy file), or by its shape:
    a long report (``long_report_chars``) whose health passages are a small share of it.
    The passages are only looked for in documents that may be such a report (they cost a
    pass over every sentence).
    """
    named = bool((doc_type and doc_type in tax.multi_subject_doc_types)
                 or (title and tax.multi_subject_title is not None and tax.multi_subject_title.search(title)))
    if not named and (len(body) < tax.long_report_chars or "报告" not in (title or "")):
        return None
    passages = health_passages(body, tax)
    if named or sum(len(p) for p in passages) < tax.long_report_max_health_share * max(1, len(body)):
        return passages
    return None


def passage_topics(passages: list[str], tax: Taxonomy | None = None) -> list[str]:
    """Health topics of a multi-subject report, read from its health passages only.

    Density over a 20,000-character report cannot see a paragraph on 医改; the
    passages can.  A health topic is given when its terms in the passages score at
    least ``passage_min_score`` — one term that names it outright (医改, 分级诊疗 +
    医联体, 基本医疗保险), never one typical word.  Words counted outside the passages
    (扶贫, 示范区, 改革 in the economic chapters) do not count.  Sub-topics without a
    naming term of their own fold into their parent, as in the whole-text rule;
    topics that are no health subject (``health = false``: 党建, 人才培养 …) are not
    taken from a multi-subject report.
    """
    tax = tax or taxonomy()
    scores, distinct, heaviest = _raw_scores("\n".join(passages), tax)
    for child in [c for c in scores if c in tax.parents]:
        if heaviest[child] >= tax.heading_name_weight and scores[child] >= tax.passage_min_score:
            continue
        parent = tax.parents[child]
        scores[parent] += scores.pop(child)
        distinct[parent] |= distinct[child]
    picked = [(s, ti) for ti, s in scores.items()
              if ti not in tax.not_health and s >= tax.passage_min_score]
    picked.sort(key=lambda x: (-x[0], tax.names[x[1]]))
    return [tax.names[ti] for _s, ti in picked[: tax.passage_max_topics]]
