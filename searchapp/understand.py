"""What a query means beyond its words: places and years in it, short region names, typo fixes.

Users type a topic, a place and a year into one box (``云南 卫生``, ``新型农村合作医疗
2010``).  A place or a year typed as an item of its own is read here:

* a **place** is an item that the gazetteer (``indexer.meta.regions.resolve_name``,
  the one region metadata uses) resolves to a province, prefecture or county,
  by full or short name, and that the index holds reports of;
* a **year** is ``2010``, ``2010年`` or a range ``2010-2012`` / ``2010至2012年``.

``searchapp.ranking`` then lets such an item match by the report's metadata as
well as by its text, and ranks reports of that place or year first; the page
offers them as one-click filters ("只看 云南省").  ``canonical_region`` lets the
``region`` parameter take short forms (云南 → 云南省).

"Did you mean" (:func:`did_you_mean`) proposes a one-character change of one
item only when the variant occurs verbatim in the index where the item does
not, and reads as words (never a fragment such as 贵的); it is cached per index
generation and is never asked for results emptied by filters alone.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from indexer.analysis import cut, gram_text
from indexer.meta import regions

from . import query as qmod
from .facets import FacetTable, Filters

_YEAR = re.compile(r"^((?:19|20)\d\d)年?(?:度)?(?:\s*[-–—~～至到]\s*((?:19|20)\d\d)年?(?:度)?)?$")
_CJK = re.compile(r"^[\u4e00-\u9fff]{2,12}$")
MAX_PROBES = 24  # exact-phrase checks one "did you mean" may make for replacements
MAX_EXTRA_PROBES = 10  # and then for a character removed or added


@dataclass
class Place:
    item: qmod.Item
    path: list[str]  # the full region path, most general first

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass
class YearSpan:
    item: qmod.Item
    lo: int
    hi: int

    @property
    def label(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}–{self.hi}"


@dataclass
class Understanding:
    """The parsed query split into what it is about (``core``) and the places and years it names."""

    core: qmod.ParsedQuery
    places: list[Place] = field(default_factory=list)
    years: list[YearSpan] = field(default_factory=list)

    @property
    def constraints(self) -> list[Place | YearSpan]:
        return [*self.places, *self.years]


def parse_year(text: str) -> tuple[int, int] | None:
    """``2010`` / ``2010年`` / ``2010-2012`` → (first, last) year; None for anything else."""
    m = _YEAR.match(text.strip())
    if not m:
        return None
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else lo
    if hi < lo or hi - lo > 100:
        return None
    return lo, hi


def resolve_place(text: str) -> list[str] | None:
    """The region path a query item names (province, prefecture or county), or None.

    Only administrative names themselves count, full or short (云南, 宁蒗, 海伦市), never a
    town reached by adding 镇/乡 to an ordinary word (健康 → 健康街道); the national level
    is not a place to narrow to.
    """
    if not _CJK.match(text):
        return None
    g = regions.gazetteer()
    kinds = {a.kind for a in (g.aliases.get(text) or [])}
    if not kinds - {"town", "town_inst"}:
        return None
    path = regions.resolve_name(text)
    if not path or path == [regions.NATIONAL] or len(path) > 3:
        return None
    return path


def canonical_region(value: str, known: Callable[[str], bool]) -> str:
    """A ``region`` parameter as the index names it: a short form (云南, 宁蒗) becomes the full
    name (云南省, 宁蒗彝族自治县) when the value itself is not a region of the index and the
    full name is."""
    if known(value):
        return value
    path = regions.resolve_name(value)
    if path and path != [regions.NATIONAL] and known(path[-1]):
        return path[-1]
    return value


def canonical_filters(filters: Filters, table: FacetTable) -> Filters:
    """``filters`` with each region value in the index's own spelling (see :func:`canonical_region`)."""
    if not filters.region:
        return filters
    known = region_known(table)
    fixed = list(dict.fromkeys(canonical_region(v, known) for v in filters.region))
    if fixed == filters.region:
        return filters
    return dataclasses.replace(filters, region=fixed)  # every other filter (本级 too) as it was


def region_known(table: FacetTable) -> Callable[[str], bool]:
    """Whether a region value is one the index holds (the facet table's own value → code map)."""
    return table.vocab["region"].__contains__


