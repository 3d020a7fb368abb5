"""A Whoosh segment writer that takes ready postings and writes them a block at a time.

Why: Whoosh's own writer spends 8–20 µs of pure Python per posting (turning
tokens into postings, pickling each one into its sorting pool, reading each
back, then one ``add`` call per posting).  A report has thousands of postings,
so that, not segmentation or cleaning, limited indexing speed.

What changes, and what does not:

* The worker processes turn each document's fields into postings
  (:func:`prepare`), exactly what ``FieldType.index`` would give, but computed
  with ``Counter`` and a position dict instead of Whoosh's per-token loop.
* The writer process (:class:`BulkWriter`) appends them to flat arrays (term id,
  document, weight, encoded value or position gaps) and, when a segment is
  written, sorts them with numpy and writes each term's blocks directly: the
  block tuples, block statistics and term-info records ``W3PostingsWriter``
  writes.  In exactness mode (``WHOOSH_IDENTICAL``) the files are byte for byte
  the ones Whoosh's own writer makes (``tests/equivalence/test_bulk_writer_vs_whoosh.py`` compares
  them); the default mode pickles the same tuples with narrower opcodes and no
  zlib (:func:`.blocks._encode_blocks`), which every Whoosh reader, query and merge
  unpickles to the same values.
* Per-document data (stored fields, field lengths, columns) still goes through
  Whoosh's own ``W3PerDocWriter``.
* Memory is bounded: when the buffered postings pass ``segment_mb`` the
  writer finishes the segment and starts another one, all committed together
  in one TOC at ``commit`` (so a run is still all-or-nothing).
"""
from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pickle import dumps
from typing import Any

import numpy as np
from whoosh import fields as whoosh_fields
from whoosh import formats
from whoosh.system import pack_uint
from whoosh.writing import PostingPool, SegmentWriter

from ..settings import current as current_settings
from .blocks import close_field_writer, stable_argsort, write_field_exact, write_field_fast, write_hash_tables
from .format import FAST
from .runs import FieldLengths, RunSet


@dataclass
class FieldPostings:
    """One field of one document: its unique terms and their weights and encoded values.

    For a ``formats.Positions`` field the values are not Whoosh's pickled position
    lists but the position gaps themselves (``gaps`` true): ``values`` holds
    uint32 gaps (little-endian, term after term) and ``value_lens`` the number of
    positions per term.  The writer pickles them when it writes a block, with the
    narrowest integer opcode the block needs (see :func:`_position_values`), which
    a document-at-a-time encoder could not know.
    """

    terms: list[bytes] | None
    weights: array  # array("d"), one per term
    values: bytes  # the terms' encoded values (or position gaps), concatenated
    value_lens: array  # array("I"), one per term: bytes, or positions when ``gaps``
    # bigram fields: the terms as codes (first code point << 21 | second) instead of ``terms``,
    # so that the writer maps them to term ids with numpy, not one dict lookup per posting
    codes: np.ndarray | None = None
    gaps: bool = False

    def __len__(self) -> int:
        return len(self.codes) if self.codes is not None else len(self.terms or ())

    def term_bytes(self) -> list[bytes]:
        return _codes_to_terms(self.codes) if self.codes is not None else list(self.terms or ())

    def __getstate__(self) -> tuple:
        # The terms travel from the worker as one NUL-joined bytes object: pickling a list of
        # thousands of small bytes objects cost more than the whole rest of the document.
        if self.codes is not None:
            return (self.codes.tobytes(), -2, self.weights, self.values, self.value_lens, self.gaps)
        joined = b"\x00".join(self.terms)
        if self.terms and joined.count(b"\x00") == len(self.terms) - 1:
            return (joined, len(self.terms), self.weights, self.values, self.value_lens, self.gaps)
        return (self.terms, -1, self.weights, self.values, self.value_lens, self.gaps)

    def __setstate__(self, state: tuple) -> None:
        terms, n, self.weights, self.values, self.value_lens, self.gaps = state
        self.codes = None
        if n == -2:
            self.terms, self.codes = None, np.frombuffer(terms, dtype=np.uint64)
        else:
            self.terms = terms.split(b"\x00") if n >= 0 else terms


