"""A segment written in runs: postings spilled to disk when the buffer is full, merged once at the end.

Why: an indexing worker's memory holds one buffer of postings (its budget), so
it used to finish a *segment* every time the buffer filled: at 100,000 reports,
63 segments.  Every query then looked each of its terms up in every segment
and decoded 63 short posting lists per term, which was most of a first query's
time (``docs/performance.md``).  Now a full buffer is written as a **run**: the
same posting blocks the segment would get (``indexer.engine.blocks.write_field_fast``),
into a file of its own, with a table of its terms.  The writer's document
numbers go on across runs, and when the writer finishes, its runs are merged
into **one** segment, term range by term range, in bounded memory.

The merge does not decode or re-encode any posting.  A Whoosh posting block
holds its first document number absolute and the others as gaps, so the blocks
of one term in run 1 (documents 0–999), then in run 2 (1,000–1,999)… are that
term's posting list as it is.  Per term, the merge copies each run's bytes in
run order, drops the ``W3Bl`` header of every piece but the first and turns the
"last block" mark (a negative block length) of every piece but the last into
an ordinary one; the term's statistics combine (sums, minima, maxima, first and
last document).  Only a run's last block of a term may hold fewer than 128
postings; every reader (Whoosh's and ``indexer.engine.postings``) takes each
block's count from its header.  ``tests/engine/test_spilled_runs.py`` compares every term of a
spilled segment with the same documents written at once.

Files: ``runs-<segment id>.tmp/`` in the index folder (not in ``/tmp``, which may be
memory): per run ``<k>.pst`` (all fields' blocks) and, per field, ``<k>.<field>.rec``
(:data:`RUN_DTYPE` rows in key order), ``.koff`` (int64 offsets) and ``.keys``
(the terms, joined).  The folder is removed when the segment is finished or
the writer is cancelled.
"""
from __future__ import annotations

import os
import shutil
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh.system import pack_ushort

from .blocks import add_term_records, write_field_fast
from .format import FAST, TERMINFO_DTYPE

# One term in one run: its statistics as blocks.write_field_fast computes them, where its blocks are
# in the run's file, and where its last block's length is (relative to the term's first byte).
RUN_DTYPE = np.dtype([("weight", "<f8"), ("df", "<i8"), ("minb", "<i2"), ("maxb", "<i2"), ("maxw", "<f8"),
                      ("minid", "<i8"), ("maxid", "<i8"), ("off", "<i8"), ("length", "<i8"), ("lastoff", "<i8")])
PART_BYTES = 256 * 1024  # a field's key space is cut where its first run has written this many block bytes
RANGE_BYTES = 16 * 1024 * 1024  # block bytes merged at a time (all runs): bounds the merge's memory
RUNS_PREFIX = "runs-"
RUNS_SUFFIX = ".tmp"


class FieldLengths:
    """Each document's raw field lengths, kept by a spilling writer.

    A run's blocks carry the minimum and maximum length byte of their documents,
    which the writer reads from its per-document reader when it finishes a
    segment; a spilling writer's per-document writer stays open until the end.
    The raw length quantises to the byte Whoosh stores (``length_to_byte``), so
    ``indexer.engine.blocks._field_lengths`` uses these as they are.
    """

    def __init__(self) -> None:
        self._lens: dict[str, array] = {}

    def add(self, docnum: int, fieldname: str, length: int) -> None:
        arr = self._lens.get(fieldname)
        if arr is None:
            arr = self._lens[fieldname] = array("I")
        if len(arr) < docnum:
            arr.frombytes(bytes(4 * (docnum - len(arr))))
        arr.append(min(int(length), 0xFFFFFFFF))

    def lengths_of(self, fieldname: str, ndocs: int) -> np.ndarray:
        out = np.zeros(ndocs, dtype=np.int64)
        arr = self._lens.get(fieldname)
        if arr is not None:
            a = np.frombuffer(arr, dtype=np.uint32)[:ndocs]
            out[:len(a)] = a
        return out