_LEADING_YEAR = re.compile(r"^((?:19|20)\d\d年?(?:度)?(?:[-–—~～至到](?:19|20)\d\d年?(?:度)?)?)(\D.*)$")
_TRAILING_YEAR = re.compile(r"^(.*\D)((?:19|20)\d\d年?(?:度)?(?:[-–—~～至到](?:19|20)\d\d年?(?:度)?)?)$")


def _constraint(item: qmod.Item, known: Callable[[str], bool]) -> Place | YearSpan | None:
    span = parse_year(item.text)
    if span is not None:
        return YearSpan(item, *span)
    path = resolve_place(item.text)
    if path is not None and known(path[-1]):
        return Place(item, path)
    return None


def _split(item: qmod.Item, known: Callable[[str], bool]) -> tuple[Place | YearSpan, qmod.Item] | None:
    """A place or year written against the topic in one item (贵州健康扶贫, 2010年新农合, 新农合2010):
    (the place or year, the rest).  A place must be a word of its own in jieba's cut, so
    中山大学 (one word) stays whole; the rest must be two characters or more."""
    m = _LEADING_YEAR.match(item.text) or _TRAILING_YEAR.match(item.text)
    if m:
        year_text, rest = (m.group(1), m.group(2)) if m.re is _LEADING_YEAR else (m.group(2), m.group(1))
        c = _constraint(qmod.Item(year_text), known)
        if c is not None and len(rest.strip()) >= 2:
            return c, qmod.Item(rest.strip())
    ws = [w for w in cut(item.text) if w.strip()]
    if len(ws) < 2:
        return None
    for place, rest in ((ws[0], ws[1:]), (ws[-1], ws[:-1])):
        c = _constraint(qmod.Item(place), known)
        if isinstance(c, Place) and len("".join(rest)) >= 2:
            return c, qmod.Item("".join(rest))
    return None


def analyse(pq: qmod.ParsedQuery, table: FacetTable) -> Understanding:
    """Split places and years out of a parsed query.

    Only an AND group of one unquoted item counts (``"2010"`` in quotes, or ``云南 OR
    贵州``, stay words), and only places the index holds reports of; an item may also
    start or end with one (:func:`_split`).  When nothing but places and years was
    typed, the core is empty and they alone decide.
    """
    known = region_known(table)
    found: list[Place | YearSpan] = []
    groups: list[list[qmod.Item]] = []
    for g in pq.groups:
        if len(g) != 1 or g[0].phrase:
            groups.append(g)
            continue
        c = _constraint(g[0], known)
        if c is not None:
            found.append(c)
            continue
        parts = None if g[0].typed else _split(g[0], known)
        if parts is not None:
            found.append(parts[0])
            groups.append([parts[1]])
            continue
        groups.append(g)
    if not found:
        return Understanding(core=pq)
    return Understanding(core=pq.with_groups(groups), places=[c for c in found if isinstance(c, Place)],
                         years=[c for c in found if isinstance(c, YearSpan)])


def place_mask(table: FacetTable, place: Place) -> np.ndarray:
    return table.value_mask("region", [place.name])


def year_mask(table: FacetTable, span: YearSpan) -> np.ndarray:
    y = table.year_num
    return (y >= span.lo) & (y <= span.hi)


def suggestions(u: Understanding, filters: Filters, counts: list[int] | None = None,
                total: int | None = None) -> list[dict[str, object]]:
    """One-click filters for the places and years read in the query, not already applied:
    ``{"label": "只看 云南省", "params": {"region": "云南省"}}`` (the URL arguments to set).

    ``counts`` (one per place/year, in ``u.constraints`` order): the matches of that place or
    year by metadata; a filter that would leave nothing, or change nothing (``total``), is not offered.
    """
    out: list[dict[str, object]] = []
    for k, c in enumerate(u.constraints):
        if counts is not None and (not counts[k] or (total is not None and counts[k] >= total)):
            continue
        if isinstance(c, Place):
            if c.name not in filters.region:
                out.append({"label": f"只看 {c.name}", "params": {"region": c.name}})
        elif c.lo == c.hi:
            if filters.year != [str(c.lo)]:
                out.append({"label": f"只看 {c.lo} 年", "params": {"year": str(c.lo)}})
        elif (filters.year_from, filters.year_to) != (c.lo, c.hi):
            out.append({"label": f"只看 {c.lo}–{c.hi} 年",
                        "params": {"year_from": str(c.lo), "year_to": str(c.hi)}})
    return out


# -- did you mean -------------------------------------------------------------------------------

