"""Where the index lives on disk, the small sidecar files beside it, and the run lock.

Layout of an index folder (``index_dir``)::

    index_dir/
      CURRENT            names the live generation folder, e.g. "gen-000003" (optional)
      gen-000003/        a Whoosh index + its per-index sidecars (see below)
      progress.json      progress of the run in progress (or of the last one)
      .indexing.lock     held with flock(2) by the indexing run (content: its pid)

Without ``CURRENT`` the Whoosh index sits in ``index_dir`` itself (the plain
layout every index starts with; ``reportsearch index --rebuild`` switches to the
pointer layout).  Every reader and writer resolves the live folder with
:func:`live_dir`, so a rebuilt index is swapped in by one atomic ``os.replace``
of ``CURRENT``.

Per-index sidecars, in the live folder beside the Whoosh files:

* ``groups.json``: near-duplicate groups (what searchers read), rewritten after a run that
  changed a group (or could not tell);
* ``dedup.npz`` + ``dedup.journal``: per-document MinHash signatures, text keys, years, files
  and group labels (``indexer.dedup.DedupState``): a base snapshot and the changes runs
  appended since, tagged with the Whoosh generation they describe: a run updates
  near-duplicate groups and finds exact copies from them instead of reading every stored
  text; when they are missing or stale the state is rebuilt from the index once;
* ``manifest.json``: ``{"generation": G, "files": {file: content hash}, "stat": {file:
  [size, mtime_ns, ctime_ns, inode]}}``, the compact file → hash table the unchanged-file
  check reads (instead of every stored document), and the stat each hash was computed
  under (a file whose stat is unchanged is not read again); valid only when ``G`` is the
  Whoosh generation on disk (``stat`` is optional: older manifests have none); ``copies``:
  ``{file: [files]}``, the files holding the originals of a file's records that were skipped as
  exact copies (read again when one of those files changes or goes);
* ``roots.json``: the files and folders runs have indexed into this index
  (``reportsearch index`` without a path re-indexes them);
* ``checksums.json``: size and CRC-32 of every file of the committed generation
  (``indexer.integrity``: what ``reportsearch check`` compares the folder with).

Sidecars are written to a temporary file and renamed, so a reader never sees
half a file.

Runtime state that is not the index lives in the *data folder* (:func:`data_dir`):
``$REPORTSEARCH_DATA_DIR``, or ``<index_dir>-data`` beside the index folder::

    index-data/
      runs.json          summaries of the last indexing runs (newest last)
      uploads/           pages uploaded through the web admin
      secret_key         the web admin's session signing key (0600)
      admin.sqlite3      login attempts and admin sessions, shared by every server process
"""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Self

from whoosh import index as whoosh_index
from whoosh.index import TOC, EmptyIndexError, Index

from ..settings import current as current_settings
from .schema import build_schema

DATA_SUFFIX = "-data"
GROUPS_FILE = "groups.json"
DEDUP_FILE = "dedup.npz"
DEDUP_JOURNAL_FILE = "dedup.journal"  # beside DEDUP_FILE (indexer.dedup.journal_path)
RUNS_FILE = "runs.json"
MANIFEST_FILE = "manifest.json"
ROOTS_FILE = "roots.json"
PROGRESS_FILE = "progress.json"
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".indexing.lock"
GEN_PREFIX = "gen-"
log = logging.getLogger(__name__)
INDEXNAME = "MAIN"  # Whoosh's default index name
MAX_RUNS = 20

_GEN_RE = re.compile(r"^gen-(\d{6,})$")
_TOC_RE = TOC._pattern(INDEXNAME)
#: A segment's file name; group 1 is the segment id as ``Segment.segment_id()`` gives it.
SEGMENT_FILE_RE = TOC._segment_pattern(INDEXNAME)
CHECKSUMS_FILE = "checksums.json"  # written by indexer.integrity after each commit
_PER_INDEX_SIDECARS = (GROUPS_FILE, DEDUP_FILE, DEDUP_JOURNAL_FILE, MANIFEST_FILE, ROOTS_FILE, CHECKSUMS_FILE)


