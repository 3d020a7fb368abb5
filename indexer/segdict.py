"""jieba's tokenizer, with its dictionary loaded once per process, and cheaply.

Both the analyzers (``indexer.analysis``: search-mode sub-words, re-cuts of the tokens
where jieba-rs differs) and the region facet (``indexer.meta.regions``: word-boundary
checks) use this one ``jieba.dt``.  They used to load the dictionary twice (``jieba.dt``
and a private ``jieba.Tokenizer()`` in regions), 1.5 s each (jieba reads its cache with
``marshal.load`` from a file object); even built from the fastest cache, the 500k-entry
``FREQ`` dict takes 0.3 s, while a one-file update looks up a few thousand words.

:func:`tokenizer` therefore gives ``jieba.dt`` a :class:`LazyFreq`: the same mapping
(``FREQ`` exactly as ``Tokenizer.initialize`` computed it, and the same ``total``) read from
a sorted table in a cache file of :mod:`indexer.loadcache` (keyed by ``dict.txt``'s bytes,
jieba's version and this module), which turns itself into the real dict once a run
looks up many words.  Without a usable cache file (first run, changed inputs, unwritable
cache directory) jieba's own ``initialize`` loads the dict, and the table is written for
the next process; a dictionary other than jieba's default (``jieba.set_dictionary``)
is always left to jieba.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from zlib import crc32

_LOCK = threading.Lock()


def _import_jieba():
    """``import jieba``, without the 0.25 s ``pkg_resources`` import of ``jieba._compat``.

    jieba only uses ``pkg_resources`` to open its own data files, and opens them with
    ``open()`` when it is missing, so it is hidden from that one import (and only when
    nothing has imported it yet).
    """
    if "jieba" in sys.modules:
        return sys.modules["jieba"]
    hide = "pkg_resources" not in sys.modules
    if hide:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # → ImportError inside jieba._compat
    try:
        import jieba  # type: ignore
    finally:
        if hide and sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


def dict_path(jieba) -> str | None:
    """The file ``jieba.dt`` loads its dictionary from, or ``None`` when it is not jieba's default one."""
    dt = jieba.dt
    if dt.dictionary != jieba.DEFAULT_DICT:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(jieba.__file__)), jieba.DEFAULT_DICT_NAME)


def tokenizer():
    """``jieba.dt``, initialized (the process-wide default tokenizer)."""
    jieba = _import_jieba()
    dt = jieba.dt
    if dt.initialized:
        return dt
    with _LOCK:
        if not dt.initialized:
            _initialize(jieba, dt)
    return dt


def _initialize(jieba, dt) -> None:
    path = dict_path(jieba)
    if path is None or not os.path.exists(path):
        dt.initialize()
        return
    from . import loadcache

    key = loadcache.make_key([b"jieba-freq", getattr(jieba, "__version__", "").encode(), loadcache.file_digest(path),
                              loadcache.source_digest(__file__)])
    ok, table = loadcache.read(CACHE_NAME, key, codec="marshal")
    freq = None
    if ok:
        try:
            freq = LazyFreq(*table[:4], owner=dt)  # type: ignore[index, misc]
            total = table[4]  # type: ignore[index]
            if not isinstance(total, int):
                raise TypeError("total")
        except Exception as exc:  # noqa: BLE001 - a cached table of the wrong shape can fail any way: jieba's own loading
            logging.getLogger(__name__).info("jieba frequency cache unusable (%r): loading the dictionary", exc)
            freq = None
    if freq is None:
        dt.initialize()  # jieba's own loading (its cache or dict.txt): the reference
        with loadcache.no_gc():
            table = LazyFreq.table_of(dt.FREQ)
        if table is not None:
            loadcache.write(CACHE_NAME, key, table + (dt.total,), codec="marshal")
        return
    with dt.lock:
        if not dt.initialized:
            dt.FREQ, dt.total = freq, total
            dt.initialized = True


CACHE_NAME = "jieba-freq"
PROMOTE_AFTER = 30_000  # table lookups before the full dict is built (a batch run, a busy server)


