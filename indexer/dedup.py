"""Near-duplicate grouping across the corpus, and an exact-copy key.

Near duplicates: datasketch MinHash signatures over character 5-shingles of the
normalised text (punctuation, spaces and quote styles removed, digits folded to
one symbol so "20xx年" and "2010年" agree as closely as the rest of the text
allows), candidates from datasketch's MinHashLSH, then kept only when the
signatures' estimated Jaccard similarity reaches ``threshold``; groups are the
connected components (union-find).

Speed: hashing shingles one by one in Python would dominate a 100k-document
run, so shingle hashes and the MinHash permutations are computed with numpy
(multiply-shift hashing instead of datasketch's per-item sha1), and the signature is handed to
``datasketch.MinHash(hashvalues=...)``.

datasketch itself (which imports scipy: ~0.75 s) is imported only where it is used:
:func:`minhash`, and :func:`lsh_params` for a threshold whose parameters are not in
:data:`_LSH_PARAMS` (the default's are; ``tests/meta/test_loadcache.py`` checks them against
datasketch), so an indexing run never imports it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from datasketch import MinHash

from .textnorm import nfkc

NUM_PERM = 128
SHINGLE = 5
SAMPLE_ABOVE = 2000  # shingles; longer texts are sampled 1 in 4 by hash value
_MAX_HASH = np.uint64((1 << 32) - 1)
_DROP = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"[0-9x]+")


def normalize_for_dedup(text: str) -> str:
    """NFKC, lower case, digits/'xx' placeholders folded, punctuation and spaces removed."""
    t = nfkc(text or "").lower()
    t = _DROP.sub("", t)
    return _DIGITS.sub("0", t)


def exact_key(text: str) -> str:
    """Key equal for exact copies that differ only in whitespace/width: index such copies once."""
    t = nfkc(text or "")
    t = "".join(t.split())
    return hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()


# Multiply-shift hashing h(x) = (a·x + b mod 2^64) >> 32 (Dietzfelbinger), a odd: a 2-universal
# family that numpy evaluates with native wrapping uint64 arithmetic (no slow modulo).
_RNG = np.random.RandomState(1)
_A = _RNG.randint(0, np.iinfo(np.int64).max, size=NUM_PERM, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
_B = _RNG.randint(0, np.iinfo(np.int64).max, size=NUM_PERM, dtype=np.int64).astype(np.uint64)
_B_COL = _B[:, None]
_SCHEME = "legacy"


def _shingle_hashes(norm: str) -> np.ndarray:
    """32-bit hashes of all character k-shingles (vectorised polynomial hash)."""
    if not norm:
        return np.zeros(0, dtype=np.uint64)
    cps = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    k = min(SHINGLE, len(cps))
    n = len(cps) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    for i in range(k):
        h = (h * np.uint64(1_000_003) + cps[i : i + n]) & np.uint64(0xFFFFFFFFFFFF)
    h ^= h >> np.uint64(17)
    h = (h * np.uint64(0x9E3779B1)) & _MAX_HASH
    # == np.unique(h) (sorted distinct values), but ~6× faster than numpy's hash-table unique
    # on a few thousand values
    h.sort()
    keep = np.empty(h.size, dtype=bool)
    keep[0] = True
    np.not_equal(h[1:], h[:-1], out=keep[1:])
    return h[keep]


def signature(text: str) -> np.ndarray | None:
    """MinHash signature (``NUM_PERM`` uint32 values) of a text, or None when it is too short to compare.

    The values are ``(a·x + b) >> 32`` and so fit 32 bits: stored as uint32 they
    take half the space in the ``dedup.npz`` sidecar.  This is what indexing
    workers compute, so the parent never hashes shingles.
    """
    norm = normalize_for_dedup(text)
    if len(norm) < SHINGLE:
        return None  # too short to compare meaningfully
    return _signature_of(norm)


def _signature_of(norm: str) -> np.ndarray:
    hv = _shingle_hashes(norm)
    sig = np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64)
    if hv.size > SAMPLE_ABOVE:
        # consistent sampling by hash value (the same shingles are kept in every document),
        # so Jaccard of the samples estimates Jaccard of the full sets at a quarter of the cost
        sampled = hv[(hv & np.uint64(3)) == 0]
        if sampled.size:
            hv = sampled
    for start in range(0, hv.size, 4096):  # bounded memory: 4096 × 128 at a time
        chunk = hv[start : start + 4096]
        # min((a·x + b) >> 32) == min(a·x + b) >> 32, as the shift is monotonic: shift the
        # 128 minima, not the whole matrix; in-place, so no temporary matrices either
        ph = np.multiply.outer(_A, chunk)  # one row per permutation: the min runs along rows
        ph += _B_COL
        sig = np.minimum(sig, ph.min(axis=1) >> np.uint64(32))
    return sig.astype(np.uint32)


def minhash(text: str) -> MinHash:
    """datasketch MinHash of a text's character shingles (same values as :func:`signature`)."""
    from datasketch import MinHash

    norm = normalize_for_dedup(text)
    sig = _signature_of(norm).astype(np.uint64) if norm else np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=sig, permutations=(_A, _B), scheme=_SCHEME)


# -- banding: datasketch's LSH candidate rule, vectorised ---------------------------------------