def project_root() -> Path:
    """The checkout this package runs from (holds ``corpus/`` and ``templates/``)."""
    return Path(__file__).resolve().parents[2]


def data_dir(index_dir: str | Path, configured: Path | None = None) -> Path:
    """The folder for runtime state beside the index (run history, uploads, admin secrets).

    ``settings.data_dir`` (``$REPORTSEARCH_DATA_DIR``) when set, else ``<index_dir>-data``
    next to the index folder: state never lands inside the source checkout unless the
    index does, and a ``--rebuild`` (which swaps generations inside ``index_dir``) leaves it alone.
    """
    if configured is None:
        configured = current_settings().data_dir
    if configured is not None:
        return Path(configured)
    ix = Path(index_dir)
    return ix.parent / (ix.name + DATA_SUFFIX)


# -- the live folder ---------------------------------------------------------------------------

def current_generation_name(index_dir: str | Path) -> str | None:
    """The folder name ``CURRENT`` points to, or None (plain layout / no index)."""
    try:
        name = (Path(index_dir) / CURRENT_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name if _GEN_RE.match(name) else None


def live_dir(index_dir: str | Path) -> Path:
    """The folder holding the live Whoosh index: ``index_dir/<CURRENT>`` or ``index_dir``."""
    p = Path(index_dir)
    name = current_generation_name(p)
    return p / name if name else p


def index_exists(index_dir: str | Path) -> bool:
    """Whether a committed Whoosh index is live in ``index_dir``."""
    p = live_dir(index_dir)
    return p.is_dir() and whoosh_index.exists_in(str(p))


def open_index(index_dir: str | Path) -> Index:
    """Open the live index (raises ``whoosh.index.EmptyIndexError`` if there is none)."""
    return whoosh_index.open_dir(str(live_dir(index_dir)))


def open_or_create(index_dir: str | Path) -> Index:
    """Open the live index, creating the folder and an empty (plain layout) index on first use."""
    p = Path(index_dir)
    p.mkdir(parents=True, exist_ok=True)
    live = live_dir(p)
    if whoosh_index.exists_in(str(live)):
        return whoosh_index.open_dir(str(live))
    live.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(live), build_schema())


def generation_of(ix: Index) -> int:
    """The Whoosh TOC generation of an open index (what the manifest is tagged with)."""
    return int(ix.latest_generation())


def generation_dirs(index_dir: str | Path) -> list[tuple[int, Path]]:
    """``(number, path)`` of every ``gen-NNNNNN`` folder, in number order."""
    p = Path(index_dir)
    out = []
    try:
        entries = list(p.iterdir())
    except OSError:
        return []
    for child in entries:
        m = _GEN_RE.match(child.name)
        if m and child.is_dir():
            out.append((int(m.group(1)), child))
    return sorted(out)


def new_generation_dir(index_dir: str | Path) -> Path:
    """A fresh, empty ``gen-NNNNNN`` folder numbered after every existing one."""
    p = Path(index_dir)
    p.mkdir(parents=True, exist_ok=True)
    nums = [n for n, _ in generation_dirs(p)]
    cur = current_generation_name(p)
    if cur:
        nums.append(int(cur[len(GEN_PREFIX):]))
    d = p / f"{GEN_PREFIX}{(max(nums) if nums else 0) + 1:06d}"
    d.mkdir()
    return d


def _fsync_path(path: Path) -> None:
    """fsync one file or folder; best effort (what cannot be opened is skipped)."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush a freshly built index folder to disk before it is swapped in."""
    for child in path.iterdir():
        if child.is_file():
            _fsync_path(child)
    _fsync_path(path)


def swap_current(index_dir: str | Path, gen_dir: Path) -> None:
    """Make ``gen_dir`` the live index with one atomic rename of ``CURRENT``."""
    p = Path(index_dir)
    if gen_dir.parent.resolve() != p.resolve() or not _GEN_RE.match(gen_dir.name):
        raise ValueError(f"{gen_dir} is not a generation folder of {p}")
    _fsync_tree(gen_dir)
    write_atomic(p / CURRENT_FILE, lambda fh: fh.write((gen_dir.name + "\n").encode("ascii")),
                 prefix=".CURRENT.")
    _fsync_path(p)