class DidYouMean:
    """Typo fixes for query items, cached per index generation.

    ``count(text)`` is the number of reports holding ``text`` verbatim (the engine
    evaluates the exact phrase with its numpy evaluator, no filter); ``reader`` is the
    searcher's reader (for the bigram lexicon and the word lexicon).
    """

    def __init__(self, size: int = 2048):
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, str | None] = OrderedDict()
        self._size = size

    def fix(self, generation: object, text: str, reader, count: Callable[[str], int]) -> str | None:
        key = (generation, text)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        fixed = fix_item(text, reader, count)
        with self._lock:
            self._cache[key] = fixed
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return fixed


def _has(reader, fieldname: str, term: str) -> bool:
    try:
        return (fieldname, term) in reader
    except (ValueError, UnicodeError, OSError):  # an odd lexicon entry must not break the search
        return False


def reads_as_words(text: str, reader) -> bool:
    """Whether ``text`` is made of whole indexed words: its jieba cut has no one-character
    word at either end (贵的, 的健康) and every longer word is a term of the index."""
    ws = [w for w in cut(text) if w.strip()]
    if not ws:
        return False
    if len(ws) > 1 and (len(ws[0]) == 1 or len(ws[-1]) == 1):
        return False
    if len(ws) == 1 and len(ws[0]) == 1:
        return False
    return all(len(w) == 1 or _has(reader, "content", w.lower()) for w in ws)


def warm() -> None:
    """Load what query understanding needs (the gazetteer, pypinyin: up to a few seconds) before the
    first request, so no request stalls on a one-time import that no query deadline can interrupt."""
    regions.gazetteer()
    _sound("体")
    _by_sound()


@functools.lru_cache(maxsize=8192)
def _sound(ch: str) -> str:
    """A character's pinyin without tone (pypinyin, loaded on first use)."""
    from pypinyin import lazy_pinyin

    got = lazy_pinyin(ch)
    return got[0] if got else ch


def _toneless(reading: str) -> str:
    """A pinyin reading without its tone marks (wèi → wei, lǜ → lu)."""
    return "".join(c for c in unicodedata.normalize("NFD", reading) if not unicodedata.combining(c))


@functools.lru_cache(maxsize=1)
def _by_sound() -> dict[str, tuple[str, ...]]:
    """Every common character (U+4E00–U+9FFF) by its main toneless reading, from pypinyin's table.

    Only the main reading: a pinyin typist means a character by its usual sound, and
    the rare readings (有 read wěi) would flood the candidates."""
    from pypinyin.pinyin_dict import pinyin_dict

    out: defaultdict[str, list[str]] = defaultdict(list)
    for cp, readings in pinyin_dict.items():
        if 0x4E00 <= cp <= 0x9FFF and readings:
            out[_toneless(readings.split(",")[0])].append(chr(cp))
    return {k: tuple(v) for k, v in out.items()}


def _homophones(ch: str) -> list[str]:
    """Characters sharing a toneless reading with ``ch`` (为 → 卫, 位, 委 …), ``ch`` excluded."""
    from pypinyin.pinyin_dict import pinyin_dict

    table = _by_sound()
    readings = {_toneless(x) for x in pinyin_dict.get(ord(ch), "").split(",") if x}
    return [c for c in dict.fromkeys(c for r in readings for c in table.get(r, ())) if c != ch]


def _first_candidates(text: str, reader, limit: int = 8) -> list[str]:
    """Substitutes for the first character, which has no left neighbour to propose them: its
    homophones c (pinyin input makes most typos) such that c + text[1] is a bigram of the index,
    the most frequent first."""
    found = [(reader.doc_frequency("grams", c + text[1]), c) for c in _homophones(text[0])
             if _has(reader, "grams", c + text[1])]
    return [c for _df, c in sorted(found, key=lambda x: -x[0])[:limit]]


