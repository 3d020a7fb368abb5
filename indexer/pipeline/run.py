"""The indexing run: files → pages → clean articles → metadata → Whoosh documents.

A run is incremental by construction.  Every document remembers the file it came
from and that file's content hash, and the live index folder keeps a compact
``file → hash`` manifest (``manifest.json``, tagged with the Whoosh generation it
describes), so a file whose hash is unchanged is not read again, a changed file
has its documents replaced, and a file that has gone from a folder (or a file
argument) indexed before has its documents removed.  A run that changes
nothing opens no writer and commits nothing.

Safety (see ``docs/admin.md``):

* one run at a time: an exclusive ``flock`` on ``index_dir/.indexing.lock``
  (released by the kernel when the holder dies, so a kill -9 never leaves the
  index locked); a second run waits ``wait`` seconds, then raises :class:`IndexBusy`;
* all changes of a run go into one Whoosh commit, whose TOC file is renamed into
  place: searchers keep seeing the previous state until it lands, and a run
  killed before that leaves the previous state intact; its orphan files are
  removed by the next run (:func:`store.clean_index_dir`);
* ``rebuild=True`` builds into a fresh ``gen-NNNNNN`` folder and swaps it in by
  replacing the ``CURRENT`` pointer file atomically.

Reading, cleaning, metadata and segment writing run in worker processes
(:mod:`indexer.pipeline.workers`); the decisions (exact copies, years lent by copies,
groups), the deletions and the one commit stay in this process.
"""
from __future__ import annotations

import logging
import os
import shutil
import stat as stat_mod
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index

from ..dedup import DedupState, signature
from ..engine import integrity, store
from ..engine.fastwrite import BulkWriter
from ..engine.runs import remove_stale as remove_stale_runs
from ..engine.schema import build_schema, to_fields
from ..ingest import Skipped, iter_input_files
from ..models import Document
from ..settings import Settings
from ..settings import current as current_settings
from .documents import file_hash, text_key

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
Phase = Callable[[str], None]

MAX_SKIPPED_IN_RUNS = 200
MAX_IDS_IN_RUNS = 200  # document ids per list (added, updated, removed) kept in runs.json
# A file whose modification or change time is less than this before the moment its stat was
# taken is "racy" (git's term): a later write within the same timestamp tick would leave its
# stat unchanged, so its stat cannot vouch for its hash yet.  2 s covers the coarsest common
# timestamps (FAT: 2 s; ext4 and the like: a kernel tick) and small clock differences.
RACY_NS = 2_000_000_000

StatKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode: what a recorded hash is trusted by
_now_ns = time.time_ns  # the wall clock the racy check compares file times with (tests replace it)


@dataclass
class RunSummary:
    """What a run did, for the CLI, the admin page and ``runs.json``."""

    added: int = 0  # documents added from new files
    updated: int = 0  # documents written for files whose content changed
    removed: int = 0  # documents removed (file gone or changed)
    unchanged: int = 0  # files skipped because their content hash is unchanged
    files: int = 0  # input files looked at
    skipped: list[Skipped] = field(default_factory=list)
    duplicates_skipped: int = 0  # exact copies of a document already indexed
    documents: int = 0  # documents in the index after the run
    seconds: float = 0.0
    files_added: int = 0  # new files that gave documents
    files_updated: int = 0  # files whose content changed
    files_removed: int = 0  # files gone since an earlier run
    mode: str = "incremental"  # or "rebuild"
    paths: list[str] = field(default_factory=list)
    workers: int = 1
    started: float = 0.0  # epoch seconds
    finished: float = 0.0
    status: str = "ok"  # "ok", or "failed" (then ``error`` says why)
    error: str | None = None
    committed: bool = False  # whether the run wrote a new index generation
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    # Which documents the run wrote and removed (the admin's run history links them):
    # added: from new files (or back because the original they copied went); updated: written
    # for changed files; removed: deleted and not written again.
    restored: int = 0  # of the added: records of unchanged files back because the original they copied went
    added_ids: list[str] = field(default_factory=list)
    updated_ids: list[str] = field(default_factory=list)
    removed_ids: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def as_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "files": self.files, "documents": self.documents,
            "duplicates_skipped": self.duplicates_skipped, "seconds": round(self.seconds, 3),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "files_added": self.files_added, "files_updated": self.files_updated,
            "files_removed": self.files_removed, "mode": self.mode, "paths": self.paths,
            "workers": self.workers, "started": round(self.started, 3), "finished": round(self.finished, 3),
            "status": self.status, "error": self.error, "committed": self.committed,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "added_ids": self.added_ids, "updated_ids": self.updated_ids, "removed_ids": self.removed_ids,
            "documents_removed": len(self.removed_ids), "restored": self.restored,
        }


