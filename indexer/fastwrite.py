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
  document, weight, encoded value) and, when a segment is written, sorts them
  with numpy and writes each term's blocks directly: the same pickled block
  tuples, zlib level, block statistics and term-info records that
  ``W3PostingsWriter`` writes.  The files are byte for byte the ones Whoosh's
  own writer makes from the same documents (``tests/test_fastwrite.py``
  compares them), so every Whoosh reader, query and merge works unchanged.
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
from whoosh import formats
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import _length_byte_cache, byte_to_length, length_to_byte
from whoosh.writing import PostingPool, SegmentWriter

SEGMENT_MB_ENV = "REPORTSEARCH_SEGMENT_MB"
DEFAULT_SEGMENT_MB = 192  # buffered postings per segment; a flush needs about 2.5× this at its peak
BLOCK = 128  # postings per block: W3Codec's default ``blocklimit``
COMPRESSION = 3  # W3Codec's default zlib level
_PACK_BLOCK_HEAD = WHOOSH3_HEADER_MAGIC
_TERMINFO = W3TermInfo._struct
_BLOCK_LEN = struct.Struct("!i")  # StructFile.write_int
_HASH_LENGTHS = struct.Struct("!ii")  # filetables.HashWriter's key/value length prefix
_FLUSH_BYTES = 8 * 1024 * 1024
_CHUNK = 1 << 20  # postings turned into Python lists at a time while writing a field
# Whoosh's own writer: pickle protocol 2 and zlib on every block.  Protocol 2 pickles bytes
# through a codecs reduce (slow) and zlib costs ~17 µs a call whatever the size, which for the
# many one-posting terms of a bigram field is most of the write time.  Readers unpickle any
# protocol and read the compression level from each block, so these are free choices.
FAST = {"protocol": 4, "compress_min": 512}
WHOOSH_IDENTICAL = {"protocol": 2, "compress_min": 0, "exact": True}


@dataclass
class FieldPostings:
    """One field of one document: its unique terms and their weights and encoded values."""

    terms: list[bytes]
    weights: array  # array("d"), one per term
    values: bytes  # the terms' encoded values, concatenated
    value_lens: array  # array("I"), one per term

    def __getstate__(self) -> tuple:
        # The terms travel from the worker as one NUL-joined bytes object: pickling a list of
        # thousands of small bytes objects cost more than the whole rest of the document.
        joined = b"\x00".join(self.terms)
        if self.terms and joined.count(b"\x00") == len(self.terms) - 1:
            return (joined, len(self.terms), self.weights, self.values, self.value_lens)
        return (self.terms, -1, self.weights, self.values, self.value_lens)

    def __setstate__(self, state: tuple) -> None:
        terms, n, self.weights, self.values, self.value_lens = state
        self.terms = terms.split(b"\x00") if n >= 0 else terms


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


def _gram_postings(gc: GramCodes, weight_per_occurrence: float) -> FieldPostings:
    """Bigram postings with positions, all with numpy.

    Each value is what ``formats.Positions.decode_positions`` reads: a 4-byte
    count, then a pickle of the position gaps (protocol 3: EMPTY_LIST, MARK, a
    BININT per gap, APPENDS, STOP), written for every term of the document in
    one pass instead of one ``pickle.dumps`` per term.
    """
    u = gc.points.astype(np.uint64)
    codes = (u[:-1] << np.uint64(21)) | u[1:]
    n = len(codes)
    order = np.argsort(codes, kind="stable")  # positions ascending within a bigram
    sc = codes[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sc[1:] != sc[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, n))
    gaps = order.astype(np.int64)
    prev = np.empty(n, dtype=np.int64)
    prev[0] = 0
    prev[1:] = gaps[:-1]
    gaps = gaps - prev
    gaps[starts] = order[starts]
    nterms = len(starts)
    vlens = 10 + 5 * counts
    toff = np.zeros(nterms, dtype=np.int64)
    np.cumsum(vlens[:-1], out=toff[1:])
    out = np.empty(int(vlens.sum()), dtype=np.uint8)
    head = np.empty((nterms, 8), dtype=np.uint8)
    head[:, :4] = counts.astype(">u4").view(np.uint8).reshape(nterms, 4)
    head[:, 4:] = (0x80, 3, ord("]"), ord("("))
    out[toff[:, None] + np.arange(8)] = head
    term_of = np.repeat(np.arange(nterms), counts)
    j = np.arange(n) - starts[term_of]
    poff = toff[term_of] + 8 + 5 * j
    rec = np.empty((n, 5), dtype=np.uint8)
    rec[:, 0] = ord("J")
    rec[:, 1:] = gaps.astype("<i4").view(np.uint8).reshape(n, 4)
    out[poff[:, None] + np.arange(5)] = rec
    tail = toff + 8 + 5 * counts
    out[tail] = ord("e")
    out[tail + 1] = ord(".")
    uc = sc[starts]
    pairs = np.empty((nterms, 3), dtype=np.uint32)
    pairs[:, 0] = (uc >> np.uint64(21)).astype(np.uint32)
    pairs[:, 1] = (uc & np.uint64(0x1FFFFF)).astype(np.uint32)
    pairs[:, 2] = 0x20
    text = pairs.tobytes()[:-4].decode("utf-32-le", "surrogatepass")
    terms = text.encode("utf-8", "surrogatepass").split(b" ")
    weights = array("d")
    weights.frombytes((counts * weight_per_occurrence).astype(np.float64).tobytes())
    lens = array("I")
    lens.frombytes(vlens.astype(np.uint32).tobytes())
    return FieldPostings(terms, weights, out.tobytes(), lens)


