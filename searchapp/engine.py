"""The search engine behind the UI, the JSON API and ``reportsearch search``.

One :class:`SearchEngine` per process keeps one Whoosh searcher open and
reopens it when an indexing run has committed, so readers always see the last
committed state and never a half-written one.
"""
from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup
import logging

import numpy as np
from whoosh import query as Q

from indexer.engine import store
from indexer.analysis import gram_text
from indexer.engine.schema import UNKNOWN

from . import query as qmod
from . import facets as facets_mod
from . import ranking, understand
from .facets import FacetTable, Filters
from indexer.engine.fastquery import Evaluator, PostingCache, Unsupported, top_order
from .highlight import highlight, snippet
from indexer.engine.scoring import CachedBM25F
from .sentences import MAX_SENTENCE_CHARS, Example, matches, sentence_key, split_sentences

MAX_PER_PAGE = 100
MAX_SCAN_DOCS = 400  # example sentences are taken from at most this many best-matching reports
EXPORT_CAP = 1000
DEFAULT_PER_PAGE = 10
SORTS = {"relevance": "相关度", "year": "年份（新→旧）", "year_asc": "年份（旧→新）"}
RESULT_CACHE_SIZE = 256  # search results kept per index generation (pagination, facet clicks, back button)
POSTING_CACHE_MB = 256  # decoded postings kept between queries (segments never change, so across generations)

log = logging.getLogger(__name__)


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
    suggestion: str | None = None  # "did you mean": a near variant of the query that has results
    refine: list[dict[str, Any]] = field(default_factory=list)  # one-click filters for places/years typed

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 1

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "page": self.page, "per_page": self.per_page,
                "pages": self.pages, "sort": self.sort, "hits": [h.as_json() for h in self.hits],
                "facets": self.facets, "messages": self.messages, "did_you_mean": self.suggestion,
                "refine": self.refine}


