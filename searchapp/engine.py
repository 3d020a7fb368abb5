"""The search engine behind the UI, the JSON API and ``reportsearch search``.

One :class:`SearchEngine` per process keeps one Whoosh searcher open and
reopens it when an indexing run has committed, so readers always see the last
committed state and never a half-written one.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
from whoosh import query as Q
from whoosh import sorting

from indexer import store
from indexer.schema import UNKNOWN

from . import query as qmod
from .facets import FacetTable, Filters
from .highlight import highlight, snippet

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 10
SORTS = {"relevance": "相关度", "year": "年份（新→旧）", "year_asc": "年份（旧→新）"}


@dataclass
class Hit:
    id: str
    title: str
    region: list[str]
    year: int | None
    topics: list[str]
    doc_type: str
    snippet: Markup
    duplicates: list[str] = field(default_factory=list)
    source: str | None = None
    published: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "region": self.region, "year": self.year,
                "topics": self.topics, "doc_type": self.doc_type, "snippet": str(self.snippet),
                "duplicates": self.duplicates, "source": self.source, "published": self.published}


@dataclass
class SearchResult:
    query: str
    filters: Filters
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int
    per_page: int
    sort: str
    region_level: int = 0
    messages: list[str] = field(default_factory=list)
    needles: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 1

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "page": self.page, "per_page": self.per_page,
                "pages": self.pages, "sort": self.sort, "hits": [h.as_json() for h in self.hits],
                "facets": self.facets, "messages": self.messages}


def display_title(stored: dict[str, Any]) -> str:
    """A title for lists: the article's own, else the start of its text."""
    t = (stored.get("title") or "").strip()
    if t:
        return t
    text = " ".join((stored.get("content") or "").split())
    return (text[:30] + "…") if len(text) > 30 else (text or "（无标题）")


def clamp_int(value: Any, default: int, lo: int, hi: int) -> int:
    """Parse a positive integer request argument, falling back instead of failing."""
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, n))


class SearchEngine:
    """Searches one index directory; safe to share between request threads."""

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self._lock = threading.RLock()
        self._ix = None
        self._searcher = None
        self._table: FacetTable | None = None
        self._groups: dict[str, list[str]] = {}

    # -- state -----------------------------------------------------------------------------
    def available(self) -> bool:
        return store.index_exists(self.index_dir)

    def _current(self):
        """The open searcher, reopened when a newer commit exists."""
        if self._ix is None:
            self._ix = store.open_index(self.index_dir)
        if self._searcher is None:
            self._searcher = self._ix.searcher()
            self._reload_tables()
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
            self._reload_tables()
        return self._searcher

    def _reload_tables(self) -> None:
        self._groups = store.load_groups(self.index_dir)
        self._table = FacetTable.load(self._searcher, self._groups)

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
            self._ix = None

    # -- search ----------------------------------------------------------------------------
    def search(self, q: str | None = "", filters: Filters | None = None, sort: str = "relevance",
               page: int = 1, per_page: int = DEFAULT_PER_PAGE) -> SearchResult:
        """Run a query with filters; counts, hits and messages are always consistent."""
        filters = filters or Filters()
        pq = qmod.parse(q)
        sort = sort if sort in SORTS else "relevance"
        if pq.empty and sort == "relevance":
            sort = "year"
        per_page = clamp_int(per_page, DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        page = clamp_int(page, 1, 1, 10**6)
        messages: list[str] = []
        if pq.truncated:
            messages.append(f"查询过长，只使用了前 {qmod.MAX_QUERY_CHARS} 个字符。")
        if (q or "").strip() and pq.empty and not pq.exclude:
            messages.append("查询中没有可搜索的词，显示全部文档。")
        wq = qmod.to_whoosh(pq)
        fq = filters.to_query()
        needles = qmod.highlight_needles(pq)
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            full = Q.And([wq, fq]) if fq is not None else wq
            docnums = list(s.docs_for_query(full))
            total, facets, level = table.count(docnums, filters)
            result = SearchResult(query=q or "", filters=filters, total=total, hits=[], facets=facets,
                                  page=page, per_page=per_page, sort=sort, region_level=level,
                                  messages=messages, needles=needles)
            if total == 0:
                return result
            if (page - 1) * per_page >= total:
                messages.append(f"页码超出范围：共 {result.pages} 页。")
                return result
            collapse = sorting.FunctionFacet(lambda _s, n: table.collapse_key(n))
            kwargs: dict[str, Any] = {"limit": page * per_page, "filter": fq, "collapse": collapse,
                                      "collapse_limit": 1}
            if sort == "year":
                kwargs["sortedby"] = sorting.FunctionFacet(
                    lambda _s, n: -(table.records[n].year or 0) if n in table.records else 0)
            elif sort == "year_asc":
                kwargs["sortedby"] = sorting.FunctionFacet(
                    lambda _s, n: (table.records[n].year or 99999) if n in table.records else 99999)
            results = s.search(wq, **kwargs)
            for hit in results[(page - 1) * per_page: page * per_page]:
                stored = hit.fields()
                result.hits.append(self._hit(stored, needles))
        return result

    def _hit(self, stored: dict[str, Any], needles: list[str]) -> Hit:
        meta = stored.get("meta") or {}
        return Hit(
            id=stored["id"], title=display_title(stored), region=list(meta.get("region") or []),
            year=meta.get("year"), topics=list(meta.get("topics") or []),
            doc_type=meta.get("doc_type") or UNKNOWN, snippet=snippet(stored.get("content") or "", needles),
            duplicates=list(self._groups.get(stored["id"], [])), source=stored.get("source"),
            published=stored.get("published"),
        )

    # -- documents -------------------------------------------------------------------------
    def document(self, doc_id: str, q: str | None = None) -> dict[str, Any] | None:
        """One document with its clean text and metadata; None for an unknown id."""
        if not doc_id or len(doc_id) > 64:
            return None
        with self._lock:
            s = self._current()
            stored = s.document(id=doc_id)
            if stored is None:
                return None
            groups = self._groups
        meta = stored.get("meta") or {}
        needles = qmod.highlight_needles(qmod.parse(q)) if q else []
        return {
            "id": stored["id"],
            "title": stored.get("title") or None,
            "display_title": display_title(stored),
            "text": stored.get("content") or "",
            "text_marked": highlight(stored.get("content") or "", needles),
            "region": list(meta.get("region") or []),
            "year": meta.get("year"),
            "topics": list(meta.get("topics") or []),
            "doc_type": meta.get("doc_type") or UNKNOWN,
            "source": stored.get("source"),
            "published": stored.get("published"),
            "path": stored.get("path"),
            "truncated": bool(stored.get("truncated")),
            "damaged": bool(stored.get("damaged")),
            "duplicates": list(groups.get(stored["id"], [])),
        }

    def titles(self, ids: list[str]) -> dict[str, str]:
        """Display titles for a few ids (links to duplicate copies)."""
        out: dict[str, str] = {}
        with self._lock:
            s = self._current()
            for i in ids:
                stored = s.document(id=i)
                if stored is not None:
                    out[i] = display_title(stored)
        return out

    def iter_documents(self):
        """Every stored document (for export)."""
        with self._lock:
            s = self._current()
            docs = list(s.all_stored_fields())
            groups = dict(self._groups)
        for stored in docs:
            yield stored, groups.get(stored["id"], [])

    def doc_count(self) -> int:
        with self._lock:
            return self._current().doc_count()