class LazyFreq:
    """jieba's ``FREQ`` (word or word prefix → frequency, 0 for a prefix), read from a hash table.

    Building the 500k-entry dict costs 0.3 s (string objects and hashing) even from the
    fastest cache; a one-file update looks up a few thousand of its keys.  This mapping
    finds a key's UTF-8 bytes through an open-addressing table (CRC-32, linear probing)
    over one bytes blob of all keys, remembers what it found, and answers exactly what
    the dict would for ``in``,
    ``[]``, ``get`` (and ``add_word``'s writes).  After :data:`PROMOTE_AFTER` table lookups
    it builds the real dict, hands it to its tokenizer (``owner.FREQ``) and delegates to
    it, so a long run pays the dict once and then dict speed.
    """

    __slots__ = (
        "__weakref__",
        "_absent",
        "_blob",
        "_full",
        "_lookups",
        "_mask",
        "_memo",
        "_n",
        "_owner",
        "_slots",
        "_starts",
        "_vals",
        "_written",
    )

    def __init__(self, blob: bytes, starts: bytes, vals: bytes, slots: bytes, owner: object = None) -> None:
        st = memoryview(starts).cast("I")
        vl = memoryview(vals).cast("I")
        sl = memoryview(slots).cast("I")
        n = len(vl)
        m = len(sl)
        if (not isinstance(blob, bytes) or len(st) != n + 1 or st[0] != 0 or st[n] != len(blob) or n == 0
                or m < 2 * n or m & (m - 1)):
            raise ValueError("inconsistent FREQ table")
        self._blob, self._starts, self._vals, self._slots, self._mask, self._n = blob, st, vl, sl, m - 1, n
        self._memo: dict[str, int] = {}
        self._absent: set[str] = set()
        self._written: dict[str, int] = {}
        self._lookups = 0
        self._full: dict | None = None
        self._owner = owner

    @staticmethod
    def table_of(freq: dict) -> tuple[bytes, bytes, bytes, bytes] | None:
        """``(blob, starts, values, slots)`` of a FREQ dict; ``None`` when it does not fit the format.

        Key ``i`` is ``blob[starts[i]:starts[i + 1] - 1]`` (each key is followed by a newline),
        its value ``values[i]``; ``slots`` (a power of two, at least twice the number of keys)
        holds ``i + 1`` at the first free slot from ``crc32(key)``, 0 where free (at most a quarter used).
        """
        import array

        try:
            items = sorted((k.encode("utf-8", "surrogatepass"), v) for k, v in freq.items())
            keys = [k for k, _v in items]
            if any(b"\n" in k for k in keys) or not all(type(v) is int for _k, v in items):
                return None
            vals = array.array("I", [v for _k, v in items])
            starts = array.array("I", [0])
            pos = 0
            for k in keys:
                pos += len(k) + 1
                starts.append(pos)
        except (TypeError, ValueError, OverflowError, AttributeError):  # a non-str key, a negative or huge value
            return None
        if array.array("I").itemsize != 4:  # pragma: no cover
            return None
        size = 1 << max(4, (4 * len(keys) - 1).bit_length())  # load ≤ 1/4: short probe runs
        mask = size - 1
        slots = array.array("I", bytes(4 * size))
        for i, k in enumerate(keys, 1):
            h = crc32(k) & mask
            while slots[h]:
                h = (h + 1) & mask
            slots[h] = i
        return b"".join(k + b"\n" for k in keys), starts.tobytes(), vals.tobytes(), slots.tobytes()

    def _find(self, key: str) -> int | None:
        kb = key.encode("utf-8", "surrogatepass")
        blob, starts, slots, mask = self._blob, self._starts, self._slots, self._mask
        h = crc32(kb) & mask
        while True:
            i = slots[h]
            if not i:
                return None
            if blob[starts[i - 1]:starts[i] - 1] == kb:
                return self._vals[i - 1]
            h = (h + 1) & mask

    def _lookup(self, key):
        """The value, or ``_ABSENT``."""
        full = self._full
        if full is not None:
            return full.get(key, _ABSENT)
        v = self._memo.get(key, _ABSENT) if isinstance(key, str) else _ABSENT
        if v is not _ABSENT or not isinstance(key, str) or key in self._absent:
            return v
        self._lookups += 1
        if self._lookups > PROMOTE_AFTER:
            return self.promote().get(key, _ABSENT)
        v = self._find(key)
        if v is None:
            self._absent.add(key)
            return _ABSENT
        self._memo[key] = v
        return v

    def promote(self) -> dict:
        """The full dict (built once), also installed as the owner's ``FREQ``."""
        if self._full is None:
            with_nl = self._blob.decode("utf-8", "surrogatepass")
            full = dict(zip(with_nl[:-1].split("\n"), self._vals.tolist()))
            full.update(self._written)
            self._full = full
            self._memo, self._absent = {}, set()
            owner = self._owner
            if owner is not None and getattr(owner, "FREQ", None) is self:
                owner.FREQ = full
        return self._full

    def __contains__(self, key: object) -> bool:
        return self._lookup(key) is not _ABSENT

    def __getitem__(self, key):
        v = self._lookup(key)
        if v is _ABSENT:
            raise KeyError(key)
        return v

    def get(self, key, default=None):
        v = self._lookup(key)
        return default if v is _ABSENT else v

    def __setitem__(self, key, value) -> None:  # jieba's add_word
        if self._full is not None:
            self._full[key] = value
            return
        self._written[key] = value
        self._memo[key] = value
        self._absent.discard(key)

    # anything else a dict does: from the full dict
    def __len__(self) -> int:
        return len(self.promote())

    def __iter__(self):
        return iter(self.promote())

    def __eq__(self, other: object) -> bool:
        return self.promote() == (other.promote() if isinstance(other, LazyFreq) else other)

    __hash__ = None  # type: ignore[assignment]

    def __getattr__(self, name: str):  # keys(), items(), values(), pop() …
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.promote(), name)


_ABSENT = object()