# -- clean-up after killed runs ----------------------------------------------------------------

def _is_whoosh_file(name: str) -> bool:
    return bool(_TOC_RE.match(name) or SEGMENT_FILE_RE.match(name) or name.startswith(f"_{INDEXNAME}_")
                or name in (f"{INDEXNAME}.tmp", f"{INDEXNAME}_WRITELOCK", f"{INDEXNAME}_LOCK"))


def clean_index_folder(folder: str | Path) -> list[str]:
    """Remove what a killed writer left in a Whoosh folder; returns the names removed.

    Deletes segment files no TOC of the latest generation refers to, older TOCs,
    half-written TOCs (``_MAIN_N.toc.<time>``), the writer's temporary folder and
    our own half-written sidecars.  Must be called with the run lock held.
    """
    p = Path(folder)
    if not p.is_dir():
        return []
    removed: list[str] = []
    try:
        ix = whoosh_index.open_dir(str(p))
        gen = ix.latest_generation()
        keep = {s.segment_id() for s in ix._read_toc().segments}
    except (EmptyIndexError, OSError, ValueError):
        return []
    except Exception:  # an unreadable TOC (a pickle error of any kind): leave everything as it is
        log.warning("unreadable index in %s: nothing cleaned", p, exc_info=True)
        return []
    for child in p.iterdir():
        name = child.name
        doomed = False
        tm = _TOC_RE.match(name)
        sm = SEGMENT_FILE_RE.match(name)
        if tm:
            doomed = int(tm.group(1)) != gen
        elif name.startswith(f"_{INDEXNAME}_") and ".toc." in name:
            doomed = True  # a TOC whose writer died before renaming it
        elif sm:
            doomed = sm.group(1) not in keep
        elif name == f"{INDEXNAME}.tmp" or name.endswith(".tmp") and any(name.startswith(s) for s in _PER_INDEX_SIDECARS):
            doomed = True
        if not doomed:
            continue
        try:
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
            removed.append(name)
        except OSError:
            pass
    return removed


def clean_index_dir(index_dir: str | Path) -> list[str]:
    """Clean the live folder, failed rebuilds, old generations and a superseded plain index.

    Keeps the live generation and the one before it (a searcher may still be
    reading it until its next request).  Must be called with the run lock held.
    """
    p = Path(index_dir)
    removed: list[str] = []
    if not p.is_dir():
        return removed
    for child in p.iterdir():
        if child.name.startswith((".CURRENT.", f"{RUNS_FILE}", f"{PROGRESS_FILE}")) and child.name.endswith(".tmp"):
            try:
                child.unlink()
                removed.append(child.name)
            except OSError:
                pass
    cur = current_generation_name(p)
    if cur:
        cur_n = int(cur[len(GEN_PREFIX):])
        older = [(n, d) for n, d in generation_dirs(p) if n < cur_n]
        keep = {cur_n} | ({older[-1][0]} if older else set())
        for n, d in generation_dirs(p):
            if n not in keep:
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d.name)
        # A plain-layout index superseded by the first rebuild.
        for child in p.iterdir():
            if child.is_file() and (_is_whoosh_file(child.name) or child.name in _PER_INDEX_SIDECARS):
                try:
                    child.unlink()
                    removed.append(child.name)
                except OSError:
                    pass
            elif child.is_dir() and child.name == f"{INDEXNAME}.tmp":
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child.name)
    else:
        # No pointer: every gen folder is a rebuild that died before its swap.
        for _, d in generation_dirs(p):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d.name)
    removed.extend(clean_index_folder(live_dir(p)))
    return removed


def index_size_bytes(index_dir: str | Path) -> int:
    """Bytes on disk of the live index folder (Whoosh files and sidecars)."""
    total = 0
    for child in live_dir(index_dir).iterdir():
        try:
            if child.is_file():
                total += child.stat().st_size
        except OSError:
            pass
    return total


def last_update(index_dir: str | Path) -> float | None:
    """Modification time of the live index's current TOC (when the last commit landed)."""
    live = live_dir(index_dir)
    best = None
    try:
        for child in live.iterdir():
            if _TOC_RE.match(child.name):
                t = child.stat().st_mtime
                best = t if best is None else max(best, t)
    except OSError:
        return None
    return best


