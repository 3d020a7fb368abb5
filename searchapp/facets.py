"""Facets: the one module that knows how filters are read, applied and counted.

Semantics (stated in the UI and the README):

* region is a path: selecting 安徽省 then 宿州市 narrows (AND); its facet lists
  the level below the deepest selection;
* year, topic and document type are multi-select: several values of one facet
  are alternatives (OR), different facets narrow each other (AND).

Counts are exact by construction and counted in *reports* (near-duplicate
copies of one report count once, as they are shown once).  The count next to a
value is the number of results that value gives as that facet's selection
under all the other active filters: for region, the result total after
clicking it; for an unselected year/topic/type when none of that facet is
selected yet, also the result total after clicking it; for a multi-select
facet that already has a selection, the reports of that value alone (the total
after clicking grows by exactly that many for year and type, which are single
valued).

Counting does not touch stored documents: a :class:`FacetTable` is read once
per index generation from the compact ``facets`` column into per-document code
arrays; filtering is a boolean mask and a count is a ``bincount`` over the
matching document numbers (near-duplicate copies deduplicated per value).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
from markupsafe import Markup, escape
from whoosh import query as Q

from indexer.engine.schema import UNKNOWN, FacetRecord, decode_facet_record

FACET_NAMES = ("region", "year", "topic", "doc_type")
MULTI_SELECT = ("year", "topic", "doc_type")  # OR within the facet
FACET_LABELS = {"region": "地区", "year": "年份", "topic": "主题", "doc_type": "文档类型"}
_FIELD = {"region": "region", "year": "year_key", "topic": "topics", "doc_type": "doc_type"}
MAX_VALUES_PER_FACET = 20


YEAR_MIN, YEAR_MAX = 1900, 2100  # a year range bound outside is clamped to these (the year field is unsigned)


_YEAR_TEXT = re.compile(r"[+-]?[0-9]{1,30}")  # longer digit strings are not read as numbers


def _year_bound(name: str, v: object, notes: list[str]) -> int | None:
    """A ``year_from``/``year_to`` value: an integer year clamped to YEAR_MIN..YEAR_MAX; anything
    else is ignored.  Either way ``notes`` says what was done, so no bad value reaches a query."""
    if v is None or isinstance(v, bool):
        return None
    text = str(v).strip()
    if not text:
        return None
    label = "起始年份" if name == "year_from" else "截止年份"
    if not _YEAR_TEXT.fullmatch(text):
        notes.append(f"{label}“{text[:20]}”不是年份，已忽略。")
        return None
    n = int(text)
    if n < YEAR_MIN or n > YEAR_MAX:
        c = min(max(n, YEAR_MIN), YEAR_MAX)
        notes.append(f"{label} {n} 超出范围（{YEAR_MIN}–{YEAR_MAX}），按 {c} 处理。")
        return c
    return n


@dataclass
class Filters:
    """Active filters, as they appear in the URL (each facet may repeat)."""

    region: list[str] = field(default_factory=list)
    year: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    doc_type: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    notes: list[str] = field(default_factory=list, compare=False)  # what reading the request changed, for the page

    @classmethod
    def from_args(cls, args: Mapping) -> "Filters":
        """Read filters from request args (a MultiDict) or a plain dict of lists/strings."""

        def getlist(name: str) -> list[str]:
            if hasattr(args, "getlist"):
                vals = args.getlist(name)
            else:
                v = args.get(name)
                vals = v if isinstance(v, list) else ([v] if v is not None else [])
            out: list[str] = []
            for v in vals:
                for part in str(v).split(",") if name != "region" else [str(v)]:
                    part = part.strip()[:100]
                    if part and part not in out:
                        out.append(part)
            return out

        return cls(  # the year range is checked in __post_init__
            region=getlist("region"), year=getlist("year"), topic=getlist("topic"),
            doc_type=getlist("doc_type"), year_from=args.get("year_from"), year_to=args.get("year_to"),
        )

    def __post_init__(self) -> None:
        """Validate the year range however the filters were made: a bound that is not a
        year is dropped, one out of range clamped, a reversed range swapped (each noted)."""
        lo = _year_bound("year_from", self.year_from, self.notes)
        hi = _year_bound("year_to", self.year_to, self.notes)
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
            self.notes.append(f"起始年份晚于截止年份，已按 {lo}–{hi} 检索。")
        self.year_from, self.year_to = lo, hi

    def active(self) -> bool:
        return bool(self.region or self.year or self.topic or self.doc_type
                    or self.year_from is not None or self.year_to is not None)

    def to_query(self, exclude: str | None = None) -> Q.Query | None:
        """The filter query: region names ANDed, multi-select values ORed within their facet.

        ``exclude`` leaves one facet's own selection out (to count that facet).
        """
        terms: list[Q.Query] = []
        for v in self.region:
            if exclude != "region":
                terms.append(Q.Term(_FIELD["region"], v))
        for name in MULTI_SELECT:
            vals = getattr(self, name)
            if vals and name != exclude:
                alts = [Q.Term(_FIELD[name], v) for v in vals]
                terms.append(alts[0] if len(alts) == 1 else Q.Or(alts))
        if self.year_from is not None or self.year_to is not None:
            terms.append(Q.NumericRange("year", self.year_from, self.year_to))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else Q.And(terms)

    def pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for building URLs."""
        out = [(n, v) for n in FACET_NAMES for v in getattr(self, n)]
        if self.year_from is not None:
            out.append(("year_from", str(self.year_from)))
        if self.year_to is not None:
            out.append(("year_to", str(self.year_to)))
        return out


