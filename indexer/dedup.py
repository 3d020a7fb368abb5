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
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE = 5
SAMPLE_ABOVE = 2000  # shingles; longer texts are sampled 1 in 4 by hash value
_MAX_HASH = np.uint64((1 << 32) - 1)
_DROP = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"[0-9x]+")


def normalize_for_dedup(text: str) -> str:
    """NFKC, lower case, digits/'xx' placeholders folded, punctuation and spaces removed."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    t = _DROP.sub("", t)
    return _DIGITS.sub("0", t)


def exact_key(text: str) -> str:
    """Key equal for exact copies that differ only in whitespace/width: index such copies once."""
    t = unicodedata.normalize("NFKC", text or "")
    t = "".join(t.split())
    return hashlib.sha1(t.encode("utf-8", "surrogatepass")).hexdigest()


# Multiply-shift hashing h(x) = (a·x + b mod 2^64) >> 32 (Dietzfelbinger), a odd: a 2-universal
# family that numpy evaluates with native wrapping uint64 arithmetic (no slow modulo).
_RNG = np.random.RandomState(1)
_A = _RNG.randint(0, np.iinfo(np.int64).max, size=NUM_PERM, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
_B = _RNG.randint(0, np.iinfo(np.int64).max, size=NUM_PERM, dtype=np.int64).astype(np.uint64)
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
    return np.unique(h)


def minhash(text: str) -> MinHash:
    """datasketch MinHash signature of a text's character shingles."""
    hv = _shingle_hashes(normalize_for_dedup(text))
    if hv.size == 0:
        return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64),
                       permutations=(_A, _B), scheme=_SCHEME)
    if hv.size > SAMPLE_ABOVE:
        # consistent sampling by hash value (the same shingles are kept in every document),
        # so Jaccard of the samples estimates Jaccard of the full sets at a quarter of the cost
        sampled = hv[(hv & np.uint64(3)) == 0]
        if sampled.size:
            hv = sampled
    sig = np.full(NUM_PERM, _MAX_HASH, dtype=np.uint64)
    for start in range(0, hv.size, 4096):  # bounded memory: 4096 × 128 at a time
        chunk = hv[start : start + 4096]
        ph = (np.outer(chunk, _A) + _B) >> np.uint64(32)
        sig = np.minimum(sig, ph.min(axis=0))
    return MinHash(num_perm=NUM_PERM, seed=1, hashvalues=sig, permutations=(_A, _B), scheme=_SCHEME)


def group_near_duplicates(texts: dict[str, str], threshold: float = 0.8) -> dict[str, list[str]]:
    """Map each id to the OTHER ids of its near-duplicate group (empty list if none)."""
    ids = list(texts)
    result: dict[str, list[str]] = {i: [] for i in ids}
    if len(ids) < 2:
        return result
    threshold = min(max(threshold, 0.05), 0.99)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sigs: dict[str, MinHash] = {}
    for i in ids:
        if len(normalize_for_dedup(texts[i])) < SHINGLE:
            continue  # too short to compare meaningfully
        m = minhash(texts[i])
        sigs[i] = m
        lsh.insert(i, m)
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in sigs.items():
        for j in lsh.query(m):
            if j != i and m.jaccard(sigs[j]) >= threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    for members in groups.values():
        if len(members) > 1:
            for i in members:
                result[i] = [j for j in members if j != i]
    return result