def _pickle_gap_lists(values: bytes | bytearray, counts) -> tuple[bytes, array]:
    """uint32 gap runs → ``formats.Positions.encode`` values (count, then ``pickle.dumps(gaps, 2)``)."""
    g = np.frombuffer(values, dtype="<u4").tolist()
    out, lens, at = [], array("I"), 0
    for c in counts:
        v = pack_uint(c) + dumps(g[at:at + c], 2)
        at += c
        out.append(v)
        lens.append(len(v))
    return b"".join(out), lens


def _gap_lists(poslists) -> tuple[bytes, array]:
    """Position lists → (uint32 gaps concatenated, positions per list), the ``gaps`` value form."""
    flat: list[int] = []
    counts = array("I")
    for pl in poslists:
        prev = 0
        for p in pl:
            flat.append(p - prev)
            prev = p
        counts.append(len(pl))
    return np.asarray(flat, dtype="<u4").tobytes(), counts


def _codes_to_terms(codes: np.ndarray) -> list[bytes]:
    """UTF-8 bigram terms of bigram codes (first code point << 21 | second)."""
    if not len(codes):
        return []
    pairs = np.empty((len(codes), 3), dtype=np.uint32)
    pairs[:, 0] = (codes >> np.uint64(21)).astype(np.uint32)
    pairs[:, 1] = (codes & np.uint64(0x1FFFFF)).astype(np.uint32)
    pairs[:, 2] = 0x20
    text = pairs.tobytes()[:-4].decode("utf-32-le", "surrogatepass")
    return text.encode("utf-8", "surrogatepass").split(b" ")


@dataclass
class Prepared:
    """A document as the writer needs it; built in a worker process, cheap to pickle."""

    # (field name, stored value or None, length, column value or None), in Whoosh's field order
    perdoc: list[tuple[str, Any, int, Any]] = field(default_factory=list)
    posts: dict[str, FieldPostings] = field(default_factory=dict)


@dataclass
class GramCodes:
    """A bigram field's text as code points, for :func:`prepare`'s numpy path.

    ``indexer.engine.schema.to_fields(..., gram_codes=True)`` hands this instead of the
    list of bigram strings: the same terms and positions (bigram *i* is
    characters *i* and *i+1*), without making a Python string per position.
    """

    points: np.ndarray  # uint32 code points of ``indexer.analysis.gram_text(...)``

    @classmethod
    def of(cls, gram_text: str) -> GramCodes:
        return cls(np.frombuffer(gram_text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))

    def as_list(self) -> list[str]:
        """The bigram strings, as ``indexer.analysis.index_bigrams`` gives them."""
        g = self.points.tobytes().decode("utf-32-le", "surrogatepass")
        if len(g) <= 1:
            return [g] if g else []
        return [g[i:i + 2] for i in range(len(g) - 1)]




def _unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a 1-d array: an unstable sort and a binary
    search, about twice as fast as numpy's argsort-based inverse on millions of values."""
    s = np.sort(values)
    keep = np.empty(len(s), dtype=bool)
    if len(s):
        keep[0] = True
        np.not_equal(s[1:], s[:-1], out=keep[1:])
    u = s[keep]
    return u, np.searchsorted(u, values)


_POS_BITS = 22  # 64 bits minus a bigram code's 42
_POS_MASK = (1 << _POS_BITS) - 1


def _gram_postings(gc: GramCodes, weight_per_occurrence: float) -> FieldPostings:
    """Bigram postings with positions, all with numpy: terms as codes, values as position gaps
    (the first position, then the distance to each next one), term after term."""
    u = gc.points.astype(np.uint64)
    codes = (u[:-1] << np.uint64(21)) | u[1:]
    n = len(codes)
    if n <= _POS_MASK:
        # positions ascending within a bigram: sort (code, position) packed in one uint64 (a
        # code has 42 bits), twice as fast as a stable argsort of the codes
        packed = (codes << np.uint64(_POS_BITS)) | np.arange(n, dtype=np.uint64)
        packed.sort()
        order = (packed & np.uint64(_POS_MASK)).astype(np.int64)
        sc = packed >> np.uint64(_POS_BITS)
    else:
        order = np.argsort(codes, kind="stable")
        sc = codes[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sc[1:] != sc[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, n))
    gaps = order.astype(np.int64)
    gaps[1:] -= order[:-1]
    gaps[starts] = order[starts]
    weights = array("d")
    weights.frombytes((counts * weight_per_occurrence).astype(np.float64).tobytes())
    lens = array("I")
    lens.frombytes(counts.astype(np.uint32).tobytes())
    return FieldPostings(None, weights, gaps.astype("<u4").tobytes(), lens, codes=np.ascontiguousarray(sc[starts]),
                         gaps=True)


