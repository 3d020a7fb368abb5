"""Every setting the product reads from its environment, in one object built in one place.

Why one object: the variables were read in seven modules, one of them at import
time, and some were documented nowhere.  Here each ``REPORTSEARCH_*`` variable is
named once (:data:`VARIABLES`, documented in ``docs/admin.md``), parsed once, with
its default, into a frozen :class:`Settings`.

How it reaches the code: an entry point (``reportsearch``, ``create_app``, the
benchmark) builds ``Settings.from_env(**cli_options)`` and passes it down
(``index_paths(settings=...)``, ``create_app(settings=...)``), which hand the
parts they need to the writer and the workers as plain arguments.  Code deep
below an entry point that has no settings argument (the cache folder of the load
cache, the segmenter choice) asks :func:`current`: the settings an entry point
installed with :func:`install`, else the environment as it is now.  Nothing is
read when a module is imported.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PREFIX = "REPORTSEARCH_"

# variable (without the prefix) → (Settings attribute, what it is); docs/admin.md has the table
VARIABLES: dict[str, tuple[str, str]] = {
    "INDEX_DIR": ("index_dir", "index folder (default ./index)"),
    "REHASH": ("rehash", "1: hash every input file, trusting no recorded size and times"),
    "SEGMENT_MB": ("segment_mb", "postings the main process's writer buffers per segment, MB"),
    "WORKER_SEGMENT_MB": ("worker_segment_mb", "postings each indexing worker buffers per run, MB"),
    "RUNS_PER_SEGMENT": ("runs_per_segment", "runs merged into one segment"),
    "LIMITMB": ("limitmb", "memory of Whoosh's posting pool for merged segments, MB"),
    "CACHE_DIR": ("cache_dir", "folder of built lookup tables; off: no cache"),
    "SEGMENTER": ("segmenter", "fast (jieba-rs, token-identical) or jieba"),
    "ADMIN_PASSWORD": ("admin_password", "plain password that turns the web admin on"),
    "SECRET_KEY": ("secret_key", "signs the admin session cookie"),
    "DATA_DIR": ("data_dir", "runtime state: run history, uploads, secret key, admin state (default <index>-data)"),
    "COOKIE_SECURE": ("cookie_secure", "1: the admin cookie is Secure also over plain HTTP (behind a TLS proxy)"),
    "TEST_PAUSE": ("test_pause", "test hook: before_commit:S,in_commit:S,after_commit:S,per_file:S"),
    "MAX_PAGE_CHARS": ("max_page_chars", "characters of one page's or record's text read; the rest is reported"),
    "MAX_DOC_CHARS": ("max_doc_chars", "characters of one document; a longer report is split into parts"),
}

DEFAULT_SEGMENT_MB = 160  # a flush needs about 1.6× this at its peak
DEFAULT_WORKER_SEGMENT_MB = 160.0  # each worker's buffered postings per run (workers finish in turns)
DEFAULT_RUNS_PER_SEGMENT = 16
DEFAULT_LIMITMB = 512  # Whoosh: 128; measured: 300 reports 60 s → 41 s (fewer spilled runs to merge)
# A 50 MB page used to become one document of 18 million characters (4.67 GB of indexing memory);
# the longest real report in the shared corpora has 57,590 characters (docs/admin.md, "Limits").
DEFAULT_MAX_PAGE_CHARS = 2_000_000
DEFAULT_MAX_DOC_CHARS = 200_000
MIN_CHARS_LIMIT = 1000
_FALSE = ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    """The product's settings; ``Settings()`` are the defaults, :meth:`from_env` reads the environment."""

    index_dir: Path = Path("index")
    rehash: bool = False
    segment_mb: int = DEFAULT_SEGMENT_MB
    worker_segment_mb: float = DEFAULT_WORKER_SEGMENT_MB
    runs_per_segment: int = DEFAULT_RUNS_PER_SEGMENT
    limitmb: int = DEFAULT_LIMITMB
    cache_dir: Path | None = None  # None: no cache (the default is resolved by from_env)
    segmenter: str = "fast"
    admin_password: str | None = None
    secret_key: str | None = None
    data_dir: Path | None = None  # None: <index_dir>-data beside the index (indexer.engine.store.data_dir)
    cookie_secure: bool = False
    test_pause: Mapping[str, float] = field(default_factory=dict)
    max_page_chars: int = DEFAULT_MAX_PAGE_CHARS
    max_doc_chars: int = DEFAULT_MAX_DOC_CHARS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The settings the environment gives (bad numbers fall back to the default), then ``overrides``
        (the command line's options; ``None`` values are ignored)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(PREFIX + name)

        index_dir = get("INDEX_DIR")
        values: dict[str, Any] = {
            "index_dir": Path(index_dir) if index_dir else Path("index"),
            "rehash": (get("REHASH") or "").strip().lower() not in _FALSE,
            "segment_mb": max(8, _number(get("SEGMENT_MB"), int, DEFAULT_SEGMENT_MB)),
            "worker_segment_mb": max(0.05, _number(get("WORKER_SEGMENT_MB"), float, DEFAULT_WORKER_SEGMENT_MB)),
            "runs_per_segment": max(1, _number(get("RUNS_PER_SEGMENT"), int, DEFAULT_RUNS_PER_SEGMENT)),
            "limitmb": max(16, _number(get("LIMITMB"), int, DEFAULT_LIMITMB)),
            "cache_dir": _cache_dir(get("CACHE_DIR"), env.get("XDG_CACHE_HOME")),
            "segmenter": "jieba" if (get("SEGMENTER") or "fast").strip().lower() == "jieba" else "fast",
            "admin_password": get("ADMIN_PASSWORD") or None,
            "secret_key": get("SECRET_KEY") or None,
            "data_dir": Path(get("DATA_DIR") or "") if get("DATA_DIR") else None,
            "cookie_secure": (get("COOKIE_SECURE") or "").strip().lower() not in _FALSE,
            "test_pause": _pauses(get("TEST_PAUSE") or ""),
            "max_page_chars": max(MIN_CHARS_LIMIT, _number(get("MAX_PAGE_CHARS"), int, DEFAULT_MAX_PAGE_CHARS)),
            "max_doc_chars": max(MIN_CHARS_LIMIT, _number(get("MAX_DOC_CHARS"), int, DEFAULT_MAX_DOC_CHARS)),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "index_dir" in overrides and overrides["index_dir"] is not None:
            values["index_dir"] = Path(overrides["index_dir"])
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (``None`` values ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _number(raw: str | None, kind: type, default: Any) -> Any:
    if raw is None or not raw.strip():
        return default
    try:
        return kind(raw)
    except ValueError:
        return default


def _cache_dir(raw: str | None, xdg: str | None) -> Path | None:
    if raw is not None and raw.strip():
        if raw.strip().lower() in ("off", "0", "none", "false", "no"):
            return None
        return Path(raw).expanduser()
    base = Path(xdg).expanduser() if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "reportsearch"


def _pauses(raw: str) -> dict[str, float]:
    """``"before_commit:2,in_commit:2"`` → ``{"before_commit": 2.0, "in_commit": 2.0}`` (bad parts ignored)."""
    out: dict[str, float] = {}
    for part in raw.split(","):
        name, _, secs = part.partition(":")
        try:
            out[name.strip()] = float(secs)
        except ValueError:
            continue
    return out


_installed: Settings | None = None
_from_env: tuple[tuple[str | None, ...], Settings] | None = None  # the last environment read, and its settings


def install(settings: Settings | None) -> None:
    """Make ``settings`` what :func:`current` returns in this process (``None``: the environment again)."""
    global _installed
    _installed = settings


def is_installed() -> bool:
    """Whether an entry point installed settings (else :func:`current` reads the environment)."""
    return _installed is not None


def current() -> Settings:
    """The settings an entry point installed, else those the environment gives now.

    Cheap enough to ask per document: the environment is parsed again only when one
    of its variables changed since the last call.
    """
    global _from_env
    if _installed is not None:
        return _installed
    key = _env_key()
    if _from_env is None or _from_env[0] != key:
        _from_env = (key, Settings.from_env(os.environ))
    return _from_env[1]


_KEY_NAMES = tuple(PREFIX + name for name in VARIABLES) + ("XDG_CACHE_HOME", "HOME")


def _env_key() -> tuple[Any, ...]:
    """The values of the variables :class:`Settings` reads: :func:`current` compares them per call.

    Why not ``os.environ.get`` per name: :func:`current` runs on every tokenization
    (the segmenter choice), and 15 ``os.environ.get`` calls (each encodes its key)
    cost ~10 µs, several times the cut of a short query (``python -m bench`` measured
    it in query latency).  ``os.environ`` keeps its encoded contents in one dict,
    updated by every ``os.environ[...] =`` / ``del`` / ``monkeypatch.setenv``: looking
    the pre-encoded names up there gives the same answer in well under a microsecond.
    """
    env = os.environ
    data = getattr(env, "_data", None)
    encode = getattr(env, "encodekey", None)
    if not isinstance(data, dict) or encode is None:  # another Python: the portable way
        return tuple(env.get(name) for name in _KEY_NAMES)
    global _encoded_names
    if _encoded_names is None:
        _encoded_names = tuple(encode(name) for name in _KEY_NAMES)
    return tuple(map(data.get, _encoded_names))


_encoded_names: tuple[Any, ...] | None = None