@dataclass
class SentenceResult:
    query: str
    filters: Filters
    total: int
    sentences: list[Example]
    facets: dict[str, dict[str, int]]
    page: int
    per_page: int
    messages: list[str] = field(default_factory=list)
    needles: list[str] = field(default_factory=list)
    marked: list[Markup] = field(default_factory=list)
    region_level: int = 0
    reports: int = 0

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 1

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "page": self.page, "per_page": self.per_page,
                "pages": self.pages, "sentences": [e.as_json() for e in self.sentences],
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
        self._live: Path | None = None  # the folder the open index lives in (follows ``CURRENT``)
        self._searcher = None
        self._table: FacetTable | None = None
        self._groups: dict[str, list[str]] = {}
        self._postings = PostingCache(POSTING_CACHE_MB << 20)
        self._evaluator: Evaluator | None = None
        self._did_you_mean_cache = understand.DidYouMean()
        # LRU of finished results; cleared whenever the searcher changes (new generation)
        self._cache: OrderedDict[tuple, SearchResult] = OrderedDict()

    # -- state -----------------------------------------------------------------------------
    def available(self) -> bool:
        with self._lock:
            if self._searcher is not None:
                return True  # keeps answering from the last good state whatever happens on disk
        return store.index_exists(self.index_dir)

    def _current(self):
        """The open searcher, reopened when a newer commit exists or a rebuilt index was swapped in.

        If the index on disk cannot be opened right now (a commit or a swap in the
        middle of happening), the searcher already open keeps answering.
        """
        live = store.live_dir(self.index_dir)
        try:
            if self._ix is None or live != self._live:
                # First use, or ``reportsearch index --rebuild`` swapped a new folder in (CURRENT).
                ix = store.open_index(self.index_dir)
                searcher = ix.searcher(weighting=CachedBM25F())
                old = self._searcher
                self._ix, self._live, self._searcher = ix, Path(ix.storage.folder), searcher
                self._reload_tables()
                if old is not None:
                    old.close()
            elif not self._searcher.up_to_date():
                self._searcher = self._searcher.refresh()
                self._reload_tables()
        except Exception:
            if self._searcher is None:
                raise
        return self._searcher

    def _drop(self) -> None:
        if self._searcher is not None:
            try:
                self._searcher.close()
            except Exception:
                pass
        self._searcher = None
        self._ix = None
        self._live = None

    def _reload_tables(self) -> None:
        self._cache.clear()
        self._evaluator = None
        self._groups = store.load_groups(self.index_dir)
        self._table = FacetTable.load(self._searcher, self._groups)

    def close(self) -> None:
        with self._lock:
            self._drop()

    def forget_results(self) -> None:
        """Drop the finished results kept for repeated queries (posting and facet caches stay).

        For measurements: the second pass of a benchmark must evaluate every query again.
        """
        with self._lock:
            self._cache.clear()

    # -- search ----------------------------------------------------------------------------
    def search(self, q: str | None = "", filters: Filters | None = None, sort: str = "relevance",
               page: int = 1, per_page: int = DEFAULT_PER_PAGE, _max_per_page: int = MAX_PER_PAGE,
               did_you_mean: bool = True) -> SearchResult:
        """Run a query with filters; counts, hits and messages are always consistent.

        ``did_you_mean=False`` (exports) never looks for a spelling fix.
        """
        filters = filters or Filters()
        with self._lock:
            s = self._current()
            key = (id(s), q or "", tuple(filters.pairs()), sort, str(page), str(per_page), _max_per_page,
                   did_you_mean)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return copy.deepcopy(hit)
        result = self._search(q, filters, sort, page, per_page, _max_per_page, did_you_mean)
        with self._lock:
            if self._searcher is s:
                self._cache[key] = copy.deepcopy(result)
                while len(self._cache) > RESULT_CACHE_SIZE:
                    self._cache.popitem(last=False)
        return result

    def _search(self, q: str | None, filters: Filters, sort: str, page: int, per_page: int,
                _max_per_page: int, did_you_mean: bool = True) -> SearchResult:
        pq = qmod.parse(q)
        sort = sort if sort in SORTS else "relevance"
        if pq.empty and sort == "relevance":
            sort = "year"
        per_page = clamp_int(per_page, DEFAULT_PER_PAGE, 1, _max_per_page)
        page = clamp_int(page, 1, 1, 10**6)
        messages: list[str] = list(pq.notes())
        if pq.truncated:
            messages.append(f"查询过长，只使用了前 {qmod.MAX_QUERY_CHARS} 个字符。")
        if (q or "").strip() and pq.empty and not pq.exclude:
            messages.append("查询中没有可搜索的词，显示全部文档。")
        needles = qmod.highlight_needles(pq)
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            filters = understand.canonical_filters(filters, table)  # region=云南 → 云南省
            # One evaluation of the query (no filter), ranked (``searchapp.ranking``): the
            # filters and every facet's "all other filters" view are masks over its
            # matches, and the page is the best few of the filtered matches.
            # stored fields read once per search: the proximity bonus reads the best 20
            # reports' text, and the page's hits are mostly among them
            stored_of = _StoredMemo(s)
            ranked = ranking.rank(pq, table, lambda wq: self._match(s, wq),
                                  lambda n: stored_of(n).get("content") or "")
            docs, scores = ranked.docs, ranked.scores
            if ranked.expansion_added:
                messages.append(pq.expansion_note(ranked.expansion_added) or "")
            full = table.filter_mask(filters)
            keep = full[docs] if full is not None else None
            fdocs = docs[keep] if keep is not None else docs
            key = self._sort_key(table, sort, fdocs, scores[keep] if keep is not None else scores)
            first = int(fdocs[top_order(key, fdocs, 1)[0]]) if len(fdocs) else None
            fc = facets_mod.compute(table, docs, filters, first=first)
            total, facets, level = fc.total, fc.counts, fc.region_level
            result = SearchResult(query=q or "", filters=filters, total=total, hits=[], facets=facets,
                                  page=page, per_page=per_page, sort=sort, region_level=level,
                                  messages=messages, needles=needles,
                                  refine=understand.suggestions(ranked.understanding, filters, ranked.meta_counts,
                                                                len(docs)) if total else [])
            # "did you mean": only when the query itself finds nothing (not when filters alone
            # empty the result) or a multi-word item is nowhere in the index as typed
            if did_you_mean and not pq.empty and (not len(docs) or any(n == 0 for _it, n in ranked.verbatim)):
                result.suggestion = self._did_you_mean(s, pq)
            if total == 0:
                return result
            if (page - 1) * per_page >= total:
                messages.append(f"页码超出范围：共 {result.pages} 页。")
                return result
            for stored in self._collapsed_page(s, table, key, fdocs, page, per_page, stored_of):
                result.hits.append(self._hit(stored, needles))
        return result

    def _match(self, s, wq: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        """Every live document ``wq`` matches (ascending) and its score, filters not applied.

        Evaluated with numpy over the postings (``indexer.engine.fastquery``); a query shape
        it declares unsupported (:class:`Unsupported`) is run by Whoosh instead, with the
        same result.  Any other exception is a bug and surfaces (the tests run every
        query shape both ways).
        """
        table = self._table
        assert table is not None
        try:
            if self._evaluator is None or self._evaluator.searcher is not s:
                self._evaluator = Evaluator(s, self._postings)
            docs, scores = self._evaluator.evaluate(wq)
        except Unsupported:
            docs, scores = self._whoosh_match(s, wq)
        keep = docs < table.size
        keep[keep] = table.live[docs[keep]]
        return docs[keep], scores[keep]

    @staticmethod
    def _whoosh_match(s, wq: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        pairs = s.search(wq, limit=None).top_n
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        sc = np.array([p[0] for p in pairs], dtype=np.float64)
        docs = np.array([p[1] for p in pairs], dtype=np.int64)
        order = np.argsort(docs)
        return docs[order], sc[order]

    @staticmethod
    def _sort_key(table: FacetTable, sort: str, docs: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Ascending sort key per document (ties: lower document number first, as Whoosh orders them)."""
        if sort == "year":
            return -table.year_num[docs]
        if sort == "year_asc":
            y = table.year_num[docs]
            return np.where(y > 0, y, 99999)
        return -scores

    @staticmethod
    def _collapsed_page(s, table: FacetTable, key: np.ndarray, docs: np.ndarray, page: int,
                        per_page: int, read: Callable[[int], dict[str, Any]] | None = None
                        ) -> list[dict[str, Any]]:
        """Stored fields of one page of results, each near-duplicate group shown once (its best copy).

        Only the best few matches are put in order (``top_order``); more are taken
        when collapsing copies leaves the page short.
        """
        want = page * per_page
        k = min(len(docs), want * 2 + 16)
        while True:
            seen: set[str] = set()
            kept: list[int] = []
            for i in top_order(key, docs, k).tolist():
                n = int(docs[i])
                ck = table.collapse_key(n)
                if ck in seen:
                    continue
                seen.add(ck)
                kept.append(n)
                if len(kept) >= want:
                    break
            if len(kept) >= want or k >= len(docs):
                break
            k = min(len(docs), k * 4)
        read = read or s.stored_fields
        return [read(n) for n in kept[(page - 1) * per_page: want]]

    def ids_matching(self, q: str, filters: Filters | None = None) -> set[str]:
        """Ids of every document the query matches (uncollapsed): for recall checks and exports."""
        wq = qmod.to_whoosh(qmod.parse(q))
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            docs, _scores = self._match(s, wq)
            mask = table.filter_mask(filters or Filters())
            if mask is not None:
                docs = docs[mask[docs]]
            return {table.records[n].id for n in docs.tolist()}

    def all_hits(self, q: str | None, filters: Filters | None, sort: str, cap: int) -> SearchResult:
        """The whole result set up to ``cap`` reports (for export), in display order."""
        return self.search(q, filters, sort, 1, cap, _max_per_page=cap, did_you_mean=False)

    def _hit(self, stored: dict[str, Any], needles: list[str]) -> Hit:
        meta = stored.get("meta") or {}
        return Hit(
            id=stored["id"], title=display_title(stored), region=list(meta.get("region") or []),
            year=meta.get("year"), topics=list(meta.get("topics") or []),
            doc_type=meta.get("doc_type") or UNKNOWN, snippet=snippet(stored.get("content") or "", needles),
            duplicates=list(self._groups.get(stored["id"], [])), source=stored.get("source"),
            published=stored.get("published"),
        )

    def _did_you_mean(self, s, pq: qmod.ParsedQuery) -> str | None:
        """The query with one item's typo fixed (``understand.fix_item``), or None.

        Each check is an exact phrase evaluated without filters; answers are cached
        per index generation, so a repeated query costs a dictionary lookup.
        """
        reader = s.reader()

        def count(text: str) -> int:  # reports holding ``text`` verbatim (the bigram phrase alone, no scoring words)
            wq = qmod.exact_query(qmod.Item(text, phrase=True), use_synonyms=False)
            return len(self._match(s, wq)[0]) if wq is not None else 0

        for it in pq.positive_items():
            fixed = self._did_you_mean_cache.fix(id(s), gram_text(it.text), reader, count)
            if fixed:
                return qmod.replace_item(pq, it, fixed)
        return None

    # -- example sentences -----------------------------------------------------------------
    def sentences(self, q: str | None, filters: Filters | None = None, page: int = 1,
                  per_page: int = 20, scan_docs: int = MAX_SCAN_DOCS) -> SentenceResult:
        """Sentences containing the query, from the best-matching reports, each once with a count."""
        filters = filters or Filters()
        pq = qmod.parse(q)
        per_page = clamp_int(per_page, 20, 1, MAX_PER_PAGE)
        page = clamp_int(page, 1, 1, 10**6)
        res = SentenceResult(query=q or "", filters=filters, total=0, sentences=[], facets={}, page=page,
                             per_page=per_page, messages=list(pq.notes()), needles=qmod.highlight_needles(pq))
        if pq.empty:
            res.messages.append("请输入要查找例句的词语或短语。")
            return res
        groups = qmod.sentence_needles(pq)
        wq = qmod.to_whoosh(pq)
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            filters = res.filters = understand.canonical_filters(filters, table)  # region=云南 → 云南省
            matched, scores = self._match(s, wq)
            docs = matched
            full = table.filter_mask(filters)
            if full is not None:
                keep = full[docs]
                docs, scores = docs[keep], scores[keep]
            best = top_order(-scores, docs, min(scan_docs, len(docs))) if len(docs) else np.zeros(0, dtype=np.int64)
            fc = facets_mod.compute(table, matched, filters,
                                    first=int(docs[best[0]]) if len(best) else None)
            res.facets, res.region_level, res.reports = fc.counts, fc.region_level, fc.total
            if len(fc.docnums) > scan_docs:
                res.messages.append(f"匹配的报告较多，例句取自相关度最高的 {scan_docs} 篇。")
            found: dict[str, Example] = {}
            for n in docs[best].tolist():
                stored = s.stored_fields(n)
                text = stored.get("content") or ""
                meta = stored.get("meta") or {}
                seen_here: set[str] = set()
                for n, sent in enumerate(split_sentences(text)):
                    if len(sent) > MAX_SENTENCE_CHARS or not matches(sent, groups):
                        continue
                    key = sentence_key(sent)
                    if key in seen_here:
                        continue
                    seen_here.add(key)
                    if key in found:
                        found[key].count += 1
                        found[key].doc_ids.append(stored["id"])
                        continue
                    found[key] = Example(sent, stored["id"], n, display_title(stored),
                                         list(meta.get("region") or []), meta.get("year"),
                                         doc_ids=[stored["id"]])
        examples = list(found.values())
        res.total = len(examples)
        added = [other.split() for _typed, other in pq.expansions]
        if any(all(w in e.text for w in words) for e in examples for words in added):
            res.messages.append(pq.expansion_note() or "")  # only when an expanded form gave a sentence
        start = (page - 1) * per_page
        if examples and start >= len(examples):
            res.messages.append(f"页码超出范围：共 {res.pages} 页。")
        res.sentences = examples[start:start + per_page]
        res.marked = [highlight(e.text, res.needles) for e in res.sentences]
        return res

    # -- similar reports, suggestions ------------------------------------------------------
    def similar(self, doc_id: str, limit: int = 5) -> list[tuple[str, str]]:
        """(id, title) of reports most like this one by key terms, its own copies excluded."""
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            docnum = table.by_id.get(doc_id)
            if docnum is None:
                return []
            own = table.collapse_key(docnum)
            stored = s.stored_fields(docnum)
            text = (stored.get("title") or "") + "\n" + (stored.get("content") or "")[:20000]
            out: list[tuple[str, str]] = []
            seen = {own}
            for hit in s.more_like(docnum, "content", text=text, top=limit * 3, numterms=20):
                key = table.collapse_key(hit.docnum)
                if key in seen:
                    continue
                seen.add(key)
                out.append((hit["id"], display_title(hit.fields())))
                if len(out) >= limit:
                    break
        return out

    def suggest(self, prefix: str, limit: int = 8) -> list[dict[str, str]]:
        """Completions for what is being typed: matching titles first, then frequent indexed words."""
        p = qmod.normalize_prefix(prefix)
        if not p:
            return []
        out: list[dict[str, str]] = []
        with self._lock:
            s = self._current()
            table = self._table
            assert table is not None
            seen: set[str] = set()
            for title in table.titles_starting(p, limit):
                if title not in seen:
                    seen.add(title)
                    out.append({"text": title, "kind": "title"})
            reader = s.reader()
            try:
                terms = [(reader.doc_frequency("content", t), t.decode("utf-8") if isinstance(t, bytes) else t)
                         for t in reader.expand_prefix("content", p)]
            except Exception:
                terms = []
            for _df, term in sorted(terms, key=lambda x: (-x[0], x[1]))[: limit * 2]:
                if term not in seen and len(out) < limit * 2 and len(term) > len(p) - 1:
                    seen.add(term)
                    out.append({"text": term, "kind": "term"})
        return out[: limit * 2]

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
            "region": list(meta.get("region") or []),
            "year": meta.get("year"),
            "topics": list(meta.get("topics") or []),
            "doc_type": meta.get("doc_type") or UNKNOWN,
            "source": stored.get("source"),
            "published": stored.get("published"),
            "path": stored.get("path"),
            "truncated": bool(stored.get("truncated")),
            "damaged": bool(stored.get("damaged")),
            "undecodable_bytes": int(meta.get("undecodable_bytes") or 0),
            "extractor": meta.get("extractor") or "ours",
            "duplicates": list(groups.get(stored["id"], [])),
            "needles": needles,
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


class _StoredMemo:
    """``searcher.stored_fields`` for the length of one search, each document read (and unpickled) once."""

    def __init__(self, searcher: Any) -> None:
        self._searcher = searcher
        self._seen: dict[int, dict[str, Any]] = {}

    def __call__(self, docnum: int) -> dict[str, Any]:
        stored = self._seen.get(docnum)
        if stored is None:
            stored = self._seen[docnum] = self._searcher.stored_fields(docnum)
        return stored


def engine_of(app: Any) -> SearchEngine:
    """The Flask app's search engine (made by ``create_app``, kept in ``app.extensions``)."""
    return app.extensions["engine"]