# -- the run lock ------------------------------------------------------------------------------

class LockBusy(RuntimeError):
    """Another process (or thread) holds the indexing lock."""

    def __init__(self, message: str, holder: dict[str, Any] | None = None):
        super().__init__(message)
        self.holder = holder or {}


class RunLock:
    """An exclusive ``flock`` on ``index_dir/.indexing.lock`` for one indexing run.

    The kernel releases the lock when the holder dies (kill -9 included), so a
    left-over lock *file* never blocks the next run.  ``wait`` seconds are spent
    retrying before :class:`LockBusy` is raised.
    """

    def __init__(self, index_dir: str | Path, wait: float = 0.0, poll: float = 0.2):
        self.path = Path(index_dir) / LOCK_FILE
        self.wait = max(0.0, float(wait or 0.0))
        self.poll = poll
        self.fd: int | None = None

    def holder(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        # A short grace even without --wait: is_locked() probes take a shared lock for microseconds.
        deadline = time.monotonic() + max(self.wait, 0.3)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    os.close(fd)
                    h = self.holder()
                    who = f" (pid {h['pid']}, started {h.get('started', '?')})" if h.get("pid") else ""
                    raise LockBusy(f"another indexing run is using {self.path.parent}{who}", h) from None
                time.sleep(self.poll)
        self.fd = fd
        info = json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info, 0)
        except OSError:
            pass
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.ftruncate(self.fd, 0)
        except OSError:
            pass
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(index_dir: str | Path) -> bool:
    """Whether an indexing run holds the lock right now (a shared probe; never blocks a run)."""
    path = Path(index_dir) / LOCK_FILE
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


# -- sidecars ----------------------------------------------------------------------------------

def write_atomic(path: Path, write: Callable[[IO[bytes]], Any], prefix: str | None = None) -> None:
    """Write a file through a temporary file beside it, fsync, and an atomic rename.

    A reader (or a run killed half-way) sees the old file or the new one, never a mix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=prefix or path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through :func:`write_atomic`."""
    write_atomic(path, lambda fh: fh.write(json.dumps(data, ensure_ascii=False).encode("utf-8")))


def read_json(path: Path, default: Any) -> Any:
    """A sidecar's content, or ``default`` when it is missing or unreadable."""
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def load_groups(index_dir: str | Path) -> dict[str, list[str]]:
    """Near-duplicate groups of the live index: doc id → ids of its other copies."""
    data = read_json(live_dir(index_dir) / GROUPS_FILE, {})
    return data if isinstance(data, dict) else {}


def save_groups(folder: str | Path, groups: dict[str, list[str]]) -> None:
    """Write ``groups.json`` (doc id → ids of its other copies; ids without copies left out)."""
    write_json_atomic(Path(folder) / GROUPS_FILE, {k: v for k, v in groups.items() if v})


MANIFEST_STAT_FIELDS = ["size", "mtime_ns", "ctime_ns", "ino"]


def load_manifest(folder: str | Path) -> tuple[int | None, dict[str, str]]:
    """``(generation, {file: hash})`` from a live folder's manifest; ``(None, {})`` if absent."""
    gen, files, _ = load_manifest_stats(folder)
    return gen, files


_UNREAD = object()  # a manifest argument not given: the reader reads the file


def read_manifest(folder: str | Path) -> object:
    """The parsed ``manifest.json`` (``None`` if absent), for the ``load_manifest_*`` readers: a
    run reads the file once and takes its parts from it (on a large index it is many MB)."""
    return read_json(Path(folder) / MANIFEST_FILE, None)