def _encode_all(words: list[str]) -> list[bytes]:
    """UTF-8 of many short strings: one encode and one split instead of one encode each."""
    joined = "\x00".join(words)
    if not words or joined.count("\x00") != len(words) - 1:
        return [w.encode("utf-8") for w in words]
    return joined.encode("utf-8").split(b"\x00")


_MEMO: dict[tuple, tuple[Any, tuple[FieldPostings, int]]] = {}
_MEMO_MAX = 8192
_MEMO_FIELDS = (whoosh_fields.ID, whoosh_fields.KEYWORD, whoosh_fields.BOOLEAN, whoosh_fields.NUMERIC)


def _postings_of(fieldobj, value: Any, boost: float) -> tuple[FieldPostings, int]:
    """What ``fieldobj.index(value)`` gives, in flat arrays, and the field length Whoosh records
    (the number of tokens, i.e. the sum of the frequencies); fast paths for token lists.

    Identifier-like fields (ID, KEYWORD, BOOLEAN, NUMERIC) go through Whoosh's
    analyzers at 15–35 µs a value, and most of their values repeat from document to
    document (region, year, topics, type, the flags, the file and its hash), so
    their postings are remembered per field object and value (the writer only reads
    a :class:`FieldPostings`, so documents can share one).
    """
    if isinstance(fieldobj, _MEMO_FIELDS) and isinstance(value, (str, int)):
        key = (id(fieldobj), type(value), value, boost)
        hit = _MEMO.get(key)
        if hit is not None and hit[0] is fieldobj:
            return hit[1]
        out = _postings_uncached(fieldobj, value, boost)
        if len(_MEMO) >= _MEMO_MAX:
            _MEMO.clear()
        _MEMO[key] = (fieldobj, out)  # the field object kept alive: its id cannot be reused
        return out
    return _postings_uncached(fieldobj, value, boost)


def _postings_uncached(fieldobj, value: Any, boost: float) -> tuple[FieldPostings, int]:
    fmt = fieldobj.format
    ftype = type(fmt)
    if isinstance(value, GramCodes):
        if ftype is formats.Positions and len(value.points) > 1:
            return _gram_postings(value, fmt.field_boost * boost), len(value.points) - 1
        value = value.as_list()
    if isinstance(value, (list, tuple)) and ftype is formats.Frequency:
        counts = Counter(value)
        terms = _encode_all(list(counts))
        ns = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        w = ns * fmt.field_boost  # Whoosh: (frequency × field boost) × document/field boost
        if boost != 1.0:
            w = w * boost
        weights = array("d")
        weights.frombytes(w.astype(np.float64).tobytes())
        return FieldPostings(terms, weights, ns.astype(">u4").tobytes(), array("I", [4]) * len(ns)), len(value)
    if isinstance(value, (list, tuple)) and ftype is formats.Positions:
        poses: dict[str, list[int]] = {}
        for i, t in enumerate(value):
            p = poses.get(t)
            if p is None:
                poses[t] = [i]
            else:
                p.append(i)
        terms = [t.encode("utf-8") for t in poses]
        gaps, counts = _gap_lists(poses.values())
        return FieldPostings(terms, array("d", [len(p) * fmt.field_boost * boost for p in poses.values()]),
                             gaps, counts, gaps=True), len(value)
    terms, weights, vals = [], array("d"), []
    length = 0
    for tbytes, freq, weight, vbytes in fieldobj.index(value):
        terms.append(tbytes)
        weights.append(weight * boost)
        vals.append(vbytes or b"")
        length += freq
    if ftype is formats.Positions:
        gaps, counts = _gap_lists(fmt.decode_positions(v) for v in vals)
        return FieldPostings(terms, weights, gaps, counts, gaps=True), length
    return FieldPostings(terms, weights, b"".join(vals), array("I", map(len, vals))), length