@dataclass
class FieldTable:
    """One field of one run: its term table's files, and where each partition of the key space starts."""

    path: str  # the table files' common prefix (``<dir>/<k>.<field>``)
    pst: str  # the run's block file
    part: np.ndarray  # row at which partition p starts (P + 1 entries, the last = rows)
    pbyte: np.ndarray  # byte of the run file at which partition p starts (P + 1 entries)


class _RunSink:
    """What ``blocks.write_field_fast`` writes a run through: a posting file, no terms index, a table collector."""

    _tindex = None
    _fieldid = 0

    def __init__(self, runs: RunSet, k: int, postfile):
        self._runs, self._k, self._postfile = runs, k, postfile
        self._name = ""

    def start_field(self, fieldname: str, fieldobj: Any) -> None:
        self._name = fieldname

    def finish_field(self) -> None:
        pass

    def collect(self, keys: list[bytes], weight, df, minb, maxb, maxw, minid, maxid, off, length, lastoff) -> None:
        rec = np.zeros(len(keys), dtype=RUN_DTYPE)
        rec["weight"], rec["df"], rec["minb"], rec["maxb"], rec["maxw"] = weight, df, minb, maxb, maxw
        rec["minid"], rec["maxid"], rec["off"], rec["length"], rec["lastoff"] = minid, maxid, off, length, lastoff
        self._runs.add_table(self._name, self._k, keys, rec, self._postfile.tell())


