"""A small on-disk cache for tables that are slow to build and only change with their inputs.

A fresh ``reportsearch index`` process that updates one file used to spend most of its
time building the same tables every run: the region gazetteer and its automaton
(``indexer.meta.regions``, ~4 s) and jieba's dictionary (``indexer.segdict``, 1.5 s through
jieba's own cache).  :func:`load_or_build` keeps the built value in one file per table,
under the cache directory:

* ``$REPORTSEARCH_CACHE_DIR`` when set (``off`` disables the cache), else
  ``$XDG_CACHE_HOME/reportsearch``, else ``~/.cache/reportsearch``.

Each file starts with a key: a hash of everything the value is built from (data files'
bytes, the source of the modules that build it, library and Python versions, given by
the caller).  A file whose key differs (stale), that cannot be read or decoded (corrupt,
truncated) is ignored and the value rebuilt; a directory that cannot be written to only
means building in memory every time.  Files are written to a temporary name and renamed
(``os.replace``), so a reader never sees a half-written file, and concurrent writers
simply replace each other's identical result.  The cache never makes a value differ from
a fresh build: it only holds what ``build`` returned.
"""
from __future__ import annotations

import gc
import hashlib
import logging
import marshal
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

FORMAT = b"reportsearch-cache-1\n"  # bump to invalidate every cache file at once
_KEY_LEN = 32  # sha256 digest


def cache_dir() -> Path | None:
    """The cache directory (not necessarily existing), or ``None`` when caching is off
    (``$REPORTSEARCH_CACHE_DIR``, read by :mod:`indexer.settings`)."""
    from .settings import current

    return current().cache_dir


def file_digest(path: str | os.PathLike | None) -> bytes:
    """The path, size and sha256 of a file's bytes (``b"missing"`` when it cannot be read)."""
    if not path:
        return b"missing"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return b"missing:" + os.fsencode(str(path))
    return os.fsencode(str(path)) + b"\0" + str(len(data)).encode() + b"\0" + hashlib.sha256(data).digest()


def source_digest(*modules: object) -> bytes:
    """The source files of ``modules`` (module objects or file paths), for cache keys."""
    parts = []
    for m in modules:
        path = m if isinstance(m, (str, os.PathLike)) else getattr(m, "__file__", None)
        parts.append(file_digest(path))
    return b"\0".join(parts)


def make_key(parts: Iterable[bytes | str]) -> bytes:
    h = hashlib.sha256(FORMAT)
    # the interpreter: pickles/marshal data of one Python need not load in another
    h.update(f"{sys.version}\0{sys.implementation.cache_tag}\0{sys.maxsize}\0".encode())
    for p in parts:
        b = p.encode("utf-8", "surrogatepass") if isinstance(p, str) else bytes(p)
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.digest()


class _NoGC:
    """Cyclic GC off while millions of objects are created (it would rescan them again and again)."""

    def __enter__(self) -> None:
        self._was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        if self._was:
            gc.enable()


no_gc = _NoGC


def _codec(kind: str) -> tuple[Callable[[object], bytes], Callable[[bytes], object]]:
    if kind == "marshal":  # plain dicts/strings/ints only, and the fastest to load
        return marshal.dumps, marshal.loads
    return (lambda v: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)), pickle.loads


def read(name: str, key: bytes, codec: str = "pickle") -> tuple[bool, object]:
    """``(True, value)`` from the cache file ``name`` when it holds ``key``; else ``(False, None)``."""
    d = cache_dir()
    if d is None:
        return False, None
    path = d / f"{name}.cache"
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False, None
    head = len(FORMAT) + _KEY_LEN
    if len(data) < head or data[: len(FORMAT)] != FORMAT or data[len(FORMAT):head] != key:
        return False, None  # another format or stale: rebuilt and replaced
    _dumps, loads = _codec(codec)
    try:
        with no_gc():
            return True, loads(memoryview(data)[head:])
    except Exception as exc:  # noqa: BLE001 - a corrupt cache can raise anything on decode: never trust it, never crash on it
        log.info("cache file %s unreadable (%s: %s): rebuilding", path, type(exc).__name__, exc)
        return False, None


def write(name: str, key: bytes, value: object, codec: str = "pickle") -> bool:
    """Store ``value`` as the cache file ``name`` (atomically); ``False`` when it cannot be written."""
    d = cache_dir()
    if d is None:
        return False
    dumps, _loads = _codec(codec)
    tmp = None
    try:
        payload = dumps(value)
        d.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=d)
        with os.fdopen(fd, "wb") as fh:
            fh.write(FORMAT)
            fh.write(key)
            fh.write(payload)
        os.replace(tmp, d / f"{name}.cache")
        tmp = None
        return True
    except Exception as exc:  # noqa: BLE001 - read-only or full disk, unpicklable value …: just don't cache
        log.info("cannot write cache file %s in %s (%s: %s)", name, d, type(exc).__name__, exc)
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def load_or_build(name: str, key_parts: Iterable[bytes | str], build: Callable[[], T], codec: str = "pickle",
                  check: Callable[[object], bool] | None = None) -> T:
    """The cached value of ``build()`` for these inputs, building (and caching) it when needed.

    ``check`` may reject a decoded value (wrong shape): it is then rebuilt.
    """
    key = make_key(key_parts)
    ok, value = read(name, key, codec)
    if ok and (check is None or _safe_check(check, value)):
        return value  # type: ignore[return-value]
    with no_gc():
        value = build()
    write(name, key, value, codec)
    return value


def _safe_check(check: Callable[[object], bool], value: object) -> bool:
    try:
        return bool(check(value))
    except Exception as exc:  # noqa: BLE001 - a decoded value of the wrong shape may fail the check any way: rebuild
        log.info("cached value rejected by its check (%s: %s): rebuilding", type(exc).__name__, exc)
        return False