def load_manifest_stats(folder: str | Path, data: object = _UNREAD
                        ) -> tuple[int | None, dict[str, str], dict[str, tuple[int, int, int, int]]]:
    """``(generation, {file: hash}, {file: (size, mtime_ns, ctime_ns, inode)})``; ``(None, {}, {})`` if absent.

    The stat records say under which stat each hash was computed (see
    ``indexer.pipeline.stat_key``).  A manifest written before they existed, or
    one whose records are malformed or of other fields, simply has none: every
    file is hashed once and the next manifest has them.  ``data``: the manifest
    already read (:func:`read_manifest`).
    """
    if data is _UNREAD:
        data = read_manifest(folder)
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return None, {}, {}
    gen = data.get("generation")
    files = {str(k): str(v) for k, v in data["files"].items()}
    stats: dict[str, tuple[int, int, int, int]] = {}
    raw = data.get("stat")
    if isinstance(raw, dict) and data.get("stat_fields") == MANIFEST_STAT_FIELDS:
        for k, v in raw.items():
            if (k in files and isinstance(v, list) and len(v) == 4
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in v)):
                stats[k] = (v[0], v[1], v[2], v[3])
    return (gen if isinstance(gen, int) else None), files, stats


def save_manifest(folder: str | Path, generation: int, files: dict[str, str],
                  stats: dict[str, tuple[int, int, int, int]] | None = None,
                  copies: dict[str, list[str]] | None = None) -> None:
    """Write ``manifest.json`` atomically; ``stats`` (file → stat record) only for files in ``files``.

    ``files`` keeps its old shape (file → hash), so an older version of this
    program still reads the manifest (it ignores the stat records).  ``copies``
    (file → the files holding the originals of its records skipped as exact
    copies) says which files must be read again when one of those files
    changes or goes, so that a copy's record comes back (see
    :func:`load_manifest_copies`).
    """
    data: dict[str, Any] = {"generation": generation, "files": files, "stat_fields": MANIFEST_STAT_FIELDS,
                            "stat": {f: list(s) for f, s in (stats or {}).items() if f in files},
                            "copies": {f: sorted(set(o)) for f, o in (copies or {}).items() if f in files and o}}
    write_json_atomic(Path(folder) / MANIFEST_FILE, data)


def load_manifest_copies(folder: str | Path, data: object = _UNREAD) -> dict[str, list[str]]:
    """file → files holding the originals of its skipped exact copies, from ``manifest.json``.

    Read whatever generation the manifest describes: after a run killed
    between its commit and its sidecars, the previous run's record is still
    the best knowledge of which copies were skipped (an older manifest without
    the table gives ``{}``).  ``data``: the manifest already read (:func:`read_manifest`).
    """
    if data is _UNREAD:
        data = read_manifest(folder)
    raw = data.get("copies") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return {}
    return {str(k): [str(x) for x in v] for k, v in raw.items() if isinstance(v, list)}


def load_roots(index_dir: str | Path) -> list[str]:
    """Files and folders earlier runs indexed into the live index."""
    data = read_json(live_dir(index_dir) / ROOTS_FILE, [])
    return [str(x) for x in data] if isinstance(data, list) else []


def save_roots(folder: str | Path, roots: list[str]) -> None:
    write_json_atomic(Path(folder) / ROOTS_FILE, sorted(set(roots)))


def load_runs(index_dir: str | Path) -> list[dict[str, Any]]:
    """Summaries of the last runs, oldest first (from the data folder; an older index kept them inside)."""
    path = data_dir(index_dir) / RUNS_FILE
    if not path.exists():
        path = Path(index_dir) / RUNS_FILE
    data = read_json(path, [])
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def append_run(index_dir: str | Path, summary: dict[str, Any]) -> None:
    """Add a run summary to the data folder's ``runs.json``, keeping the last :data:`MAX_RUNS`."""
    runs = load_runs(index_dir)
    runs.append(summary)
    folder = data_dir(index_dir)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / RUNS_FILE, runs[-MAX_RUNS:])


def write_progress(index_dir: str | Path, data: dict[str, Any]) -> None:
    try:
        write_json_atomic(Path(index_dir) / PROGRESS_FILE, data)
    except OSError:
        pass


def clear_progress(index_dir: str | Path) -> None:
    """Remove ``progress.json`` (needs no free space, unlike rewriting it)."""
    try:
        (Path(index_dir) / PROGRESS_FILE).unlink()
    except OSError:
        pass


def read_progress(index_dir: str | Path) -> dict[str, Any]:
    data = read_json(Path(index_dir) / PROGRESS_FILE, {})
    return data if isinstance(data, dict) else {}
