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
:data:`_LSH_PARAMS` (the default's are; ``tests/test_loadcache.py`` checks them against
datasketch), so an indexing run never imports it.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

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
    plus ``MinHash.jaccard`` give (see ``tests/test_dedup.py``).
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

SIDECAR_VERSION = 1


@dataclass
class DedupState:
    """Per-document dedup data of one index generation, updated in place by each run.

    Rows are documents; ``label[row]`` is the row's near-duplicate group (-1:
    none).  Groups are the connected components of the near-duplicate graph, so
    a run only needs the edges that touch what it changed:

    * removed rows: each group they belonged to is split again from the edges
      among its remaining members (a group never has edges to another group);
    * added rows: edges between them and every row (:func:`near_duplicate_edges`
      with ``new_from``), then the groups they touch are merged.

    That gives exactly the components a from-scratch grouping finds, without
    reading a single stored text (``tests/test_dedup.py`` checks both claims).
    ``keys`` (text_key per row) answers the exact-copy check, ``years`` the year
    sharing between copies, ``files`` which rows a changed file replaces.
    """

    ids: list[str]
    files: list[str]
    keys: list[str]
    years: list[int]  # 0: the document states no year
    sigs: np.ndarray  # (n, NUM_PERM) uint32; rows without a signature are all 0xFFFFFFFF
    has_sig: np.ndarray  # (n,) bool
    label: np.ndarray  # (n,) int64 group label, -1 for none
    threshold: float = DEFAULT_THRESHOLD
    _bands: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, threshold: float = DEFAULT_THRESHOLD) -> "DedupState":
        return cls([], [], [], [], np.zeros((0, NUM_PERM), dtype=np.uint32), np.zeros(0, dtype=bool),
                   np.zeros(0, dtype=np.int64), threshold)

    def __len__(self) -> int:
        return len(self.ids)

    # -- queries -------------------------------------------------------------------------------

    def text_keys(self) -> dict[str, str]:
        """text_key → id of every document (the exact-copy check)."""
        return dict(zip(self.keys, self.ids))

    def year_of(self) -> dict[str, int | None]:
        return {i: (y or None) for i, y in zip(self.ids, self.years)}

    def groups(self) -> dict[str, list[str]]:
        """id → the other ids of its group, for ids in a group of two or more (row order)."""
        members: dict[int, list[str]] = {}
        for row in np.flatnonzero(self.label >= 0).tolist():
            members.setdefault(int(self.label[row]), []).append(self.ids[row])
        out: dict[str, list[str]] = {}
        for ms in members.values():
            if len(ms) > 1:
                for i in ms:
                    out[i] = [j for j in ms if j != i]
        return out

    # -- changes -------------------------------------------------------------------------------

    def remove_files(self, files: set[str]) -> list[int]:
        """Drop the rows of ``files``; returns the labels of the groups they left (to split again)."""
        if not files or not self.ids:
            return []
        gone = np.fromiter((f in files for f in self.files), dtype=bool, count=len(self.files))
        if not gone.any():
            return []
        touched = sorted({int(x) for x in self.label[gone].tolist() if x >= 0})
        keep = ~gone
        idx = np.flatnonzero(keep).tolist()
        self.ids = [self.ids[r] for r in idx]
        self.files = [self.files[r] for r in idx]
        self.keys = [self.keys[r] for r in idx]
        self.years = [self.years[r] for r in idx]
        self.sigs = self.sigs[keep]
        self.has_sig = self.has_sig[keep]
        self.label = self.label[keep]
        if self._bands is not None:
            self._bands = self._bands[keep]
        return touched

    def set_year(self, doc_id: str, year: int | None, _pos: dict | None = None) -> None:
        pos = _pos if _pos is not None else {i: r for r, i in enumerate(self.ids)}
        r = pos.get(doc_id)
        if r is not None:
            self.years[r] = int(year or 0)

    def add(self, rows: Iterable[tuple[str, str, str, int | None, np.ndarray | None]],
            threshold: float | None = None, split: Iterable[int] = ()) -> None:
        """Add documents ``(id, file, text_key, year, signature or None)`` and update the groups.

        ``split``: labels returned by :meth:`remove_files`, whose remaining
        members are regrouped from their own edges.
        """
        thr, bands, rws = lsh_params(self.threshold if threshold is None else threshold)
        self.threshold = thr
        rows = list(rows)
        n_old = len(self.ids)
        if self._bands is None:
            self._bands = band_keys(self.sigs, bands, rws)
        if rows:
            sigs = np.full((len(rows), NUM_PERM), np.uint32(_MAX_HASH), dtype=np.uint32)
            has = np.zeros(len(rows), dtype=bool)
            for k, (_i, _f, _key, _y, sig) in enumerate(rows):
                if sig is not None:
                    sigs[k] = sig
                    has[k] = True
            self.ids += [r[0] for r in rows]
            self.files += [r[1] for r in rows]
            self.keys += [r[2] for r in rows]
            self.years += [int(r[3] or 0) for r in rows]
            self.sigs = np.concatenate([self.sigs, sigs])
            self.has_sig = np.concatenate([self.has_sig, has])
            self.label = np.concatenate([self.label, np.full(len(rows), -1, dtype=np.int64)])
            self._bands = np.concatenate([self._bands, band_keys(sigs, bands, rws)])

        uf = _UnionFind()
        relabel: set[int] = set()  # rows whose label is recomputed below
        # 1. groups that lost members: split them again from the edges among what is left
        for lab in split:
            members = np.flatnonzero(self.label == lab)
            if members.size == 0:
                continue
            self.label[members] = -1
            relabel.update(members.tolist())
            if members.size > 1:
                for a, c in near_duplicate_edges(self.sigs[members], self._bands[members], thr, bands, rws):
                    uf.union(("r", int(members[a])), ("r", int(members[c])))
        # 2. new rows: their edges to every row with a signature
        if rows:
            cand = np.flatnonzero(self.has_sig)
            new_from = int(np.searchsorted(cand, n_old))  # cand is sorted: old rows first
            for a, c in near_duplicate_edges(self.sigs[cand], self._bands[cand], thr, bands, rws, new_from):
                uf.union(self._node(int(cand[a])), self._node(int(cand[c])))
            relabel.update(range(n_old, len(self.ids)))
        # 3. new labels for every component that changed
        next_label = int(self.label.max()) + 1 if self.label.size else 0
        comps: dict = {}
        for node in list(uf.parent):
            comps.setdefault(uf.find(node), []).append(node)
        for nodes in comps.values():
            rows_in: list[int] = []
            for kind, v in nodes:
                if kind == "r":
                    rows_in.append(v)
                else:
                    rows_in.extend(np.flatnonzero(self.label == v).tolist())
            if len(rows_in) > 1:
                self.label[rows_in] = next_label
                next_label += 1
            relabel.difference_update(rows_in)
        # rows with no edge left stay alone
        for r in relabel:
            self.label[r] = -1

    def _node(self, row: int) -> tuple[str, int]:
        """Union-find node: an untouched old group as a whole (by label), any other row by itself."""
        lab = int(self.label[row])
        return ("g", lab) if lab >= 0 else ("r", row)

    # -- the sidecar ---------------------------------------------------------------------------

    def save(self, path: Path, generation: int) -> None:
        """Write ``dedup.npz`` atomically (temporary file, fsync, rename), tagged with ``generation``."""
        _, bands, rws = lsh_params(self.threshold)
        file_list = sorted(set(self.files))
        fpos = {f: k for k, f in enumerate(file_list)}
        meta = {"version": SIDECAR_VERSION, "generation": generation, "threshold": self.threshold,
                "num_perm": NUM_PERM, "shingle": SHINGLE, "sample_above": SAMPLE_ABOVE,
                "bands": bands, "rows": rws, "files": file_list}
        arrays = {
            "meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            "ids": np.array([i.encode("utf-8") for i in self.ids], dtype=bytes) if self.ids else np.zeros(0, "S1"),
            "keys": np.array([k.encode("ascii") for k in self.keys], dtype=bytes) if self.keys else np.zeros(0, "S1"),
            "file_idx": np.array([fpos[f] for f in self.files], dtype=np.int32),
            "years": np.array(self.years, dtype=np.int32),
            "sigs": self.sigs, "has_sig": self.has_sig, "label": self.label,
            # the band keys too: recomputing them is the slowest part of loading (0.35 s at 100k)
            "bands": self._bands if self._bands is not None else band_keys(self.sigs, bands, rws),
        }
        from .store import write_atomic

        write_atomic(path, lambda fh: np.savez(fh, **arrays))

    @classmethod
    def load(cls, path: Path, generation: int, threshold: float = DEFAULT_THRESHOLD) -> "DedupState | None":
        """The sidecar's state if it describes ``generation`` with today's parameters, else None."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
                thr, bands, rws = lsh_params(threshold)
                if (meta.get("version") != SIDECAR_VERSION or meta.get("generation") != generation
                        or meta.get("threshold") != thr or meta.get("num_perm") != NUM_PERM
                        or meta.get("shingle") != SHINGLE or meta.get("sample_above") != SAMPLE_ABOVE
                        or meta.get("bands") != bands or meta.get("rows") != rws):
                    return None
                files = meta["files"]
                ids = [b.decode("utf-8") for b in z["ids"].tolist()]
                keys = [b.decode("ascii") for b in z["keys"].tolist()]
                st = cls(ids, [files[k] for k in z["file_idx"].tolist()], keys, z["years"].tolist(),
                         np.ascontiguousarray(z["sigs"], dtype=np.uint32), z["has_sig"].astype(bool),
                         z["label"].astype(np.int64), thr)
                if "bands" in z.files:
                    bk = z["bands"]
                    if bk.shape == (len(ids), bands) and bk.dtype == np.uint64:
                        st._bands = bk
        except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError):
            return None
        n = len(st.ids)
        if not (len(st.files) == len(st.keys) == len(st.years) == st.sigs.shape[0] == st.has_sig.size
                == st.label.size == n) or (n and st.sigs.shape[1] != NUM_PERM):
            return None
        return st
