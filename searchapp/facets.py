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
per index generation from the compact ``facets`` column, and a count is one
pass over the matching document numbers.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from markupsafe import Markup, escape
from whoosh import query as Q

from indexer.schema import UNKNOWN

FACET_NAMES = ("region", "year", "topic", "doc_type")
MULTI_SELECT = ("year", "topic", "doc_type")  # OR within the facet
FACET_LABELS = {"region": "地区", "year": "年份", "topic": "主题", "doc_type": "文档类型"}
_FIELD = {"region": "region", "year": "year_key", "topic": "topics", "doc_type": "doc_type"}
MAX_VALUES_PER_FACET = 20


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(str(v).strip()) if v not in (None, "") else None
    except ValueError:
        return None


@dataclass
class Filters:
    """Active filters, as they appear in the URL (each facet may repeat)."""

    region: list[str] = field(default_factory=list)
    year: list[str] = field(default_factory=list)
    topic: list[str] = field(default_factory=list)
    doc_type: list[str] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None

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

        return cls(
            region=getlist("region"), year=getlist("year"), topic=getlist("topic"),
            doc_type=getlist("doc_type"),
            year_from=_int_or_none(args.get("year_from")), year_to=_int_or_none(args.get("year_to")),
        )

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


@dataclass
class FacetRecord:
    id: str
    region: list[str]
    year: int | None
    topics: list[str]
    doc_type: str
    title: str = ""


class FacetTable:
    """docnum → facet values and duplicate-group key, for one searcher generation."""

    def __init__(self, records: dict[int, FacetRecord], groups: dict[str, list[str]]):
        self.records = records
        self.by_id = {r.id: n for n, r in records.items()}
        # Each near-duplicate group is keyed by its smallest id; singletons have no key.
        self.group_key: dict[int, str] = {}
        for n, r in records.items():
            others = groups.get(r.id)
            if others:
                self.group_key[n] = min([r.id, *others])

    @classmethod
    def load(cls, searcher, groups: dict[str, list[str]]) -> "FacetTable":
        reader = searcher.reader()
        records: dict[int, FacetRecord] = {}
        if reader.has_column("facets"):
            col = reader.column_reader("facets")
            for n in range(reader.doc_count_all()):
                if reader.is_deleted(n):
                    continue
                raw = col[n]
                if not raw:
                    continue
                try:
                    d = json.loads(raw)
                except ValueError:
                    continue
                records[n] = FacetRecord(d.get("i", ""), list(d.get("r") or []), d.get("y"),
                                         list(d.get("t") or []), d.get("d") or UNKNOWN, d.get("n") or "")
        return cls(records, groups)

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
        """Drill-down level to count: one below the deepest selected region name."""
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

    def total(self, docnums: Iterable[int]) -> int:
        """Number of reports (a near-duplicate group counts once)."""
        singles = 0
        keys: set[str] = set()
        for n in docnums:
            gk = self.group_key.get(n)
            if gk is None:
                singles += 1
            else:
                keys.add(gk)
        return singles + len(keys)

    def values(self, n: int, name: str, level: int = 0) -> list[str]:
        """A document's values for one facet (region: the name at ``level``)."""
        r = self.records[n]
        if name == "region":
            return [r.region[level]] if len(r.region) > level else ([UNKNOWN] if level == 0 else [])
        if name == "year":
            return [str(r.year) if r.year else UNKNOWN]
        if name == "topic":
            return r.topics or [UNKNOWN]
        return [r.doc_type or UNKNOWN]

    def count_facet(self, docnums: Iterable[int], name: str, level: int = 0) -> dict[str, int]:
        """value → number of reports among ``docnums`` having it."""
        singles: Counter = Counter()
        grouped: dict[str, set] = defaultdict(set)
        for n in docnums:
            if n not in self.records:
                continue
            vals = self.values(n, name, level)
            gk = self.group_key.get(n)
            if gk is None:
                singles.update(vals)
            else:
                for v in vals:
                    grouped[v].add(gk)
        for v, keys in grouped.items():
            singles[v] += len(keys)
        return dict(singles)


def ordered(counts: dict[str, int], name: str) -> list[tuple[str, int]]:
    """Display order: years newest first (unknown last), other facets by count."""
    items = list(counts.items())
    if name == "year":
        return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -(int(kv[0]) if kv[0].isdigit() else 0)))
    return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0]))


@dataclass
class FacetCounts:
    docnums: list[int]  # matching documents (query AND all filters)
    total: int  # reports among them
    counts: dict[str, dict[str, int]]
    region_level: int


def compute(searcher, table: FacetTable, wq: Q.Query, filters: Filters,
            matched: Iterable[int] | None = None) -> FacetCounts:
    """Match the query under the filters and count every facet (see the module docstring).

    ``matched``: the documents matching the query under all the filters, when the
    caller has them already (the engine's one ranked pass), so they are not
    matched a second time.
    """

    def match(exclude: str | None = None) -> list[int]:
        fq = filters.to_query(exclude)
        return [n for n in searcher.docs_for_query(Q.And([wq, fq]) if fq is not None else wq)
                if n in table.records]

    records = table.records
    docs = match() if matched is None else [n for n in matched if n in records]
    level = table.region_level(filters.region, docs)
    counts = {"region": table.count_facet(docs, "region", level)}
    for name in MULTI_SELECT:
        counts[name] = table.count_facet(match(name) if getattr(filters, name) else docs, name)
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