DEFAULT_THRESHOLD = 0.8
# (threshold, num_perm) → (bands, rows) as datasketch's MinHashLSH chooses them (its
# _optimal_param integrates with scipy: slow to import and to run); others are asked of it
_LSH_PARAMS = {(0.8, 128): (9, 13)}
_BAND_MUL = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=8)
def lsh_params(threshold: float = DEFAULT_THRESHOLD) -> tuple[float, int, int]:
    """``(threshold, bands, rows)`` exactly as ``datasketch.MinHashLSH`` chooses them.

    Two signatures are LSH candidates when all ``rows`` values of at least one
    band are equal; a candidate pair is a near duplicate when the share of
    equal values (datasketch's ``MinHash.jaccard``) reaches the threshold.
    """
    threshold = min(max(threshold, 0.05), 0.99)
    known = _LSH_PARAMS.get((threshold, NUM_PERM))
    if known is not None:
        return threshold, known[0], known[1]
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    return threshold, lsh.b, lsh.r


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 hash of each band of each signature.

    A hash, so equal keys are only *probably* equal bands: every candidate pair
    is checked against the band values themselves (:func:`_same_band`).
    """
    n = sigs.shape[0]
    out = np.zeros((n, bands), dtype=np.uint64)
    for b in range(bands):
        h = np.zeros(n, dtype=np.uint64)
        for c in range(b * rows, (b + 1) * rows):
            h ^= sigs[:, c]
            h *= _BAND_MUL  # wrapping uint64 arithmetic
        out[:, b] = h
    return out


def _same_band(sigs: np.ndarray, i: np.ndarray, j: np.ndarray, band: int, rows: int) -> np.ndarray:
    sl = slice(band * rows, (band + 1) * rows)
    return (sigs[i, sl] == sigs[j, sl]).all(axis=1)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the runs of ≥ 2 equal values in a sorted array."""
    if sorted_keys.size < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [sorted_keys.size]))
    keep = ends - starts >= 2
    return starts[keep], ends[keep]


def near_duplicate_edges(sigs: np.ndarray, keys: np.ndarray, threshold: float, bands: int, rows: int,
                         new_from: int = 0) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of rows that are LSH candidates and reach the threshold.

    Only pairs with at least one row ``>= new_from`` are looked at: an
    incremental run passes the number of rows whose edges are already known,
    so it compares the new rows with everything but never old rows with each
    other.  The result is the same edge set datasketch's ``MinHashLSH.query``
    plus ``MinHash.jaccard`` give (see ``tests/pipeline/test_dedup.py``).
    """
    n = sigs.shape[0]
    if n < 2 or new_from >= n:
        return []
    found: list[np.ndarray] = []
    for b in range(bands):
        col = keys[:, b]
        order = np.argsort(col, kind="stable")
        starts, ends = _runs(col[order])
        pi: list[np.ndarray] = []
        pj: list[np.ndarray] = []
        for s, e in zip(starts.tolist(), ends.tolist()):
            members = order[s:e]
            if new_from and members.max() < new_from:
                continue  # old rows only: their edges are known
            a, c = np.triu_indices(e - s, k=1)
            x, y = members[a], members[c]
            if new_from:
                sel = (x >= new_from) | (y >= new_from)
                x, y = x[sel], y[sel]
            pi.append(x)
            pj.append(y)
        if not pi:
            continue
        i = np.concatenate(pi)
        j = np.concatenate(pj)
        ok = _same_band(sigs, i, j, b, rows)
        lo, hi = np.minimum(i[ok], j[ok]), np.maximum(i[ok], j[ok])
        found.append(lo.astype(np.int64) * n + hi)
    if not found:
        return []
    pairs = np.unique(np.concatenate(found))
    i, j = pairs // n, pairs % n
    edges: list[tuple[int, int]] = []
    for start in range(0, pairs.size, 65536):
        a, c = i[start : start + 65536], j[start : start + 65536]
        equal = np.count_nonzero(sigs[a] == sigs[c], axis=1)
        # the same float comparison as datasketch's MinHash.jaccard(...) >= threshold
        sim = equal.astype(np.float64) / np.float64(NUM_PERM)
        keep = sim >= threshold
        edges.extend(zip(a[keep].tolist(), c[keep].tolist()))
    return edges


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def group_near_duplicates(texts: dict[str, str], threshold: float = DEFAULT_THRESHOLD) -> dict[str, list[str]]:
    """Map each id to the OTHER ids of its near-duplicate group (empty list if none), from scratch."""
    ids = list(texts)
    result: dict[str, list[str]] = {i: [] for i in ids}
    if len(ids) < 2:
        return result
    state = DedupState.empty()
    state.add([(i, "", "", None, signature(texts[i])) for i in ids], threshold)
    for i, others in state.groups().items():
        result[i] = others
    return result


# -- the incremental state kept beside the index ---------------------------------------------
#
# On disk: ``dedup.npz``, a *base* snapshot (an uncompressed npz, so that its big arrays are
# memory-mapped instead of read), plus ``dedup.journal``, an append-only list of the changes
# runs made since.  A one-document update used to read and rewrite the whole npz (66 MB at
# 100,000 reports: about a second); now it maps the base, reads the small journal and appends
# one small record.  The base is rewritten only when the journal or the removed rows have
# grown large relative to it, so that cost is amortised over thousands of updates.

SIDECAR_VERSION = 2  # the base format; version 1 (the whole state in one npz, no journal) is still read
JOURNAL_MAGIC = b"DJR2"
_RECORD_HEAD = struct.Struct("<4sIQI")  # magic, header bytes, body bytes, crc32 of header + body
# A journal of more records than this is rewritten as one record (replay costs per record).
MAX_JOURNAL_RECORDS = 256
# The base is rewritten when the rows added since it, or the removed rows it still holds,
# pass this share of it (or these minimum counts): the journal and the dead rows stay small.
REBASE_SHARE = 0.25
REBASE_MIN_ROWS = 4096
_TEXT_ERRORS = "surrogatepass"  # file names may hold lone surrogates (undecodable bytes)


def journal_path(path: Path) -> Path:
    """The journal beside a base file: ``dedup.npz`` → ``dedup.journal``."""
    return Path(path).with_suffix(".journal")


def _enc(strings: Iterable[str]) -> np.ndarray:
    """str → a numpy bytes array (what the sidecar stores: no Python objects to load)."""
    b = [s.encode("utf-8", _TEXT_ERRORS) for s in strings]
    return np.array(b, dtype=bytes) if b else np.zeros(0, "S1")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", _TEXT_ERRORS)


def _npz_members(path: Path) -> dict[str, tuple[int, np.dtype, tuple[int, ...], bool]]:
    """``name → (data offset, dtype, shape, fortran order)`` of every array in an uncompressed npz.

    What :func:`np.load` would read, located instead so that :class:`np.memmap` can map it
    (numpy maps a plain ``.npy`` but not a member of an ``.npz``).
    """
    out: dict[str, tuple[int, np.dtype, tuple[int, ...], bool]] = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"{info.filename}: not an uncompressed array")
            fh.seek(info.header_offset)
            local = fh.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError("bad zip local header")
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_len + extra_len
            fh.seek(start)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"npy format {version}")
            if dtype.hasobject:
                raise ValueError("object arrays are not accepted")
            offset = fh.tell()
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset - start + nbytes != info.file_size:
                raise ValueError(f"{info.filename}: size mismatch")
            out[info.filename[:-4]] = (offset, dtype, tuple(shape), fortran)
    return out


def _member(path: Path, members: dict, name: str, copy: bool = True) -> np.ndarray:
    """One array of the npz: memory-mapped (``copy=False``, read-only) or read into memory."""
    offset, dtype, shape, fortran = members[name]
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return np.zeros(shape, dtype)
    mm = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
    return np.array(mm) if copy else mm


def _pack_record(header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """One journal record: fixed head, JSON header (naming the arrays), the arrays' bytes (8-aligned)."""
    specs: dict[str, list] = {}
    body = bytearray()
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        body += b"\0" * (-len(body) % 8)
        specs[name] = [arr.dtype.str, list(arr.shape), len(body)]
        body += arr.tobytes()
    head = json.dumps({**header, "arrays": specs}, ensure_ascii=False).encode("utf-8", _TEXT_ERRORS)
    crc = zlib.crc32(body, zlib.crc32(head))
    return _RECORD_HEAD.pack(JOURNAL_MAGIC, len(head), len(body), crc) + head + bytes(body)