class IndexBusy(RuntimeError):
    """Another indexing run holds the index's lock."""


def stat_key(st: os.stat_result) -> StatKey:
    """What must be unchanged for a file's recorded hash to be reused without reading the file.

    Like git's stat cache: size and modification time, plus the inode change
    time and the inode, which a tool that restores an old mtime (``touch -d``,
    ``rsync -t``, ``tar``) or replaces the file by another one cannot keep.
    """
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stat_settled(st: os.stat_result, before_ns: int) -> bool:
    """Whether a stat taken after ``before_ns`` (wall clock) can vouch for the content read after it.

    A write after that moment gives the file a modification/change time of at
    least about ``before_ns``: if the recorded times are older by more than
    :data:`RACY_NS` (more than any timestamp granularity), any later write
    shows in the stat.  A younger ("racy") file is hashed again next time.
    """
    return max(st.st_mtime_ns, st.st_ctime_ns) < before_ns - RACY_NS


def input_key(path: Path, real_dirs: dict[str, str]) -> tuple[str, os.stat_result]:
    """``(str(path.resolve()), os.stat(that))`` of an input file, with one ``lstat`` for a plain file.

    ``Path.resolve`` checks every component of the path for a symlink (about
    50 µs a file here, seconds for a folder of 100,000 pages); the folders'
    real paths are computed once (``real_dirs`` caches them for the run) and a
    file that is not itself a symlink resolves to its folder's real path plus
    its name.  A symlinked file (or an odd name) takes the full way.
    """
    s = os.fspath(path)
    st = os.lstat(s)
    parent, name = os.path.split(s)
    if stat_mod.S_ISLNK(st.st_mode) or name in ("", ".", ".."):
        key = str(Path(s).resolve())
        return key, os.stat(key)
    real = real_dirs.get(parent)
    if real is None:
        real = real_dirs[parent] = os.path.realpath(parent or ".")
    return os.path.join(real, name), st


# -- reading what the index holds ---------------------------------------------------------------

def indexed_files_from_postings(ix) -> dict[str, str]:
    """file → file_hash for every file with documents, from the postings of two ID fields.

    Used when the manifest is missing or describes another generation (a run
    killed between its commit and its sidecars; an index built before the
    manifest existed).  Reads no stored field.
    """
    with ix.searcher() as s:
        r = s.reader()
        file_of: dict[int, str] = {}
        for term in r.field_terms("file"):
            for n in r.postings("file", term).all_ids():
                file_of[n] = term
        out: dict[str, str] = {}
        for term in r.field_terms("file_hash"):
            for n in r.postings("file_hash", term).all_ids():
                f = file_of.get(n)
                if f is not None:
                    out[f] = term
    return out


def dedup_state_from_index(ix) -> DedupState:
    """Rebuild the ``dedup.npz`` state from the index: reads every stored document once.

    Only for an index whose sidecar is missing or describes another generation
    (built before the sidecar existed; a run killed between its commit and its
    sidecars).  Every later run reads the sidecar instead of the stored texts.
    """
    rows = []
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            text = fields.get("content", "")
            year = (fields.get("meta") or {}).get("year")
            rows.append((fields["id"], fields.get("file", ""), fields.get("text_key") or text_key(text),
                         year, signature(text)))
    state = DedupState.empty()
    state.add(rows)
    return state


def load_dedup_state(ix, folder: Path) -> tuple[DedupState, bool]:
    """The dedup state of the index's current generation; ``(state, rebuilt_from_index)``.

    Loading maps the sidecar's signatures instead of reading them (see
    :class:`indexer.dedup.DedupState`), so its cost hardly grows with the corpus.
    """
    state = DedupState.load(folder / store.DEDUP_FILE, store.generation_of(ix))
    if state is not None:
        return state, False
    return dedup_state_from_index(ix), True


def doc_count(ix) -> int:
    """Documents in the index, from its TOC (``ix.doc_count()`` opens a reader on every segment)."""
    return sum(seg.doc_count() for seg in ix._read_toc().segments)


def _settle_racy(racy: dict[str, str], manifest: dict[str, str], stats: dict[str, StatKey]) -> None:
    """Record the stat of files that were racy when hashed, once they are not: hashed again to be sure.

    Files written just before a run started (the last files of a batch copied
    in) are racy when the run hashes them; at its end, usually seconds or
    minutes later, they can be settled, so the next run need not read them.
    A file still racy (a short run) or changed meanwhile is simply hashed again
    by the next run.
    """
    for f, h in racy.items():
        if manifest.get(f) != h:
            continue
        before = _now_ns()
        try:
            st = os.stat(f)
            if not stat_settled(st, before) or file_hash(Path(f)) != h:
                continue
        except OSError:
            continue
        stats[f] = stat_key(st)


