"""Query evaluation with numpy over Whoosh's postings: every match and its BM25F score at once.

Whoosh scores a match by walking a tree of matcher objects one posting at a
time; on a 100,000-report archive a common word matches most reports and a
query took seconds.  :func:`evaluate` takes the *same* query objects
(``searchapp.query`` builds them) and the same postings (``indexer.engine.postings``
reads them in bulk) and computes the same set of documents with the same
scores using array operations:

* ``Term``: BM25F exactly as ``whoosh.scoring.BM25FScorer`` computes it (the same
  idf, average length, B and K1, the same float operations in the same order,
  the length byte decoded as ``byte_to_length``);
* ``Or`` / ``And`` / ``AndMaybe`` / ``AndNot``: union / intersection / optional /
  exclusion of the document sets, scores added as Whoosh's matchers add them;
* ``GramPhrase`` (a quoted phrase on the bigram field): the bigrams'
  intersection, then positions p, p+1, … checked for all candidates at once,
  scored as the intersection (the bigrams' scores added pairwise, as
  ``make_binary_tree`` nests them);
* ``Every``: every document;
* ``Prefix`` (a single character on the bigram field): the union of the
  bigrams that start with it, scored as Whoosh scores a constant-score prefix
  (each bigram's BM25F, added).  The bigrams and their term records come from
  one walk of each segment's sorted term index, so no term is looked up twice;
  at most :data:`MAX_PREFIX_TERMS` bigrams are used (the most frequent), and the
  result is cached per generation like a posting list.

A query may carry a deadline (:meth:`Evaluator.evaluate_within`): compound
nodes and prefixes stop taking further parts once it has passed, and the
caller is told the result is partial.  An ``And`` stops as soon as its running
intersection is empty (nothing later can add to it).

Anything else raises :class:`Unsupported` and the caller falls back to
Whoosh's own search, so an unusual query is slower, never wrong.  Deleted
documents are *not* removed here: the caller keeps only the documents of its
facet table, which holds live documents only.  Scores agree with Whoosh's to
the last bit for single terms and phrases; where several scores are added the
order of addition may differ (about 1e-16 relative).  ``tests/equivalence/test_evaluator_vs_whoosh.py``
compares documents, scores and ranking with Whoosh on real queries.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from math import log
from typing import Any, TypeVar

import numpy as np
from whoosh import query as Q
from whoosh import scoring
from whoosh.reading import TermNotFound

from .lengths import field_lengths
from .phrase import GramPhrase
from .postings import TermPostings, prefetch, read_many, read_terms

MAX_PREFIX_TERMS = 4096  # bigrams a single character expands to, at most (the most frequent kept)
PREFIX_BATCH = 512  # bigrams read and scored per step (the deadline is checked between steps)

T = TypeVar("T")
_EMPTY_IDS = np.zeros(0, dtype=np.int64)
_EMPTY_SC = np.zeros(0, dtype=np.float64)



def _bm25(st: _TermStats, idf: Any, tf: np.ndarray, fl: np.ndarray) -> np.ndarray:
    """Whoosh's ``bm25(idf, tf, fl, avgfl, B, K1)``, operation for operation (bit-equal scores),
    for one term (``idf`` a number) or many (an array per posting)."""
    scores: np.ndarray = idf * ((tf * (st.K1 + 1)) / (tf + st.K1 * ((1 - st.B) + st.B * fl / st.avgfl)))
    return scores

class Unsupported(Exception):
    """A query node this evaluator does not implement (the caller uses Whoosh instead)."""


class PostingCache:
    """Decoded postings and length arrays per segment, shared by every query of a process.

    Segments never change once written (an update writes a new segment and marks
    old documents deleted), so entries keyed by segment id stay valid across index
    generations; the least recently used are dropped beyond ``max_bytes``.
    """

    def __init__(self, max_bytes: int = 256 << 20):
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Any, ...], make: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                cached: T = hit[0]
                return cached
        value = make()
        n = size(value)
        if n > self.max_bytes // 4:
            return value  # too big to keep without evicting everything else
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, n)
                self._bytes += n
                while self._bytes > self.max_bytes and self._items:
                    _k, (_v, m) = self._items.popitem(last=False)
                    self._bytes -= m
        return value

    def peek(self, key: tuple[Any, ...]) -> object | None:
        """The cached value for ``key``, or None (nothing is made)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            value: object = hit[0]
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        with self._lock:
            return key in self._items