def _read_journal(path: Path, nonce: str, generation: int) -> tuple[list[tuple[dict, dict]], int, int]:
    """The valid records of a journal that continue base ``nonce`` at ``generation``.

    Returns ``(records, end offset of the last valid record, generation after them)``.
    Reading stops at the first record that is torn (a run killed while appending),
    fails its checksum, or does not continue the chain (written for another base,
    or out of order): what follows it is ignored and overwritten by the next append.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0, generation
    records: list[tuple[dict, dict]] = []
    pos, gen = 0, generation
    size = _RECORD_HEAD.size
    while pos + size <= len(data):
        magic, hlen, blen, crc = _RECORD_HEAD.unpack_from(data, pos)
        start = pos + size
        end = start + hlen + blen
        if magic != JOURNAL_MAGIC or end > len(data):
            break
        head_b = data[start:start + hlen]
        body = memoryview(data)[start + hlen:end]
        if zlib.crc32(body, zlib.crc32(head_b)) != crc:
            break
        try:
            header = json.loads(head_b.decode("utf-8", _TEXT_ERRORS))
            if header.get("nonce") != nonce or header.get("prev") != gen or not isinstance(header.get("gen"), int):
                break
            arrays = {}
            for name, (dstr, shape, off) in header["arrays"].items():
                dtype = np.dtype(dstr)
                if dtype.hasobject:
                    raise ValueError("object array in journal")
                count = int(np.prod(shape, dtype=np.int64))
                arrays[name] = (np.frombuffer(body, dtype=dtype, count=count, offset=off).reshape(shape)
                                if count else np.zeros(shape, dtype))
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            break
        records.append((header, arrays))
        gen = header["gen"]
        pos = end
    return records, pos, gen


@dataclass
class _Origin:
    """Where a loaded state came from, and what it was then: what ``save`` appends the difference to."""

    path: Path
    base_id: tuple[int, int, int]  # inode, size, mtime_ns of the base file when it was loaded
    base_bytes: int
    nonce: str
    generation: int  # of the state on disk (base + journal) when last loaded or saved
    journal_end: int  # bytes of valid journal records
    records: int  # their number
    n0: int  # slots then
    alive0: np.ndarray
    label0: np.ndarray
    years0: np.ndarray


class DedupState:
    """Per-document dedup data of one index generation, updated in place by each run.

    Rows ("slots") are documents; ``label[slot]`` is the row's near-duplicate
    group (-1: none).  Groups are the connected components of the near-duplicate
    graph, so a run only needs the edges that touch what it changed:

    * removed rows: each group they belonged to is split again from the edges
      among its remaining members (a group never has edges to another group);
    * added rows: edges between them and every row sharing an LSH band key with
      one of them (:func:`near_duplicate_edges` on just those rows, with
      ``new_from``), then the groups they touch are merged.

    That gives exactly the components a from-scratch grouping finds, without
    reading a single stored text (``tests/pipeline/test_dedup.py`` checks both claims).
    Text keys answer the exact-copy check, years the year sharing between
    copies, files which rows a changed file replaces.

    A removed row stays as a dead slot (``alive`` False) until the base file is
    rewritten, so that removing a document never copies the signature arrays, and
    slot numbers, which journal records refer to, stay valid.  Everything per slot
    is a numpy array (bytes for ids, keys and files): loading builds no Python
    object per document.  Signatures and band keys of the base stay memory-mapped;
    a run reads only the rows it compares.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        _, self._nbands, self._nrows = lsh_params(threshold)
        # per slot
        self._ids = np.zeros(0, "S1")
        self._keys = np.zeros(0, "S1")
        self._fidx = np.zeros(0, np.int32)  # index into _files
        self._years = np.zeros(0, np.int32)  # 0: the document states no year
        self._has_sig = np.zeros(0, bool)  # rows without a signature (too short) are never compared
        self._label = np.zeros(0, np.int64)
        self._alive = np.zeros(0, bool)
        self._files = np.zeros(0, "S1")  # distinct file names
        # signatures and LSH band keys: slots < _n_base in the base file (memory-mapped), the rest here
        self._n_base = 0
        self._base_generation = 0  # the generation the base file was written for
        self._base_sigs: np.ndarray = np.zeros((0, NUM_PERM), np.uint32)  # (n_base, NUM_PERM)
        self._base_bands: np.ndarray = np.zeros((self._nbands, 0), np.uint64)  # (bands, n_base): a band is contiguous
        self._base_label: np.ndarray = np.zeros(0, np.int64)  # the base file's labels and years, as written
        self._base_years: np.ndarray = np.zeros(0, np.int32)
        self._key_order: np.ndarray | None = None  # argsort of the base's keys (stored in the base)
        self._sorted_base_keys: np.ndarray | None = None
        self._sigs = np.zeros((0, NUM_PERM), np.uint32)  # slots >= n_base
        self._bands = np.zeros((0, self._nbands), np.uint64)
        self._extra_keys: dict[bytes, int] | None = None  # text key → slot, slots >= n_base
        self._recent: dict[str, int] = {}  # id → slot of rows added by add() (held documents look here)
        self._origin: _Origin | None = None
        # Whether a group gained or lost a member since load: groups.json needs rewriting only then.
        self.groups_changed = False

    @classmethod
    def empty(cls, threshold: float = DEFAULT_THRESHOLD) -> DedupState:
        return cls(threshold)

    def __len__(self) -> int:
        return int(np.count_nonzero(self._alive))

    @property
    def _n_slots(self) -> int:
        return int(self._alive.size)

    # -- queries -------------------------------------------------------------------------------

    @property
    def ids(self) -> list[str]:
        """Ids of the documents, in row order."""
        return [_dec(b) for b in self._ids[self._alive].tolist()]

    def text_keys(self) -> dict[str, str]:
        """text_key → id of every document (the whole table; a run uses :meth:`find_key`)."""
        rows = np.flatnonzero(self._alive)
        return {_dec(k): _dec(i) for k, i in zip(self._keys[rows].tolist(), self._ids[rows].tolist())}

    def find_key(self, key: str) -> str | None:
        """Id of a document whose text key is ``key`` (an exact copy), or None.

        A binary search in the base's sorted keys plus a small dict of the rows
        added since: no table of every key is built.
        """
        slot = self._find_key_slot(key)
        return None if slot is None else _dec(self._ids[slot])

    def find_key_file(self, key: str) -> tuple[str, str] | None:
        """``(id, file)`` of a document whose text key is ``key``, or None.

        The file is what a skipped exact copy depends on: when that file changes
        or goes, the copy must be read again (``indexer.pipeline``).
        """
        slot = self._find_key_slot(key)
        if slot is None:
            return None
        return _dec(self._ids[slot]), _dec(self._files[self._fidx[slot]])

    def _rows_of_files(self, files: set[str]) -> np.ndarray | None:
        """Mask of the live rows that came from ``files``; None when there are none to look at."""
        if not files or not self._n_slots or not self._files.size:
            return None
        fmask = np.isin(self._files, _enc(sorted(files)))
        if not fmask.any():
            return None
        mask: np.ndarray = np.isin(self._fidx, np.flatnonzero(fmask)) & self._alive
        return mask

    def ids_of_files(self, files: set[str]) -> list[str]:
        """Ids of the live documents that came from ``files`` (row order)."""
        rows = self._rows_of_files(files)
        if rows is None:
            return []
        return [_dec(b) for b in self._ids[np.flatnonzero(rows)].tolist()]

    def _find_key_slot(self, key: str) -> int | None:
        kb = key.encode("utf-8", _TEXT_ERRORS)
        if self._extra_keys is None:
            self._extra_keys = {}
            for k, slot in zip(self._keys[self._n_base:].tolist(), range(self._n_base, self._n_slots)):
                if self._alive[slot]:
                    self._extra_keys[k] = slot
        slot = self._extra_keys.get(kb)
        if slot is not None and self._alive[slot]:
            return slot
        if self._n_base:
            if self._sorted_base_keys is None:
                if self._key_order is None:
                    self._key_order = np.argsort(self._keys[: self._n_base], kind="stable")
                self._sorted_base_keys = self._keys[: self._n_base][self._key_order]
            lo = int(np.searchsorted(self._sorted_base_keys, kb, "left"))
            hi = int(np.searchsorted(self._sorted_base_keys, kb, "right"))
            for p in range(lo, hi):
                s = int(self._key_order[p])
                if self._alive[s] and self._keys[s] == kb:
                    return s
        return None

    def year_of(self) -> dict[str, int | None]:
        """id → year of every document (the whole table; a run uses :meth:`years_of`)."""
        rows = np.flatnonzero(self._alive)
        return {_dec(i): (y or None) for i, y in zip(self._ids[rows].tolist(), self._years[rows].tolist())}

    def years_of(self, doc_ids: Iterable[str]) -> dict[str, int | None]:
        """id → year of the given documents (those in the state)."""
        want = _enc(sorted(set(doc_ids)))
        if not want.size:
            return {}
        rows = np.flatnonzero(np.isin(self._ids, want) & self._alive)
        return {_dec(i): (y or None) for i, y in zip(self._ids[rows].tolist(), self._years[rows].tolist())}

    def groups(self) -> dict[str, list[str]]:
        """id → the other ids of its group, for ids in a group of two or more (row order)."""
        rows = np.flatnonzero((self._label >= 0) & self._alive)
        return self._group_lists(rows)

    def groups_for(self, doc_ids: Iterable[str]) -> dict[str, list[str]]:
        """Like :meth:`groups`, for the given documents only (the groups of this run's held documents)."""
        slots = [s for s in (self._slot_of(i) for i in set(doc_ids)) if s is not None]
        labels = {int(self._label[s]) for s in slots} - {-1}
        if not labels:
            return {}
        rows = np.flatnonzero(np.isin(self._label, np.array(sorted(labels), dtype=np.int64)) & self._alive)
        mine = {_dec(self._ids[s]) for s in slots}
        return {i: others for i, others in self._group_lists(rows).items() if i in mine}

    def _group_lists(self, rows: np.ndarray) -> dict[str, list[str]]:
        members: dict[int, list[str]] = {}
        for lab, i in zip(self._label[rows].tolist(), self._ids[rows].tolist()):
            members.setdefault(lab, []).append(_dec(i))
        out: dict[str, list[str]] = {}
        for ms in members.values():
            if len(ms) > 1:
                for i in ms:
                    out[i] = [j for j in ms if j != i]
        return out

    def _slot_of(self, doc_id: str) -> int | None:
        s = self._recent.get(doc_id)
        if s is not None and self._alive[s]:
            return s
        hits = np.flatnonzero((self._ids == doc_id.encode("utf-8", _TEXT_ERRORS)) & self._alive)
        return int(hits[-1]) if hits.size else None

    # -- rows ----------------------------------------------------------------------------------

    def _sig_rows(self, slots: np.ndarray) -> np.ndarray:
        """Signatures of the given slots (base rows read from the mapped file)."""
        slots = np.asarray(slots, dtype=np.int64)
        out = np.empty((slots.size, NUM_PERM), np.uint32)
        in_base = slots < self._n_base
        if in_base.any():
            out[in_base] = self._base_sigs[slots[in_base]]
        if not in_base.all():
            out[~in_base] = self._sigs[slots[~in_base] - self._n_base]
        return out

    def _band_rows(self, slots: np.ndarray) -> np.ndarray:
        """(len(slots), bands) LSH band keys of the given slots."""
        slots = np.asarray(slots, dtype=np.int64)
        out = np.empty((slots.size, self._nbands), np.uint64)
        in_base = slots < self._n_base
        if in_base.any():
            out[in_base] = self._base_bands[:, slots[in_base]].T
        if not in_base.all():
            out[~in_base] = self._bands[slots[~in_base] - self._n_base]
        return out

    def _band_column(self, band: int, upto: int) -> np.ndarray:
        """Band ``band``'s key of slots ``0 .. upto-1``."""
        nb = min(self._n_base, upto)
        parts = []
        if nb:
            parts.append(np.asarray(self._base_bands[band, :nb]))
        if upto > self._n_base:
            parts.append(self._bands[: upto - self._n_base, band])
        if not parts:
            return np.zeros(0, np.uint64)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _file_indices(self, files: np.ndarray) -> np.ndarray:
        """Index into ``_files`` of each name in ``files`` (bytes), adding the new names."""
        if not files.size:
            return np.zeros(0, np.int32)
        uniq, inverse = np.unique(files, return_inverse=True)
        pos = np.full(uniq.size, -1, dtype=np.int64)
        if self._files.size:
            if uniq.size <= 8:  # the usual update: one or two files, compared with every name
                for k, f in enumerate(uniq.tolist()):
                    hit = np.flatnonzero(self._files == f)
                    if hit.size:
                        pos[k] = hit[0]
            else:
                order = np.argsort(self._files, kind="stable")
                sorted_files = self._files[order]
                at = np.minimum(np.searchsorted(sorted_files, uniq), sorted_files.size - 1)
                found = sorted_files[at] == uniq
                pos[found] = order[at[found]]
        new = np.flatnonzero(pos < 0)
        if new.size:
            pos[new] = self._files.size + np.arange(new.size)
            self._files = np.concatenate([self._files, uniq[new]])
        return pos[inverse.reshape(-1)].astype(np.int32)

    def _append_rows(self, ids: np.ndarray, keys: np.ndarray, files: np.ndarray, years: np.ndarray,
                     has_sig: np.ndarray, label: np.ndarray, sigs: np.ndarray, bands: np.ndarray) -> None:
        m = ids.size
        if not m:
            return
        self._ids = np.concatenate([self._ids, ids])
        self._keys = np.concatenate([self._keys, keys])
        self._fidx = np.concatenate([self._fidx, self._file_indices(files)])
        self._years = np.concatenate([self._years, years.astype(np.int32)])
        self._has_sig = np.concatenate([self._has_sig, has_sig.astype(bool)])
        self._label = np.concatenate([self._label, label.astype(np.int64)])
        self._alive = np.concatenate([self._alive, np.ones(m, dtype=bool)])
        self._sigs = np.concatenate([self._sigs, sigs.astype(np.uint32, copy=False)])
        self._bands = np.concatenate([self._bands, bands.astype(np.uint64, copy=False)])
        self._extra_keys = None

    def _kill(self, slots: np.ndarray) -> None:
        self._alive[slots] = False
        self._label[slots] = -1

    # -- changes -------------------------------------------------------------------------------

    def remove_files(self, files: set[str]) -> list[int]:
        """Drop the rows of ``files``; returns the labels of the groups they left (to split again)."""
        gone = self._rows_of_files(files)
        if gone is None or not gone.any():
            return []
        labels = self._label[gone]
        touched = sorted({int(x) for x in labels[labels >= 0].tolist()})
        self._kill(np.flatnonzero(gone))
        if touched:
            self.groups_changed = True
        return touched

    def set_year(self, doc_id: str, year: int | None, _pos: dict | None = None) -> None:
        slot = self._slot_of(doc_id)
        if slot is not None:
            self._years[slot] = int(year or 0)

    def _use_threshold(self, threshold: float | None) -> tuple[float, int, int]:
        thr, bands, rws = lsh_params(self.threshold if threshold is None else threshold)
        if (bands, rws) != (self._nbands, self._nrows):
            # other LSH parameters: every band key is recomputed (only ever on a state built in memory)
            sigs = self._sig_rows(np.arange(self._n_slots))
            self._n_base = 0
            self._base_sigs = np.zeros((0, NUM_PERM), np.uint32)
            self._base_bands = np.zeros((bands, 0), np.uint64)
            self._sigs = sigs
            self._bands = band_keys(sigs, bands, rws)
            self._key_order = self._sorted_base_keys = None
            self._extra_keys = None
            self._origin = None
            self._nbands, self._nrows = bands, rws
        self.threshold = thr
        return thr, bands, rws

    def add(self, rows: Iterable[tuple[str, str, str, int | None, np.ndarray | None]],
            threshold: float | None = None, split: Iterable[int] = ()) -> None:
        """Add documents ``(id, file, text_key, year, signature or None)`` and update the groups.

        ``split``: labels returned by :meth:`remove_files`, whose remaining
        members are regrouped from their own edges.
        """
        thr, bands, rws = self._use_threshold(threshold)
        rows = list(rows)
        n_old = self._n_slots
        if rows:
            m = len(rows)
            sigs = np.full((m, NUM_PERM), np.uint32(_MAX_HASH), dtype=np.uint32)
            has = np.zeros(m, dtype=bool)
            for k, (_i, _f, _key, _y, sig) in enumerate(rows):
                if sig is not None:
                    sigs[k] = sig
                    has[k] = True
            self._append_rows(_enc(r[0] for r in rows), _enc(r[2] for r in rows), _enc(r[1] for r in rows),
                              np.array([int(r[3] or 0) for r in rows], dtype=np.int32), has,
                              np.full(m, -1, dtype=np.int64), sigs, band_keys(sigs, bands, rws))
            for k, r in enumerate(rows):
                self._recent[r[0]] = n_old + k

        uf = _UnionFind()
        relabel: set[int] = set()  # rows whose label is recomputed below
        # 1. groups that lost members: split them again from the edges among what is left
        for lab in split:
            members = np.flatnonzero((self._label == lab) & self._alive)
            if members.size == 0:
                continue
            self._label[members] = -1
            relabel.update(members.tolist())
            if members.size > 1:
                for a, c in near_duplicate_edges(self._sig_rows(members), self._band_rows(members), thr, bands, rws):
                    uf.union(("r", int(members[a])), ("r", int(members[c])))
        # 2. new rows: their edges to every row that shares a band key with one of them (the
        #    rows an LSH query returns); only those rows' signatures are read
        if rows:
            new = n_old + np.flatnonzero(self._has_sig[n_old:])
            if new.size:
                new_bands = self._band_rows(new)
                hit = np.zeros(n_old, dtype=bool)
                if n_old:
                    for b in range(bands):
                        hit |= np.isin(self._band_column(b, n_old), new_bands[:, b])
                    hit &= self._alive[:n_old] & self._has_sig[:n_old]
                old = np.flatnonzero(hit)
                sub = np.concatenate([old, new])
                for a, c in near_duplicate_edges(self._sig_rows(sub), self._band_rows(sub), thr, bands, rws,
                                                 new_from=int(old.size)):
                    uf.union(self._node(int(sub[a])), self._node(int(sub[c])))
            relabel.update(range(n_old, self._n_slots))
        # 3. new labels for every component that changed
        next_label = int(self._label.max()) + 1 if self._label.size else 0
        comps: dict = {}
        for node in list(uf.parent):
            comps.setdefault(uf.find(node), []).append(node)
        for nodes in comps.values():
            rows_in: list[int] = []
            for kind, v in nodes:
                if kind == "r":
                    rows_in.append(v)
                else:
                    rows_in.extend(np.flatnonzero((self._label == v) & self._alive).tolist())
            if len(rows_in) > 1:
                self._label[rows_in] = next_label
                next_label += 1
            relabel.difference_update(rows_in)
        # rows with no edge left stay alone
        for r in relabel:
            self._label[r] = -1
        if rows and (self._label[n_old:] >= 0).any():
            self.groups_changed = True

    def _node(self, row: int) -> tuple[str, int]:
        """Union-find node: an untouched old group as a whole (by label), any other row by itself."""
        lab = int(self._label[row])
        return ("g", lab) if lab >= 0 else ("r", row)

    # -- the sidecar ---------------------------------------------------------------------------

    def save(self, path: Path, generation: int) -> None:
        """Record the state for ``generation``: one record appended to the journal, or a new base.

        Appending is the usual case (a run changes a few rows): the journal is
        truncated to its last valid record, the record written and fsynced.  A
        record names the base (its nonce) and the generation it continues, so a
        torn or foreign record is never applied.  A new base (written to a
        temporary file, fsynced and renamed; then the old journal is removed) is
        written for a state not loaded from ``path``, and when the journal or the
        dead rows have grown past their limits.
        """
        path = Path(path)
        o = self._origin
        if o is not None and self._appendable(path, o):
            rebase_rows = max(REBASE_MIN_ROWS, int(REBASE_SHARE * self._n_base))
            dead = self._n_slots - len(self)
            if self._n_slots - self._n_base <= rebase_rows and dead <= rebase_rows:
                if o.records + 1 <= MAX_JOURNAL_RECORDS:
                    self._append_record(path, o, generation)
                else:
                    self._rewrite_journal(path, o, generation)
                return
        self._write_base(path, generation)

    def _appendable(self, path: Path, o: _Origin) -> bool:
        """Whether ``path`` still holds the base (and journal) this state was loaded from."""
        try:
            if path.resolve() != o.path:
                return False
            st = path.stat()
            if (st.st_ino, st.st_size, st.st_mtime_ns) != o.base_id:
                return False
            jsize = journal_path(path).stat().st_size if o.journal_end else 0
        except OSError:
            return False
        return jsize >= o.journal_end

    def _record(self, o: _Origin, prev: int, generation: int, n0: int, alive0: np.ndarray, label0: np.ndarray,
                years0: np.ndarray) -> bytes:
        """The change from the state ``(n0 slots, alive0, label0, years0)`` at ``prev`` to now."""
        n = self._n_slots
        alive_old = self._alive[:n0]
        removed = np.concatenate([np.flatnonzero(alive0 & ~alive_old), n0 + np.flatnonzero(~self._alive[n0:])])
        lab_slots = np.flatnonzero((self._label[:n0] != label0) & alive_old)
        yr_slots = np.flatnonzero((self._years[:n0] != years0) & alive_old)
        new = np.arange(n0, n)
        arrays = {
            "removed": removed.astype(np.int64),
            "label_slots": lab_slots.astype(np.int64), "label_vals": self._label[lab_slots],
            "year_slots": yr_slots.astype(np.int64), "year_vals": self._years[yr_slots],
            "ids": self._ids[n0:], "keys": self._keys[n0:], "files": self._files[self._fidx[n0:]],
            "years": self._years[n0:], "has_sig": self._has_sig[n0:], "label": self._label[n0:],
            "sigs": self._sig_rows(new), "bands": self._band_rows(new),
        }
        return _pack_record({"nonce": o.nonce, "prev": prev, "gen": generation, "first_slot": n0}, arrays)

    def _snapshot(self, o: _Origin, generation: int) -> None:
        o.generation = generation
        o.n0 = self._n_slots
        o.alive0 = self._alive.copy()
        o.label0 = self._label.copy()
        o.years0 = self._years.copy()

    def _append_record(self, path: Path, o: _Origin, generation: int) -> None:
        record = self._record(o, o.generation, generation, o.n0, o.alive0, o.label0, o.years0)
        fd = os.open(str(journal_path(path)), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, o.journal_end)  # a torn record of a killed run goes
            view = memoryview(record)
            pos = o.journal_end
            while view:
                n = os.pwrite(fd, view, pos)
                view, pos = view[n:], pos + n
            os.fsync(fd)
        finally:
            os.close(fd)
        o.journal_end += len(record)
        o.records += 1
        self._snapshot(o, generation)

    def _rewrite_journal(self, path: Path, o: _Origin, generation: int) -> None:
        """Replace the journal by one record: everything since the base (atomic rename)."""
        from .engine.store import write_atomic

        nb = self._n_base
        record = self._record(o, self._base_generation, generation, nb, np.ones(nb, dtype=bool),
                              np.asarray(self._base_label), np.asarray(self._base_years))
        write_atomic(journal_path(path), lambda fh: fh.write(record))
        o.journal_end = len(record)
        o.records = 1
        self._snapshot(o, generation)

    def _write_base(self, path: Path, generation: int) -> None:
        """Write the live rows as a new base (atomically), drop the old journal, and continue from it."""
        from .engine.store import write_atomic

        rows = np.flatnonzero(self._alive)
        used, fidx = np.unique(self._fidx[rows], return_inverse=True)
        keys = self._keys[rows]
        nonce = secrets.token_hex(8)
        meta = {"version": SIDECAR_VERSION, "generation": generation, "nonce": nonce, "count": int(rows.size),
                "threshold": self.threshold, "num_perm": NUM_PERM, "shingle": SHINGLE,
                "sample_above": SAMPLE_ABOVE, "bands": self._nbands, "rows": self._nrows}
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
            "ids": self._ids[rows], "keys": keys, "files": self._files[used] if used.size else np.zeros(0, "S1"),
            "file_idx": fidx.reshape(-1).astype(np.int32), "years": self._years[rows],
            "has_sig": self._has_sig[rows], "label": self._label[rows],
            "key_order": np.argsort(keys, kind="stable").astype(np.int64),
            "sigs": self._sig_rows(rows),
            # band-major, so that comparing one band with every row reads one contiguous column
            "bands": np.ascontiguousarray(self._band_rows(rows).T),
        }
        write_atomic(path, lambda fh: np.savez(fh, **arrays))
        try:  # its records name the old base's nonce: void now, and dropped
            journal_path(path).unlink()
        except FileNotFoundError:
            pass
        fresh = DedupState.load(path, generation, self.threshold)
        if fresh is None:  # pragma: no cover - just written
            raise OSError(f"{path}: the dedup state just written does not load")
        fresh.groups_changed = self.groups_changed
        self.__dict__.update(fresh.__dict__)

    @classmethod
    def load(cls, path: Path, generation: int, threshold: float = DEFAULT_THRESHOLD) -> DedupState | None:
        """The state of ``generation`` (base plus journal) with today's parameters, else None."""
        path = Path(path)
        try:
            members = _npz_members(path)
            meta = json.loads(_member(path, members, "meta").tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError, struct.error):
            return None
        thr, bands, rws = lsh_params(threshold)
        if (not isinstance(meta, dict) or meta.get("threshold") != thr or meta.get("num_perm") != NUM_PERM
                or meta.get("shingle") != SHINGLE or meta.get("sample_above") != SAMPLE_ABOVE
                or meta.get("bands") != bands or meta.get("rows") != rws):
            return None
        try:
            if meta.get("version") == 1:
                return cls._load_v1(path, meta, generation, thr) if meta.get("generation") == generation else None
            if meta.get("version") != SIDECAR_VERSION:
                return None
            return cls._load_v2(path, members, meta, generation, thr)
        except (OSError, ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, zipfile.BadZipFile):
            return None

    @classmethod
    def _load_v2(cls, path: Path, members: dict, meta: dict, generation: int, thr: float) -> DedupState | None:
        st = cls(thr)
        n = int(meta["count"])
        st._ids = _member(path, members, "ids")
        st._keys = _member(path, members, "keys")
        st._files = _member(path, members, "files")
        st._fidx = _member(path, members, "file_idx").astype(np.int32, copy=False)
        st._base_years = _member(path, members, "years", copy=False)
        st._base_label = _member(path, members, "label", copy=False)
        st._years = np.array(st._base_years, dtype=np.int32)
        st._label = np.array(st._base_label, dtype=np.int64)
        st._has_sig = _member(path, members, "has_sig").astype(bool, copy=False)
        st._alive = np.ones(n, dtype=bool)
        st._key_order = _member(path, members, "key_order")
        st._base_sigs = _member(path, members, "sigs", copy=False)
        st._base_bands = _member(path, members, "bands", copy=False)
        st._n_base = n
        if not (st._ids.shape == st._keys.shape == st._fidx.shape == st._years.shape == st._has_sig.shape
                == st._label.shape == st._key_order.shape == (n,)):
            return None
        if (st._base_sigs.shape != (n, NUM_PERM) or st._base_sigs.dtype != np.uint32
                or st._base_bands.shape != (st._nbands, n) or st._base_bands.dtype != np.uint64):
            return None
        if n and (int(st._fidx.min()) < 0 or int(st._fidx.max()) >= st._files.size):
            return None
        st._base_generation = int(meta["generation"])
        nonce = str(meta["nonce"])
        jpath = journal_path(path)
        records, end, gen = _read_journal(jpath, nonce, st._base_generation)
        if gen != generation:
            return None
        st._replay(records)
        bst = path.stat()
        st._origin = _Origin(path.resolve(), (bst.st_ino, bst.st_size, bst.st_mtime_ns), bst.st_size, nonce,
                             gen, end, len(records), 0, st._alive, st._label, st._years)
        st._snapshot(st._origin, gen)
        return st

    def _replay(self, records: list[tuple[dict, dict]]) -> None:
        """Apply journal records: every added row first (one concatenation), then the updates in order."""
        if not records:
            return
        expected = self._n_slots
        for header, a in records:
            m = a["ids"].shape[0]
            if header["first_slot"] != expected or not (
                    a["keys"].shape == a["files"].shape == a["years"].shape == a["has_sig"].shape
                    == a["label"].shape == (m,)) or a["sigs"].shape != (m, NUM_PERM) \
                    or a["bands"].shape != (m, self._nbands):
                raise ValueError("inconsistent journal record")
            expected += m
        cat = lambda name: np.concatenate([a[name] for _, a in records])
        self._append_rows(cat("ids"), cat("keys"), cat("files"), cat("years"), cat("has_sig"), cat("label"),
                          cat("sigs"), cat("bands"))
        n = self._n_slots
        for _, a in records:
            for name in ("removed", "label_slots", "year_slots"):
                s = a[name]
                if s.size and (int(s.min()) < 0 or int(s.max()) >= n):
                    raise ValueError("journal names a row that does not exist")
            self._kill(a["removed"])
            self._label[a["label_slots"]] = a["label_vals"]
            self._years[a["year_slots"]] = a["year_vals"]

    @classmethod
    def _load_v1(cls, path: Path, meta: dict, generation: int, thr: float) -> DedupState | None:
        """A version-1 sidecar (the whole state in one npz): read whole, saved as a base next time."""
        with np.load(path, allow_pickle=False) as z:
            files = meta["files"]
            ids = z["ids"]
            n = ids.shape[0]
            sigs = np.ascontiguousarray(z["sigs"], dtype=np.uint32)
            st = cls(thr)
            if not (z["keys"].shape == z["file_idx"].shape == z["years"].shape == z["has_sig"].shape
                    == z["label"].shape == (n,)) or (n and sigs.shape != (n, NUM_PERM)):
                return None
            bands = None
            if "bands" in z.files:
                bk = z["bands"]
                if bk.shape == (n, st._nbands) and bk.dtype == np.uint64:
                    bands = bk
            if bands is None:
                bands = band_keys(sigs.reshape(n, NUM_PERM), st._nbands, st._nrows)
            file_names = _enc(files)
            st._append_rows(ids.astype(bytes), z["keys"].astype(bytes),
                            file_names[z["file_idx"]] if n else np.zeros(0, "S1"), z["years"], z["has_sig"],
                            z["label"], sigs.reshape(n, NUM_PERM), bands)
        return st
