"""The search engine behind the UI, the JSON API and ``reportsearch search``.

One :class:`SearchEngine` per process serves requests from a :class:`Generation`:
one committed state of the index (its Whoosh TOC, facet table and duplicate
groups), built whole and then published by a single reference swap, so a
request sees either the old or the new generation, never a mix.  There is no
lock around searching: each request borrows a searcher of its generation from
a small pool (Whoosh's file objects seek and read, so one searcher must not
serve two threads at once) and gives it back.  When an indexing run has
committed, the first request to notice opens the new generation while the
others keep answering from the old one.

Every query has a cost budget: at most ``query.MAX_ITEMS`` items, a single
character is one bigram-prefix disjunction evaluated with numpy (and cached),
and evaluation stops at a deadline (:data:`QUERY_DEADLINE_S`) with partial
results and a message instead of holding the request.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup
from whoosh import query as Q
from whoosh.collectors import TimeLimit, TimeLimitCollector
from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC, FileIndex
from whoosh.searching import Searcher

from indexer.analysis import gram_text
from indexer.engine import store
from indexer.engine.fastquery import Evaluator, PostingCache, Unsupported, top_order
from indexer.engine.schema import UNKNOWN
from indexer.engine.scoring import CachedBM25F
from indexer.provenance import clean_url, site_of

from . import facets as facets_mod
from . import query as qmod
from . import ranking, understand
from .facets import FacetTable, Filters
from .highlight import highlight, item_needles, needles_in, page_needles, snippet
from .sentences import Example, find_examples, no_sentence_reason, sentence_key

MAX_PER_PAGE = 100
MAX_SCAN_DOCS = 400  # example sentences are taken from at most this many best-matching reports
EXPORT_CAP = 1000
DEFAULT_PER_PAGE = 10
SORTS = {"relevance": "相关度", "year": "年份（新→旧）", "year_asc": "年份（旧→新）"}
RESULT_CACHE_SIZE = 256  # search results kept per index generation (pagination, facet clicks, back button)
POSTING_CACHE_MB = 256  # decoded postings kept between queries (segments never change, so across generations)
QUERY_DEADLINE_S = 0.5  # query evaluation stops here and answers with what it has (partial, said so)
SUGGESTION_BUDGET_S = 0.5  # "did you mean" stops after this long (a safety net: its answers are cached per generation)
IDLE_SEARCHERS = 8  # searchers kept open per generation for the next requests
PARTIAL_MESSAGE = "查询过于复杂，在限定时间内只完成了部分检索，结果可能不完整。请减少检索词或使用更长的词语。"
CAPPED_MESSAGE = "单个汉字的搭配过多，只使用了其中最常见的部分。"

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
    url: str | None = None  # the page's source address, when the input records it

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "region": self.region, "year": self.year,
                "topics": self.topics, "doc_type": self.doc_type, "snippet": str(self.snippet),
                "duplicates": self.duplicates, "source": self.source, "published": self.published,
                "url": self.url}


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
    own_level: int = 0  # reports filed at the selected region itself (the facet's "本级" row)
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
    own_level: int = 0
    reports: int = 0  # reports the query matches (with the filters): the 报告 tab's total
    why_none: str = ""  # when reports match but give no sentence: why, in words for the page

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.total else 1

    def as_json(self, base_url: str | None = None) -> dict[str, Any]:
        return {"query": self.query, "total": self.total, "page": self.page, "per_page": self.per_page,
                "pages": self.pages, "reports": self.reports,
                "sentences": [e.as_json(base_url) for e in self.sentences],
                "facets": self.facets, "messages": self.messages, "no_sentences_reason": self.why_none or None}


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


class _OutOfTime(Exception):
    """The suggestion budget ran out (internal to ``_did_you_mean``)."""


class _Reader:
    """One searcher of a generation and its numpy evaluator: used by one request at a time."""

    __slots__ = ("evaluator", "searcher")

    def __init__(self, searcher, postings: PostingCache):
        self.searcher = searcher
        try:
            self.evaluator: Evaluator | None = Evaluator(searcher, postings)
        except Unsupported:
            self.evaluator = None

    def close(self) -> None:
        try:
            self.searcher.close()
        except Exception as exc:  # noqa: BLE001 - best-effort cleanup: closing must not fail a request
            log.debug("closing a searcher failed: %r", exc)


class Generation:
    """One committed state of the index, immutable once built: TOC, facet table, groups.

    Readers of one generation all open the same TOC (not "the latest"), so every
    searcher a request may borrow agrees with the facet table and groups built
    with the first one.  Finished results are cached here, so a new generation
    starts with an empty cache and no stale result can be served.
    """

    def __init__(self, ix, toc, live: Path, signature: tuple, groups: dict[str, list[str]],
                 postings: PostingCache):
        self.ix = ix
        self.toc = toc
        self.number = toc.generation
        self.live = live
        self.signature = signature
        self.groups = groups
        self._postings = postings
        self._lock = threading.Lock()
        self._idle: list[_Reader] = []
        self._retired = False
        self.results: OrderedDict[tuple, SearchResult] = OrderedDict()
        first = self._open()
        try:
            self.table = FacetTable.load(first.searcher, groups)
        except BaseException:
            first.close()
            raise
        self._idle.append(first)

    def _open(self) -> _Reader:
        reader = FileIndex._reader(self.ix.storage, self.toc.schema, self.toc.segments, self.toc.generation)
        return _Reader(Searcher(reader, fromindex=self.ix, weighting=CachedBM25F()), self._postings)

    def acquire(self) -> _Reader:
        """An idle searcher of this generation, or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open()

    def release(self, r: _Reader) -> None:
        with self._lock:
            if not self._retired and len(self._idle) < IDLE_SEARCHERS:
                self._idle.append(r)
                return
        r.close()

    def retire(self) -> None:
        """A newer generation is live: close the idle searchers; borrowed ones close when given back."""
        with self._lock:
            self._retired = True
            idle, self._idle = self._idle, []
        for r in idle:
            r.close()

    def cached(self, key: tuple) -> Any:
        """A copy of the finished result kept under ``key`` (a search or a query's example sentences), or None."""
        with self._lock:
            hit = self.results.get(key)
            if hit is None:
                return None
            self.results.move_to_end(key)
        return copy.deepcopy(hit)

    def remember(self, key: tuple, result: SearchResult | SentenceResult) -> None:
        kept = copy.deepcopy(result)
        with self._lock:
            self.results[key] = kept
            while len(self.results) > RESULT_CACHE_SIZE:
                self.results.popitem(last=False)

    def forget(self) -> None:
        with self._lock:
            self.results.clear()


