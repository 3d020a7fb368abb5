"""Facets: the one module that knows how filters are read, applied, counted and listed.

Each kind of facet is a class (:class:`RegionFacet`, :class:`YearFacet`,
:class:`TopicFacet`, :class:`DocTypeFacet`), in the manner of Datasette's facet
classes: it owns how its values are read from a document's facet record, how
they are stored as per-document codes, how a selection filters (as a Whoosh
query and as a numpy mask), how they are counted, and the data a page or the
API needs to list them (order, paging, the filter box, the "本级" row).
:data:`FACETS` holds one instance of each, in display order.

Semantics (stated in the UI and the README):

* region is a path: selecting 安徽省 then 宿州市 narrows (AND); its facet lists
  the level below the deepest selection, plus a "本级" row for the reports filed
  at the selected region itself (``region_exact``: their path ends there), so
  the rows add up to the parent's count;
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
arrays (one store per facet, built by the facet class); filtering is a boolean
mask and a count is a ``bincount`` over the matching document numbers
(near-duplicate copies deduplicated per value).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup, escape
from whoosh import query as Q

from indexer.engine.schema import UNKNOWN, FacetRecord, decode_facet_record

MAX_VALUES_PER_FACET = 10  # values shown in the sidebar before "更多…"
FACET_PAGE_SIZE = 100  # values per page of the full list (/facet/<name>)
SORTS = ("count", "name")
OWN_LEVEL = "本级"


YEAR_MIN, YEAR_MAX = 1900, 2100  # a year range bound outside is clamped to these (the year field is unsigned)


_YEAR_TEXT = re.compile(r"[+-]?[0-9]{1,30}")  # longer digit strings are not read as numbers


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(str(v).strip()) if v not in (None, "") else None
    except ValueError:
        return None


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


# -- the rendering data of one facet ---------------------------------------------------------

@dataclass
class FacetItem:
    """One row of a facet list."""

    value: str
    count: int
    selected: bool = False
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or self.value

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "count": self.count, "selected": self.selected}
        if self.label != self.value:
            out["label"] = self.label
        return out


@dataclass
class FacetList:
    """One facet's values as a page or the API shows them: ordered, filtered, one window of them.

    ``items`` is the window (``offset``, ``limit``) of the values matching
    ``prefix`` in ``sort`` order; ``pinned`` holds the selected values outside
    the window (they always stay visible); ``own`` is the region's "本级" row.
    """

    name: str
    label: str
    multi: bool
    items: list[FacetItem]
    total_values: int
    offset: int
    limit: int | None
    sort: str
    prefix: str = ""
    pinned: list[FacetItem] = field(default_factory=list)
    own: FacetItem | None = None

    @property
    def has_more(self) -> bool:
        return self.limit is not None and self.offset + self.limit < self.total_values

    def as_json(self) -> dict[str, Any]:
        return {"total_values": self.total_values, "offset": self.offset, "limit": self.limit,
                "sort": self.sort, "prefix": self.prefix, "has_more": self.has_more,
                "values": [i.as_json() for i in self.items],
                "selected_outside": [i.as_json() for i in self.pinned],
                "own_level": self.own.as_json() if self.own else None}


# -- the facet classes -------------------------------------------------------------------------

class Facet:
    """One kind of facet.  Subclasses say how values are read, stored, filtered and ordered.

    The per-document store (``encode`` / ``merge``) is the facet's own: a code per
    document for single-valued facets, (document, code) pairs for topics, one row
    per path level for regions.  Codes index ``FacetTable.names[name]``.
    """

    name: str = ""
    label: str = ""
    field: str = ""  # the indexed field a filter query uses
    multi: bool = True  # several selected values are alternatives (OR)
    default_sort: str = "count"

    # parsing
    def values(self, rec: FacetRecord) -> list[str]:
        """The values one document has for this facet (:data:`UNKNOWN` when the text gives none)."""
        raise NotImplementedError

    # storage
    def encode(self, records: list[FacetRecord | None], code: Callable[[str], int]) -> Any:
        """Segment-local store: a code per document (−1: no record)."""
        arr = np.full(len(records), -1, dtype=np.int32)
        for i, r in enumerate(records):
            if r is not None:
                arr[i] = code(self.values(r)[0])
        return arr

    def merge(self, parts: list[tuple[Any, int, np.ndarray]], size: int, live: np.ndarray) -> Any:
        """The searcher-wide store from each segment's (store, offset, local→global code map)."""
        out = np.full(size, -1, dtype=np.int32)
        for arr, off, cmap in parts:
            out[off:off + len(arr)] = np.where(arr >= 0, cmap[np.maximum(arr, 0)] if len(cmap) else -1, -1)
        return out

    def pairs(self, store: Any, docs: np.ndarray, size: int, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(document, code) pairs of ``docs`` (documents without a value for this facet left out)."""
        codes = store[docs].astype(np.int64)
        keep = codes >= 0
        return docs[keep], codes[keep]

    def mask(self, store: Any, codes: np.ndarray, size: int) -> np.ndarray:
        """Documents having any of ``codes``."""
        return np.isin(store, codes)

    # filtering as a Whoosh query (the reference for :meth:`mask`, and for Whoosh searches)
    def query(self, values: list[str]) -> Q.Query | None:
        alts = [Q.Term(self.field, v) for v in values]
        if not alts:
            return None
        return alts[0] if len(alts) == 1 else Q.Or(alts)

    # listing
    def sort_key(self, sort: str) -> Callable[[tuple[str, int]], Any]:
        """Order of (value, count) pairs: by count (most first) or by name; 未知 always last."""
        if sort == "name":
            return lambda kv: (kv[0] == UNKNOWN, kv[0])
        return lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0])

    def ordered(self, counts: Mapping[str, int], sort: str | None = None) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=self.sort_key(sort if sort in SORTS else self.default_sort))

    def listing(self, counts: Mapping[str, int], selected: list[str], *, sort: str | None = None,
                offset: int = 0, limit: int | None = None, prefix: str = "") -> FacetList:
        """The rendering data: values matching ``prefix`` in order, one window, selected values pinned.

        A selected value that the other filters leave without reports still gets a
        row (count 0), so it can always be unselected where it was selected.
        """
        sort = sort if sort in SORTS else self.default_sort
        counts = dict(counts)
        if self.multi:
            for v in selected:
                counts.setdefault(v, 0)
        items = self.ordered(counts, sort)
        p = prefix.strip().lower()
        if p:
            items = [kv for kv in items if p in kv[0].lower()]
        offset = max(0, offset)
        window = items[offset:offset + limit] if limit is not None else items[offset:]
        sel = set(selected) if self.multi else set()
        shown = {v for v, _c in window}
        rows = [FacetItem(v, c, v in sel) for v, c in window]
        pinned = [FacetItem(v, c, True) for v, c in items if v in sel and v not in shown]
        return FacetList(self.name, self.label, self.multi, rows, len(items), offset, limit, sort, prefix,
                         pinned)


class YearFacet(Facet):
    """The year a report covers; also the numeric store for year ranges (``year_num``)."""

    name, label, field = "year", "年份", "year_key"
    default_sort = "name"

    def values(self, rec: FacetRecord) -> list[str]:
        return [str(rec.year) if rec.year else UNKNOWN]

    def sort_key(self, sort: str) -> Callable[[tuple[str, int]], Any]:
        if sort == "name":  # newest first
            return lambda kv: (kv[0] == UNKNOWN, -(int(kv[0]) if kv[0].isdigit() else 0))
        return super().sort_key(sort)

    def chronological(self, counts: Mapping[str, int]) -> list[tuple[str, int]]:
        """Oldest year first, 未知 last (for charts over time)."""
        return sorted(counts.items(), key=lambda kv: (kv[0] == UNKNOWN, int(kv[0]) if kv[0].isdigit() else 0))


class DocTypeFacet(Facet):
    name, label, field = "doc_type", "文档类型", "doc_type"

    def values(self, rec: FacetRecord) -> list[str]:
        return [rec.doc_type or UNKNOWN]


class TopicFacet(Facet):
    """Topics: a report has several, stored as (document, code) pairs."""

    name, label, field = "topic", "主题", "topics"

    def values(self, rec: FacetRecord) -> list[str]:
        return list(rec.topics) or [UNKNOWN]

    def encode(self, records: list[FacetRecord | None], code: Callable[[str], int]) -> Any:
        t_doc: list[int] = []
        t_code: list[int] = []
        for i, r in enumerate(records):
            if r is None:
                continue
            for t in self.values(r):
                t_doc.append(i)
                t_code.append(code(t))
        return np.asarray(t_doc, dtype=np.int64), np.asarray(t_code, dtype=np.int32)

    def merge(self, parts: list[tuple[Any, int, np.ndarray]], size: int, live: np.ndarray) -> Any:
        t_doc = [d + off for (d, _c), off, _m in parts]
        t_code = [cmap[c] if len(c) else c for (_d, c), _off, cmap in parts]
        td = np.concatenate(t_doc) if t_doc else np.zeros(0, dtype=np.int64)
        tc = np.concatenate(t_code).astype(np.int32) if t_code else np.zeros(0, dtype=np.int32)
        keep = live[td] if len(td) else np.zeros(0, dtype=bool)
        return td[keep], tc[keep]

    def pairs(self, store: Any, docs: np.ndarray, size: int, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
        t_doc, t_code = store
        inside = np.zeros(size, dtype=bool)
        inside[docs] = True
        sel = inside[t_doc]
        return t_doc[sel], t_code[sel].astype(np.int64)

    def mask(self, store: Any, codes: np.ndarray, size: int) -> np.ndarray:
        t_doc, t_code = store
        m = np.zeros(size, dtype=bool)
        m[t_doc[np.isin(t_code, codes)]] = True
        return m


class RegionFacet(Facet):
    """The region path (province › prefecture › county), one store row per level.

    Selected names narrow (AND); the list shows the level below the deepest
    selection.  ``exact`` (the "本级" row) keeps the reports whose path ends at a
    selected name: filed at that level, not below it.
    """

    name, label, field = "region", "地区", "region"
    multi = False

    def values(self, rec: FacetRecord) -> list[str]:
        return list(rec.region) or [UNKNOWN]

    def encode(self, records: list[FacetRecord | None], code: Callable[[str], int]) -> Any:
        depth = max([len(r.region) for r in records if r is not None] + [1])
        arr = np.full((depth, len(records)), -1, dtype=np.int32)
        for i, r in enumerate(records):
            if r is not None:
                for lv, name in enumerate(self.values(r)):
                    arr[lv, i] = code(name)
        return arr

    def merge(self, parts: list[tuple[Any, int, np.ndarray]], size: int, live: np.ndarray) -> Any:
        depth = max([arr.shape[0] for arr, _o, _m in parts] + [1])
        out = np.full((depth, size), -1, dtype=np.int32)
        for arr, off, cmap in parts:
            d, n = arr.shape
            if n:
                out[:d, off:off + n] = np.where(arr >= 0, cmap[np.maximum(arr, 0)] if len(cmap) else -1, -1)
        return out

    def pairs(self, store: Any, docs: np.ndarray, size: int, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
        if level >= store.shape[0]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return super().pairs(store[level], docs, size)

    def mask(self, store: Any, codes: np.ndarray, size: int) -> np.ndarray:
        if not len(codes):
            return np.zeros(size, dtype=bool)
        return np.asarray(np.isin(store, codes).any(axis=0))

    def exact_mask(self, store: Any, codes: np.ndarray, size: int,
                   docs: np.ndarray | None = None) -> np.ndarray:
        """Documents whose path ends at one of ``codes`` (filed at that level itself).

        With ``docs``: the answer for those documents only (one entry each), which is
        what a count needs and costs a fraction of the whole table.
        """
        sub = store if docs is None else store[:, docs]
        depth = sub.shape[0]
        m = np.zeros(sub.shape[1], dtype=bool)
        for lv in range(depth):
            here = np.isin(sub[lv], codes)
            if lv + 1 < depth:
                here &= sub[lv + 1] < 0
            m |= here
        return m

    def children(self, store: Any, codes: np.ndarray, names: list[str]) -> list[str]:
        """Names found directly below any of ``codes`` on some path (for the exact Whoosh query)."""
        out: set[int] = set()
        for lv in range(store.shape[0] - 1):
            below = store[lv + 1][np.isin(store[lv], codes)]
            out.update(int(c) for c in np.unique(below[below >= 0]))
        return [names[c] for c in sorted(out)]

    def query(self, values: list[str]) -> Q.Query | None:
        terms = [Q.Term(self.field, v) for v in values]
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else Q.And(terms)

    def own_label(self, value: str) -> str:
        return f"{value}（{OWN_LEVEL}）"


FACETS: dict[str, Facet] = {f.name: f for f in (RegionFacet(), YearFacet(), TopicFacet(), DocTypeFacet())}
FACET_NAMES = tuple(FACETS)
MULTI_SELECT = tuple(n for n, f in FACETS.items() if f.multi)  # OR within the facet
FACET_LABELS = {n: f.label for n, f in FACETS.items()}
REGION: RegionFacet = FACETS["region"]  # type: ignore[assignment]
YEAR: YearFacet = FACETS["year"]  # type: ignore[assignment]


@dataclass
class Filters:
    """Active filters, as they appear in the URL (each facet may repeat)."""

    region: list[str] = field(default_factory=list)
    year: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    doc_type: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    region_exact: bool = False  # only reports filed at the deepest selected region itself (本级)
    notes: list[str] = field(default_factory=list, compare=False)  # what reading the request changed, for the page

    @classmethod
    def from_args(cls, args: Mapping) -> Filters:
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

        region = getlist("region")
        return cls(  # the year range is checked in __post_init__
            region=region, year=getlist("year"), topic=getlist("topic"),
            doc_type=getlist("doc_type"), year_from=args.get("year_from"), year_to=args.get("year_to"),
            region_exact=bool(region) and str(args.get("region_exact") or "") in ("1", "true", "on"),
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

    def to_query(self, exclude: str | None = None, table: FacetTable | None = None) -> Q.Query | None:
        """The filter query: region names ANDed, multi-select values ORed within their facet.

        ``exclude`` leaves one facet's own selection out (to count that facet).
        ``region_exact`` needs the ``table`` (which names lie below the selection);
        without one it is left out.
        """
        terms: list[Q.Query] = []
        for name, facet in FACETS.items():
            vals = getattr(self, name)
            if vals and name != exclude:
                q = facet.query(vals)
                if q is not None:
                    terms.append(q)
        if self.region_exact and self.region and exclude != "region" and table is not None:
            below = REGION.children(table.stores["region"], table._codes("region", self.region),
                                    table.names["region"])
            if below:
                terms.append(Q.Not(Q.Or([Q.Term(REGION.field, v) for v in below])))
        if self.year_from is not None or self.year_to is not None:
            terms.append(Q.NumericRange("year", self.year_from, self.year_to))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else Q.And(terms)

    def pairs(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs for building URLs."""
        out = [(n, v) for n in FACET_NAMES for v in getattr(self, n)]
        if self.region_exact and self.region:
            out.append(("region_exact", "1"))
        if self.year_from is not None:
            out.append(("year_from", str(self.year_from)))
        if self.year_to is not None:
            out.append(("year_to", str(self.year_to)))
        return out

    def as_dict(self) -> dict[str, Any]:
        """Every active filter, multi-select values as lists (for exports and the API)."""
        out: dict[str, Any] = {n: list(getattr(self, n)) for n in FACET_NAMES if getattr(self, n)}
        if self.region_exact and self.region:
            out["region_exact"] = True
        if self.year_from is not None:
            out["year_from"] = self.year_from
        if self.year_to is not None:
            out["year_to"] = self.year_to
        return out

    def describe(self) -> list[str]:
        """Each active filter in words, e.g. ``年份：2010、2011`` (file names, summaries)."""
        out = []
        for n in FACET_NAMES:
            vals = getattr(self, n)
            if vals:
                shown = " › ".join(vals) if n == "region" else "、".join(vals)
                if n == "region" and self.region_exact:
                    shown += f"（{OWN_LEVEL}）"
                out.append(f"{FACET_LABELS[n]}：{shown}")
        if self.year_from is not None or self.year_to is not None:
            out.append(f"年份：{self.year_from or ''}–{self.year_to or ''}")
        return out


class _SegmentFacets:
    """One segment's facet records and stores (segment-local numbering and vocabularies).

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
        self.stores: dict[str, Any] = {}
        for name, facet in FACETS.items():
            vocab: dict[str, int] = {}
            names = self.names[name]

            def code(value: str, vocab=vocab, names=names) -> int:
                c = vocab.get(value)
                if c is None:
                    c = vocab[value] = len(vocab)
                    names.append(value)
                return c

            self.stores[name] = facet.encode(self.records, code)
        self.year_num = np.array([int(r.year) if r is not None and isinstance(r.year, int) else 0
                                  for r in self.records], dtype=np.int64)


_SEGMENT_CACHE: OrderedDict[object, _SegmentFacets] = OrderedDict()
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

    Besides the records, per-document stores make filtering and counting array
    operations: ``live`` (the document has a facet record and is not deleted),
    ``group`` (its near-duplicate group number, −1 for a singleton),
    ``stores[facet]`` (each facet class's own codes, see :class:`Facet`) and
    ``year_num`` (the year, 0 when unknown, for year ranges); ``names[facet]``
    maps a code back to its value and ``vocab[facet]`` a value to its code.
    """

    def __init__(self, segments: list[tuple[_SegmentFacets, int, set[int]]], size: int,
                 groups: dict[str, list[str]]):
        self.size = size
        self.vocab: dict[str, dict[str, int]] = {k: {} for k in FACET_NAMES}
        self.names: dict[str, list[str]] = {k: [] for k in FACET_NAMES}
        self.live = np.zeros(size, dtype=bool)
        self.year_num = np.zeros(size, dtype=np.int64)
        self.records: dict[int, FacetRecord] = {}
        parts: dict[str, list[tuple[Any, int, np.ndarray]]] = {k: [] for k in FACET_NAMES}
        for sf, off, deleted in segments:
            n = len(sf.records)
            for k in FACET_NAMES:
                parts[k].append((sf.stores[k], off, self._global_codes(k, sf.names[k])))
            self.year_num[off:off + n] = sf.year_num
            for i, r in enumerate(sf.records):
                if r is not None and i not in deleted:
                    self.records[off + i] = r
        if self.records:
            self.live[np.fromiter(self.records.keys(), dtype=np.int64, count=len(self.records))] = True
        self.stores: dict[str, Any] = {k: FACETS[k].merge(parts[k], size, self.live) for k in FACET_NAMES}
        self.by_id = {r.id: n for n, r in self.records.items()}
        # Each near-duplicate group is keyed by its smallest id; singletons have no key.
        self.group_key: dict[int, str] = {}
        self.group = np.full(size, -1, dtype=np.int64)
        gnum: dict[str, int] = {}
        for gid, others in groups.items():
            num = self.by_id.get(gid)
            if num is not None and others:
                gk = min([gid, *others])
                self.group_key[num] = gk
                self.group[num] = gnum.setdefault(gk, len(gnum))
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
    def load(cls, searcher, groups: dict[str, list[str]]) -> FacetTable:
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
        starts: list[str] = []
        contains: list[str] = []
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

    def live_docs(self) -> np.ndarray:
        """Every live document number, ascending."""
        return np.flatnonzero(self.live)

    def value_mask(self, name: str, values: list[str]) -> np.ndarray:
        """Documents having any of ``values`` for one facet (region: anywhere on the path)."""
        return FACETS[name].mask(self.stores[name], self._codes(name, values), self.size)

    def own_level_mask(self, regions: list[str], docs: np.ndarray | None = None) -> np.ndarray:
        """Documents whose region path ends at one of ``regions`` (the "本级" reports).

        See :meth:`RegionFacet.exact_mask`.
        """
        return REGION.exact_mask(self.stores["region"], self._codes("region", regions), self.size, docs)

    def filter_mask(self, filters: Filters, exclude: str | None = None) -> np.ndarray | None:
        """The documents passing every filter (``exclude``: but that facet's own); None when nothing filters.

        The same semantics as :meth:`Filters.to_query` (tested against it): region
        names ANDed, the values of a multi-select facet ORed, a year range inclusive.
        """
        mask: np.ndarray | None = None

        def narrow(m: np.ndarray) -> None:
            nonlocal mask
            mask = m if mask is None else (mask & m)

        for name, facet in FACETS.items():
            vals = getattr(filters, name)
            if not vals or name == exclude:
                continue
            if facet.multi:
                narrow(self.value_mask(name, vals))
            else:
                for v in vals:
                    narrow(self.value_mask(name, [v]))
        if filters.region_exact and filters.region and exclude != "region":
            narrow(self.own_level_mask(filters.region))
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
        d, codes = FACETS[name].pairs(self.stores[name], docs, self.size, level)
        vocab = self.names[name]
        g = self.group[d]
        single = g < 0
        counts = np.bincount(codes[single], minlength=len(vocab))
        if not single.all():
            pairs = np.unique(codes[~single] * (self.groups_count + 1) + g[~single])
            counts = counts + np.bincount(pairs // (self.groups_count + 1), minlength=len(vocab))
        return {vocab[c]: int(counts[c]) for c in np.flatnonzero(counts)}


def ordered(counts: dict[str, int], name: str, sort: str | None = None) -> list[tuple[str, int]]:
    """Display order of one facet's counts (see :meth:`Facet.ordered`)."""
    return FACETS[name].ordered(counts, sort)


@dataclass
class FacetCounts:
    docnums: np.ndarray  # matching documents (query AND all filters), ascending
    total: int  # reports among them
    counts: dict[str, dict[str, int]]
    region_level: int
    own_level: int = 0  # reports filed at the deepest selected region itself (the "本级" row)


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
    own = 0
    if filters.region:
        own_docs = docs[table.own_level_mask(filters.region, docs)]
        own = table.total(own_docs) if len(own_docs) else 0
    for name in MULTI_SELECT:
        d = docs
        if getattr(filters, name):
            m = table.filter_mask(filters, exclude=name)
            d = matched if m is None else matched[m[matched]]
        counts[name] = table.count_facet(d, name)
    return FacetCounts(docs, table.total(docs), counts, level, own)


@dataclass
class ListingOptions:
    """How each facet's list is cut: limit (None: all), offset, sort and filter text, per facet."""

    limits: dict[str, int | None] = field(default_factory=dict)
    offset: dict[str, int] = field(default_factory=dict)
    sort: dict[str, str | None] = field(default_factory=dict)
    prefix: dict[str, str] = field(default_factory=dict)

    @classmethod
    def top(cls, limit: int | None) -> ListingOptions:
        """The first ``limit`` values of every facet in its default order (the sidebar)."""
        return cls(limits=dict.fromkeys(FACET_NAMES, limit))

    @classmethod
    def from_args(cls, args: Mapping, default_limit: int | None) -> ListingOptions:
        """Paging of facet lists from request args.

        ``facet_limit``, ``facet_offset``, ``facet_sort`` (``count`` | ``name``) and
        ``facet_prefix`` (keep values containing it) apply to every facet; the same
        names with ``.<facet>`` appended (``facet_limit.region=50``) to one facet.
        A limit of 0 or less means no limit.  Bad numbers fall back to the default.
        """
        def num(key: str, default: int | None) -> int | None:
            v = _int_or_none(args.get(key))
            return default if v is None or abs(v) > 10**9 else v

        out = cls()
        g_limit = num("facet_limit", default_limit)
        g_offset = num("facet_offset", 0) or 0
        g_sort = str(args.get("facet_sort") or "")
        g_prefix = str(args.get("facet_prefix") or "")[:100]
        for name in FACET_NAMES:
            lim = num(f"facet_limit.{name}", g_limit)
            out.limits[name] = lim if lim is not None and lim > 0 else None
            out.offset[name] = max(0, num(f"facet_offset.{name}", g_offset) or 0)
            out.sort[name] = str(args.get(f"facet_sort.{name}") or g_sort) or None
            out.prefix[name] = str(args.get(f"facet_prefix.{name}") or g_prefix)[:100]
        return out


def listings(res: Any, options: ListingOptions) -> dict[str, FacetList]:
    """Each facet's :class:`FacetList` for a search result (``res.facets``, ``res.filters``, ``res.own_level``).

    The region list carries the "本级" row when a region is selected, some reports
    are filed at it and others below it (or when it is the active filter).
    """
    out: dict[str, FacetList] = {}
    f: Filters = res.filters
    for name, facet in FACETS.items():
        fl = facet.listing(res.facets.get(name, {}), getattr(f, name), sort=options.sort.get(name),
                           offset=options.offset.get(name, 0), limit=options.limits.get(name),
                           prefix=options.prefix.get(name, ""))
        if name == "region" and f.region:
            own = getattr(res, "own_level", 0)
            # only when it tells something apart: some reports lie below, or it is the active filter
            if (own and res.facets.get("region")) or f.region_exact:
                fl.own = FacetItem(f.region[-1], own, f.region_exact, REGION.own_label(f.region[-1]))
        out[name] = fl
    return out


def year_chart_svg(counts: dict[str, int], filters: Filters, link) -> Markup | None:
    """Counts per year as a small bar chart, server-rendered SVG; each bar links to its filter.

    ``link(year)`` gives the URL for a bar.  Returns None when fewer than two years are known.
    To assistive technology the chart is one caption (the span and the busiest year) and
    it has no tab stop: the year list below it and the range form carry the same choices
    for keyboards and screen readers.
    """
    years = sorted((int(y), c) for y, c in counts.items() if y.isdigit())
    if len(years) < 2:
        return None
    lo, hi = years[0][0], years[-1][0]
    span = hi - lo + 1
    by_year = dict(years)
    peak_year, peak = max(years, key=lambda yc: (yc[1], yc[0]))
    width, height, base = 240, 80, 66
    slot = width / span
    bar_w = max(1.0, slot * 0.8)
    label = (f"按年份的报告数量：{lo}–{hi} 年，{len(years)} 个年份有报告，"
             f"最多的是 {peak_year} 年（{peak} 篇）。可在下方年份列表或起止年份中选择。")
    # The picture is hidden from assistive technology (its bars are mouse shortcuts, no tab
    # stops); the caption says what it shows, and the year list below carries the choices.
    parts = [f'<figure class="yearchart-fig"><figcaption class="visually-hidden">{escape(label)}</figcaption>',
             (f'<svg viewBox="0 0 {width} {height}" aria-hidden="true" focusable="false" '
              'xmlns="http://www.w3.org/2000/svg">')]
    for i in range(span):
        y = lo + i
        c = by_year.get(y, 0)
        if not c:
            continue
        h = max(1.5, (base - 4) * c / peak)
        x = i * slot + (slot - bar_w) / 2
        cls = "bar sel" if str(y) in filters.year else "bar"
        parts.append(f'<a href="{escape(link(str(y)))}" tabindex="-1">'
                     f'<rect class="{cls}" x="{x:.1f}" y="{base - h:.1f}" '
                     f'width="{bar_w:.1f}" height="{h:.1f}"><title>{y} 年：{c} 篇</title></rect></a>')
    parts.append(f'<text x="0" y="{height - 2}">{lo}</text>')
    parts.append(f'<text x="{width}" y="{height - 2}" text-anchor="end">{hi}</text>')
    parts.append("</svg></figure>")
    return Markup("".join(parts))