def _encode_all(words: list[str]) -> list[bytes]:
    """UTF-8 of many short strings: one encode and one split instead of one encode each."""
    joined = "\x00".join(words)
    if not words or joined.count("\x00") != len(words) - 1:
        return [w.encode("utf-8") for w in words]
    return joined.encode("utf-8").split(b"\x00")


def _encode_positions(poslist: list[int]) -> bytes:
    """``formats.Positions.encode``: a count, then the pickled position deltas."""
    deltas = [poslist[0]]
    deltas += [b - a for a, b in zip(poslist, poslist[1:])]
    return pack_uint(len(deltas)) + dumps(deltas, 2)


def _postings_of(fieldobj, value: Any, boost: float) -> FieldPostings:
    """What ``fieldobj.index(value)`` gives, in flat arrays; fast paths for token lists."""
    fmt = fieldobj.format
    ftype = type(fmt)
    if isinstance(value, GramCodes):
        if ftype is formats.Positions and len(value.points) > 1:
            return _gram_postings(value, fmt.field_boost * boost)
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
        return FieldPostings(terms, weights, ns.astype(">u4").tobytes(), array("I", [4]) * len(ns))
    if isinstance(value, (list, tuple)) and ftype is formats.Positions:
        poses: dict[str, list[int]] = {}
        for i, t in enumerate(value):
            p = poses.get(t)
            if p is None:
                poses[t] = [i]
            else:
                p.append(i)
        terms = [t.encode("utf-8") for t in poses]
        vals = [_encode_positions(p) for p in poses.values()]
        return FieldPostings(terms, array("d", [len(p) * fmt.field_boost * boost for p in poses.values()]),
                             b"".join(vals), array("I", map(len, vals)))
    terms, weights, vals = [], array("d"), []
    for tbytes, _freq, weight, vbytes in fieldobj.index(value):
        terms.append(tbytes)
        weights.append(weight * boost)
        vals.append(vbytes or b"")
    return FieldPostings(terms, weights, b"".join(vals), array("I", map(len, vals)))


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
            fp = _postings_of(fo, value, fields.get(f"_{name}_boost", docboost))
            if fo.scorable:
                length = _length_of(fo, value, fp)
            if fp.terms:
                out.posts[name] = fp
        custom = fields.get(f"_stored_{name}", value)
        cv = None
        if fo.column_type and custom is not None:
            cv = fo.to_column_value(custom)
        out.perdoc.append((name, custom if fo.stored else None, length, cv))
    return out


def _length_of(fieldobj, value: Any, fp: FieldPostings) -> int:
    """The field length Whoosh records: the number of tokens (sum of frequencies)."""
    if isinstance(value, GramCodes):
        return max(0, len(value.points) - 1) if len(value.points) > 1 else len(value.points)
    if isinstance(value, (list, tuple)) and type(fieldobj.format) in (formats.Frequency, formats.Positions):
        return len(value)
    return sum(freq for _t, freq, _w, _v in fieldobj.index(value))


