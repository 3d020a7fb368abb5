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
  the ones Whoosh's own writer makes (``tests/test_fastwrite.py`` compares
  them); the default mode pickles the same tuples with narrower opcodes and no
  zlib (:func:`_encode_blocks`), which every Whoosh reader, query and merge
  unpickles to the same values.
* Per-document data (stored fields, field lengths, columns) still goes through
  Whoosh's own ``W3PerDocWriter``.
* Memory is bounded: when the buffered postings pass ``segment_mb`` the
  writer finishes the segment and starts another one, all committed together
  in one TOC at ``commit`` (so a run is still all-or-nothing).
"""
from __future__ import annotations

import os
import struct
import types
import zlib
from hashlib import md5
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pickle import dumps
from typing import Any, Callable

import numpy as np
from whoosh import fields as whoosh_fields
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import _length_byte_cache, byte_to_length, length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

SEGMENT_MB_ENV = "REPORTSEARCH_SEGMENT_MB"
DEFAULT_SEGMENT_MB = 160  # buffered postings per segment; a flush needs about 1.6× this at its peak
BLOCK = 128  # postings per block: W3Codec's default ``blocklimit``
COMPRESSION = 3  # W3Codec's default zlib level
_PACK_BLOCK_HEAD = WHOOSH3_HEADER_MAGIC
_TERMINFO = W3TermInfo._struct
_BLOCK_LEN = struct.Struct("!i")  # StructFile.write_int
_FLUSH_BYTES = 8 * 1024 * 1024
_CHUNK = 1 << 18  # postings encoded at a time while writing a field (bounds the scatter's index arrays)
# Whoosh's own writer: pickle protocol 2 and zlib on every block.  Protocol 2 pickles bytes
# through a codecs reduce (slow) and zlib costs ~17 µs a call whatever the size, which for the
# many one-posting terms of a bigram field was most of the write time.  Readers unpickle any
# protocol and read the compression level from each block, so these are free choices: the fast
# writer encodes protocol-3 pickles itself (numpy), with the narrowest integer opcodes and memo
# references (see _encode_blocks), and does not compress (zlib measured: 11 s of a 105 s build).
FAST = {"protocol": 3, "compress_min": 1 << 62}
WHOOSH_IDENTICAL = {"protocol": 2, "compress_min": 0, "exact": True}


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

    ``indexer.schema.to_fields(..., gram_codes=True)`` hands this instead of the
    list of bigram strings: the same terms and positions (bigram *i* is
    characters *i* and *i+1*), without making a Python string per position.
    """

    points: np.ndarray  # uint32 code points of ``indexer.analysis.gram_text(...)``

    @classmethod
    def of(cls, gram_text: str) -> "GramCodes":
        return cls(np.frombuffer(gram_text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32))

    def as_list(self) -> list[str]:
        """The bigram strings, as ``indexer.analysis.index_bigrams`` gives them."""
        g = self.points.tobytes().decode("utf-32-le", "surrogatepass")
        if len(g) <= 1:
            return [g] if g else []
        return [g[i:i + 2] for i in range(len(g) - 1)]