def _groups_stat(live: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(live / store.GROUPS_FILE)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _signature(index_dir: Path) -> tuple:
    """What identifies the committed state on disk, cheaply (a few stats and one listing):
    the live folder, its latest TOC generation, and ``groups.json`` (written after a commit)."""
    live = store.live_dir(index_dir)
    try:
        toc_gen = TOC._latest_generation(FileStorage(str(live)), store.INDEXNAME)
    except Exception as exc:  # noqa: BLE001 - the folder is being swapped (any error mid-swap): the generation open keeps answering
        log.debug("TOC generation unreadable while swapping: %r", exc)
        toc_gen = None
    return (str(live), toc_gen, _groups_stat(live))


class SearchEngine:
    """Searches one index directory; safe to share between request threads, with no lock around searches."""

    def __init__(self, index_dir: str | Path, deadline_s: float = QUERY_DEADLINE_S):
        self.index_dir = Path(index_dir)
        self.deadline_s = deadline_s
        self._gen: Generation | None = None
        self._reload = threading.Lock()  # one thread opens a new generation; the others keep answering
        self._postings = PostingCache(POSTING_CACHE_MB << 20)
        self._did_you_mean_cache = understand.DidYouMean()

    # -- state -----------------------------------------------------------------------------
    def available(self) -> bool:
        if self._gen is not None:
            return True  # keeps answering from the last good state whatever happens on disk
        return store.index_exists(self.index_dir)

    def _generation(self) -> Generation:
        """The live generation, replaced when a newer commit exists or a rebuilt index was swapped in.

        If the index on disk cannot be opened right now (a commit or a swap in the
        middle of happening), the generation already open keeps answering.  While
        one thread opens a new generation, the others answer from the current one.
        """
        gen = self._gen
        sig = _signature(self.index_dir)
        if gen is not None and gen.signature == sig:
            return gen
        if not self._reload.acquire(blocking=gen is None):
            return gen  # type: ignore[return-value]  # someone else is opening the new one
        try:
            gen = self._gen
            if gen is not None and gen.signature == sig:
                return gen
            try:
                new = self._open_generation()
            except Exception:
                if gen is None:
                    raise
                log.warning("could not open the new index state; answering from generation %s", gen.number,
                            exc_info=True)
                return gen
            self._gen = new  # one reference swap: requests see the old or the new generation
            if gen is not None:
                gen.retire()
            return new
        finally:
            self._reload.release()

    def _open_generation(self) -> Generation:
        ix = store.open_index(self.index_dir)
        toc = ix._read_toc()
        live = Path(ix.storage.folder)
        gstat = _groups_stat(live)  # before reading: a rewrite in between is seen as a change next time
        groups = store.load_groups(self.index_dir)
        return Generation(ix, toc, live, (str(live), toc.generation, gstat), groups, self._postings)

    @contextlib.contextmanager
    def _borrow(self, gen: Generation | None = None) -> Iterator[tuple[Generation, _Reader]]:
        """``with engine._borrow() as (gen, reader)``: a searcher of the live generation (``gen``: the
        one the caller already looked up), given back after."""
        gen = gen or self._generation()
        try:
            r = gen.acquire()
        except Exception as exc:  # noqa: BLE001 - its files were replaced between the check and the open: take the new state
            log.debug("generation replaced before it opened (%r): opening the new one", exc)
            gen = self._generation()
            r = gen.acquire()
        try:
            yield gen, r
        finally:
            gen.release(r)

    def close(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None:
            gen.retire()

    def forget_results(self) -> None:
        """Drop the finished results kept for repeated queries (posting and facet caches stay).

        For measurements: the second pass of a benchmark must evaluate every query again.
        """
        gen = self._gen
        if gen is not None:
            gen.forget()

    # -- search ----------------------------------------------------------------------------
    def search(self, q: str | None = "", filters: Filters | None = None, sort: str = "relevance",
               page: int = 1, per_page: int = DEFAULT_PER_PAGE, _max_per_page: int = MAX_PER_PAGE,
               did_you_mean: bool = True) -> SearchResult:
        """Run a query with filters; counts, hits and messages are always consistent.

        ``did_you_mean=False`` (exports) never looks for a spelling fix.  Evaluation stops
        at the engine's deadline: the answer is then partial and says so (a partial
        answer is not cached, the next try may complete it).
        """
        deadline = time.monotonic() + self.deadline_s
        filters = filters or Filters()
        key = (q or "", tuple(filters.pairs()), sort, str(page), str(per_page), _max_per_page, did_you_mean)
        gen = self._generation()
        hit = gen.cached(key)  # a repeated query needs no searcher
        if hit is not None:
            return hit
        with self._borrow(gen) as (gen, r):
            result, complete = self._search(gen, r, q, filters, sort, page, per_page, _max_per_page, deadline,
                                            did_you_mean)
        if complete:
            gen.remember(key, result)
        return result

    def _search(self, gen: Generation, r: _Reader, q: str | None, filters: Filters, sort: str, page: int,
                per_page: int, _max_per_page: int, deadline: float,
                did_you_mean: bool = True) -> tuple[SearchResult, bool]:
        pq = qmod.parse(q)
        sort = sort if sort in SORTS else "relevance"
        if pq.empty and sort == "relevance":
            sort = "year"
        per_page = clamp_int(per_page, DEFAULT_PER_PAGE, 1, _max_per_page)
        page = clamp_int(page, 1, 1, 10**6)
        messages: list[str] = list(pq.notes()) + list(filters.notes)
        if pq.truncated:
            messages.append(f"查询过长，只使用了前 {qmod.MAX_QUERY_CHARS} 个字符。")
        if (q or "").strip() and pq.empty and not pq.exclude:
            messages.append("查询中没有可搜索的词，显示全部文档。")
        needles = qmod.highlight_needles(pq)
        s, table = r.searcher, gen.table
        filters = understand.canonical_filters(filters, table)  # region=云南 → 云南省
        # One evaluation of the query (no filter), ranked (``searchapp.ranking``): the
        # filters and every facet's "all other filters" view are masks over its
        # matches, and the page is the best few of the filtered matches.
        cut: list[bool] = []

        def match(wq: Q.Query) -> tuple[np.ndarray, np.ndarray]:
            docs, scores, complete = self._match(gen, r, wq, deadline, messages)
            if not complete:
                cut.append(True)
            return docs, scores

        # stored fields read once per search: the proximity bonus reads the best 20
        # reports' text, and the page's hits are mostly among them
        stored_of = _StoredMemo(s)
        ranked = ranking.rank(pq, table, match, lambda n: stored_of(n).get("content") or "")
        complete = not cut
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
                              own_level=fc.own_level, messages=messages, needles=needles,
                              refine=understand.suggestions(ranked.understanding, filters, ranked.meta_counts,
                                                            len(docs)) if total else [])
        # "did you mean": only when the query itself finds nothing (not when filters alone
        # empty the result) or a multi-word item is nowhere in the index as typed; not
        # for an answer cut short by the deadline
        if (did_you_mean and complete and not pq.empty
                and (not len(docs) or any(n == 0 for _it, n in ranked.verbatim))):
            result.suggestion = self._did_you_mean(gen, r, pq, time.monotonic() + SUGGESTION_BUDGET_S)
        if total == 0:
            return result, complete
        if (page - 1) * per_page >= total:
            messages.append(f"页码超出范围：共 {result.pages} 页。")
            return result, complete
        # marked as on the document page: a query item's words only where the report lacks
        # the item itself, so the snippet does not scatter 医生 and 签约 around 家庭医生签约
        items = item_needles(pq) if needles else []
        for stored in self._collapsed_page(s, table, key, fdocs, page, per_page, stored_of):
            result.hits.append(self._hit(gen, stored, needles_in(stored.get("content") or "", items)))
        return result, complete

    def _match(self, gen: Generation, r: _Reader, wq: Q.Query, deadline: float | None = None,
               messages: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
        """Every live document ``wq`` matches (ascending), its score, and whether the match is complete.

        Evaluated with numpy over the postings (``indexer.engine.fastquery``); a query shape
        it declares unsupported (:class:`Unsupported`) is run by Whoosh instead, with the
        same result.  Any other exception is a bug and surfaces (the tests run every
        query shape both ways).  Both stop at ``deadline``; then the match is partial
        and ``messages`` says so.
        """
        table = gen.table
        s = r.searcher
        complete = True
        try:
            if r.evaluator is None:
                raise Unsupported("no evaluator for this weighting")
            docs, scores, complete = r.evaluator.evaluate_within(wq, deadline)
            if messages is not None and r.evaluator.capped_prefixes() and CAPPED_MESSAGE not in messages:
                messages.append(CAPPED_MESSAGE)
        except Unsupported:
            docs, scores, complete = self._whoosh_match(s, wq, deadline)
        if not complete and messages is not None:
            messages.append(PARTIAL_MESSAGE)
        keep = docs < table.size
        keep[keep] = table.live[docs[keep]]
        return docs[keep], scores[keep], complete

    @staticmethod
    def _whoosh_match(s, wq: Q.Query, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
        complete = True
        collector = s.collector(limit=None)
        if deadline is not None:
            collector = TimeLimitCollector(collector, max(0.05, deadline - time.monotonic()), use_alarm=False)
        try:
            s.search_with_collector(wq, collector)
        except TimeLimit:
            complete = False
        pairs = collector.results().top_n
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), complete
        sc = np.array([p[0] for p in pairs], dtype=np.float64)
        docs = np.array([p[1] for p in pairs], dtype=np.int64)
        order = np.argsort(docs)
        return docs[order], sc[order], complete

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
        with self._borrow() as (gen, r):
            table = gen.table
            docs, _scores, _complete = self._match(gen, r, wq)
            mask = table.filter_mask(filters or Filters())
            if mask is not None:
                docs = docs[mask[docs]]
            return {table.records[n].id for n in docs.tolist()}

    def all_hits(self, q: str | None, filters: Filters | None, sort: str, cap: int) -> SearchResult:
        """The whole result set up to ``cap`` reports (for export), in display order."""
        return self.search(q, filters, sort, 1, cap, _max_per_page=cap, did_you_mean=False)

    @staticmethod
    def _hit(gen: Generation, stored: dict[str, Any], needles: list[str]) -> Hit:
        meta = stored.get("meta") or {}
        return Hit(
            id=stored["id"], title=display_title(stored), region=list(meta.get("region") or []),
            year=meta.get("year"), topics=list(meta.get("topics") or []),
            doc_type=meta.get("doc_type") or UNKNOWN, snippet=snippet(stored.get("content") or "", needles),
            duplicates=list(gen.groups.get(stored["id"], [])), source=stored.get("source"),
            published=stored.get("published"), url=meta.get("url"),
        )

    def _did_you_mean(self, gen: Generation, r: _Reader, pq: qmod.ParsedQuery,
                      deadline: float | None = None) -> str | None:
        """The query with one item's typo fixed (``understand.fix_item``), or None.

        Each check is an exact phrase evaluated without filters; answers are cached
        per index generation, so a repeated query costs a dictionary lookup.
        """
        reader = r.searcher.reader()

        def count(text: str) -> int:  # reports holding ``text`` verbatim (the bigram phrase alone, no scoring words)
            if deadline is not None and time.monotonic() > deadline:
                raise _OutOfTime  # not cached as "no fix": the next request may finish the search
            wq = qmod.exact_query(qmod.Item(text, phrase=True), use_synonyms=False)
            return len(self._match(gen, r, wq, deadline)[0]) if wq is not None else 0

        try:
            for it in pq.positive_items():
                fixed = self._did_you_mean_cache.fix(gen.signature, gram_text(it.text), reader, count)
                if fixed:
                    return qmod.replace_item(pq, it, fixed)
        except _OutOfTime:
            return None
        return None

    # -- example sentences -----------------------------------------------------------------
    def sentences(self, q: str | None, filters: Filters | None = None, page: int = 1,
                  per_page: int = 20, scan_docs: int = MAX_SCAN_DOCS,
                  _max_per_page: int = MAX_PER_PAGE) -> SentenceResult:
        """Sentences containing the query, from the best-matching reports, each once with a count.

        A heading that matches gives the text under it; each example carries the
        sentences around it.  When reports match but none gives a sentence,
        ``why_none`` says why (the page then links to those reports).
        """
        filters = filters or Filters()
        pq = qmod.parse(q)
        per_page = clamp_int(per_page, 20, 1, _max_per_page)
        page = clamp_int(page, 1, 1, 10**6)
        # every example of the query is gathered once per index generation; a page (or the
        # export, or the next page) is cut from that
        key = ("sentences", q or "", tuple(filters.pairs()), scan_docs)
        gen = self._generation()
        res = gen.cached(key)
        if res is None:
            res, complete = self._sentence_pool(gen, pq, q, filters, scan_docs)
            if complete:
                gen.remember(key, res)
        res.page, res.per_page = page, per_page
        if pq.empty:
            return res
        examples_all = res.sentences
        start = (page - 1) * per_page
        if examples_all and start >= len(examples_all):
            res.messages.append(f"页码超出范围：共 {res.pages} 页。")
        res.sentences = examples_all[start:start + per_page]
        # text under a matching heading is marked with the whole query items only (its words
        # alone, scattered in the body, are not what matched)
        whole = [n for n in res.needles if not any(n != m and n in m for m in res.needles)]
        res.marked = [highlight(e.text, whole if e.heading else res.needles) for e in res.sentences]
        return res

    def _sentence_pool(self, live: Generation, pq: qmod.ParsedQuery, q: str | None, filters: Filters,
                       scan_docs: int) -> tuple[SentenceResult, bool]:
        """Every example sentence of the query (not yet paged) with the facets and notes, and whether
        the evaluation finished before the deadline (only then is it kept for the next page)."""
        res = SentenceResult(query=q or "", filters=filters, total=0, sentences=[], facets={}, page=1,
                             per_page=1, messages=list(pq.notes()), needles=qmod.highlight_needles(pq))
        if pq.empty:
            res.messages.append("请输入要查找例句的词语或短语。")
            return res, True
        groups = qmod.sentence_needles(pq)
        wq = qmod.to_whoosh(pq)
        deadline = time.monotonic() + self.deadline_s
        res.messages.extend(filters.notes)
        reasons: dict[str, int] = {}
        with self._borrow(live) as (gen, r):
            s, table = r.searcher, gen.table
            filters = res.filters = understand.canonical_filters(filters, table)  # region=云南 → 云南省
            matched, scores, complete = self._match(gen, r, wq, deadline, res.messages)
            docs = matched
            full = table.filter_mask(filters)
            if full is not None:
                keep = full[docs]
                docs, scores = docs[keep], scores[keep]
            best = top_order(-scores, docs, min(scan_docs, len(docs))) if len(docs) else np.zeros(0, dtype=np.int64)
            fc = facets_mod.compute(table, matched, filters,
                                    first=int(docs[best[0]]) if len(best) else None)
            res.facets, res.region_level, res.reports = fc.counts, fc.region_level, fc.total
            res.own_level = fc.own_level
            if len(fc.docnums) > scan_docs:
                res.messages.append(f"匹配的报告较多，例句取自相关度最高的 {scan_docs} 篇。")
            found: dict[str, Example] = {}
            for n in docs[best].tolist():
                stored = s.stored_fields(n)
                meta = stored.get("meta") or {}
                examples, why = find_examples(stored.get("content") or "", groups, stored.get("title") or "")
                if why:
                    reasons[why] = reasons.get(why, 0) + 1
                seen_here: set[str] = set()
                for f in examples:
                    key = sentence_key(f.text)
                    if key in seen_here:
                        continue
                    seen_here.add(key)
                    if key in found:
                        found[key].count += 1
                        found[key].doc_ids.append(stored["id"])
                        continue
                    found[key] = Example(f.text, stored["id"], f.sentence_no, display_title(stored),
                                         list(meta.get("region") or []), meta.get("year"),
                                         doc_ids=[stored["id"]], heading=f.heading, before=f.before,
                                         after=f.after)
        res.sentences = list(found.values())
        res.total = len(res.sentences)
        if not res.sentences and res.reports:
            res.why_none = no_sentence_reason(reasons)
        added = [other.split() for _typed, other in pq.expansions]
        if any(all(w in e.text for w in words) for e in res.sentences for words in added):
            res.messages.append(pq.expansion_note() or "")  # only when an expanded form gave a sentence
        return res, complete

    # -- similar reports, suggestions ------------------------------------------------------
    def similar(self, doc_id: str, limit: int = 5) -> list[tuple[str, str]]:
        """(id, title) of reports most like this one by key terms, its own copies excluded."""
        with self._borrow() as (gen, r):
            s, table = r.searcher, gen.table
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
        with self._borrow() as (gen, r):
            s, table = r.searcher, gen.table
            seen: set[str] = set()
            for title in table.titles_starting(p, limit):
                if title not in seen:
                    seen.add(title)
                    out.append({"text": title, "kind": "title"})
            reader = s.reader()
            try:
                terms = [(reader.doc_frequency("content", t), t.decode("utf-8") if isinstance(t, bytes) else t)
                         for t in reader.expand_prefix("content", p)]
            except Exception as exc:  # noqa: BLE001 - suggestions are best-effort: titles alone rather than a failed request
                log.debug("term suggestions failed for %r: %r", p, exc)
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
        with self._borrow() as (gen, r):
            stored = r.searcher.document(id=doc_id)
            if stored is None:
                return None
            groups = gen.groups
        meta = stored.get("meta") or {}
        needles = page_needles(stored.get("content") or "", qmod.parse(q)) if q else []
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
            "site": stored.get("source") or site_of(meta.get("url")),
            "url": clean_url(meta.get("url")),
            "published": stored.get("published"),
            "retrieved": meta.get("retrieved"),
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
        with self._borrow() as (_gen, r):
            for i in ids:
                stored = r.searcher.document(id=i)
                if stored is not None:
                    out[i] = display_title(stored)
        return out

    def iter_documents(self):
        """Every stored document (for export)."""
        with self._borrow() as (gen, r):
            docs = list(r.searcher.all_stored_fields())
            groups = gen.groups
        for stored in docs:
            yield stored, groups.get(stored["id"], [])

    def doc_count(self) -> int:
        with self._borrow() as (_gen, r):
            return r.searcher.doc_count()


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