class _FieldBuffer:
    """The postings of one field in the segment being built, as flat arrays."""

    __slots__ = ("vocab", "terms", "tid", "doc", "weight", "vlen", "values")

    def __init__(self) -> None:
        self.vocab: dict[bytes, int] = {}
        self.terms: list[bytes] = []
        self.tid = array("I")
        self.doc = array("I")
        self.weight = array("d")
        self.vlen = array("I")
        self.values = bytearray()

    def add(self, docnum: int, fp: FieldPostings) -> None:
        vocab, terms = self.vocab, self.terms
        ids = list(map(vocab.get, fp.terms))  # known terms: one C-level pass
        if None in ids:
            for j, i in enumerate(ids):
                if i is None:
                    t = fp.terms[j]
                    i = vocab.get(t)
                    if i is None:
                        i = vocab[t] = len(terms)
                        terms.append(t)
                    ids[j] = i
        self.tid.extend(ids)
        self.doc.extend(array("I", [docnum]) * len(ids))
        self.weight.extend(fp.weights)
        self.vlen.extend(fp.value_lens)
        self.values += fp.values

    def nbytes(self) -> int:
        """Memory held, roughly: 24 bytes per posting, its value, about 100 bytes per distinct term."""
        return len(self.tid) * 24 + len(self.values) + len(self.terms) * 100


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

    def __init__(self, ix, segment_mb: int | None = None, block_format: dict | None = None, **kwargs: Any):
        kwargs.setdefault("compound", False)  # big segments: do not copy every file into one at commit
        super().__init__(ix, **kwargs)
        self._limitmb = kwargs.get("limitmb", 128)
        self._budget = segment_mb * 1024 * 1024 if segment_mb else _segment_budget()
        self._buffers: dict[str, _FieldBuffer] = {}
        self._buffered = 0
        self._done: list = []  # segments finished during this run, committed with the last one
        self._ix = ix
        self._block_format = dict(block_format or FAST)
        self.on_segment: Callable[[int], None] | None = None  # told the doc count of each finished segment

    # -- adding ----------------------------------------------------------------------------
    def add_document(self, **fields: Any) -> None:
        self.add_prepared(prepare(self.schema, fields))

    def add_prepared(self, prep: Prepared) -> None:
        self._check_state()
        docnum = self.docnum
        pdw = self.perdocwriter
        schema = self.schema
        pdw.start_doc(docnum)
        for name, sv, length, cv in prep.perdoc:
            fo = schema[name]
            pdw.add_field(name, fo, sv, length)
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
        if self._buffered >= self._budget:
            self._roll()

    def _roll(self) -> None:
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

    # -- writing ---------------------------------------------------------------------------
    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        pdr = self.per_document_reader()
        try:
            self._pool_to_buffers()
            fw = self.fieldwriter
            fw._tindex._write_hashes = types.MethodType(_write_hashes, fw._tindex)
            for name in sorted(self._buffers):
                buf = self._buffers[name]
                if len(buf.tid):
                    write = _write_field_exact if self._block_format.get("exact") else _write_field_fast
                    write(fw, name, self.schema[name], buf, pdr, self.docnum,
                          protocol=self._block_format["protocol"], compress_min=self._block_format["compress_min"])
            fw.close()
        finally:
            pdr.close()
        self._buffers = {}
        self._buffered = 0

    def _pool_to_buffers(self) -> None:
        """Postings from merged segments (``add_reader``) join the buffers, after this run's documents."""
        for fieldname, btext, docnum, weight, vbytes in self.pool.iter_postings():
            buf = self._buffers.get(fieldname)
            if buf is None:
                buf = self._buffers[fieldname] = _FieldBuffer()
            vbytes = vbytes or b""
            buf.add(docnum, FieldPostings([btext], array("d", [weight]), vbytes, array("I", [len(vbytes)])))

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
    """Per-document field length as Whoosh's posting writer sees it (the byte-quantised value)."""
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

    Block statistics (maximum weight, minimum and maximum field length, last
    id), term statistics (weight, document frequency, first and last id) and
    the term-info records are array operations; for the usual term, whose
    postings fit in one block, the loop only pickles the block's data tuple.
    Terms with more than one block go through the one-term-at-a-time writer's
    logic.  ``tests/test_fastwrite.py`` compares postings, term statistics and
    block statistics with Whoosh's own writer.
    """
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None
    if fixed is None and len(buf.vlen) and not np.frombuffer(buf.vlen, dtype=np.uint32).all():
        # a format with optional values (empty ones are left out of a block): the exact writer
        _write_field_exact(fw, fieldname, fieldobj, buf, pdr, ndocs, protocol=protocol, compress_min=compress_min)
        return
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    tfile = tindex.dbfile

    terms = buf.terms
    nterms = len(terms)
    order = sorted(range(nterms), key=terms.__getitem__)
    if order and tindex.lastkey and fid + terms[order[0]] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    order_a = np.asarray(order, dtype=np.int64)
    rank = np.empty(nterms, dtype=np.int64)
    rank[order_a] = np.arange(nterms)
    tid = np.frombuffer(buf.tid, dtype=np.uint32)
    perm = np.argsort(rank[tid], kind="stable")  # by term, documents ascending within a term
    counts = np.bincount(tid, minlength=nterms)[order_a].astype(np.int64)
    del tid, rank
    starts = np.zeros(nterms, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    ends_a = starts + counts

    doc_s = np.frombuffer(buf.doc, dtype=np.uint32)[perm].astype(np.int64)
    w64 = np.frombuffer(buf.weight, dtype=np.float64)[perm]
    w32 = w64.astype(np.float32).astype(np.float64)  # as kept in a block's array("f")
    if fieldobj.scorable:
        lens = _field_lengths(pdr, fieldname, ndocs)[doc_s]
    else:
        lens = np.zeros(len(doc_s), dtype=np.int64)
    lens_all = lens
    lb = _length_bytes(lens)
    lb_min = np.where(lens > 0, lb, 256)  # a zero length does not count for the minimum
    vlen = np.frombuffer(buf.vlen, dtype=np.uint32).astype(np.int64)
    vstart = (np.cumsum(vlen) - vlen)[perm]
    vlen = vlen[perm]
    del perm
    buf.tid, buf.doc, buf.weight, buf.vlen = array("I"), array("I"), array("d"), array("I")  # sorted copies made

    # term statistics (W3TermInfo.add_block over all blocks)
    t_weight = np.add.reduceat(w32, starts) if nterms else np.zeros(0)
    t_maxw = np.maximum(np.maximum.reduceat(w64, starts), 0) if nterms else np.zeros(0)
    t_minb = np.minimum.reduceat(lb_min, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minb = np.where(t_minb > 255, 0, t_minb)
    t_maxb = np.maximum.reduceat(lb, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minid = doc_s[starts] if nterms else np.zeros(0, dtype=np.int64)
    t_maxid = doc_s[ends_a - 1] if nterms else np.zeros(0, dtype=np.int64)
    # ids as stored: the first absolute, then gaps (delta_encode restarts in every block)
    gaps = np.empty_like(doc_s)
    if len(doc_s):
        gaps[0] = doc_s[0]
        gaps[1:] = doc_s[1:] - doc_s[:-1]
        gaps[starts] = doc_s[starts]
    one_block = counts <= BLOCK
    # weights as stored: None when all 1.0, one number when all equal, else the tuple
    w_min = np.minimum.reduceat(w32, starts) if nterms else np.zeros(0)
    w_max = np.maximum.reduceat(w32, starts) if nterms else np.zeros(0)
    w_kind = np.where((w_min == 1.0) & (w_max == 1.0), 0, np.where(w_min == w_max, 1, 2)).tolist()
    info = _info_records(counts, t_maxid, t_maxw, t_minb, t_maxb)

    starts_l = starts.tolist()
    ends_l = ends_a.tolist()
    one_l = one_block.tolist()
    w0_l = w32[starts].tolist() if nterms else []
    del lens, lb, lb_min
    values = bytes(buf.values)
    buf.values = bytearray()  # the copy above is the one used: let the buffer go

    compress = zlib.compress
    pack_block_len = _BLOCK_LEN.pack
    pbase = postfile.tell()
    pbuf = bytearray()
    offsets = np.empty(nterms, dtype=np.int64)
    extents = np.empty(nterms, dtype=np.int64)
    k = 0
    while k < nterms:
        # Per-posting Python lists only for a chunk of terms (~_CHUNK postings): a list of Python
        # ints costs ~36 bytes a posting, too much for a whole segment at once.
        p0 = starts_l[k]
        k1 = int(np.searchsorted(ends_a, p0 + _CHUNK, side="right"))
        k1 = max(k1, k + 1)
        p1 = ends_l[k1 - 1]
        gaps_l = gaps[p0:p1].tolist()
        w32_l = w32[p0:p1].tolist()
        vstart_l = vstart[p0:p1].tolist()
        vlen_l = vlen[p0:p1].tolist()
        exact_term = None
        if not all(one_l[k:k1]):
            exact_term = _ExactTerm(doc_s[p0:p1].tolist(), w64[p0:p1].tolist(), w32_l,
                                    lens_all[p0:p1].tolist(), vstart_l, vlen_l, values, fixed, protocol,
                                    compress_min)
        for k in range(k, k1):
            s = starts_l[k] - p0
            e = ends_l[k] - p0
            startoffset = pbase + len(pbuf)
            if one_l[k]:
                kind = w_kind[k]
                mini_w = None if kind == 0 else (w0_l[k] if kind == 1 else tuple(w32_l[s:e]))
                if fixed == 0:
                    mini_v = None
                elif fixed:
                    mini_v = b"".join([values[a:a + n] for a, n in zip(vstart_l[s:e], vlen_l[s:e])])
                elif e - s == 1:
                    a = vstart_l[s]
                    mini_v = (values[a:a + vlen_l[s]],)
                else:
                    mini_v = tuple([values[a:a + n] for a, n in zip(vstart_l[s:e], vlen_l[s:e])])
                data = dumps((tuple(gaps_l[s:e]), mini_w, mini_v), protocol)
                if len(data) >= compress_min:  # the info record says 0: keep small blocks uncompressed
                    data_info = _info_with_comp(info[k * 39:(k + 1) * 39])
                    data = compress(data, COMPRESSION)
                else:
                    data_info = info[k * 39:(k + 1) * 39]
                pbuf += _PACK_BLOCK_HEAD
                pbuf += pack_block_len(-(39 + len(data)))
                pbuf += data_info
                pbuf += data
            else:
                pbuf += exact_term.blocks(s, e)
            offsets[k] = startoffset
            extents[k] = pbase + len(pbuf) - startoffset
            if len(pbuf) > _FLUSH_BYTES:
                postfile.write(bytes(pbuf))
                pbase += len(pbuf)
                pbuf = bytearray()
        k = k1
        del gaps_l, w32_l, vstart_l, vlen_l, exact_term
    postfile.write(bytes(pbuf))
    del pbuf

    ti = np.zeros(nterms, dtype=_TERMINFO_DTYPE)
    ti["weight"], ti["df"], ti["minb"], ti["maxb"] = t_weight, counts, t_minb, t_maxb
    ti["maxw"], ti["minid"], ti["maxid"], ti["offset"], ti["length"] = t_maxw, t_minid, t_maxid, offsets, extents
    tinfo = ti.tobytes()
    size = _TERMINFO_DTYPE.itemsize
    del ti
    # OrderedHashWriter.add for every term, in key order
    tbase = tfile.tell()
    tbuf = bytearray()
    buckets = tindex.buckets
    index_append = tindex.index.append
    head = _HASH_LENGTHS.pack
    key = tindex.lastkey
    for k, t in enumerate(order):
        key = fid + terms[t]
        pos = tbase + len(tbuf)
        index_append(pos)
        tbuf += head(len(key), size)
        tbuf += key
        tbuf += tinfo[k * size:(k + 1) * size]
        h = int.from_bytes(md5(key).digest()[12:], "big")  # filetables.md5_hash
        buckets[h & 255].append((h, pos))
        if len(tbuf) > _FLUSH_BYTES:
            tfile.write(bytes(tbuf))
            tbase += len(tbuf)
            tbuf = bytearray()
    tfile.write(bytes(tbuf))
    tindex.lastkey = key
    fw.finish_field()


def _info_with_comp(rec: bytes) -> bytes:
    """A 39-byte info record with the compression level set (the BININT after the weight)."""
    b = bytearray(rec)
    at = _INFO_DTYPE.fields["comp"][1]
    b[at:at + 4] = COMPRESSION.to_bytes(4, "little")
    return bytes(b)


class _ExactTerm:
    """Blocks of one term with more than ``BLOCK`` postings, exactly as ``W3PostingsWriter`` splits them."""

    def __init__(self, docs, weights, weights32, lens, vstart, vlen, values, fixed, protocol, compress_min):
        self.docs, self.weights, self.weights32, self.lens = docs, weights, weights32, lens
        self.vstart, self.vlen, self.values, self.fixed = vstart, vlen, values, fixed
        self.protocol, self.compress_min = protocol, compress_min

    def blocks(self, start: int, end: int) -> bytes:
        out = bytearray(_PACK_BLOCK_HEAD)
        docs, fixed, values = self.docs, self.fixed, self.values
        b0 = start
        while b0 < end:
            b1 = min(b0 + BLOCK, end)
            ids = docs[b0:b1]
            ws = self.weights32[b0:b1]
            ls = self.lens[b0:b1]
            maxw = max(self.weights[b0:b1])
            if maxw <= 0:
                maxw = 0
            nz = [x for x in ls if x]
            minlen = min(nz) if nz else None
            maxlen = max(ls)
            w0 = ws[0]
            if all(w == 1.0 for w in ws):
                mini_w = None
            elif all(w == w0 for w in ws):
                mini_w = w0
            else:
                mini_w = tuple(ws)
            if fixed == 0:
                mini_v = None
            else:
                vs = [values[a:a + n] for a, n in zip(self.vstart[b0:b1], self.vlen[b0:b1]) if n]
                mini_v = b"".join(vs) if fixed else tuple(vs)
            mini_ids = tuple([ids[0]] + [b - a for a, b in zip(ids, ids[1:])])
            data = dumps((mini_ids, mini_w, mini_v), self.protocol)
            comp = 0
            if len(data) >= self.compress_min:
                comp = COMPRESSION
                data = zlib.compress(data, COMPRESSION)
            info = dumps((b1 - b0, ids[-1], maxw, comp, length_to_byte(minlen), length_to_byte(maxlen)),
                         self.protocol)
            blen = len(info) + len(data)
            out += _BLOCK_LEN.pack(-blen if b1 >= end else blen)
            out += info
            out += data
            b0 = b1
        return bytes(out)


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
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    tfile = tindex.dbfile
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None

    terms = buf.terms
    order = sorted(range(len(terms)), key=terms.__getitem__)
    if order and tindex.lastkey and fid + terms[order[0]] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    rank = np.empty(len(terms), dtype=np.int64)
    rank[order] = np.arange(len(terms))
    tid = np.frombuffer(buf.tid, dtype=np.uint32)
    perm = np.argsort(rank[tid], kind="stable")  # by term, documents ascending within a term
    counts = np.bincount(tid, minlength=len(terms))[order]
    del tid, rank
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
    pack_lengths = _HASH_LENGTHS.pack
    pack_info = _TERMINFO.pack
    l2b = length_to_byte
    pbase = postfile.tell()
    pbuf = bytearray()
    tbase = tfile.tell()
    tbuf = bytearray()
    buckets = tindex.buckets
    index_append = tindex.index.append
    key = tindex.lastkey

    start = 0
    for k, t in enumerate(order):
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
        # OrderedHashWriter.add
        key = fid + terms[t]
        pos = tbase + len(tbuf)
        index_append(pos)
        tbuf += pack_lengths(len(key), len(value))
        tbuf += key
        tbuf += value
        h = int.from_bytes(md5(key).digest()[12:], "big")  # filetables.md5_hash
        buckets[h & 255].append((h, pos))
        start = end
        if len(pbuf) > _FLUSH_BYTES:
            postfile.write(bytes(pbuf))
            pbase += len(pbuf)
            pbuf = bytearray()
        if len(tbuf) > _FLUSH_BYTES:
            tfile.write(bytes(tbuf))
            tbase += len(tbuf)
            tbuf = bytearray()
    postfile.write(bytes(pbuf))
    tfile.write(bytes(tbuf))
    tindex.lastkey = key
    fw.finish_field()


__all__ = ["BulkWriter", "FieldPostings", "Prepared", "prepare", "byte_to_length"]