def _under(file: str, roots: list[Path]) -> bool:
    try:
        fp = Path(file)
    except (OSError, ValueError):
        return False
    return any(fp == r or r in fp.parents for r in roots)


# -- progress ----------------------------------------------------------------------------------

class _Reporter:
    """Feeds the caller's callbacks and ``progress.json`` (read by the web admin)."""

    def __init__(self, index_dir: Path, summary: RunSummary, progress: Progress | None, phase: Phase | None):
        self.index_dir = index_dir
        self.progress = progress
        self.phase_cb = phase
        self.last_write = 0.0
        self.summary = summary
        self._phase_start = time.perf_counter()
        self.state = {"running": True, "pid": os.getpid(), "mode": summary.mode, "paths": summary.paths,
                      "phase": "starting", "done": 0, "total": 0, "path": "", "started": summary.started,
                      "updated": time.time(), "rate": None, "eta": None}
        self._work_start = time.monotonic()
        self._write(force=True)

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_write >= 0.5:
            self.last_write = now
            self.state["updated"] = time.time()
            store.write_progress(self.index_dir, self.state)

    def phase(self, name: str, total: int | None = None) -> None:
        now = time.perf_counter()
        prev = self.state["phase"]
        if prev != "starting":
            self.summary.timings[prev] = self.summary.timings.get(prev, 0.0) + now - self._phase_start
        self._phase_start = now
        self.state["phase"] = name
        if total is not None:
            self.state["total"] = total
            self.state["done"] = 0
            self._work_start = time.monotonic()
        if self.phase_cb:
            self.phase_cb(name)
        self._write(force=True)

    def step(self, i: int, total: int, path: str) -> None:
        elapsed = max(time.monotonic() - self._work_start, 1e-6)
        rate = i / elapsed
        self.state.update(done=i, total=total, path=path, rate=round(rate, 2),
                          eta=round((total - i) / rate, 1) if rate > 0 else None)
        if self.progress:
            self.progress(i, total, path)
        self._write(force=i == total)

    def finish(self, summary: RunSummary) -> None:
        self.phase("done" if summary.status == "ok" else "failed")
        self.state.update(running=False, phase="done" if summary.status == "ok" else "failed",
                          summary=_for_runs(summary), error=summary.error)
        self._write(force=True)


def _for_runs(summary: RunSummary) -> dict:
    d = summary.as_dict()
    if len(d["skipped"]) > MAX_SKIPPED_IN_RUNS:
        d["skipped_total"] = len(d["skipped"])
        d["skipped"] = d["skipped"][:MAX_SKIPPED_IN_RUNS]
    for name in ("added_ids", "updated_ids", "removed_ids"):
        if len(d[name]) > MAX_IDS_IN_RUNS:
            d[name.replace("_ids", "_total")] = len(d[name])
            d[name] = d[name][:MAX_IDS_IN_RUNS]
    return d


# -- the run -----------------------------------------------------------------------------------