def _nbytes(value: object) -> int:
    return int(getattr(value, "nbytes", 0)) or 64


class _TermStats:
    """idf, average length, B and K1 of one term, as ``BM25F.scorer`` gets them (top-level statistics)."""

    __slots__ = ("B", "K1", "avgfl", "idf")

    def __init__(self, top: Any, weighting: scoring.BM25F, fieldname: str, tbytes: bytes) -> None:
        self.idf = top.idf(fieldname, tbytes)
        self.avgfl = top.avg_field_length(fieldname) or 1
        self.B = weighting._field_B.get(fieldname, weighting.B)
        self.K1 = weighting.K1


class Evaluator:
    """Evaluates Whoosh query trees against one searcher (one index generation), all segments at once."""

    def __init__(self, searcher: Any, cache: PostingCache | None = None) -> None:
        w = searcher.weighting
        if not isinstance(w, scoring.BM25F) or getattr(w, "use_final", False):
            raise Unsupported("only BM25F scoring is evaluated with numpy")
        self.searcher = searcher
        self.weighting = w
        self.schema = searcher.schema
        self.cache = cache or PostingCache()
        self.leaves = [(s.reader(), off) for s, off in searcher.leaf_searchers()]
        self.ndocs = searcher.doc_count_all()
        # the generation's segments (and their document offsets): what cached arrays depend on
        self.key = tuple((getattr(getattr(r, "_segment", None), "segment_id", lambda r=r: id(r))(), off)
                         for r, off in self.leaves)
        self._stats: dict[tuple[str, bytes], _TermStats] = {}
        self._local = threading.local()  # this thread's query: its term lookups (prefetch)

    def postings(self, fieldname: str, tbytes: bytes, positions: bool = False) -> TermPostings:
        """A term's postings over all segments, global document numbers (cached)."""
        infos = getattr(self._local, "infos", None)
        return self.cache.get((self.key, "p", fieldname, tbytes, positions),
                              lambda: read_terms(self.leaves, fieldname, tbytes, positions, infos), _nbytes)

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's (byte-quantized) length in ``fieldname``, by global document number."""
        def make() -> np.ndarray:
            parts = [field_lengths(r, fieldname) for r, _off in self.leaves]
            return np.concatenate(parts) if parts else np.zeros(0)
        return self.cache.get((self.key, "l", fieldname), make, _nbytes)

    def evaluate(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        """(global document numbers ascending, their scores) of every document ``q`` matches."""
        docs, scores, _complete = self.evaluate_within(q, None)
        return docs, scores

    def evaluate_within(self, q: Q.Query, deadline: float | None) -> tuple[np.ndarray, np.ndarray, bool]:
        """Like :meth:`evaluate`, stopping at ``deadline`` (``time.monotonic()``); the flag
        is False when parts of the query were left out (the result is then partial:
        an ``And`` that stopped early matches more, an ``Or`` fewer)."""
        loc = self._local
        loc.deadline, loc.cut, loc.capped = deadline, False, False
        loc.infos = self.prefetch(q)
        try:
            docs, scores = self._eval(q)
            return docs, scores, not loc.cut
        finally:
            loc.infos = None
            loc.deadline = None

    def capped_prefixes(self) -> bool:
        """Whether the last evaluation in this thread cut a single character's bigrams (``MAX_PREFIX_TERMS``)."""
        return bool(getattr(self._local, "capped", False))

    def _late(self) -> bool:
        d = getattr(self._local, "deadline", None)
        if d is not None and time.monotonic() > d:
            self._local.cut = True
            return True
        return False

    def prefetch(self, q: Q.Query) -> dict[tuple[int, str, bytes], Any]:
        """Look up every uncached term of ``q`` in every segment at once, reading ahead
        (``postings.prefetch``); the document frequencies found give the terms' idf too,
        so Whoosh does not look every term up in every segment a second time."""
        keys = []
        for fieldname, text, positions in self._terms_of(q):
            tb = self._bytes(fieldname, text)
            if tb is not None and (self.key, "p", fieldname, tb, positions) not in self.cache:
                keys.append((fieldname, tb))
        keys = list(dict.fromkeys(keys))
        infos = prefetch(self.leaves, keys)
        self._remember_idf(keys, infos)
        return infos

    def _remember_idf(self, keys: list[tuple[str, bytes]], infos: dict[Any, Any]) -> None:
        """Put the idf of terms settled in every segment by ``infos`` in Whoosh's idf cache."""
        s = self.searcher
        cache = getattr(s, "_idf_cache", None)
        if (cache is not None and type(self.weighting).idf is scoring.WeightingModel.idf
                and s.get_parent() is s):
            n = len(self.leaves)
            for fieldname, tb in keys:
                if (fieldname, tb) in cache:
                    continue
                got = [infos.get((li, fieldname, tb), False) for li in range(n)]
                if any(g is False for g in got):
                    continue  # not settled everywhere: Whoosh looks it up
                df = sum(g.doc_frequency() for g in got if g is not None)
                cache[(fieldname, tb)] = log(s.doc_count_all() / (df + 1)) + 1  # WeightingModel.idf

    def _terms_of(self, q: Q.Query) -> Iterator[tuple[str, Any, bool]]:
        """(field, text, with positions) of every term leaf of ``q`` (what ``_eval`` reads)."""
        for leaf in q.leaves():
            if isinstance(leaf, GramPhrase):
                for w in leaf.words:
                    yield leaf.fieldname, w, True
            elif type(leaf) is Q.Term:
                yield leaf.fieldname, leaf.text, False

    # -- nodes ---------------------------------------------------------------------------
    def _eval(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(q, GramPhrase):
            return self._phrase(q)
        if type(q) is Q.Term:
            return self._term(q.fieldname, q.text, q.boost)
        if isinstance(q, type(Q.NullQuery)):
            return _EMPTY_IDS, _EMPTY_SC
        if type(q) in (Q.Or, Q.And):
            if q.boost != 1.0 or getattr(q, "scale", None) or getattr(q, "minmatch", 0):
                raise Unsupported("boosted, scaled or min-match compound")
            subs = q.subqueries
            if not subs:
                return _EMPTY_IDS, _EMPTY_SC
            if type(q) is Q.Or:
                parts = []
                for k, sub in enumerate(subs):
                    if k and self._late():
                        break
                    parts.append(self._eval(sub))
                return _union_all(parts, self.ndocs)
            ids, sc = self._eval(subs[0])
            for sub in subs[1:]:
                if not len(ids) or self._late():
                    break  # empty: nothing later can add to it; late: partial (matches more)
                ids, sc = _intersect_all([(ids, sc), self._eval(sub)], self.ndocs)
            return ids, sc
        if type(q) is Q.AndMaybe:
            if q.boost != 1.0:
                raise Unsupported("boosted AndMaybe")
            a = self._eval(q.a)
            if not len(a[0]):
                return a
            return _maybe(a, self._eval(q.b), self.ndocs)
        if type(q) is Q.AndNot:
            if q.boost != 1.0:
                raise Unsupported("boosted AndNot")
            a = self._eval(q.a)
            if not len(a[0]):
                return a
            b_ids, _ = self._eval(q.b)
            keep = ~_mask(b_ids, self.ndocs)[a[0]]
            return a[0][keep], a[1][keep]
        if type(q) is Q.Prefix:
            return self._prefix(q)
        if type(q) is Q.Every and q.fieldname in (None, "", "*"):
            ids = np.arange(self.ndocs, dtype=np.int64)
            return ids, np.full(len(ids), float(q.boost), dtype=np.float64)
        raise Unsupported(type(q).__name__)

    def _bytes(self, fieldname: str, text: Any) -> bytes | None:
        if fieldname not in self.schema:
            return None
        try:
            tbytes: bytes = self.schema[fieldname].to_bytes(text)
            return tbytes
        except ValueError:
            return None

    def _stats_for(self, fieldname: str, tbytes: bytes) -> _TermStats:
        st = self._stats.get((fieldname, tbytes))
        if st is None:
            if not self.schema[fieldname].scorable:
                raise Unsupported("term on a field without lengths")
            st = self._stats[(fieldname, tbytes)] = _TermStats(self.searcher, self.weighting, fieldname, tbytes)
        return st

    def _score(self, fieldname: str, tbytes: bytes, tp: TermPostings) -> np.ndarray:
        """``bm25(idf, tf, fl, avgfl, B, K1)`` for every posting, operation for operation."""
        st = self._stats_for(fieldname, tbytes)
        return _bm25(st, st.idf, tp.weights, self.lengths(fieldname)[tp.ids])

    def _term(self, fieldname: str, text: Any, boost: float) -> tuple[np.ndarray, np.ndarray]:
        tbytes = self._bytes(fieldname, text)
        if tbytes is None:
            return _EMPTY_IDS, _EMPTY_SC
        tp = self.postings(fieldname, tbytes)
        if not len(tp):
            return _EMPTY_IDS, _EMPTY_SC
        sc = self._score(fieldname, tbytes, tp)
        if boost != 1.0:
            sc = sc * boost
        return tp.ids, sc

    def _prefix(self, q: Q.Prefix) -> tuple[np.ndarray, np.ndarray]:
        """Every bigram starting with ``q.text``, ORed; scored as Whoosh scores a Prefix.

        Whoosh's ``MultiTerm.matcher`` asks for constant scores, but its terms then
        fall back to the searcher's weighting: each bigram's BM25F is added, as
        an ``Or`` of the terms adds them.
        """
        fieldname = q.fieldname
        if q.boost != 1.0:
            raise Unsupported("boosted prefix")
        pb = self._bytes(fieldname, q.text)
        if pb is None or not pb:
            return _EMPTY_IDS, _EMPTY_SC
        ckey = (self.key, "x", fieldname, pb)
        hit = self.cache.peek(ckey)
        if isinstance(hit, tuple):
            ids, sc, capped = hit
            self._local.capped = self._local.capped or capped
            return ids, sc
        # one ordered walk of each segment's term index gives the bigrams and their records
        infos: dict[tuple[int, str, bytes], object] = {}
        df: dict[bytes, int] = {}
        for li, (reader, _off) in enumerate(self.leaves):
            try:
                for tb, ti in reader.iter_prefix(fieldname, pb):
                    infos[(li, fieldname, tb)] = ti
                    df[tb] = df.get(tb, 0) + ti.doc_frequency()
            except (KeyError, TermNotFound):  # a segment without terms in this field
                continue
        outer_cut, self._local.cut = self._local.cut, False  # whether *this* prefix was cut decides caching
        terms = sorted(df)
        capped = len(terms) > MAX_PREFIX_TERMS
        if capped:
            keep = set(sorted(terms, key=lambda t: (-df[t], t))[:MAX_PREFIX_TERMS])
            terms = [t for t in terms if t in keep]
            self._local.capped = True
        if not terms:
            return _EMPTY_IDS, _EMPTY_SC
        if not self.schema[fieldname].scorable:
            raise Unsupported("prefix on a field without lengths")
        s = self.searcher
        if type(self.weighting).idf is scoring.WeightingModel.idf and s.get_parent() is s:
            n = s.doc_count_all()  # WeightingModel.idf from the document frequencies the walk found
            idf = np.asarray([log(n / (df[tb] + 1)) + 1 for tb in terms], dtype=np.float64)
        else:
            idf = np.asarray([self._stats_for(fieldname, tb).idf for tb in terms], dtype=np.float64)
        st = self._stats_for(fieldname, terms[0])  # avgfl, B and K1 are the field's; idf is the term's
        sc_all = np.zeros(self.ndocs, dtype=np.float64)
        hit = np.zeros(self.ndocs, dtype=bool)
        lengths = self.lengths(fieldname)
        for k in range(0, len(terms), PREFIX_BATCH):
            if k and self._late():
                break
            ids, tf, t = read_many(self.leaves, fieldname, terms[k:k + PREFIX_BATCH], infos)
            if not len(ids):
                continue
            # bm25 per posting, as _score; a document's bigrams then added
            np.add.at(sc_all, ids, _bm25(st, idf[k + t], tf, lengths[ids]))
            hit[ids] = True
        ids = np.flatnonzero(hit)
        sc = sc_all[ids]
        if not self._local.cut:
            self.cache.get(ckey, lambda: (ids, sc, capped), lambda v: int(v[0].nbytes + v[1].nbytes) + 64)
        self._local.cut = self._local.cut or outer_cut
        return ids, sc

    def _position_estimates(self, fieldname: str, tbs: list[bytes]) -> list[float] | None:
        """Each bigram's total weight over all segments, from this query's lookups (``prefetch``).

        A position list's weight is its length times the field boost, so these
        rank the bigrams by positions exactly as counting them would, before any
        posting list is read.  None when some lookup was not made here (a term
        whose postings were cached already): the caller then counts positions.
        """
        infos = getattr(self._local, "infos", None)
        if not infos:
            return None
        out = []
        for tb in tbs:
            total = 0.0
            for li in range(len(self.leaves)):
                ti = infos.get((li, fieldname, tb), False)
                if ti is False:
                    return None
                if ti is not None:
                    total += ti.weight()
            out.append(total)
        return out

    def _phrase(self, q: GramPhrase) -> tuple[np.ndarray, np.ndarray]:
        fieldname = q.fieldname
        if fieldname not in self.schema or q.slop != 1:
            raise Unsupported("phrase with slop")
        fmt = self.schema[fieldname].format
        if not fmt or not fmt.supports("positions"):
            raise Unsupported("phrase on a field without positions")
        tbs = []
        for w in q.words:
            tb = self._bytes(fieldname, w)
            if tb is None:
                return _EMPTY_IDS, _EMPTY_SC
            tbs.append(tb)
        # which bigrams need their positions: from the looked-up term statistics when the query's
        # lookups have them (then the others are read without positions), else from the postings
        est = self._position_estimates(fieldname, tbs)
        costs: list[float]
        if est is None:
            tps = [self.postings(fieldname, tb, positions=True) for tb in tbs]
            costs = [tp.position_count() for tp in tps]
            need = _position_checks(q.words, costs)
        else:
            costs = est
            need = _position_checks(q.words, costs)
            tps = [self.postings(fieldname, tb, positions=i in need
                                 or (self.key, "p", fieldname, tb, True) in self.cache)
                   for i, tb in enumerate(tbs)]
        # candidates: documents having every bigram, smallest posting lists first
        cand = None
        for tp in sorted(tps, key=len):
            cand = tp.ids if cand is None else _intersect_ids(cand, tp.ids, self.ndocs)
            if not len(cand):
                return _EMPTY_IDS, _EMPTY_SC
        assert cand is not None
        # starts: (doc << 32 | p) such that bigram i is at p + i, narrowed bigram by bigram
        starts = None
        for i in sorted(need, key=costs.__getitem__):
            tp = tps[i]
            sel = np.searchsorted(tp.ids, cand)
            owner, pos = tp.positions(sel)
            keys = (cand[owner] << 32) | (pos - i)  # ascending: documents ascending, positions within each
            keys = keys[pos >= i]
            starts = keys if starts is None else starts[_contains(keys, starts)]
            if not len(starts):
                return _EMPTY_IDS, _EMPTY_SC
            cand = _distinct_sorted(starts >> 32)
        assert starts is not None
        docs = cand
        scores = [self._score(fieldname, tb, tp)[np.searchsorted(tp.ids, docs)] for tb, tp in zip(tbs, tps)]
        sc = _tree_sum(scores)
        if q.boost != 1.0:
            sc = sc * q.boost
        return docs, sc


def _position_checks(words: list[str], costs: Sequence[float]) -> list[int]:
    """The bigrams whose positions must be checked; the others follow from their neighbours.

    The bigram field holds, at every position p of a text, the characters
    p and p+1.  If the phrase's bigrams are a chain (c0c1, c1c2, …) and bigrams
    i-1 and i+1 sit at p-1 and p+1, then the characters at p and p+1 are c_i and
    c_{i+1}: bigram i is at p, necessarily.  So only a set of bigrams that holds
    both ends and never leaves out two neighbours needs its positions decoded;
    the cheapest such set (fewest positions, ``costs``) is chosen here.  The
    documents found are the same; "高质量发展" skips 质量, a seven-bigram phrase
    up to three.  Anything that is not a chain of two-character words is checked whole.
    """
    n = len(words)
    chain = n >= 3 and all(len(w) == 2 for w in words) and all(a[1] == b[0] for a, b in pairwise(words))
    if not chain:
        return list(range(n))
    # best[i]: the cheapest valid choice of bigrams 0..i that includes i; from[i]: the one before it
    best: list[float] = [0.0] * n
    prev = [-1] * n
    best[0] = costs[0]
    best[1] = costs[0] + costs[1]
    prev[1] = 0
    for i in range(2, n):
        j = i - 1 if best[i - 1] <= best[i - 2] else i - 2  # leave out i-1 when that is cheaper
        best[i] = best[j] + costs[i]
        prev[i] = j
    out = []
    i = n - 1
    while i >= 0:
        out.append(i)
        i = prev[i]
    return out[::-1]


def _intersect_ids(a: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """Ids in both ascending arrays of distinct ids below ``size``, ascending.

    ``np.intersect1d`` sorts the two arrays joined; at 100,000 reports a phrase of
    common bigrams intersects lists of 50,000–100,000 ids, and a mask over the
    document numbers is linear.
    """
    if len(a) * 16 < len(b):  # a few ids against a long list: look them up
        i = np.searchsorted(b, a)
        i[i >= len(b)] = max(len(b) - 1, 0)
        found: np.ndarray = a[b[i] == a] if len(b) else a[:0]
        return found
    inter: np.ndarray = a[_mask(b, size)[a]]
    return inter


# -- set operations on (ids ascending, scores) ------------------------------------------------

def _distinct_sorted(a: np.ndarray) -> np.ndarray:
    """The distinct values of an ascending array."""
    if len(a) < 2:
        return a
    keep = np.empty(len(a), dtype=bool)
    keep[0] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def _contains(sorted_hay: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """For each needle, whether it occurs in ``sorted_hay``."""
    if not len(sorted_hay):
        return np.zeros(len(needles), dtype=bool)
    i = np.searchsorted(sorted_hay, needles)
    i[i >= len(sorted_hay)] = len(sorted_hay) - 1
    hit: np.ndarray = sorted_hay[i] == needles
    return hit


def _tree_sum(arrs: list[np.ndarray]) -> np.ndarray:
    """Sum nested as ``whoosh.util.make_binary_tree`` nests the intersection matchers."""
    if len(arrs) == 1:
        return arrs[0]
    h = len(arrs) // 2
    total: np.ndarray = _tree_sum(arrs[:h]) + _tree_sum(arrs[h:])
    return total


def _mask(ids: np.ndarray, size: int) -> np.ndarray:
    m = np.zeros(size, dtype=bool)
    m[ids] = True
    return m


def _union_all(parts: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Documents in any part; a document's score is the sum of its parts' (``UnionMatcher``)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _EMPTY_IDS, _EMPTY_SC
    if len(parts) == 1:
        return parts[0]
    sc = np.zeros(size, dtype=np.float64)
    hit = np.zeros(size, dtype=bool)
    for p_ids, p_sc in parts:
        sc[p_ids] += p_sc  # ids are unique within a part, so plain fancy-index addition is exact
        hit[p_ids] = True
    ids = np.flatnonzero(hit)
    return ids, sc[ids]


def _intersect_all(parts: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Documents in every part; scores added (``IntersectionMatcher``)."""
    ids, sc = parts[0]
    for p_ids, p_sc in parts[1:]:
        if not len(ids):
            break
        dense = np.full(size, np.nan)
        dense[p_ids] = p_sc
        other = dense[ids]
        keep = ~np.isnan(other)
        ids, sc = ids[keep], sc[keep] + other[keep]
    return ids, sc


def _maybe(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """``a``'s documents; ``b``'s score added where ``b`` matches too (``AndMaybeMatcher``)."""
    ids, sc = a
    b_ids, b_sc = b
    if not len(b_ids):
        return a
    dense = np.full(size, np.nan)
    dense[b_ids] = b_sc
    other = dense[ids]
    has = ~np.isnan(other)
    sc = sc.copy()
    sc[has] = sc[has] + other[has]
    return ids, sc


# -- ordering ---------------------------------------------------------------------------------

def top_order(key: np.ndarray, docs: np.ndarray, k: int) -> np.ndarray:
    """Indices of the first ``k`` entries in (key, docnum) order, ties broken exactly as Whoosh does.

    Whoosh sorts every match by (−score, docnum) (or (sort key, docnum));
    sorting 100,000 matches to show ten is wasted work, so the ``k`` smallest keys
    are selected first (with every entry tied at the boundary) and only those sorted.
    """
    n = len(key)
    if k >= n:
        return np.lexsort((docs, key))
    kth = np.partition(key, k - 1)[k - 1]
    cand = np.flatnonzero(key <= kth)
    order = np.lexsort((docs[cand], key[cand]))
    return cand[order[:k]]