class _SegmentFacets:
    """One segment's facet records and codes (segment-local numbering and vocabularies).

    Segments never change once written, so this is read once per segment and
    kept (:data:`_SEGMENT_CACHE`); a new index generation after a one-document
    update then reads only its new segment.  Deletions are applied per generation.
    """

    def __init__(self, reader):
        n = reader.doc_count_all()
        col = reader.column_reader("facets") if reader.has_column("facets") else None
        self.records: list[FacetRecord | None] = [decode_facet_record(col[i]) if col is not None else None
                                                  for i in range(n)]
        self.names: dict[str, list[str]] = {k: [] for k in FACET_NAMES}
        vocab: dict[str, dict[str, int]] = {k: {} for k in FACET_NAMES}

        def code(name: str, value: str) -> int:
            v = vocab[name]
            c = v.get(value)
            if c is None:
                c = v[value] = len(v)
                self.names[name].append(value)
            return c

        depth = max([len(r.region) for r in self.records if r is not None] + [1])
        self.region = np.full((depth, n), -1, dtype=np.int32)
        self.year = np.full(n, -1, dtype=np.int32)
        self.year_num = np.zeros(n, dtype=np.int64)
        self.doc_type = np.full(n, -1, dtype=np.int32)
        t_doc: list[int] = []
        t_code: list[int] = []
        for i, r in enumerate(self.records):
            if r is None:
                continue
            if r.region:
                for lv, name in enumerate(r.region):
                    self.region[lv, i] = code("region", name)
            else:
                self.region[0, i] = code("region", UNKNOWN)
            self.year[i] = code("year", str(r.year) if r.year else UNKNOWN)
            self.year_num[i] = int(r.year) if isinstance(r.year, int) else 0
            self.doc_type[i] = code("doc_type", r.doc_type or UNKNOWN)
            for t in (r.topics or [UNKNOWN]):
                t_doc.append(i)
                t_code.append(code("topic", t))
        self.topic_doc = np.asarray(t_doc, dtype=np.int64)
        self.topic_code = np.asarray(t_code, dtype=np.int32)


_SEGMENT_CACHE: "OrderedDict[object, _SegmentFacets]" = OrderedDict()
_SEGMENT_CACHE_SIZE = 4096
_SEGMENT_LOCK = threading.Lock()