def index_paths(paths: Iterable[str | Path], index_dir: str | Path, progress: Progress | None = None, *,
                rebuild: bool = False, workers: int | None = None, wait: float = 0.0,
                phase: Phase | None = None, rehash: bool | None = None,
                settings: Settings | None = None, follow_links: bool = False) -> RunSummary:
    """Index files and folders incrementally into ``index_dir`` (created if needed).

    With no ``paths``, the files and folders earlier runs indexed are indexed
    again.  ``rebuild`` builds a new index from scratch in a fresh folder and
    swaps it in atomically.  ``workers`` processes read and clean files
    (default: one per core).  ``wait`` seconds are spent waiting for another
    run to finish before :class:`IndexBusy` is raised.  ``rehash`` (default:
    ``settings.rehash``) hashes every file even when its size and times
    match the manifest's record (for file systems whose timestamps cannot be trusted).
    ``settings`` (default: :func:`indexer.settings.current`) gives the writers' memory
    budgets and the test pauses.  ``follow_links`` indexes symbolic links in a folder
    that stay inside it (links out of it are never followed; see
    :func:`indexer.ingest.iter_input_files`).
    """
    settings = settings or current_settings()
    rehash = settings.rehash if rehash is None else rehash
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = store.RunLock(index_dir, wait=wait).acquire()
    except store.LockBusy as exc:
        raise IndexBusy(f"{exc}; try again when it has finished, or pass --wait SECONDS") from None
    summary = RunSummary(mode="rebuild" if rebuild else "incremental", started=time.time())
    t0 = time.perf_counter()
    reporter: _Reporter | None = None
    gen_dir: Path | None = None
    try:
        store.clean_index_dir(index_dir)
        plist = [Path(p) for p in paths]
        if not plist:
            plist = [Path(r) for r in store.load_roots(index_dir)]
            if not plist:
                raise ValueError("nothing to index: give files or folders (no earlier run to repeat)")
        summary.paths = [str(p) for p in plist]
        reporter = _Reporter(index_dir, summary, progress, phase)
        if rebuild:
            gen_dir = store.new_generation_dir(index_dir)
            ix = whoosh_index.create_in(str(gen_dir), build_schema())
            _run(ix, gen_dir, plist, summary, reporter, workers, settings, fresh=True, old_roots=[], rehash=True,
                 follow_links=follow_links)
            reporter.phase("swapping")
            store.swap_current(index_dir, gen_dir)
        else:
            # Adding to a damaged index would commit on top of it and report success.
            integrity.ensure_healthy(index_dir)
            ix = store.open_or_create(index_dir)
            live = Path(ix.storage.folder)
            _run(ix, live, plist, summary, reporter, workers, settings, fresh=False,
                 old_roots=store.load_roots(index_dir), rehash=rehash, follow_links=follow_links)
    except BaseException as exc:
        summary.status = "failed"
        summary.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        summary.added_ids, summary.updated_ids, summary.removed_ids = [], [], []  # nothing was committed
        summary.seconds = time.perf_counter() - t0
        summary.finished = time.time()
        try:
            if reporter:
                reporter.finish(summary)
        except Exception:  # the run's own error is what the caller must see
            log.warning("could not write the failed run's progress in %s", index_dir, exc_info=True)
        if store.read_progress(index_dir).get("running"):
            store.clear_progress(index_dir)  # could not be rewritten (disk full): never leave "running"
        try:
            store.append_run(index_dir, _for_runs(summary))
        except Exception:  # the run's own error is what the caller must see
            log.warning("could not record the failed run in %s", index_dir, exc_info=True)
        try:
            store.clean_index_dir(index_dir)  # the failed run's segment files and temporary files
            if rebuild and gen_dir is not None and store.live_dir(index_dir) != gen_dir:
                shutil.rmtree(gen_dir, ignore_errors=True)
        except Exception:  # cleaning is best effort; the run's error is what counts
            log.warning("could not remove the failed run's files in %s", index_dir, exc_info=True)
        lock.release()
        raise
    summary.seconds = time.perf_counter() - t0
    summary.finished = time.time()
    try:
        reporter.finish(summary)
        store.append_run(index_dir, _for_runs(summary))
    finally:
        lock.release()
    return summary


@dataclass
class _Inventory:
    """What the scan found: the files to (re)index, the ones gone, and what the manifest knew."""

    gen: int  # the Whoosh generation the run starts from
    indexed: dict[str, str]  # file → hash the index holds (manifest, or postings when recovered)
    recorded: dict[str, StatKey]  # file → the stat its manifest hash was computed under
    recovered: bool  # the manifest was missing or stale: ``indexed`` was read from the postings
    roots: list[str]  # the roots to record: earlier ones and this run's
    seen: set[str] = field(default_factory=set)  # every input file looked at (resolved)
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (file, hash) to read and index
    changed_files: set[str] = field(default_factory=set)  # indexed before, content changed
    gone: set[str] = field(default_factory=set)  # indexed before, no longer there
    # The stat each file was hashed under, with that hash: becomes the manifest's record for the
    # files whose hash the manifest keeps.  Files not looked at keep their earlier record.
    scanned: dict[str, tuple[StatKey, str]] = field(default_factory=dict)
    racy: dict[str, str] = field(default_factory=dict)  # hashed, but too recently written for their stat to vouch
    # file → files holding the originals of its records skipped as exact copies (manifest.json)
    copies: dict[str, list[str]] = field(default_factory=dict)
    restored: set[str] = field(default_factory=set)  # unchanged files read again: an original of their copies went

    def manifest_stats(self, manifest: dict[str, str]) -> dict[str, StatKey]:
        """The stat records to keep: this run's where its hash is the manifest's, earlier ones elsewhere."""
        out = {f: s for f, s in self.recorded.items() if f not in self.seen and f in manifest}
        out.update((f, sk) for f, (sk, h) in self.scanned.items() if manifest.get(f) == h)
        _settle_racy(self.racy, manifest, out)
        return out