@dataclass
class RunSet:
    """The runs of one segment being written (see the module docstring)."""

    folder: str
    segment_id: str
    nruns: int = 0
    bounds: dict[str, list[bytes]] = field(default_factory=dict)  # per field: partition boundaries
    tables: dict[str, list[FieldTable]] = field(default_factory=dict)  # per field: its runs, in run order

    @property
    def dir(self) -> str:
        return os.path.join(self.folder, f"{RUNS_PREFIX}{self.segment_id}{RUNS_SUFFIX}")

    def spill(self, buffers: dict, schema, lengths: FieldLengths, ndocs: int) -> None:
        """Write the buffered postings of every field as the next run (the buffers are emptied)."""
        os.makedirs(self.dir, exist_ok=True)
        k = self.nruns
        pst = os.path.join(self.dir, f"{k}.pst")
        with open(pst, "wb") as f:
            sink = _RunSink(self, k, f)
            for name in sorted(buffers):
                buf = buffers[name]
                if len(buf):
                    write_field_fast(sink, name, schema[name], buf, lengths, ndocs,
                                      protocol=FAST["protocol"], compress_min=FAST["compress_min"])
        self.nruns += 1

    def add_table(self, name: str, k: int, keys: list[bytes], rec: np.ndarray, end: int) -> None:
        """Store one field's table of run ``k`` (``end``: the run file's size after the field's blocks)."""
        n = len(keys)
        bounds = self.bounds.get(name)
        if bounds is None:  # the field's first run cuts its key space (later runs are alike: random reports)
            cum = rec["off"] + rec["length"] - (rec["off"][0] if n else 0)
            at = np.unique(np.searchsorted(cum, np.arange(PART_BYTES, int(cum[-1]) if n else 0, PART_BYTES)))
            bounds = self.bounds[name] = [keys[i] for i in at.tolist() if 0 < i < n]
        part = np.array([0] + [bisect_left(keys, b) for b in bounds] + [n], dtype=np.int64)
        pbyte = np.append(rec["off"], end)[part] if n else np.full(len(part), end, dtype=np.int64)
        path = os.path.join(self.dir, f"{k}.{name}")
        koff = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, keys), dtype=np.int64, count=n), out=koff[1:])
        rec.tofile(path + ".rec")
        koff.tofile(path + ".koff")
        with open(path + ".keys", "wb") as f:
            f.write(b"".join(keys))
        self.tables.setdefault(name, []).append(
            FieldTable(path=path, pst=os.path.join(self.dir, f"{k}.pst"), part=part, pbyte=pbyte))

    def merge_into(self, fw, schema) -> None:
        """Write every spilled field into ``fw`` (the segment's field writer), in field order."""
        for name in sorted(self.tables):
            merge_field(fw, name, schema[name], self.tables[name])

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def remove_stale(folder: str) -> None:
    """Delete run folders left in an index folder by a writer that died (call only under the index's lock)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(RUNS_PREFIX) and name.endswith(RUNS_SUFFIX):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _pread_array(fd: int, dtype, start: int, count: int) -> np.ndarray:
    dt = np.dtype(dtype)
    data = os.pread(fd, count * dt.itemsize, start * dt.itemsize)
    return np.frombuffer(data, dtype=dt)


def merge_field(fw, name: str, fieldobj, tables: list[FieldTable]) -> None:
    """One field's runs → its postings and term records in the segment, a range of partitions at a time."""

    fw.start_field(name, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    nparts = len(tables[0].part) - 1
    part_bytes = sum(np.diff(t.pbyte) for t in tables)
    fds = {}
    try:
        for t in tables:
            for ext in (".rec", ".koff", ".keys"):
                fds[t.path + ext] = os.open(t.path + ext, os.O_RDONLY)
            if t.pst not in fds:
                fds[t.pst] = os.open(t.pst, os.O_RDONLY)
        p0 = 0
        while p0 < nparts:
            p1, size = p0 + 1, int(part_bytes[p0])
            while p1 < nparts and size + int(part_bytes[p1]) <= RANGE_BYTES:
                size += int(part_bytes[p1])
                p1 += 1
            _merge_range(postfile, tindex, fid, tables, fds, p0, p1)
            p0 = p1
    finally:
        for fd in fds.values():
            os.close(fd)
    fw.finish_field()


_FIXED_MAX = 48  # keys up to this many bytes are merged as a fixed-width numpy array


def _union(blobs: list[bytes], offs: list[np.ndarray]) -> tuple[list[bytes], list[np.ndarray]]:
    """The sorted union of several sorted key lists (each one ``blob`` cut at ``off``), and the
    position in it of each list's keys.

    As fixed-width byte strings in numpy (one sort of all keys, no Python object per key
    but the union's) when no key holds a NUL byte (numpy's ``S`` type pads with NULs,
    which would make ``b"a"`` and ``b"a\\0"`` one key) and none is long; else with a set
    and a dict.
    """
    lens = [np.diff(o) for o in offs]
    width = max((int(x.max()) for x in lens if len(x)), default=0)
    if 0 < width <= _FIXED_MAX and not any(b"\0" in b for b in blobs):
        n = sum(len(x) for x in lens)
        mat = np.zeros((n, width), dtype=np.uint8)
        row0 = 0
        for blob, o, ln in zip(blobs, offs, lens):
            if not len(ln):
                continue
            rows = np.repeat(np.arange(row0, row0 + len(ln)), ln)
            cols = np.arange(len(blob), dtype=np.int64) - np.repeat(o[:-1], ln)
            mat[rows, cols] = np.frombuffer(blob, dtype=np.uint8)
            row0 += len(ln)
        keys = mat.view(f"S{width}").reshape(-1)
        uniq, inv = np.unique(keys, return_inverse=True)
        bounds = np.cumsum([0] + [len(x) for x in lens])
        return uniq.tolist(), [inv[bounds[i]:bounds[i + 1]].astype(np.int64) for i in range(len(lens))]
    keys_of = []
    for blob, o in zip(blobs, offs):
        ol = o.tolist()
        keys_of.append([blob[ol[i]:ol[i + 1]] for i in range(len(ol) - 1)])
    present = [ks for ks in keys_of if ks]
    if len(present) == 1:
        union = present[0]
        return union, [np.arange(len(ks), dtype=np.int64) if ks else np.zeros(0, np.int64) for ks in keys_of]
    seen: set[bytes] = set()
    for ks in present:
        seen.update(ks)
    union = sorted(seen)
    where = {k: j for j, k in enumerate(union)}
    return union, [np.fromiter(map(where.__getitem__, ks), dtype=np.int64, count=len(ks)) for ks in keys_of]


def _merge_range(postfile, tindex, fid: bytes, tables: list[FieldTable], fds: dict, p0: int, p1: int) -> None:

    blobs: list[bytes] = []
    offs: list[np.ndarray] = []
    recs, chunks = [], []
    for t in tables:
        a, b = int(t.part[p0]), int(t.part[p1])
        if a == b:
            blobs.append(b"")
            offs.append(np.zeros(1, dtype=np.int64))
            recs.append(np.zeros(0, dtype=RUN_DTYPE))
            chunks.append(b"")
            continue
        ko = _pread_array(fds[t.path + ".koff"], np.int64, a, b - a + 1)
        blobs.append(os.pread(fds[t.path + ".keys"], int(ko[-1] - ko[0]), int(ko[0])))
        offs.append(ko - ko[0])
        recs.append(_pread_array(fds[t.path + ".rec"], RUN_DTYPE, a, b - a))
        lo, hi = int(t.pbyte[p0]), int(t.pbyte[p1])
        chunks.append(os.pread(fds[t.pst], hi - lo, lo))
    if not any(len(r) for r in recs):
        return
    union, uidx = _union(blobs, offs)
    if tindex.lastkey and fid + union[0] <= tindex.lastkey:
        raise ValueError("runs' terms must be merged in increasing key order")

    # the pieces (one term in one run), by term, then run (= document) order
    u = np.concatenate(uidx)
    run = np.concatenate([np.full(len(x), i, dtype=np.int64) for i, x in enumerate(uidx)])
    rec = np.concatenate(recs)
    base = np.zeros(len(tables), dtype=np.int64)
    np.cumsum([len(c) for c in chunks[:-1]], out=base[1:])
    src = bytearray(b"".join(chunks))  # writable: the block lengths to flip are flipped in place
    lo_byte = np.array([int(t.pbyte[p0]) for t in tables], dtype=np.int64)
    order = np.lexsort((run, u))
    u, run, rec = u[order], run[order], rec[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = u[1:] != u[:-1]
    last = np.ones(len(u), dtype=bool)
    last[:-1] = first[1:]
    strip = (~first).astype(np.int64) * 4  # a later piece of a term loses its W3Bl header
    start = base[run] + rec["off"] - lo_byte[run] + strip
    plen = rec["length"] - strip
    dest = np.cumsum(plen) - plen
    inner = ~last  # a piece followed by another: its last block is not the term's last any more
    if inner.any():
        buf = np.frombuffer(src, dtype=np.uint8)
        at = (start - strip + rec["lastoff"])[inner][:, None] + np.arange(4)
        blen = buf[at].copy().view(">i4").reshape(-1)
        if (blen >= 0).any():
            raise ValueError("a run's block layout is not the one expected (last block length not negative)")
        buf[at] = (-blen).astype(">i4").view(np.uint8).reshape(-1, 4)
        del buf

    fs = np.flatnonzero(first)
    n = len(fs)
    ti = np.zeros(n, dtype=TERMINFO_DTYPE)
    ti["weight"] = np.add.reduceat(rec["weight"], fs)
    ti["df"] = np.add.reduceat(rec["df"], fs)
    minb = np.minimum.reduceat(np.where(rec["minb"] == 0, 256, rec["minb"]), fs)
    ti["minb"] = np.where(minb > 255, 0, minb)
    ti["maxb"] = np.maximum.reduceat(rec["maxb"], fs)
    ti["maxw"] = np.maximum.reduceat(rec["maxw"], fs)
    ti["minid"] = rec["minid"][fs]
    ti["maxid"] = rec["maxid"][last]
    ti["offset"] = postfile.tell() + dest[fs]
    ti["length"] = np.add.reduceat(plen, fs)
    # the pieces joined in order; pieces adjacent in the source (one run's consecutive terms
    # that no other run has) are one slice.  Bytes slices, not a per-byte gather: pieces
    # average ~200 bytes, and an index array per byte cost a third of the merge (measured:
    # 166 MB in 875,000 pieces, 1.6 s gathered, 0.5 s sliced and joined).
    ends = start + plen
    cont = np.zeros(len(start), dtype=bool)
    cont[1:] = start[1:] == ends[:-1]
    heads = np.flatnonzero(~cont)
    tails = np.append(heads[1:] - 1, len(start) - 1)
    data = bytes(src)
    del src
    postfile.write(b"".join([data[a:b] for a, b in zip(start[heads].tolist(), ends[tails].tolist())]))
    add_term_records(tindex, fid, union, range(n), ti.tobytes(), value_size=TERMINFO_DTYPE.itemsize)