def _segment_facets(reader) -> _SegmentFacets:
    seg = getattr(reader, "_segment", None)
    key = (seg.segment_id(), reader.doc_count_all()) if seg is not None else None
    if key is not None:
        with _SEGMENT_LOCK:
            hit = _SEGMENT_CACHE.get(key)
            if hit is not None:
                _SEGMENT_CACHE.move_to_end(key)
                return hit
    sf = _SegmentFacets(reader)
    if key is not None:
        with _SEGMENT_LOCK:
            _SEGMENT_CACHE[key] = sf
            while len(_SEGMENT_CACHE) > _SEGMENT_CACHE_SIZE:
                _SEGMENT_CACHE.popitem(last=False)
    return sf


class FacetTable:
    """docnum → facet values and duplicate-group key, for one searcher generation.

    Besides the records, per-document code arrays make filtering and counting
    array operations: ``live`` (the document has a facet record and is not
    deleted), ``group`` (its near-duplicate group number, −1 for a singleton),
    ``region`` (one row per level of the region path, −1: none), ``year`` and
    ``doc_type`` (a code each), ``topic_doc``/``topic_code`` (pairs) and
    ``year_num`` (the year, 0 when unknown, for year ranges); ``names[facet]``
    maps a code back to its value and ``vocab[facet]`` a value to its code.
    """

    def __init__(self, segments: list[tuple[_SegmentFacets, int, set[int]]], size: int,
                 groups: dict[str, list[str]]):
        self.size = size
        self.vocab: dict[str, dict[str, int]] = {k: {} for k in FACET_NAMES}
        self.names: dict[str, list[str]] = {k: [] for k in FACET_NAMES}
        depth = max([sf.region.shape[0] for sf, _o, _d in segments] + [1])
        self.live = np.zeros(size, dtype=bool)
        self.region = np.full((depth, size), -1, dtype=np.int32)
        self.year = np.full(size, -1, dtype=np.int32)
        self.year_num = np.zeros(size, dtype=np.int64)
        self.doc_type = np.full(size, -1, dtype=np.int32)
        self.records: dict[int, FacetRecord] = {}
        t_doc, t_code = [], []
        for sf, off, deleted in segments:
            n = len(sf.records)
            maps = {k: self._global_codes(k, sf.names[k]) for k in FACET_NAMES}
            sl = slice(off, off + n)
            d = sf.region.shape[0]
            self.region[:d, sl] = np.where(sf.region >= 0, maps["region"][np.maximum(sf.region, 0)], -1)
            self.year[sl] = np.where(sf.year >= 0, maps["year"][np.maximum(sf.year, 0)], -1)
            self.doc_type[sl] = np.where(sf.doc_type >= 0, maps["doc_type"][np.maximum(sf.doc_type, 0)], -1)
            self.year_num[sl] = sf.year_num
            t_doc.append(sf.topic_doc + off)
            t_code.append(maps["topic"][sf.topic_code] if len(sf.topic_code) else sf.topic_code)
            for i, r in enumerate(sf.records):
                if r is not None and i not in deleted:
                    self.records[off + i] = r
        if self.records:
            self.live[np.fromiter(self.records.keys(), dtype=np.int64, count=len(self.records))] = True
        td = np.concatenate(t_doc) if t_doc else np.zeros(0, dtype=np.int64)
        tc = np.concatenate(t_code).astype(np.int32) if t_code else np.zeros(0, dtype=np.int32)
        keep = self.live[td] if len(td) else np.zeros(0, dtype=bool)
        self.topic_doc, self.topic_code = td[keep], tc[keep]
        self.by_id = {r.id: n for n, r in self.records.items()}
        # Each near-duplicate group is keyed by its smallest id; singletons have no key.
        self.group_key: dict[int, str] = {}
        self.group = np.full(size, -1, dtype=np.int64)
        gnum: dict[str, int] = {}
        for gid, others in groups.items():
            n = self.by_id.get(gid)
            if n is not None and others:
                gk = min([gid, *others])
                self.group_key[n] = gk
                self.group[n] = gnum.setdefault(gk, len(gnum))
        self.groups_count = len(gnum)

    def _global_codes(self, name: str, local_names: list[str]) -> np.ndarray:
        v, names = self.vocab[name], self.names[name]
        out = np.empty(len(local_names), dtype=np.int32)
        for i, value in enumerate(local_names):
            c = v.get(value)
            if c is None:
                c = v[value] = len(names)
                names.append(value)
            out[i] = c
        return out

    @classmethod
    def load(cls, searcher, groups: dict[str, list[str]]) -> "FacetTable":
        """The table of a searcher: each segment's part read once per process (see :class:`_SegmentFacets`)."""
        segments = []
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            deleted: set[int] = set()
            if reader.has_deletions():
                perdoc = getattr(reader, "_perdoc", None)
                deleted = (set(perdoc.deleted_docs()) if perdoc is not None
                           else {d for d in range(reader.doc_count_all()) if reader.is_deleted(d)})
            segments.append((_segment_facets(reader), offset, deleted))
        return cls(segments, searcher.doc_count_all(), groups)

    def titles_starting(self, prefix: str, limit: int) -> list[str]:
        """Titles that start with (then: contain) ``prefix``, for suggestions."""
        starts, contains = [], []
        for r in self.records.values():
            t = r.title
            if not t:
                continue
            low = t.lower()
            if low.startswith(prefix):
                starts.append(t)
            elif prefix in low and len(contains) < limit:
                contains.append(t)
        return (sorted(set(starts), key=len) + contains)[:limit]

    def collapse_key(self, docnum: int) -> str:
        """Key under which copies of one report collapse into one result."""
        return self.group_key.get(docnum) or f"#{docnum}"

    def region_level(self, selected: list[str], docnums: Iterable[int]) -> int:
        """Drill-down level to count: one below the deepest selected region name (in the first document)."""
        if not selected:
            return 0
        level = 0
        for n in docnums:
            path = self.records[n].region if n in self.records else []
            for name in selected:
                if name in path:
                    level = max(level, path.index(name) + 1)
            break
        return level

    # -- filters and counts, as array operations ---------------------------------------------
    def _codes(self, name: str, values: list[str]) -> np.ndarray:
        v = self.vocab[name]
        return np.asarray([v[x] for x in values if x in v], dtype=np.int32)

    def value_mask(self, name: str, values: list[str]) -> np.ndarray:
        """Documents having any of ``values`` for one facet (region: anywhere on the path)."""
        codes = self._codes(name, values)
        if name == "region":
            return np.isin(self.region, codes).any(axis=0) if len(codes) else np.zeros(self.size, dtype=bool)
        if name == "topic":
            m = np.zeros(self.size, dtype=bool)
            m[self.topic_doc[np.isin(self.topic_code, codes)]] = True
            return m
        arr = self.year if name == "year" else self.doc_type
        return np.isin(arr, codes)

    def filter_mask(self, filters: "Filters", exclude: str | None = None) -> np.ndarray | None:
        """The documents passing every filter (``exclude``: but that facet's own); None when nothing filters.

        The same semantics as :meth:`Filters.to_query` (tested against it): region
        names ANDed, the values of a multi-select facet ORed, a year range inclusive.
        """
        mask: np.ndarray | None = None

        def narrow(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else (mask & m)

        if exclude != "region":
            for v in filters.region:
                narrow(self.value_mask("region", [v]))
        for name in MULTI_SELECT:
            vals = getattr(filters, name)
            if vals and name != exclude:
                narrow(self.value_mask(name, vals))
        if filters.year_from is not None or filters.year_to is not None:
            y = self.year_num
            m = y > 0
            if filters.year_from is not None:
                m &= y >= filters.year_from
            if filters.year_to is not None:
                m &= y <= filters.year_to
            narrow(m)
        return mask

    def total(self, docs: np.ndarray) -> int:
        """Number of reports among ``docs`` (a near-duplicate group counts once)."""
        g = self.group[docs]
        grouped = g[g >= 0]
        return int(len(g) - len(grouped) + len(np.unique(grouped)))

    def count_facet(self, docs: np.ndarray, name: str, level: int = 0) -> dict[str, int]:
        """value → number of reports among ``docs`` having it (copies of one report count once)."""
        if name == "topic":
            inside = np.zeros(self.size, dtype=bool)
            inside[docs] = True
            sel = inside[self.topic_doc]
            d, codes = self.topic_doc[sel], self.topic_code[sel].astype(np.int64)
        else:
            d = docs
            if name == "region":
                if level >= self.region.shape[0]:
                    return {}
                codes = self.region[level][docs].astype(np.int64)
            else:
                codes = (self.year if name == "year" else self.doc_type)[docs].astype(np.int64)
            keep = codes >= 0
            d, codes = d[keep], codes[keep]
        vocab = self.names[name]
        g = self.group[d]
        single = g < 0
        counts = np.bincount(codes[single], minlength=len(vocab))
        if not single.all():
            pairs = np.unique(codes[~single] * (self.groups_count + 1) + g[~single])
            counts = counts + np.bincount(pairs // (self.groups_count + 1), minlength=len(vocab))
        return {vocab[c]: int(counts[c]) for c in np.flatnonzero(counts)}


def ordered(counts: dict[str, int], name: str) -> list[tuple[str, int]]:
    """Display order: years newest first (unknown last), other facets by count."""
    items = list(counts.items())
    if name == "year":
        return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -(int(kv[0]) if kv[0].isdigit() else 0)))
    return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0]))