@dataclass
class _Decisions:
    """What the indexing phase decided, for the grouping phase and the sidecars."""

    dedup: DedupState
    rebuilt: bool  # the dedup state had to be rebuilt from the stored texts
    split: object  # groups split by the removed files (``DedupState.remove_files``)
    manifest: dict[str, str]  # file → hash after the run
    old_ids: list[str] = field(default_factory=list)  # documents of the replaced files (for the run record)
    kept: set[str] = field(default_factory=set)  # documents of the restored files: they stay as they are
    # text_key → (id, file) of this run's documents (earlier ones: the dedup state)
    run_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    new_copies: dict[str, set[str]] = field(default_factory=dict)  # file → files holding its copies' originals
    new_rows: list[tuple] = field(default_factory=list)  # (id, file, text_key, year, signature) for the dedup state
    new_years: dict[str, int | None] = field(default_factory=dict)  # the run's documents: only their years
    held: list[tuple[Document, str, str, str]] = field(default_factory=list)  # no year yet: a copy may state it


def _run(ix, folder: Path, paths: list[Path], summary: RunSummary, reporter: _Reporter,
         workers: int | None, settings: Settings, *, fresh: bool, old_roots: list[str], rehash: bool = False,
         follow_links: bool = False) -> None:
    """One run against an open index ``ix`` living in ``folder``: one function per phase.

    scanning (:func:`_scan`) → nothing changed? (:func:`_record_unchanged`) → preparing
    (:func:`_prepare`) → indexing (:func:`_index_files`) → grouping (:func:`_group`) →
    committing (:func:`_commit`) → sidecars (:func:`_write_sidecars`).  Everything up to the
    commit can be abandoned (the writer is cancelled, the workers stopped); the sidecars come
    after the commit, and a run killed before them is repaired by the next one.
    """
    from .workers import FilePool

    reporter.phase("scanning")
    inv = _scan(ix, folder, paths, summary, fresh=fresh, old_roots=old_roots, rehash=rehash,
                follow_links=follow_links)
    if inv.roots != sorted(set(old_roots)) or fresh:
        store.save_roots(folder, inv.roots)  # before the commit: an extra root is harmless, a lost one is not
    if not inv.jobs and not inv.gone and not inv.recovered and not fresh:
        _record_unchanged(ix, folder, inv, summary)
        return  # nothing changed: no writer, no commit, no regrouping

    remove_stale_runs(str(ix.storage.folder))  # a writer that died in an earlier run left its runs
    pool = FilePool(inv.jobs, workers, folder=str(ix.storage.folder), settings=settings)
    summary.workers = pool.workers
    reporter.phase("preparing")
    # the run lock already keeps other runs out; postings are written block-wise (indexer.engine.fastwrite),
    # a full buffer spilled as a run and the runs merged into one segment (indexer.engine.runs)
    writer = BulkWriter(ix, timeout=10.0, limitmb=settings.limitmb, spill=True, segment_mb=settings.segment_mb,
                        runs_per_segment=settings.runs_per_segment)
    pauses = settings.test_pause
    try:
        dec = _prepare(ix, folder, inv, pool, writer, summary, fresh=fresh)
        reporter.phase("indexing", total=len(inv.jobs))
        _index_files(inv, dec, pool, writer, summary, reporter, pauses.get("per_file"))
        reporter.phase("grouping")
        _group(inv, dec, writer, summary)
        reporter.phase("committing")
        _commit(writer, pauses)
        written = set(summary.added_ids) | set(summary.updated_ids)
        summary.removed_ids = [x for x in dec.old_ids if x not in written]
    except BaseException:
        pool.close(cancel=True)
        try:
            writer.cancel()
        except Exception:  # the run's own error is what the caller must see; the next run cleans up
            log.debug("cancelling the writer failed", exc_info=True)
        raise
    summary.committed = True
    _pause(pauses, "after_commit")
    _write_sidecars(ix, folder, inv, dec, fresh=fresh)
    summary.documents = doc_count(ix)