def _stable_argsort(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, bound)``, by 16-bit radix passes.

    numpy's stable sort of a 16-bit type is a radix sort (one counting pass), while for
    wider types it is a merge sort: two 16-bit passes (low half, then high half, each
    stable) give the same permutation several times faster.
    """
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if bound > 1 << 32:
        return np.argsort(keys, kind="stable")
    perm = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return perm[np.argsort((keys[perm] >> 16).astype(np.uint16), kind="stable")]


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

    __slots__ = ("vocab", "key", "doc", "weight", "vlen", "values", "gaps")

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
        perm = _stable_argsort(rank[tid], nterms)  # by term, documents ascending within a term
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


RUNS_ENV = "REPORTSEARCH_RUNS_PER_SEGMENT"
DEFAULT_RUNS_PER_SEGMENT = 16


def runs_per_segment() -> int:
    """How many runs a spilling writer merges into one segment (``$REPORTSEARCH_RUNS_PER_SEGMENT``).

    Why not all of a worker's runs: a worker that dies loses the segment it was
    building, whose files are then indexed again in the parent process; 16 runs
    make 2 segments per worker at 100,000 reports (one at 20,000), where a query
    looked its terms up in 63 before.
    """
    try:
        return max(1, int(os.environ.get(RUNS_ENV, DEFAULT_RUNS_PER_SEGMENT)))
    except ValueError:
        return DEFAULT_RUNS_PER_SEGMENT


def _segment_budget() -> int:
    try:
        return max(8, int(os.environ.get(SEGMENT_MB_ENV, DEFAULT_SEGMENT_MB))) * 1024 * 1024
    except ValueError:
        return DEFAULT_SEGMENT_MB * 1024 * 1024


class BulkWriter(SegmentWriter):
    """``SegmentWriter`` fed with :class:`Prepared` documents; writes postings block-wise.

    ``add_document`` still works (it prepares the document in this process).
    Merged segments (``add_reader``, used by merge policies at commit) go
    through Whoosh's pool as before and are written with the rest.
    """

    def __init__(self, ix, segment_mb: float | None = None, block_format: dict | None = None, *,
                 spill: bool = False, **kwargs: Any):
        kwargs.setdefault("compound", False)  # big segments: do not copy every file into one at commit
        super().__init__(ix, **kwargs)
        self._limitmb = kwargs.get("limitmb", 128)
        self._budget = int(segment_mb * 1024 * 1024) if segment_mb else _segment_budget()
        self._buffers: dict[str, _FieldBuffer] = {}
        self._buffered = 0
        self._done: list = []  # segments finished during this run, committed with the last one
        self._ix = ix
        self._block_format = dict(block_format or FAST)
        self.on_segment: Callable[[int], None] | None = None  # told the doc count of each finished segment
        # False: the caller decides when a full segment is finished (roll_if_full), e.g. an
        # indexing worker that keeps each input file's documents in one segment
        self.auto_roll = True
        # spill: a full buffer becomes a run on disk, and all runs one segment at the end
        # (indexer.runs); only with the fast block format, whose blocks a run's merge copies
        self._spill = bool(spill) and self._block_format == FAST and getattr(self.storage, "folder", None) is not None
        self._runs = None
        self._lengths = None
        self._max_runs = runs_per_segment()
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

        Used by indexing workers (``indexer.workers``), whose writers take no index
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
        from .runs import FieldLengths, RunSet

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
            fw._tindex._write_hashes = types.MethodType(_write_hashes, fw._tindex)
            for name in sorted(self._buffers):
                buf = self._buffers[name]
                if len(buf):
                    write = _write_field_exact if self._block_format.get("exact") else _write_field_fast
                    write(fw, name, self.schema[name], buf, pdr, self.docnum,
                          protocol=self._block_format["protocol"], compress_min=self._block_format["compress_min"])
            fw.close()
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
            self.fieldwriter.close()
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
        self._commit_toc(finalsegments)
        self._finish()


_POINTER = np.dtype([("hash", ">u4"), ("pos", ">i8")])  # filetables._pointer, "!Iq"


def _write_hashes(self) -> None:
    """``HashWriter._write_hashes`` with each bucket's table written in one piece.

    Same linear-probing placement, same bytes; Whoosh packs and writes every
    slot separately, which took a second per 150,000 terms.
    """
    dbfile = self.dbfile
    for entries in self.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        self.directory.append((pos, numslots))
        if not numslots:
            continue
        hashes = [0] * numslots
        places = [0] * numslots
        taken = bytearray(numslots)
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while taken[slot]:
                slot = (slot + 1) % numslots
            taken[slot] = 1
            hashes[slot] = hashval
            places[slot] = position
        table = np.empty(numslots, dtype=_POINTER)
        table["hash"] = hashes
        table["pos"] = places
        dbfile.write(table.tobytes())


def _field_lengths(pdr, fieldname: str, ndocs: int) -> np.ndarray:
    """Per-document field length as Whoosh's posting writer sees it (the byte-quantised value).

    ``pdr`` is a per-document reader, or the lengths a spilling writer keeps
    itself (``indexer.runs.FieldLengths``: its per-document writer is still open);
    those are the raw lengths, which quantise to the same bytes.
    """
    if hasattr(pdr, "lengths_of"):
        return pdr.lengths_of(fieldname, ndocs)
    out = np.zeros(ndocs, dtype=np.int64)
    dfl = pdr.doc_field_length
    for d in range(ndocs):
        out[d] = dfl(d, fieldname, 0) or 0
    return out


_INFO_DTYPE = np.dtype([("proto", "u1"), ("ver", "u1"), ("mark", "u1"), ("j1", "u1"), ("n", "<i4"),
                        ("j2", "u1"), ("last", "<i4"), ("g", "u1"), ("maxw", ">f8"), ("j3", "u1"),
                        ("comp", "<i4"), ("j4", "u1"), ("minb", "<i4"), ("j5", "u1"), ("maxb", "<i4"),
                        ("tup", "u1"), ("stop", "u1")])
# W3TermInfo._struct ("!BfIBBfII") followed by pack_long(offset) and pack_int(length)
_TERMINFO_DTYPE = np.dtype([("flags", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minb", "u1"), ("maxb", "u1"),
                            ("maxw", ">f4"), ("minid", ">u4"), ("maxid", ">u4"), ("offset", ">i8"),
                            ("length", ">i4")])
_LENGTH_CACHE = np.asarray(_length_byte_cache, dtype=np.int64)


def _length_bytes(lengths: np.ndarray) -> np.ndarray:
    """``length_to_byte`` for an array of lengths."""
    return np.minimum(np.searchsorted(_LENGTH_CACHE, lengths, side="left"), 255).astype(np.int64)


def _info_records(n, last, maxw, minb, maxb) -> bytes:
    """Block info tuples ``(n, last id, max weight, 0, min length byte, max length byte)`` as pickles.

    Every record is a 39-byte protocol-3 pickle (BININT/BINFLOAT opcodes), built
    for all one-block terms at once instead of one ``pickle.dumps`` per term.
    """
    rec = np.zeros(len(n), dtype=_INFO_DTYPE)
    rec["proto"], rec["ver"], rec["mark"] = 0x80, 3, ord("(")
    for j in ("j1", "j2", "j3", "j4", "j5"):
        rec[j] = ord("J")
    rec["g"], rec["tup"], rec["stop"] = ord("G"), ord("t"), ord(".")
    rec["n"], rec["last"], rec["maxw"], rec["minb"], rec["maxb"] = n, last, maxw, minb, maxb
    return rec.tobytes()


def _write_field_fast(fw, fieldname: str, fieldobj, buf: _FieldBuffer, pdr, ndocs: int, *,
                      protocol: int, compress_min: int) -> None:
    """Write every term of one field: the statistics of all terms computed with numpy at once.

    Block boundaries (every ``BLOCK`` postings of a term), block statistics
    (maximum weight, minimum and maximum field length, last id), block info
    records, term statistics (weight, document frequency, first and last id)
    and the term-info records are array operations; the loop over blocks only
    pickles each block's data tuple.  ``tests/test_fastwrite.py`` compares postings, term statistics and
    block statistics with Whoosh's own writer.
    """
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None
    vl_all = np.frombuffer(buf.vlen, dtype=np.uint32)
    if (fixed is None and len(vl_all) and not vl_all.all()) or (fixed and len(vl_all) and (vl_all != fixed).any()) \
            or protocol != 3 or compress_min < (1 << 62):
        # values that are not all present (empty ones are left out of a block) or not of the
        # format's fixed size, or compression asked for: the one-term-at-a-time writer
        if fw._tindex is None:
            raise ValueError(f"field {fieldname!r}: its postings cannot be written in runs (values missing or "
                             "not of the format's size); write this segment without spilling")
        _write_field_exact(fw, fieldname, fieldobj, buf, pdr, ndocs, protocol=protocol, compress_min=compress_min)
        return
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex

    terms, perm, counts = buf.sorted_postings()  # terms in key order
    nterms = len(terms)
    if nterms and tindex is not None and tindex.lastkey and fid + terms[0] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    starts = np.zeros(nterms, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    ends_a = starts + counts

    # Per-posting arrays in the narrowest types that hold them: at its peak the flush holds
    # these beside the buffer, so their width, not the buffer's, bounds how large a segment can be.
    doc_s = np.frombuffer(buf.doc, dtype=np.uint32)[perm].view(np.int32)  # documents < 2**31
    w64 = np.frombuffer(buf.weight, dtype=np.float64)[perm]
    w32 = w64.astype(np.float32)  # as kept in a block's array("f")
    if fieldobj.scorable:
        dl = _field_lengths(pdr, fieldname, ndocs)
    else:
        dl = np.zeros(ndocs, dtype=np.int64)
    dlb = _length_bytes(dl)  # per document, then per posting
    lb = dlb.astype(np.uint8)[doc_s]
    lb_min = np.where(dl > 0, dlb, 256).astype(np.int16)[doc_s]  # a zero length does not count for the minimum
    del dl, dlb
    vlen = np.frombuffer(buf.vlen, dtype=np.uint32).astype(np.int64)  # bytes, or positions when buf.gaps
    vstart = np.cumsum(vlen) - vlen
    gaps_mode = bool(buf.gaps)
    if gaps_mode:  # the largest gap of each posting, for its block's integer width
        g_all = np.frombuffer(buf.values, dtype="<u4")
        pmax = np.maximum.reduceat(g_all, vstart)[perm] if len(vstart) else np.zeros(0, np.uint32)
        del g_all
    vstart = vstart[perm]
    vlen = vlen[perm].astype(np.int32)
    fixed_arr = None
    blob = None
    if fixed:  # fixed-size values in posting order: a block's values are one slice
        fixed_arr = np.frombuffer(buf.values, dtype=np.uint8).reshape(-1, fixed)[perm].reshape(-1)
    elif fixed is None:
        blob = np.frombuffer(buf.values, dtype="<u4" if gaps_mode else np.uint8)  # a view: no copy
    del perm
    # sorted copies made: let the buffer's arrays go (``blob`` keeps the values alive if needed)
    buf.doc, buf.weight, buf.vlen, buf.values = array("I"), array("d"), array("I"), bytearray()

    # term statistics (W3TermInfo.add_block over all blocks)
    t_weight = np.add.reduceat(w32, starts, dtype=np.float64) if nterms else np.zeros(0)
    t_maxw = np.maximum(np.maximum.reduceat(w64, starts), 0) if nterms else np.zeros(0)
    t_minb = np.minimum.reduceat(lb_min, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minb = np.where(t_minb > 255, 0, t_minb)
    t_maxb = np.maximum.reduceat(lb, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minid = doc_s[starts] if nterms else np.zeros(0, dtype=np.int64)
    t_maxid = doc_s[ends_a - 1] if nterms else np.zeros(0, dtype=np.int64)

    # blocks: each term's postings cut every BLOCK postings, as W3PostingsWriter does
    nblocks = (counts + BLOCK - 1) // BLOCK
    bterm = np.repeat(np.arange(nterms), nblocks)
    bfirst_idx = np.zeros(nterms, dtype=np.int64)
    np.cumsum(nblocks[:-1], out=bfirst_idx[1:])
    bj = np.arange(len(bterm)) - bfirst_idx[bterm]
    bstart = starts[bterm] + BLOCK * bj
    bend = np.minimum(bstart + BLOCK, ends_a[bterm])
    blast = bend == ends_a[bterm]
    bfirst = bj == 0
    nb = len(bstart)
    b_maxw = np.maximum(np.maximum.reduceat(w64, bstart), 0) if nb else np.zeros(0)
    b_minb = np.minimum.reduceat(lb_min, bstart) if nb else np.zeros(0, dtype=np.int64)
    b_minb = np.where(b_minb > 255, 0, b_minb)
    b_maxb = np.maximum.reduceat(lb, bstart) if nb else np.zeros(0, dtype=np.int64)
    b_last_id = doc_s[bend - 1] if nb else np.zeros(0, dtype=np.int64)
    # ids as stored: the first absolute, then gaps (delta_encode restarts in every block)
    gaps = np.empty_like(doc_s)
    if len(doc_s):
        gaps[0] = doc_s[0]
        gaps[1:] = doc_s[1:] - doc_s[:-1]
        gaps[bstart] = doc_s[bstart]
    # weights as stored: None when all 1.0, one number when all equal, else the tuple
    w_min = np.minimum.reduceat(w32, bstart) if nb else np.zeros(0)
    w_max = np.maximum.reduceat(w32, bstart) if nb else np.zeros(0)
    kinds = np.where((w_min == 1.0) & (w_max == 1.0), 0, np.where(w_min == w_max, 1, 2))
    info = _info_records(bend - bstart, b_last_id, b_maxw, b_minb, b_maxb)
    del b_maxw, b_minb, b_maxb, b_last_id, w_min, w_max, bj, bfirst_idx, lb, lb_min, doc_s, w64

    w0_all = w32[bstart] if nb else np.zeros(0)
    if gaps_mode:  # one integer width per block (all its position lists), as for its ids
        pwidth = np.repeat(_int_width(np.maximum.reduceat(pmax, bstart)).astype(np.int8), bend - bstart) if nb else pmax
        del pmax

    pbase = postfile.tell()
    offsets = np.empty(nterms, dtype=np.int64)
    extents = np.empty(nterms, dtype=np.int64)
    lastpos = np.empty(nterms, dtype=np.int64)  # where each term's last block length is (a run's merge flips it)
    chunk = _CHUNK
    b = 0
    while b < nb:
        # blocks are encoded a chunk at a time (~chunk postings): the index arrays of the
        # scatter cost tens of bytes per posting
        p0 = int(bstart[b])
        b1 = max(int(np.searchsorted(bend, p0 + chunk, side="right")), b + 1)
        p1 = int(bend[b1 - 1])
        if gaps_mode:
            vsrc, vsrc_off = _position_values(blob, vstart[p0:p1], vlen[p0:p1], pwidth[p0:p1])
        elif fixed is None:
            frag, fo = _pickled_values(blob, vstart[p0:p1], vlen[p0:p1])
            vsrc, vsrc_off = frag, np.asarray(fo, dtype=np.int64)
        elif fixed:
            vsrc = fixed_arr[p0 * fixed:p1 * fixed]
            vsrc_off = np.arange(p1 - p0 + 1, dtype=np.int64) * fixed
        else:
            vsrc, vsrc_off = None, None
        data, rec_off, rec_end = _encode_blocks(
            bstart[b:b1] - p0, bend[b:b1] - p0, bfirst[b:b1], blast[b:b1], kinds[b:b1], w0_all[b:b1],
            gaps[p0:p1], w32[p0:p1], info[b * 39:b1 * 39], fixed, vsrc, vsrc_off)
        firsts = np.flatnonzero(bfirst[b:b1])
        lasts = np.flatnonzero(blast[b:b1])
        offsets[bterm[b:b1][firsts]] = pbase + rec_off[firsts]
        extents[bterm[b:b1][lasts]] = pbase + rec_end[lasts] - offsets[bterm[b:b1][lasts]]
        lastpos[bterm[b:b1][lasts]] = pbase + rec_off[lasts] + 4 * bfirst[b:b1][lasts]
        postfile.write(data)
        pbase += len(data)
        b = b1

    if tindex is None:  # a run of a spilling writer (indexer.runs): its table, merged later
        fw.collect(terms, t_weight, counts, t_minb, t_maxb, t_maxw, t_minid, t_maxid,
                   offsets, extents, lastpos - offsets)
        fw.finish_field()
        return
    ti = np.zeros(nterms, dtype=_TERMINFO_DTYPE)
    ti["weight"], ti["df"], ti["minb"], ti["maxb"] = t_weight, counts, t_minb, t_maxb
    ti["maxw"], ti["minid"], ti["maxid"], ti["offset"], ti["length"] = t_maxw, t_minid, t_maxid, offsets, extents
    tinfo = ti.tobytes()
    del ti
    _add_term_records(tindex, fid, terms, range(nterms), tinfo, value_size=_TERMINFO_DTYPE.itemsize)
    fw.finish_field()


def _add_term_records(tindex, fid: bytes, terms: list[bytes], order: list[int], values,
                      value_size: int | None = None) -> None:
    """``OrderedHashWriter.add`` for every term, in key order: the same records and MD5 buckets,
    laid out with numpy and written in large pieces instead of four small writes per term.

    A record is ``!ii`` (key length, value length), the key (field id + term), the
    value; the ordered index gets each record's position, and bucket ``h & 255`` gets
    ``(h, position)`` with ``h`` the last four bytes of the key's MD5, in key order.
    ``values`` is one bytes object per term, or (with ``value_size``) all of them
    joined, each ``value_size`` bytes long.
    """
    keys = [fid + terms[t] for t in order]
    n = len(keys)
    if not n:
        return
    tfile = tindex.dbfile
    tbase = tfile.tell()
    klen = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    if value_size is not None:
        joined_vals = bytes(values)
        vlen = np.full(n, value_size, dtype=np.int64)
    else:
        vals = values if isinstance(values, list) else list(values)
        joined_vals = b"".join(vals)
        vlen = np.fromiter(map(len, vals), dtype=np.int64, count=n)
    rec = 8 + klen + vlen
    pos = np.zeros(n, dtype=np.int64)
    np.cumsum(rec[:-1], out=pos[1:])
    out = np.empty(int(pos[-1] + rec[-1]), dtype=np.uint8)
    head = np.empty((n, 2), dtype=">i4")
    head[:, 0] = klen
    head[:, 1] = vlen
    out[pos[:, None] + np.arange(8)] = head.view(np.uint8).reshape(n, 8)
    out[_run_mask(len(out), pos + 8, klen)] = np.frombuffer(b"".join(keys), dtype=np.uint8)
    out[_run_mask(len(out), pos + 8 + klen, vlen)] = np.frombuffer(joined_vals, dtype=np.uint8)
    for a in range(0, len(out), _FLUSH_BYTES):
        tfile.write(out[a:a + _FLUSH_BYTES].tobytes())
    abs_pos = pos + tbase
    positions = abs_pos.tolist()
    index = tindex.index
    index.append(positions[-1])  # the largest: GrowableArray.append widens its type if needed
    index.array.pop()
    index.array.extend(positions)
    # filetables.md5_hash: the digest's last four bytes, big-endian
    digests = b"".join([md5(k).digest() for k in keys])
    hashes = np.frombuffer(digests, dtype=">u4").reshape(n, 4)[:, 3].astype(np.int64)
    bucket = hashes & 255
    by_bucket = _stable_argsort(bucket, 256)  # key order kept within a bucket
    bounds = np.searchsorted(bucket[by_bucket], np.arange(257))
    hl = hashes[by_bucket].tolist()
    pl = abs_pos[by_bucket].tolist()
    buckets = tindex.buckets
    for b in range(256):
        a, e = int(bounds[b]), int(bounds[b + 1])
        if a < e:
            buckets[b].extend(zip(hl[a:e], pl[a:e]))
    tindex.lastkey = keys[-1]


_K, _M, _J = ord("K"), ord("M"), ord("J")


def _int_width(maxv: np.ndarray) -> np.ndarray:
    """Bytes of the narrowest pickle opcode holding every integer up to ``maxv`` (all ≥ 0):
    BININT1 ``K`` + 1 byte (2), BININT2 ``M`` + 2 bytes (3), BININT ``J`` + 4 bytes (5)."""
    return np.where(maxv < 256, 2, np.where(maxv < 65536, 3, 5)).astype(np.int64)


def _put_ints(out: np.ndarray, offs: np.ndarray, vals: np.ndarray, width: np.ndarray) -> None:
    """Write ``vals[k]`` as a pickle integer opcode of ``width[k]`` bytes at ``out[offs[k]]``."""
    for w, op, dt in ((2, _K, "u1"), (3, _M, "<u2"), (5, _J, "<i4")):
        m = width == w
        if not m.any():
            continue
        rec = np.empty((int(m.sum()), w), dtype=np.uint8)
        rec[:, 0] = op
        rec[:, 1:] = vals[m].astype(dt).view(np.uint8).reshape(-1, w - 1)
        out[offs[m][:, None] + np.arange(w)] = rec


def _position_values(gaps: np.ndarray, gstart: np.ndarray, counts: np.ndarray,
                     width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position lists as the elements of a block's values tuple, and each element's offset (and the end).

    An element is a bytes object (``C`` + length byte, or ``B`` + 4-byte length)
    holding what ``formats.Positions.decode_positions`` reads: the 4-byte count,
    then a pickle of the gaps without protocol header or STOP (``decode_positions``
    adds the STOP): ``(``, one integer opcode of ``width`` bytes per gap, ``t``
    (a tuple, which it iterates like the list ``Positions.encode`` pickles).
    ``gaps[gstart[k]:gstart[k] + counts[k]]`` are posting k's gaps.
    """
    n = len(counts)
    counts = np.asarray(counts, dtype=np.int64)
    out, fo, data = _bytes_elements(6 + counts * width)
    out[data[:, None] + np.arange(4)] = counts.astype(">u4").view(np.uint8).reshape(n, 4)
    out[data + 4] = ord("(")
    out[data + 5 + counts * width] = ord("t")
    total = int(counts.sum())
    if total:
        owner = np.repeat(np.arange(n), counts)
        j = np.arange(total, dtype=np.int64) - (np.cumsum(counts) - counts)[owner]
        pw = width[owner]
        _put_ints(out, data[owner] + 5 + pw * j, _gather_runs(gaps, gstart, counts), pw)
    return out, fo