def prepare(schema, fields: dict[str, Any]) -> Prepared:
    """The postings and per-document values of one document, as ``SegmentWriter.add_document`` makes them.

    Field order, boosts (``_boost``, ``_<field>_boost``), lengths of scorable
    fields and ``_stored_<field>`` values follow Whoosh's ``add_document``.
    """
    out = Prepared()
    docboost = fields.get("_boost", 1.0)
    for name in sorted(n for n in fields if not n.startswith("_")):
        value = fields.get(name)
        if value is None:
            continue
        if name not in schema:
            raise ValueError(f"No field named {name!r} in the schema")
        fo = schema[name]
        length = 0
        if fo.indexed:
            fp, tokens = _postings_of(fo, value, fields.get(f"_{name}_boost", docboost))
            if fo.scorable:
                length = tokens
            if len(fp):
                out.posts[name] = fp
        custom = fields.get(f"_stored_{name}", value)
        cv = None
        if fo.column_type and custom is not None:
            cv = fo.to_column_value(custom)
        out.perdoc.append((name, custom if fo.stored else None, length, cv))
    return out


class _Vocab(dict):
    """term → id, ids given in order of first sight: ``list(vocab)`` is the terms by id."""

    def __missing__(self, term: bytes) -> int:
        i = self[term] = len(self)
        return i


_CODE = np.uint64(1 << 63)  # marks a buffered key that is a bigram code, not a vocabulary id


