"""Facets: the one module that knows how filters are read, applied and counted.

Counts are exact by construction: a count is computed over the very document
set the search returns (query AND every active filter), and both the result
total and every count are counted in *reports*, where near-duplicate copies of
one report count once.  So clicking a value with count N gives N results.

Counting does not touch stored documents: a :class:`FacetTable` is read once
per index generation from the compact ``facets`` column, and a count is one
pass over the matching document numbers.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from whoosh import query as Q

from indexer.schema import UNKNOWN

FACET_NAMES = ("region", "year", "topic", "doc_type")
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

    def to_query(self) -> Q.Query | None:
        """All filters ANDed (several values of one facet narrow further)."""
        terms: list[Q.Query] = []
        for name in FACET_NAMES:
            for v in getattr(self, name):
                terms.append(Q.Term(_FIELD[name], v))
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
                                         list(d.get("t") or []), d.get("d") or UNKNOWN)
        return cls(records, groups)

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

    def count(self, docnums: Iterable[int], filters: Filters) -> tuple[int, dict[str, dict[str, int]], int]:
        """(report total, facet counts, region level) over the matching documents."""
        docs = [n for n in docnums if n in self.records]
        level = self.region_level(filters.region, docs)
        singles: dict[str, Counter] = {name: Counter() for name in FACET_NAMES}
        grouped: dict[str, dict[str, set]] = {name: defaultdict(set) for name in FACET_NAMES}
        group_keys: set[str] = set()
        single_total = 0
        for n in docs:
            r = self.records[n]
            values = {
                "region": ([r.region[level]] if len(r.region) > level else ([UNKNOWN] if level == 0 else [])),
                "year": [str(r.year) if r.year else UNKNOWN],
                "topic": r.topics or [UNKNOWN],
                "doc_type": [r.doc_type or UNKNOWN],
            }
            gk = self.group_key.get(n)
            if gk is None:
                single_total += 1
                for name, vals in values.items():
                    singles[name].update(vals)
            else:
                group_keys.add(gk)
                for name, vals in values.items():
                    for v in vals:
                        grouped[name][v].add(gk)
        counts: dict[str, dict[str, int]] = {}
        for name in FACET_NAMES:
            c = Counter(singles[name])
            for v, keys in grouped[name].items():
                c[v] += len(keys)
            counts[name] = dict(c)
        return single_total + len(group_keys), counts, level


def ordered(counts: dict[str, int], name: str) -> list[tuple[str, int]]:
    """Display order: years newest first (unknown last), other facets by count."""
    items = list(counts.items())
    if name == "year":
        return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -(int(kv[0]) if kv[0].isdigit() else 0)))
    return sorted(items, key=lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0]))