def _encode_blocks(bs, be, first, last, kinds, w0, gaps, w32, info: bytes, fixed, vsrc, vsrc_off):
    """Posting blocks as ``W3PostingsWriter`` lays them out, for many blocks at once, with numpy.

    Per block: the ``W3Bl`` magic before a term's first block, the block length
    (negative for a term's last block), the 39-byte info pickle, then the data
    pickle ``(ids, weights, values)`` (protocol 3).  It unpickles to the tuple
    Whoosh's writer pickles, in fewer bytes:

    * ids: the gaps, each as the narrowest integer opcode that holds the block's
      largest (``K`` 1 byte, ``M`` 2, ``J`` 4: one width per block, so a reader
      finds every id without parsing);
    * weights: ``None`` (all 1.0), one BINFLOAT (all equal), or a tuple in which
      every weight is a 2-byte memo reference (``h`` + index) to the block's
      distinct weights, each pushed once before the tuple (``G`` double, ``q``
      index, ``0`` pop): 2 bytes a posting instead of 9;
    * values: ``None``, one bytes object (fixed-size formats), or a tuple of bytes
      objects (``vsrc``: the pickle elements already, e.g. :func:`_position_values`).

    ``bs``/``be`` are the blocks' posting ranges within ``gaps``/``w32``; ``vsrc``
    holds the values in posting order with ``vsrc_off`` the offset of each
    posting's value.  Returns the encoded bytes and each block's start and end
    offset in them.
    """
    nblk = len(bs)
    n = be - bs
    npost = len(gaps)
    blk_of = np.repeat(np.arange(nblk), n)
    jj = np.arange(npost, dtype=np.int64) - bs[blk_of]
    idw = _int_width(np.maximum.reduceat(gaps, bs)) if nblk else np.zeros(0, dtype=np.int64)
    ids_size = 2 + idw * n
    k0, k1, k2 = kinds == 0, kinds == 1, kinds == 2
    ndist = np.zeros(nblk, dtype=np.int64)
    if k2.any():
        # each kind-2 block's distinct weights, and every posting's index among them
        pm = k2[blk_of]
        pb, pv = blk_of[pm], w32[pm]
        o = np.lexsort((pv, pb))
        sb, sv = pb[o], pv[o]
        new = np.ones(len(o), dtype=bool)
        new[1:] = (sb[1:] != sb[:-1]) | (sv[1:] != sv[:-1])
        did = np.cumsum(new) - 1
        dblk, dval = sb[new], sv[new]
        ndist = np.bincount(dblk, minlength=nblk).astype(np.int64)
        dfirst = np.zeros(nblk, dtype=np.int64)
        np.cumsum(ndist[:-1], out=dfirst[1:])
        memo = np.empty(len(o), dtype=np.int64)
        memo[o] = did - dfirst[sb]
        drank = np.arange(len(dblk), dtype=np.int64) - dfirst[dblk]
    w_size = np.where(k0, 1, np.where(k1, 9, 12 * ndist + 2 + 2 * n))
    if fixed == 0:
        v_len = np.zeros(nblk, dtype=np.int64)
        v_hdr = np.ones(nblk, dtype=np.int64)  # "N"
    else:
        v_len = vsrc_off[be] - vsrc_off[bs]
        if fixed:
            v_hdr = np.where(v_len < 256, 2, 5)  # SHORT_BINBYTES / BINBYTES header
        else:
            v_hdr = np.ones(nblk, dtype=np.int64)  # "(" ... "t"
    v_size = v_hdr + v_len + (1 if fixed is None else 0)  # a tuple of values also has its closing "t"
    data_size = 2 + ids_size + w_size + v_size + 2
    rec_size = first.astype(np.int64) * 4 + 4 + 39 + data_size
    ro = np.zeros(nblk + 1, dtype=np.int64)
    np.cumsum(rec_size, out=ro[1:])
    out = np.zeros(int(ro[-1]), dtype=np.uint8)
    start = ro[:-1]
    # magic, block length, info
    fs = start[first]
    out[fs[:, None] + np.arange(4)] = np.frombuffer(_PACK_BLOCK_HEAD, dtype=np.uint8)
    lp = start + first.astype(np.int64) * 4
    blen = (39 + data_size) * np.where(last, -1, 1)
    out[lp[:, None] + np.arange(4)] = blen.astype(">i4").view(np.uint8).reshape(nblk, 4)
    out[(lp + 4)[:, None] + np.arange(39)] = np.frombuffer(info, dtype=np.uint8).reshape(nblk, 39)
    ds = lp + 4 + 39
    out[ds] = 0x80
    out[ds + 1] = 3
    out[ds + 2] = ord("(")
    _put_ints(out, ds[blk_of] + 3 + idw[blk_of] * jj, gaps, idw[blk_of])
    out[ds + 2 + ids_size - 1] = ord("t")
    ws = ds + 2 + ids_size
    out[ws[k0]] = ord("N")
    if k1.any():
        out[ws[k1]] = ord("G")
        out[(ws[k1] + 1)[:, None] + np.arange(8)] = w0[k1].astype(">f8").view(np.uint8).reshape(-1, 8)
    if k2.any():
        prel = np.empty((len(dblk), 12), dtype=np.uint8)
        prel[:, 0] = ord("G")
        prel[:, 1:9] = dval.astype(">f8").view(np.uint8).reshape(-1, 8)
        prel[:, 9] = ord("q")  # BINPUT
        prel[:, 10] = drank
        prel[:, 11] = ord("0")  # POP: the memo keeps it
        out[(ws[dblk] + 12 * drank)[:, None] + np.arange(12)] = prel
        tup = ws + 12 * ndist
        out[tup[k2]] = ord("(")
        hoff = tup[pb] + 1 + 2 * jj[pm]
        out[hoff] = ord("h")  # BINGET
        out[hoff + 1] = memo
        out[tup[k2] + 1 + 2 * n[k2]] = ord("t")
    vs = ws + w_size
    if fixed == 0:
        out[vs] = ord("N")
    else:
        if fixed:
            short = v_hdr == 2
            out[vs[short]] = ord("C")
            out[vs[short] + 1] = v_len[short].astype(np.uint8)
            lng = ~short
            if lng.any():
                out[vs[lng]] = ord("B")
                out[(vs[lng] + 1)[:, None] + np.arange(4)] = v_len[lng].astype("<u4").view(np.uint8).reshape(-1, 4)
        else:
            out[vs] = ord("(")
            out[vs + 1 + v_len] = ord("t")
        total = int(v_len.sum())
        if total:
            # each block's values are one run of vsrc, copied after its header; consecutive
            # blocks' runs are adjacent in vsrc, so all of them are one slice, put in place
            # through a byte mask (no per-byte index arrays)
            src0 = vsrc_off[bs]
            src = np.frombuffer(vsrc, dtype=np.uint8) if isinstance(vsrc, (bytes, bytearray)) else vsrc
            if nblk == 1 or bool(np.all(src0[1:] == src0[:-1] + v_len[:-1])):
                vals = src[int(src0[0]):int(src0[0]) + total]
            else:
                vals = _gather_runs(src, src0, v_len)
            out[_run_mask(len(out), vs + v_hdr, v_len)] = vals
    end = ds + data_size
    out[end - 2] = 0x87  # TUPLE3
    out[end - 1] = ord(".")
    return out.tobytes(), start, ro[1:]