class _FieldBuffer:
    """The postings of one field in the segment being built, as flat arrays.

    A posting's key is its term's id in ``vocab`` or, for bigram postings
    (:class:`FieldPostings` with ``codes``), the bigram code with the top bit
    set; :meth:`finish` turns the codes into vocabulary ids with numpy.
    """

    __slots__ = ("doc", "gaps", "key", "values", "vlen", "vocab", "weight")

    def __init__(self) -> None:
        self.vocab = _Vocab()
        self.key = array("Q")
        self.doc = array("I")
        self.weight = array("d")
        self.vlen = array("I")
        self.values = bytearray()
        self.gaps: bool | None = None  # values are position gaps (FieldPostings.gaps); set by the first add

    def __len__(self) -> int:
        return len(self.key)

    def add(self, docnum: int, fp: FieldPostings) -> None:
        if self.gaps is None:
            self.gaps = fp.gaps
        elif fp.gaps != self.gaps:
            raise ValueError("a field's postings must all carry position gaps or all encoded values")
        if fp.codes is not None:
            self.key.frombytes((fp.codes | _CODE).tobytes())
        else:
            # one C-level pass; only a term seen for the first time calls back into Python
            self.key.extend(map(self.vocab.__getitem__, fp.terms))
        self.doc.extend(array("I", [docnum]) * len(fp))
        self.weight.extend(fp.weights)
        self.vlen.extend(fp.value_lens)
        self.values += fp.values

    def finish(self) -> tuple[list[bytes], np.ndarray]:
        """(terms by id, term id of every posting); empties the vocabulary and keys."""
        keys = np.frombuffer(self.key, dtype=np.uint64)
        is_code = keys >= _CODE
        vocab = self.vocab
        if is_code.any():
            uc, inv = _unique_inverse(keys[is_code] & ~_CODE)
            ids = np.fromiter(map(vocab.__getitem__, _codes_to_terms(uc)), dtype=np.uint64, count=len(uc))
            keys = keys.copy()
            keys[is_code] = ids[inv]
        terms = list(vocab)
        self.vocab = _Vocab()
        self.key = array("Q")
        return terms, keys.astype(np.uint32)

    def sorted_postings(self) -> tuple[list[bytes], np.ndarray, np.ndarray]:
        """(terms in byte order, the postings' order by term, postings per term); empties the
        vocabulary and keys, like :meth:`finish`.

        Within a term the postings keep the order they were added in (documents
        ascending).  A field whose postings are all bigram codes (the ``grams``
        field) is sorted by the codes themselves, in one stable argsort: a code's
        order is its term's UTF-8 byte order (UTF-8 keeps code point order and no
        character's bytes are a prefix of another's), and each document's codes
        arrive sorted, runs that numpy's stable sort merges quickly.  That replaced
        a sort, a binary search of every posting and two radix passes (3.3× faster
        on 1,800 reports).
        """
        keys = np.frombuffer(self.key, dtype=np.uint64)
        if len(keys) and not len(self.vocab) and bool(keys.min() >= _CODE):
            np.bitwise_and(keys, ~_CODE, out=keys)  # in place: the keys are not needed any more
            perm = np.argsort(keys, kind="stable")
            sc = keys[perm]
            del keys
            self.key = array("Q")  # the buffer's keys freed before the rest (the flush's peak)
            first = np.empty(len(sc), dtype=bool)
            first[0] = True
            np.not_equal(sc[1:], sc[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            return _codes_to_terms(sc[starts]), perm, np.diff(np.append(starts, len(sc)))
        terms, tid = self.finish()
        nterms = len(terms)
        order_a = np.asarray(sorted(range(nterms), key=terms.__getitem__), dtype=np.int64)
        rank = np.empty(nterms, dtype=np.int64)
        rank[order_a] = np.arange(nterms)
        perm = stable_argsort(rank[tid], nterms)  # by term, documents ascending within a term
        counts = np.bincount(tid, minlength=nterms)[order_a].astype(np.int64)
        return [terms[i] for i in order_a.tolist()], perm, counts

    def nbytes(self) -> int:
        """Memory held, roughly: 28 bytes per posting, its value, about 100 bytes per distinct term.

        The flush needs about 45 bytes a posting more at its peak (its sorted copies,
        in the narrowest types that hold them); position gaps take 4 bytes a position.
        Measured on 1,200 reports (3.65 M postings): 155 MB over the buffer.
        """
        return len(self.key) * 28 + len(self.values) + len(self.vocab) * 100

    def pickle_gaps(self) -> None:
        """Turn position gaps into Whoosh's pickled values (for the exactness writer)."""
        if self.gaps:
            vals, lens = _pickle_gap_lists(self.values, self.vlen)
            self.values, self.vlen, self.gaps = bytearray(vals), lens, False


class BulkWriter(SegmentWriter):
    """``SegmentWriter`` fed with :class:`Prepared` documents; writes postings block-wise.

    ``add_document`` still works (it prepares the document in this process).
    Merged segments (``add_reader``, used by merge policies at commit) go
    through Whoosh's pool as before and are written with the rest.

    ``segment_mb``: buffered postings per segment (or per run when spilling);
    ``runs_per_segment``: how many runs a spilling writer merges into one segment.
    Why not all of a worker's runs: a worker that dies loses the segment it was
    building, whose files are then indexed again in the parent process; 16 runs
    make 2 segments per worker at 100,000 reports (one at 20,000), where a query
    looked its terms up in 63 before.  Both default to :func:`indexer.settings.current`'s.
    """

    def __init__(self, ix, segment_mb: float | None = None, block_format: dict | None = None, *,
                 spill: bool = False, runs_per_segment: int | None = None, **kwargs: Any):
        kwargs.setdefault("compound", False)  # big segments: do not copy every file into one at commit
        super().__init__(ix, **kwargs)
        self._limitmb = kwargs.get("limitmb", 128)
        defaults = current_settings() if not segment_mb or not runs_per_segment else None
        self._budget = int((segment_mb or defaults.segment_mb) * 1024 * 1024)
        self._buffers: dict[str, _FieldBuffer] = {}
        self._buffered = 0
        self._done: list = []  # segments finished during this run, committed with the last one
        self._ix = ix
        self._block_format = dict(block_format or FAST)
        self.on_segment: Callable[[int], None] | None = None  # told the doc count of each finished segment
        # called in commit() after every segment file is written and before the TOC that makes
        # them live: the fault-injection seam of the kill -9 tests (the worst moment to die)
        self.before_toc: Callable[[], None] | None = None
        # False: the caller decides when a full segment is finished (roll_if_full), e.g. an
        # indexing worker that keeps each input file's documents in one segment
        self.auto_roll = True
        # spill: a full buffer becomes a run on disk, and all runs one segment at the end
        # (indexer.engine.runs); only with the fast block format, whose blocks a run's merge copies
        self._spill = bool(spill) and self._block_format == FAST and getattr(self.storage, "folder", None) is not None
        self._runs = None
        self._lengths = None
        self._max_runs = runs_per_segment or defaults.runs_per_segment
        if self._spill:
            self._new_runs()

    # -- adding ----------------------------------------------------------------------------
    def add_document(self, **fields: Any) -> None:
        self.add_prepared(prepare(self.schema, fields))

    def add_prepared(self, prep: Prepared) -> None:
        self._check_state()
        docnum = self.docnum
        pdw = self.perdocwriter
        schema = self.schema
        pdw.start_doc(docnum)
        lengths = self._lengths
        for name, sv, length, cv in prep.perdoc:
            fo = schema[name]
            pdw.add_field(name, fo, sv, length)
            if length and lengths is not None:
                lengths.add(docnum, name, length)
            if cv is not None:
                pdw.add_column_value(name, fo.column_type, cv)
        pdw.finish_doc()
        for name, fp in prep.posts.items():
            buf = self._buffers.get(name)
            if buf is None:
                buf = self._buffers[name] = _FieldBuffer()
            before = buf.nbytes()
            buf.add(docnum, fp)
            self._buffered += buf.nbytes() - before
        self._added = True
        self.docnum += 1
        if self.auto_roll and self._buffered >= self._budget:
            self._on_full()

    @property
    def segment_id(self) -> str:
        """The id of the segment being built (the one the next added document goes into)."""
        return self.newsegment.segment_id()

    def is_full(self, factor: float = 1.0) -> bool:
        """Whether the buffered postings have reached ``factor`` times the segment budget."""
        return self._added and self._buffered >= self._budget * factor

    def roll_if_full(self):
        """Finish the segment being built when its buffer is over the budget: the finished segment
        (handed to the caller, which commits it elsewhere), or None.  A spilling writer writes
        the buffer as a run instead (and returns None): its segment is finished at the end."""
        if self.is_full():
            seg = self._on_full()
            if seg is not None:
                self._done.remove(seg)
            return seg
        return None

    @property
    def spilling(self) -> bool:
        """Whether a full buffer becomes a run (``spill=True`` and the fast block format)."""
        return self._spill

    def spill_if_full(self) -> bool:
        """Write a full buffer as the next run (the memory-heavy step); True if one was written."""
        if self._spill and self.is_full():
            self._spill_run()
            return True
        return False

    @property
    def segment_due(self) -> bool:
        """A spilling writer that has written its runs-per-segment: :meth:`finish_segment` is due."""
        return self._spill and self.runs_spilled >= self._max_runs

    def finish_segment(self):
        """Finish the segment being built now (a spilling writer: merge its runs, in bounded memory)
        and start another; the finished segment is handed to the caller."""
        seg = self._roll()
        self._done.remove(seg)
        return seg

    def spill_rest(self) -> bool:
        """Before finishing a writer that spilled: write the rest of its buffer as a last run, so that
        finishing is only the merge.  False (nothing done) when it never spilled: its segment
        is then written from memory."""
        if not self.runs_spilled:
            return False
        if any(len(b) for b in self._buffers.values()):
            self._spill_run()
        return True

    def _on_full(self):
        """A full buffer: the next run, or (rolling writer, or a spilling one at its last run) the
        finished segment, which is also appended to the run's finished segments."""
        if self._spill and self.runs_spilled + 1 < self._max_runs:
            self._spill_run()
            return None
        return self._roll()

    def adopt(self, segments: list) -> None:
        """Commit these finished segments (written by another writer of this run) with this writer's own."""
        self._done.extend(segments)

    def finish_segments(self) -> list:
        """Finish writing without a commit: the segments this writer wrote and has not handed out
        yet (see :meth:`roll_if_full`), for another writer to adopt.

        Used by indexing workers (``indexer.pipeline.workers``), whose writers take no index
        lock and write no TOC: the run's one writer commits their segments
        together with its own, so the run stays all-or-nothing.
        """
        self._check_state()
        done = list(self._done)
        if self._added:
            done.append(self._finalize_segment())
        else:
            self._close_segment()
        self._done = []
        self.is_closed = True
        return done

    def _roll(self):
        """Finish the segment being built and start a new one (same run, same commit)."""
        seg = self._finalize_segment()
        self._done.append(seg)
        if self.on_segment:
            self.on_segment(seg.doc_count_all())
        codec = self.codec
        self.newsegment = codec.new_segment(self.storage, self.indexname)
        self.perdocwriter = codec.per_document_writer(self.storage, self.newsegment)
        self.fieldwriter = codec.field_writer(self.storage, self.newsegment)
        self.pool = PostingPool(self._tempstorage, self.newsegment, limitmb=self._limitmb)
        self.docnum = self.docbase = 0
        self._added = False
        self._buffers = {}
        self._buffered = 0
        if self._spill:
            self._new_runs()
        return seg

    # -- runs (spilling writers) --------------------------------------------------------------
    def _new_runs(self) -> None:
        self._runs = RunSet(self.storage.folder, self.newsegment.segment_id())
        self._lengths = FieldLengths()

    def _spill_run(self) -> None:
        """Write the buffered postings as the next run; documents keep their numbers in the segment."""
        self._runs.spill(self._buffers, self.schema, self._lengths, self.docnum)
        self._buffers = {}
        self._buffered = 0

    @property
    def runs_spilled(self) -> int:
        """Runs written for the segment being built (0: it will be written from memory at once)."""
        return self._runs.nruns if self._runs is not None else 0

    # -- writing ---------------------------------------------------------------------------
    def _flush_segment(self) -> None:
        if self.runs_spilled:
            self._flush_runs()
            return
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            self._pool_to_buffers()
            fw = self.fieldwriter
            for name in sorted(self._buffers):
                buf = self._buffers[name]
                if len(buf):
                    write = write_field_exact if self._block_format.get("exact") else write_field_fast
                    write(fw, name, self.schema[name], buf, pdr, self.docnum,
                          protocol=self._block_format["protocol"], compress_min=self._block_format["compress_min"])
            close_field_writer(fw, write_hash_tables)
        finally:
            pdr.close()
        self._buffers = {}
        self._buffered = 0

    def _flush_runs(self) -> None:
        """The segment of a writer that spilled: the rest of the buffer as a last run, then all runs merged.

        Documents merged in from other segments at commit (``add_reader``) reach the
        per-document writer without :meth:`add_prepared`, so their lengths are only in
        the per-document files: the last run then reads lengths from those.
        """
        merged_in = self._pool_to_buffers()
        self.perdocwriter.close()
        pdr = self.per_document_reader() if merged_in else None
        try:
            if any(len(b) for b in self._buffers.values()):
                self._runs.spill(self._buffers, self.schema, pdr or self._lengths, self.docnum)
            self._runs.merge_into(self.fieldwriter, self.schema)
            close_field_writer(self.fieldwriter, write_hash_tables)
        finally:
            if pdr is not None:
                pdr.close()
            self._runs.remove()
        self._buffers = {}
        self._buffered = 0

    def _close_segment(self) -> None:
        super()._close_segment()
        if self._runs is not None:  # cancelled, or finished: the runs are not needed any more
            self._runs.remove()

    def _pool_to_buffers(self) -> int:
        """Postings from merged segments (``add_reader``) join the buffers, after this run's documents;
        how many."""
        moved = 0
        for fieldname, btext, docnum, weight, vbytes in self.pool.iter_postings():
            moved += 1
            buf = self._buffers.get(fieldname)
            if buf is None:
                buf = self._buffers[fieldname] = _FieldBuffer()
            vbytes = vbytes or b""
            fmt = self.schema[fieldname].format
            if type(fmt) is formats.Positions:
                gaps, counts = _gap_lists([fmt.decode_positions(vbytes)])
                buf.add(docnum, FieldPostings([btext], array("d", [weight]), gaps, counts, gaps=True))
            else:
                buf.add(docnum, FieldPostings([btext], array("d", [weight]), vbytes, array("I", [len(vbytes)])))
        return moved

    def commit(self, mergetype=None, optimize=None, merge=None) -> None:
        self._check_state()
        finalsegments = self._merge_segments(mergetype, optimize, merge)
        finalsegments.extend(self._done)
        if self._added:
            finalsegments.append(self._finalize_segment())
        else:
            self._close_segment()
        if self.before_toc is not None:
            self.before_toc()
        self._commit_toc(finalsegments)
        self._finish()


__all__ = ["BulkWriter", "FieldPostings", "GramCodes", "Prepared", "prepare"]