def _candidates(before: str, right: str | None, reader, exclude: str | None = None, limit: int = 8) -> list[str]:
    """Characters that may stand after ``before`` (and before ``right``): first those continuing
    a word of the index written just before (创先争 → 创先争优: a real word beats a frequent
    bigram), then those c such that before[-1]+c and c+right are both bigrams of the index, the
    most frequent joins first."""
    left = before[-1]
    cands: list[tuple[float, str]] = []
    for k in (3, 2):
        if len(before) < k:
            continue
        try:
            for m, t in enumerate(reader.expand_prefix("content", before[-k:])):
                if m >= 200:
                    break
                t = t.decode("utf-8") if isinstance(t, bytes) else t
                if len(t) > k and t[k] != exclude and (right is None or _has(reader, "grams", t[k] + right)):
                    cands.append((float("inf"), t[k]))
        except (ValueError, UnicodeError, OSError):  # an odd lexicon entry: no word candidates
            pass
    try:
        terms = list(reader.expand_prefix("grams", left))
    except (ValueError, UnicodeError, OSError):  # an odd lexicon entry: no bigram candidates
        terms = []
    for t in terms:
        t = t.decode("utf-8") if isinstance(t, bytes) else t
        if len(t) != 2 or t[1] == exclude or not ("\u4e00" <= t[1] <= "\u9fff"):
            continue
        df = reader.doc_frequency("grams", t)
        if right is not None:
            if not _has(reader, "grams", t[1] + right):
                continue
            df *= reader.doc_frequency("grams", t[1] + right)  # both joins common, not just one
        cands.append((df, t[1]))
    ranked = {ch: df for df, ch in reversed(cands)}  # a character's first (best) source wins
    return [ch for ch, _df in sorted(ranked.items(), key=lambda x: -x[1])[:limit]]


def fix_item(text: str, reader, count: Callable[[str], int]) -> str | None:
    """The best one-character fix of ``text`` that occurs verbatim in the index, or None.

    Only for an item the index does not hold verbatim.  The typo sits where the
    longest found prefix and the longest found suffix end (医疗卫生体质改革: 医疗卫生体 is
    found, 医疗卫生体质 is not, so 质 is replaced).  A character is replaced first
    (:func:`_candidates` proposes substitutes); only when no replacement works, one is
    removed or one is added.  A variant must be found verbatim and read as words; of
    several, a homophone of the typed character wins (pinyin input: 药务 → 药物, not 任务),
    then the one jieba cuts into fewest words, then the one in most reports.
    """
    text = gram_text(text)
    n = len(text)
    if n < 2 or n > 12 or count(text) > 0:
        return None
    probes = [0]

    def hits(variant: str) -> int:
        probes[0] += 1
        return count(variant)

    def longest(is_prefix: bool) -> int:
        lo, hi = 2, n - 1  # a single character is taken as found (its check scans a whole prefix range)
        best = 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if hits(text[:mid] if is_prefix else text[n - mid:]) > 0:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        return best

    p = longest(True)
    s = longest(False)
    positions = [j for j in dict.fromkeys((p, p - 1, n - s - 1, n - s)) if 1 <= j < n]
    best: tuple[tuple[int, int, int, int], str] | None = None

    def consider(variant: str, homophone: bool, budget: int = MAX_PROBES, keeps_all: bool = True) -> None:
        nonlocal best
        if probes[0] >= budget or len(variant) < 2:
            return
        c = hits(variant)
        if c > 0 and reads_as_words(variant, reader):
            # a homophone first (pinyin input makes most typos: 体质/体制, 药务/药物), then a
            # variant keeping every typed character (a shorter string always has more reports:
            # 高质量展 is 高质量发展 before it is 高质量), then fewer words, then more reports
            rank = (int(homophone), int(keeps_all), -len(cut(variant)), c)
            if best is None or rank > best[0]:
                best = (rank, variant)

    for j in positions:  # one character replaced
        for ch in _candidates(text[:j], text[j + 1] if j + 1 < n else None, reader, exclude=text[j]):
            consider(text[:j] + ch + text[j + 1:], _sound(ch) == _sound(text[j]))
    if best is None and (p == 1 or s == n - 1):  # the first character replaced (为生健康 → 卫生健康)
        budget = probes[0] + MAX_EXTRA_PROBES
        for ch in _first_candidates(text, reader):
            consider(ch + text[1:], True, budget)
    if best is None:  # one character too many (医疗卫生体制制改革), or one missing (医疗卫生体改革)
        budget = probes[0] + MAX_EXTRA_PROBES
        for j in dict.fromkeys((p, p - 1, n - s - 1)):
            if 0 <= j < n:
                consider(text[:j] + text[j + 1:], False, budget, keeps_all=False)
        for j in dict.fromkeys((p, n - s)):
            if 1 <= j <= n:
                for ch in _candidates(text[:j], text[j] if j < n else None, reader, limit=4):
                    consider(text[:j] + ch + text[j:], False, budget)
    return best[1] if best else None