def _bytes_elements(vlen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Room for one pickled bytes object per length in ``vlen``, headers written.

    Each element is SHORT_BINBYTES ``C`` + length byte, or BINBYTES ``B`` + 4-byte
    length, then ``vlen[k]`` bytes for the caller to fill.  Returns the buffer,
    each element's offset (and the end), and where each element's bytes start.
    """
    n = len(vlen)
    small = vlen < 256
    hdr = np.where(small, 2, 5)
    fo = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(hdr + vlen, out=fo[1:])
    out = np.empty(int(fo[-1]), dtype=np.uint8)
    heads = fo[:-1]
    out[heads[small]] = ord("C")
    out[heads[small] + 1] = vlen[small].astype(np.uint8)
    big = ~small
    if big.any():
        out[heads[big]] = ord("B")
        out[heads[big][:, None] + np.arange(1, 5)] = vlen[big].astype("<u4").view(np.uint8).reshape(-1, 4)
    return out, fo, heads + hdr


def _pickled_values(blob: np.ndarray, vstart: np.ndarray, vlen: np.ndarray) -> tuple[bytes, list[int]]:
    """Each value as a pickle element (:func:`_bytes_elements`), concatenated, with each
    element's offset (and the end).

    A block's tuple of values is then ``(`` + one slice + ``t`` instead of one bytes object
    per posting for ``pickle.dumps`` to walk.
    """
    out, fo, data = _bytes_elements(vlen)
    if int(vlen.sum()):
        out[_run_mask(len(out), data, vlen)] = _gather_runs(blob, vstart, vlen)
    return out.tobytes(), fo.tolist()


def _gather_runs(src: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``src[starts[0]:starts[0] + lens[0]] + src[starts[1]:…] + …``, concatenated by one gather.

    One index array (each output byte's source offset: its run's start minus the
    run's offset in the output, plus the output position) instead of the three or
    four per-byte arrays of a "run id, offset within run" formulation.
    """
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if not total:
        return np.zeros(0, dtype=src.dtype)
    shift = np.asarray(starts, dtype=np.int64) - (np.cumsum(lens) - lens)
    idx = np.repeat(shift, lens)
    idx += np.arange(total, dtype=np.int64)
    return src[idx]


def _run_mask(size: int, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """A boolean array of ``size``, true on ``[starts[k], starts[k] + lens[k])`` for every k.

    The runs must be in ascending order and must not overlap (they are the value
    slots of a layout).  Built as alternating false/true runs with one
    ``np.repeat``: a byte per output byte, where a scatter by index costs eight
    and a running sum several passes.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lens = np.asarray(lens, dtype=np.int64)
    k = len(starts)
    if k == 0:
        return np.zeros(size, dtype=bool)
    ends = starts + lens
    runs = np.empty(2 * k + 1, dtype=np.int64)
    runs[0] = starts[0]
    runs[2:-1:2] = starts[1:] - ends[:-1]  # the gap before each later run
    runs[1::2] = lens
    runs[-1] = size - ends[-1]
    pattern = np.zeros(2 * k + 1, dtype=bool)
    pattern[1::2] = True
    return np.repeat(pattern, runs)


def _write_field_exact(fw, fieldname: str, fieldobj, buf: _FieldBuffer, pdr, ndocs: int, *,
                       protocol: int, compress_min: int) -> None:
    """Write every term of one field, each with ``W3PostingsWriter``'s blocks, one term at a time.

    Used with ``WHOOSH_IDENTICAL`` (the test that proves the files are Whoosh's);
    :func:`_write_field_fast` writes the same postings and statistics faster.  The blocks carry the same tuples and statistics as Whoosh's; only the pickle
    ``protocol`` and which blocks are zlib-compressed (``compress_min``: pickled
    size from which a block is compressed; the level is stored per block and
    Whoosh's reader honours it) are choices.  Term records go straight into the
    terms file's ordered hash (same records, same MD5 buckets), buffered in
    memory, instead of three method calls and four small writes per term.
    """
    buf.pickle_gaps()
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None

    terms, perm, counts = buf.sorted_postings()  # terms in key order
    if terms and tindex.lastkey and fid + terms[0] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    doc_s = np.frombuffer(buf.doc, dtype=np.uint32)[perm]
    docs = doc_s.tolist()
    w64 = np.frombuffer(buf.weight, dtype=np.float64)[perm]
    weights = w64.tolist()  # as given: block and term maximum weights
    weights32 = w64.astype(np.float32).tolist()  # as kept in the block's array("f"): stored values, sums
    del w64
    vlen = np.frombuffer(buf.vlen, dtype=np.uint32).astype(np.int64)
    vend = np.cumsum(vlen)
    vstart = (vend - vlen)[perm].tolist()
    vlen_s = vlen[perm].tolist()
    del vlen, vend
    if fieldobj.scorable:
        lens = _field_lengths(pdr, fieldname, ndocs)[doc_s].tolist()
    else:
        lens = [0] * len(docs)
    del perm, doc_s
    ends = np.cumsum(counts).tolist()
    values = bytes(buf.values)

    compress = zlib.compress
    pack_block_len = _BLOCK_LEN.pack
    pack_info = _TERMINFO.pack
    l2b = length_to_byte
    pbase = postfile.tell()
    pbuf = bytearray()
    records: list[bytes] = []

    start = 0
    for k in range(len(terms)):
        end = ends[k]
        startoffset = pbase + len(pbuf)
        pbuf += _PACK_BLOCK_HEAD
        t_weight = 0
        t_minlen = None
        t_maxlen = 0
        t_maxw = 0
        b0 = start
        while b0 < end:
            b1 = min(b0 + BLOCK, end)
            ids = docs[b0:b1]
            ws = weights32[b0:b1]
            ls = lens[b0:b1]
            # W3PostingsWriter.add_posting statistics
            maxw = max(weights[b0:b1])
            if maxw <= 0:
                maxw = 0
            if b1 - b0 == 1:
                minlen = ls[0] or None
                maxlen = ls[0]
                mini_ids = (ids[0],)
            else:
                nz = [x for x in ls if x]
                minlen = min(nz) if nz else None
                maxlen = max(ls)
                mini_ids = tuple([ids[0]] + [b - a for a, b in zip(ids, ids[1:])])
            # W3TermInfo.add_block
            t_weight += sum(ws)
            if t_minlen is None:
                t_minlen = minlen
            elif minlen is not None and minlen < t_minlen:
                t_minlen = minlen
            if maxlen > t_maxlen:
                t_maxlen = maxlen
            if maxw > t_maxw:
                t_maxw = maxw
            # _mini_weights / _mini_values
            w0 = ws[0]
            if w0 == 1.0 and all(w == 1.0 for w in ws):
                mini_w = None
            elif all(w == w0 for w in ws):
                mini_w = w0
            else:
                mini_w = tuple(ws)
            if fixed == 0:
                mini_v = None
            else:
                vs = [values[s:s + n] for s, n in zip(vstart[b0:b1], vlen_s[b0:b1]) if n]
                mini_v = b"".join(vs) if fixed else tuple(vs)
            databytes = dumps((mini_ids, mini_w, mini_v), protocol)
            comp = 0
            if len(databytes) >= compress_min:
                comp = COMPRESSION
                databytes = compress(databytes, COMPRESSION)
            infobytes = dumps((b1 - b0, ids[-1], maxw, comp, l2b(minlen), l2b(maxlen)), protocol)
            blocklength = len(infobytes) + len(databytes)
            pbuf += pack_block_len(-blocklength if b1 >= end else blocklength)
            pbuf += infobytes
            pbuf += databytes
            b0 = b1
        value = pack_info(False, t_weight, end - start, 0 if t_minlen is None else l2b(t_minlen),
                          l2b(t_maxlen), t_maxw, docs[start], docs[end - 1])
        value += pack_long(startoffset) + pack_int(pbase + len(pbuf) - startoffset)
        records.append(value)
        start = end
        if len(pbuf) > _FLUSH_BYTES:
            postfile.write(bytes(pbuf))
            pbase += len(pbuf)
            pbuf = bytearray()
    postfile.write(bytes(pbuf))
    _add_term_records(tindex, fid, terms, range(len(terms)), records)
    fw.finish_field()


__all__ = ["BulkWriter", "FieldPostings", "Prepared", "prepare", "byte_to_length"]