@dataclass
class FacetCounts:
    docnums: np.ndarray  # matching documents (query AND all filters), ascending
    total: int  # reports among them
    counts: dict[str, dict[str, int]]
    region_level: int


def compute(table: FacetTable, matched: np.ndarray, filters: Filters, first: int | None = None) -> FacetCounts:
    """Apply the filters to the query's matches and count every facet (see the module docstring).

    ``matched``: the live documents the query matches, *before* any filter,
    ascending; each multi-select facet with a selection is counted under all the
    other filters.  ``first``: the best-ranked match, whose region path sets the
    drill-down level (default: the first document).
    """
    full = table.filter_mask(filters)
    docs = matched if full is None else matched[full[matched]]
    if first is None or (full is not None and not full[first]):
        first = int(docs[0]) if len(docs) else None
    level = table.region_level(filters.region, [first] if first is not None else [])
    counts = {"region": table.count_facet(docs, "region", level)}
    for name in MULTI_SELECT:
        d = docs
        if getattr(filters, name):
            m = table.filter_mask(filters, exclude=name)
            d = matched if m is None else matched[m[matched]]
        counts[name] = table.count_facet(d, name)
    return FacetCounts(docs, table.total(docs), counts, level)


def year_chart_svg(counts: dict[str, int], filters: Filters, link) -> Markup | None:
    """Counts per year as a small bar chart, server-rendered SVG; each bar links to its filter.

    ``link(year)`` gives the URL for a bar.  Returns None when fewer than two years are known.
    """
    years = sorted((int(y), c) for y, c in counts.items() if y.isdigit())
    if len(years) < 2:
        return None
    lo, hi = years[0][0], years[-1][0]
    span = hi - lo + 1
    by_year = dict(years)
    peak = max(c for _y, c in years)
    width, height, base = 240, 80, 66
    slot = width / span
    bar_w = max(1.0, slot * 0.8)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="按年份的报告数量" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i in range(span):
        y = lo + i
        c = by_year.get(y, 0)
        if not c:
            continue
        h = max(1.5, (base - 4) * c / peak)
        x = i * slot + (slot - bar_w) / 2
        cls = "bar sel" if str(y) in filters.year else "bar"
        parts.append(f'<a href="{escape(link(str(y)))}"><rect class="{cls}" x="{x:.1f}" y="{base - h:.1f}" '
                     f'width="{bar_w:.1f}" height="{h:.1f}"><title>{y} 年：{c} 篇</title></rect></a>')
    parts.append(f'<text x="0" y="{height - 2}">{lo}</text>')
    parts.append(f'<text x="{width}" y="{height - 2}" text-anchor="end">{hi}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