def _scan(ix, folder: Path, paths: list[Path], summary: RunSummary, *, fresh: bool, old_roots: list[str],
          rehash: bool, follow_links: bool = False) -> _Inventory:
    """Scanning: list the input files, reuse recorded hashes where the stat vouches, hash the rest."""
    gen = store.generation_of(ix)
    recorded: dict[str, StatKey] = {}  # file → the stat its manifest hash was computed under
    manifest = None if fresh else store.read_manifest(folder)  # read once: stats now, copies below
    if fresh:
        indexed: dict[str, str] = {}
        recovered = False
    else:
        mgen, indexed, recorded = store.load_manifest_stats(folder, manifest)
        recovered = mgen != gen
        if recovered:  # no manifest, or the last run died between its commit and its sidecars
            indexed = indexed_files_from_postings(ix)
            recorded = {}
    trusted = {} if rehash else recorded  # --rehash: read every file, whatever its stat

    resolved = [p.resolve() for p in paths]
    dirs = [p for p in resolved if p.is_dir()]
    roots = sorted(set(old_roots) | {str(p) for p in resolved if p.exists()})
    missing_args = {str(p) for p in resolved if not p.exists()}
    inv = _Inventory(gen=gen, indexed=indexed, recorded=recorded, recovered=recovered, roots=roots)
    seen, jobs, changed_files, scanned, racy = inv.seen, inv.jobs, inv.changed_files, inv.scanned, inv.racy

    real_dirs: dict[str, str] = {}
    scan_pos: dict[str, int] = {}  # file → its place in the walk: jobs are done in this order
    unfollowed: set[str] = set()  # targets of links not followed: removed if an earlier run indexed them
    for path, problem in iter_input_files(paths, follow_links=follow_links):
        if problem:
            summary.skipped.append(Skipped(str(path), problem))
            if os.path.islink(path):
                unfollowed.add(os.path.realpath(path))
            continue
        summary.files += 1
        before = _now_ns()  # before the stat: see stat_settled
        try:
            key, st = input_key(path, real_dirs)
        except OSError:  # gone since it was listed: reported below as unreadable, not as removed
            key, st = str(path.resolve()), None
        if key in seen:  # the same file reached through two arguments
            continue
        seen.add(key)
        scan_pos[key] = len(scan_pos)
        try:
            if st is None:
                st = os.stat(key)
            sk = stat_key(st)
            old = indexed.get(key)
            if old is not None and trusted.get(key) == sk:  # same size, times and inode: same content
                scanned[key] = (sk, old)
                summary.unchanged += 1
                continue
            h = file_hash(Path(key))
        except OSError as exc:
            summary.skipped.append(Skipped(str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        if stat_settled(st, before):
            scanned[key] = (sk, h)
        else:
            racy[key] = h
        if old == h:
            summary.unchanged += 1
            continue
        if key in indexed:
            changed_files.add(key)
        jobs.append((key, h))
    inv.gone = {f for f in indexed if f not in seen and (_under(f, dirs) or f in missing_args)
                and not Path(f).exists()}
    inv.gone |= {f for f in unfollowed if f in indexed and f not in seen}  # indexed through a link before
    summary.files_removed = len(inv.gone)
    # Records skipped as exact copies of a document in a file that changed or went: their files
    # are read again (their other documents are kept as they are), so the copy comes back when its
    # original goes, as in a fresh build.
    inv.copies = {} if fresh else store.load_manifest_copies(folder, manifest)
    restore = _files_to_restore(inv.copies, changed_files | inv.gone, {k for k, _ in jobs}, indexed, seen)
    for f, h, changed in restore:
        if changed:  # outside this run's paths and edited meanwhile: an ordinary changed file
            changed_files.add(f)
        jobs.append((f, h))
    if restore:
        jobs.sort(key=lambda j: scan_pos.get(j[0], len(scan_pos)))
    inv.restored = {f for f, _, changed in restore if not changed}
    return inv


def _files_to_restore(copies: dict[str, list[str]], replaced: set[str], jobs: set[str],
                      indexed: dict[str, str], seen: set[str]) -> list[tuple[str, str, bool]]:
    """Files to read again because a record of theirs was skipped as a copy of a document that goes.

    ``copies`` is the manifest's file → files holding the originals; ``replaced``
    the files whose documents this run deletes.  Returns ``(file, hash,
    changed)``; ``changed`` is True for a file outside this run's paths whose
    content differs from its recorded hash (then it is simply a changed file).
    """
    out: list[tuple[str, str, bool]] = []
    for f in sorted(copies):
        if f in replaced or f in jobs or f not in indexed or not replaced.intersection(copies[f]):
            continue
        h = indexed[f]
        if f not in seen:  # not among this run's paths: it must still exist to be read again
            try:
                h = file_hash(Path(f))
            except OSError:
                continue
        out.append((f, h, h != indexed[f]))
    return out


def _record_unchanged(ix, folder: Path, inv: _Inventory, summary: RunSummary) -> None:
    """A run with nothing to index: only the stat records of files hashed again are remembered."""
    summary.workers = 0
    summary.documents = doc_count(ix)
    new_stats = inv.manifest_stats(inv.indexed)
    if new_stats != inv.recorded:  # files hashed again (touched, racy, or an older manifest): remember their stat
        store.save_manifest(folder, inv.gen, inv.indexed, new_stats, inv.copies)


def _prepare(ix, folder: Path, inv: _Inventory, pool, writer: BulkWriter, summary: RunSummary, *,
             fresh: bool) -> _Decisions:
    """Preparing: start the workers, delete the replaced files' documents, load the dedup state."""
    pool.start()  # workers read and clean while this process loads the dedup sidecar
    replaced = inv.changed_files | inv.gone
    for f in replaced:
        summary.removed += writer.delete_by_term("file", f)
    # Exact copies, groups and years come from the dedup sidecar, not from the stored texts.
    t_dedup = time.perf_counter()
    dedup, rebuilt = load_dedup_state(ix, folder) if not fresh else (DedupState.empty(), False)
    if rebuilt and len(dedup):  # the (rare) run that had to read every stored text: say so in runs.json
        summary.timings["dedup_rebuild"] = time.perf_counter() - t_dedup
    old_ids = dedup.ids_of_files(replaced)  # for the run record: which documents went
    kept = set(dedup.ids_of_files(inv.restored))  # documents of files read again only for their copies
    split = dedup.remove_files(replaced)
    manifest = {f: h for f, h in inv.indexed.items() if f not in replaced}
    return _Decisions(dedup=dedup, rebuilt=rebuilt, split=split, manifest=manifest, old_ids=old_ids, kept=kept)


def _index_files(inv: _Inventory, dec: _Decisions, pool, writer: BulkWriter, summary: RunSummary,
                 reporter: _Reporter, per_file_pause: float | None = None) -> None:
    """Indexing: each file's documents as the workers finish them; exact copies are indexed once.

    A document with a year is written now (by its worker, or here); one without
    is held until grouping, where a copy may lend it one.
    """
    changed_files, dedup, run_keys = inv.changed_files, dec.dedup, dec.run_keys
    i = 0
    for res in pool.results():
        if res.replay:  # a worker died with these in its unfinished segment: decided already
            for pd in res.docs:
                writer.add_prepared(pd.prepared)
            continue
        i += 1
        summary.skipped.extend(res.skipped)
        n_added = 0
        for pd in res.docs:
            d = pd.doc
            if d.id in dec.kept:  # its file was read again for its copies: the document stays as it is
                pool.discard(pd)
                continue
            copy_of = run_keys.get(pd.text_key) or dedup.find_key_file(pd.text_key)
            if copy_of is not None:  # exact copies across files are indexed once
                pool.discard(pd)  # (deleted from the worker's segment if it wrote it)
                summary.duplicates_skipped += 1
                summary.skipped.append(Skipped(d.path, f"exact copy of document {copy_of[0]}"))
                if copy_of[1] != res.key:
                    dec.new_copies.setdefault(res.key, set()).add(copy_of[1])
                continue
            run_keys[pd.text_key] = (d.id, res.key)
            dec.new_years[d.id] = d.meta.year
            dec.new_rows.append((d.id, res.key, pd.text_key, d.meta.year, pd.signature))
            n_added += 1
            if d.meta.year:
                if pd.written is None:  # in-process: this writer writes it
                    writer.add_prepared(pd.prepared)
                _count(summary, res.key, changed_files, d.id)
            else:
                dec.held.append((d, res.key, res.hash, pd.text_key))
        if n_added or res.key in dec.new_copies:  # a file of copies only is remembered too
            dec.manifest[res.key] = res.hash
            if res.key in changed_files:
                summary.files_updated += 1
            elif res.key not in inv.restored:  # a restored file is an unchanged one
                summary.files_added += 1
            else:
                summary.restored += n_added
        elif res.key in changed_files:
            summary.files_updated += 1
        reporter.step(i, len(inv.jobs), res.key)
        if per_file_pause:
            time.sleep(per_file_pause)
    writer.adopt(pool.segments())  # the workers' segments, committed with this writer's
    pool.close()


def _group(inv: _Inventory, dec: _Decisions, writer: BulkWriter, summary: RunSummary) -> None:
    """Grouping: near-duplicate groups of the new documents; held documents get a copy's year, then are written."""
    dedup = dec.dedup
    dedup.add(dec.new_rows, split=dec.split)  # only the new rows' LSH neighbours and the split groups
    groups: dict[str, list[str]] = {}
    if dec.held:
        held_docs = {d.id: d for d, *_ in dec.held}
        groups = dedup.groups_for(held_docs)
        wanted = {o for i in held_docs for o in groups.get(i, []) if o not in dec.new_years}
        _share_years(held_docs, groups, dedup.years_of(wanted), dec.new_years)
        for d in held_docs.values():
            dedup.set_year(d.id, d.meta.year)
    for d, f, h, k in dec.held:
        d.duplicates = groups.get(d.id, [])
        writer.add_document(**to_fields(d, file=f, file_hash=h, text_key=k))
        _count(summary, f, inv.changed_files, d.id)


def _pause(pauses: Mapping[str, float], name: str) -> None:
    """The test hook ``REPORTSEARCH_TEST_PAUSE`` (``settings.test_pause``): hold the run at a moment to hit."""
    secs = pauses.get(name)
    if secs:
        time.sleep(secs)


def _commit(writer: BulkWriter, pauses: Mapping[str, float]) -> None:
    """Committing: one TOC makes the run's segments live (or none of them)."""
    _pause(pauses, "before_commit")
    in_commit = pauses.get("in_commit")
    if in_commit:  # segment files written, TOC not yet: the worst moment to be killed
        writer.before_toc = lambda: time.sleep(in_commit)
    writer.commit(mergetype=merge_small_segments)


def _write_sidecars(ix, folder: Path, inv: _Inventory, dec: _Decisions, *, fresh: bool) -> None:
    """After the commit, groups first: a manifest tagged with the new generation vouches for both.

    A run killed in between is repaired by the next.  groups.json (read whole by
    every searcher) is rewritten only when a group gained or lost a member: a dedup
    state valid for this generation implies that the groups.json written before it is too.
    """
    new_gen = ix.latest_generation()
    dedup = dec.dedup
    if fresh or dec.rebuilt or inv.recovered or dedup.groups_changed or not (folder / store.GROUPS_FILE).exists():
        store.save_groups(folder, dedup.groups())
    dedup.save(folder / store.DEDUP_FILE, new_gen)
    done = {k for k, _ in inv.jobs}
    replaced = inv.changed_files | inv.gone
    copies = {f: o for f, o in inv.copies.items() if f not in done and f not in replaced}
    copies.update((f, sorted(o)) for f, o in dec.new_copies.items())
    store.save_manifest(folder, new_gen, dec.manifest, inv.manifest_stats(dec.manifest), copies)
    integrity.record_checksums(folder)  # last: what `reportsearch check` and the next run compare with


def _count(summary: RunSummary, file: str, changed_files: set[str], doc_id: str) -> None:
    """Count a written document: from a changed file it is an update (even when its id is new:
    an edited file that had been skipped as an exact copy), otherwise it is added."""
    if file in changed_files:
        summary.updated += 1
        summary.updated_ids.append(doc_id)
    else:
        summary.added += 1
        summary.added_ids.append(doc_id)


def _share_years(targets: dict[str, Document], groups: dict[str, list[str]], existing: dict[str, int | None],
                 new: dict[str, int | None] | None = None) -> None:
    """A report whose copy states the year (2010年 where it says 20xx年) covers that year too.

    ``existing``: id → year of the indexed documents in the targets' groups (from
    the dedup sidecar, so no stored document is read); ``new``: id → year of this
    run's documents (by default the targets' own).
    """
    new = new if new is not None else {i: d.meta.year for i, d in targets.items()}
    for did, d in targets.items():
        if d.meta.year:
            continue
        years = set()
        for other in groups.get(did, []):
            y = targets[other].meta.year if other in targets else new.get(other)
            if y:
                years.add(y)
            elif existing.get(other):
                years.add(existing[other])
        if len(years) == 1:
            d.meta.year = years.pop()


MAX_SMALL_SEGMENTS = 8
SEGMENT_TIERS = (50, 500)  # documents: a segment this small or smaller is merged with its peers
def _all_deleted(seg) -> bool:
    """Whether every document of a segment has been deleted (replaced or removed since it was written)."""
    try:
        return seg.doc_count() == 0
    except AttributeError:  # a stand-in without deletions (the merge policy's unit test)
        return False


def merge_small_segments(writer, segments: list) -> list:
    """Merge policy: drop segments with no live document; fold small segments of one size tier together
    once there are 8 of them.

    A segment whose documents have all been deleted is dropped without copying
    anything: a one-document update deletes the document the previous update
    wrote, so repeated updates of one file leave no small segments behind
    (each used to be copied into the tier merge every eighth update: seconds of
    Whoosh's per-term postings reading for a few documents, all of them deleted).

    Merging copies postings through Whoosh's pure-Python pool (several µs a
    posting), so big segments (a bulk build writes several, see
    ``indexer.engine.fastwrite``) are never merged, and small ones only in tiers:
    segments of at most ``SEGMENT_TIERS[0]`` documents (one-file updates) are
    merged when ``MAX_SMALL_SEGMENTS`` of them exist (measured: about 2 s for
    eight one-report segments, Whoosh reading every term's postings in Python);
    segments of up to ``SEGMENT_TIERS[1]`` documents likewise, among
    themselves.  The segment count, and with it search cost, stays bounded.
    (Whoosh's own ``MERGE_SMALL`` would eventually merge big segments too.)
    """
    from whoosh.reading import SegmentReader

    segments = [s for s in segments if not _all_deleted(s)]
    lower = 0
    merge: list = []
    for upper in SEGMENT_TIERS:
        tier = [s for s in segments if lower < s.doc_count_all() <= upper or (lower == 0 and s.doc_count_all() == 0)]
        if len(tier) >= MAX_SMALL_SEGMENTS:
            merge = tier
            break
        lower = upper
    if not merge:
        return segments
    for seg in merge:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    return [s for s in segments if s not in merge]
