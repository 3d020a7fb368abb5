"""Worker processes for an indexing run: read, clean, describe and write on every core.

Each worker reads, cleans and describes files, turns their documents into
postings (``indexer.engine.fastwrite.prepare``) and, in a parallel run, writes them
into **segments of its own** (a lock-free :class:`indexer.engine.fastwrite.BulkWriter`
in the worker).  The parent process keeps the run's one locked writer: it
decides in input order which documents are exact copies (those are marked
deleted in the worker's segment), writes the few documents that wait for a
year from a copy, and commits the workers' segments with its own in one TOC,
so a run is still all-or-nothing.  Why: the writer used to be the parent's
alone, so every posting was pickled by a worker, sent through a pipe (about
ten times the text's size), unpickled and appended by the parent, and the
parent's segment flushes left the workers waiting; measured in
``docs/performance.md``.

Results come back in input order, so a run's decisions are deterministic
whatever the number of workers (which copy of an exact duplicate is kept
depends on that order).  A worker that dies (the OOM killer…) loses only the
segment it was building: the files whose documents were in it are prepared
again in this process, with the decisions already taken, and the remaining
files are done in this process.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ..ingest import Skipped
from ..models import Document
from ..settings import Settings
from ..settings import current as current_settings

log = logging.getLogger(__name__)


@dataclass
class PreparedDoc:
    """One document as the writer wants it, plus what the parent still needs to decide."""

    doc: Document
    fields: dict | None  # the Whoosh field dict; dropped once ``prepared`` holds it in writer form
    text_key: str
    # MinHash signature (uint32[NUM_PERM]) or None for a text too short to compare: computed
    # here, in parallel, so the parent only queries the LSH (see indexer.dedup.DedupState)
    signature: Any = None
    # the document's postings and per-document values (indexer.engine.fastwrite.prepare), so that the
    # writer process only appends arrays; None once a worker has written them itself
    prepared: Any = None
    # (segment id, document number) when a worker wrote the document into a segment of its own
    written: tuple[str, int] | None = None


@dataclass
class FileResult:
    key: str  # absolute path of the input file
    hash: str  # its content hash
    docs: list[PreparedDoc] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    # True for a file prepared again after its worker died: its documents were decided and
    # counted when it first came; only their postings are to be written (by this process)
    replay: bool = False


def prepare_file(job: tuple[str, str]) -> FileResult:
    """Worker entry point: ``(file, hash)`` → the file's documents as field dicts.  Never raises."""
    from ..dedup import signature
    from ..engine.fastwrite import prepare
    from ..engine.schema import to_fields
    from .documents import documents_from_file, text_key

    key, h = job
    res = FileResult(key=key, hash=h)
    try:
        docs, skipped = documents_from_file(Path(key))
        res.skipped.extend(skipped)
        for d in docs:
            k = text_key(d.article.text)
            res.docs.append(PreparedDoc(doc=d, fields=None, text_key=k, signature=signature(d.article.text),
                                        prepared=prepare(_schema(), to_fields(d, file=key, file_hash=h, text_key=k,
                                                                           gram_codes=True))))
    except Exception as exc:  # a bug in one stage must not stop the whole run: the file is reported skipped
        log.debug("processing %s failed", key, exc_info=True)
        res.docs.clear()
        res.skipped.append(Skipped(key, f"processing failed: {type(exc).__name__}: {exc}"))
    return res


# Files queued ahead per worker.  A file's result is small (its postings stay in the worker
# that wrote them), so several can wait for an earlier file without costing memory, and a
# worker busy finishing a segment never leaves the other one without work.
IN_FLIGHT_WRITING = 4
POLL_S = 0.5  # how often a parent waiting for results checks that its workers are alive
_SCHEMA = None


def _schema():
    """One schema object per process (building one per document would be wasted work)."""
    global _SCHEMA
    if _SCHEMA is None:
        from ..engine.schema import build_schema

        _SCHEMA = build_schema()
    return _SCHEMA


AUTO_MIN_FILES = 64  # with the default worker count, fewer files than this are done in-process


def warm_up() -> None:
    """Load the cleaners' and metadata extractors' lazy tables once, before forking workers.

    Forked workers then share them (copy-on-write) instead of each loading them again.
    """
    try:
        from ..clean import clean_page
        from ..meta import extract_meta
        from ..models import Article, Page

        text = "北京市海淀区2020年政府工作报告\n\n各位代表：现在，我代表区人民政府向大会报告工作，请予审议。"
        for a in clean_page(Page(path="<warm-up>", raw=text, kind="text")) or []:
            extract_meta(a, {})
        extract_meta(Article(title="北京市2020年政府工作报告", text=text), {})
        from ..analysis import index_words  # the segmenters' dictionaries, shared by forked workers

        index_words(text)
    except Exception:  # warming is an optimisation: a worker that could not warm loads lazily
        log.debug("warm-up failed", exc_info=True)


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _watch_parent(ppid: int) -> None:
    """Exit when the parent goes away (kill -9 of the indexing run must not leave workers behind)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != ppid:
            os._exit(1)


def _init_worker() -> None:
    # Ctrl-C reaches the whole process group: let the parent decide and cancel us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()


def _context():
    """``fork`` from a single-threaded CLI (fast); ``forkserver`` from a threaded web process."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["indexer.pipeline.warm"])  # workers forked from a warm server
        return ctx
    return multiprocessing.get_context("spawn")


def _strip(pd: PreparedDoc) -> None:
    """What the parent still needs of a document a worker has written: ids, year, key, signature.

    The text and postings stay in the worker (the parent writes only documents
    that wait for a year, and those are sent whole).
    """
    pd.prepared = None
    pd.doc.article.text = ""


class FlushTurns:
    """Writing workers take turns to finish segments: an exclusive ``flock`` on the index folder.

    Why: a segment's finish needs about 2.5× the postings it buffered, at once
    (sorted copies of the arrays).  When both workers finished a segment at the
    same moment, the run's peak memory was two such peaks, so each worker's
    budget had to be small, and small segments make every query look each term
    up in more of them (at 100,000 reports, 101 segments of 1,000 reports).
    With turns, a finish overlaps only the other worker's *buffer*, so the budget
    can be larger for the same peak.  A worker whose buffer is full but finds the
    other finishing does not wait: it takes another file and tries again (up to
    ``HARD_FACTOR`` times its budget, where it waits).  ``flock`` is released by
    the kernel when its holder dies, so a killed worker cannot stall the other.
    Each worker opens the folder itself: a lock shared through ``fork`` would be
    one open file and exclude no one.
    """

    HARD_FACTOR = 1.25
    ALONE_FACTOR = 0.4  # a last segment below this share of the budget does not wait for a turn

    def __init__(self, folder: str):
        self._fd: int | None = None
        try:
            import fcntl

            self._fcntl = fcntl
            self._fd = os.open(folder, os.O_RDONLY)
        except (ImportError, OSError):  # no flock here: every worker finishes when it likes
            self._fcntl = None

    def take(self, wait: bool) -> bool:
        """Take the turn (waiting for it if ``wait``); True when this worker may finish now."""
        if self._fd is None:
            return True
        flags = self._fcntl.LOCK_EX | (0 if wait else self._fcntl.LOCK_NB)
        try:
            self._fcntl.flock(self._fd, flags)
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True  # locking failed for another reason: finish anyway, as before turns existed

    def give(self) -> None:
        if self._fd is not None:
            try:
                self._fcntl.flock(self._fd, self._fcntl.LOCK_UN)
            except OSError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _roll_in_turn(writer, turns: FlushTurns):
    """The segment ``writer`` finished, if its buffer is full and it is this worker's turn; else None.

    A spilling writer writes its full buffer as a run in its turn, and merges its
    runs into a segment (when that is due) *after* giving the turn back: the merge
    streams in little memory, and took seconds that the other worker spent waiting.
    """
    if writer is None or not writer.is_full():
        return None
    if not turns.take(wait=writer.is_full(FlushTurns.HARD_FACTOR)):
        return None  # the other worker is finishing a segment: add another file first
    try:
        if not getattr(writer, "spilling", False):
            return writer.roll_if_full()
        writer.spill_if_full()
    finally:
        turns.give()
    return writer.finish_segment() if writer.segment_due else None


def _writing_worker(folder: str, budget_mb: float, runs_per_segment: int, tasks, results) -> None:
    """A worker process: prepare files from ``tasks`` and write their documents into its own segments.

    Messages to ``results``: ``("file", i, FileResult)`` for job ``i`` (its written documents
    carry ``(segment id, docnum)``), ``("segment", segment)`` for each finished segment,
    ``("done", [segments])`` after the ``None`` task, ``("error", text)`` if writing failed.
    A file's documents always go into one segment (a segment is finished between files), so a
    segment lost with a dead worker is a known set of files.
    """
    _init_worker()
    try:
        from whoosh import index as whoosh_index

        from ..engine.fastwrite import BulkWriter

        writer = None
        turns = FlushTurns(folder)
        while True:
            job = tasks.get()
            if job is None:
                break
            i, key, h = job
            res = prepare_file((key, h))
            written = [pd for pd in res.docs if pd.doc.meta.year]  # the others wait for a copy's year
            if written:
                if writer is None:
                    writer = BulkWriter(whoosh_index.open_dir(folder), _lk=False, segment_mb=budget_mb, spill=True,
                                        runs_per_segment=runs_per_segment)
                    writer.auto_roll = False
                for pd in written:
                    pd.written = (writer.segment_id, writer.docnum)
                    writer.add_prepared(pd.prepared)
                    _strip(pd)
            results.put(("file", i, res))
            seg = _roll_in_turn(writer, turns)
            if seg is not None:
                results.put(("segment", seg))
        done = []
        if writer is not None:
            # the last segment: a small one is finished at once, beside the other worker's finish
            # (together no more than a finish and a full buffer); a large one waits for its turn
            mine = turns.take(wait=writer.is_full(FlushTurns.ALONE_FACTOR))
            try:
                merge_later = writer.spill_rest()  # a spilling writer's last run, in the turn
                if not merge_later:
                    done = writer.finish_segments()
            finally:
                if mine:
                    turns.give()
            if merge_later:
                done = writer.finish_segments()  # the merge: little memory, no turn
        turns.close()
        results.put(("done", done))
    except BaseException as exc:  # the parent sees the error and finishes the work itself
        try:
            results.put(("error", f"{type(exc).__name__}: {exc}"))
        except Exception:  # the queue is gone with the parent: nothing to tell
            log.debug("could not report a worker error", exc_info=True)
        raise SystemExit(1) from exc


class WorkerLost(RuntimeError):
    """A writing worker died or failed: the segment it was building is lost."""


class FilePool:
    """Runs :func:`prepare_file` over jobs, in worker processes that write segments when that pays off.

    ``start()`` starts the workers (so they are busy while the parent does other
    work), ``results()`` yields in input order, ``discard()`` marks a document a
    worker wrote as deleted (an exact copy), ``segments()`` gives the workers'
    finished segments for the run's writer to commit, ``close()`` stops
    whatever is left (on error or interrupt).

    In-process (one worker, or a small batch) results carry their postings
    (``PreparedDoc.prepared``) and the caller writes them.  In parallel, a
    document with a year comes back ``written`` (already in a worker's
    segment); one without a year comes back whole, for the caller to write once
    a copy has lent it a year; and ``replay`` results (after a worker died) carry
    postings again, to be written without deciding anything anew.
    """

    def __init__(self, jobs: list[tuple[str, str]], workers: int | None = None, *, folder: str | None = None,
                 segment_mb: float | None = None, settings: Settings | None = None):
        self.jobs = jobs
        if not workers or workers < 1:
            # Automatic: starting and warming workers costs a few seconds, worth it only for a batch.
            n = default_workers() if len(jobs) >= AUTO_MIN_FILES else 1
        else:
            n = workers
        self.workers = max(1, min(n, len(jobs)))
        self.folder = folder
        settings = settings or current_settings()
        self.segment_mb = segment_mb or settings.worker_segment_mb
        self.runs_per_segment = settings.runs_per_segment
        self.fell_back = False  # the worker processes failed; the rest was done in-process
        self._procs: list = []
        self._tasks = None
        self._results = None
        self._sent = 0  # jobs put on the task queue
        self._arrived: dict[int, FileResult] = {}
        self._finished: dict[str, Any] = {}  # segment id → finished segment (reported by a worker)
        self._done_workers = 0
        # job → (segment id, ids of its written documents not discarded, their document numbers)
        self._written: dict[int, tuple[str, set[str], list[int]]] = {}
        self._current = -1  # the job whose result was yielded last (the one ``discard`` speaks of)
        self._deleted: dict[str, list[int]] = {}  # segment id → document numbers to mark deleted
        self._worker_segments: set[str] = set()  # every segment a worker wrote into (its runs' folders)

    @property
    def parallel(self) -> bool:
        return self.workers > 1 and len(self.jobs) > 1 and self.folder is not None

    def start(self) -> FilePool:
        if self.parallel and not self._procs and not self.fell_back:
            ctx = _context()
            if ctx.get_start_method() == "fork":
                warm_up()  # measured: cheaper than every worker loading the tables on a busy machine
            try:
                self._tasks = ctx.Queue()
                self._results = ctx.Queue()
                for _ in range(self.workers):
                    p = ctx.Process(target=_writing_worker, daemon=True,
                                    args=(self.folder, self.segment_mb, self.runs_per_segment, self._tasks, self._results))
                    p.start()
                    self._procs.append(p)
                self._fill(0)
            except OSError as exc:
                self._fall_back(exc)
        return self

    def _fill(self, done: int) -> None:
        """Keep ``IN_FLIGHT_WRITING`` files per worker queued beyond the ``done`` ones.

        Bounded so that results waiting for an earlier file never pile up in memory.
        """
        limit = min(len(self.jobs), done + self.workers * IN_FLIGHT_WRITING)
        while self._sent < limit:
            key, h = self.jobs[self._sent]
            self._tasks.put((self._sent, key, h))
            self._sent += 1

    def _receive(self) -> None:
        """Take one message from the workers (waiting for it); raise :class:`WorkerLost` if one died."""
        while True:
            try:
                msg = self._results.get(timeout=POLL_S)
                break
            except queue.Empty:
                dead = [p for p in self._procs if p.exitcode is not None and p.exitcode != 0]
                if dead or (self._done_workers < len(self._procs)
                            and all(p.exitcode is not None for p in self._procs)):
                    raise WorkerLost(f"a worker process exited with status {dead[0].exitcode if dead else 0}")
        kind = msg[0]
        if kind == "file":
            _k, i, res = msg
            written = [pd for pd in res.docs if pd.written is not None]
            if written:  # all in one segment: a worker finishes segments between files
                self._written[i] = (written[0].written[0], {pd.doc.id for pd in written},
                                    [pd.written[1] for pd in written])
                self._worker_segments.add(written[0].written[0])
            self._arrived[i] = res
        elif kind == "segment":
            self._finished[msg[1].segment_id()] = msg[1]
        elif kind == "done":
            for seg in msg[1]:
                self._finished[seg.segment_id()] = seg
            self._done_workers += 1
        else:
            raise WorkerLost(f"a worker failed: {msg[1]}")

    def _fall_back(self, exc: BaseException) -> None:
        log.warning("worker processes failed (%s: %s); going on in this process", type(exc).__name__, exc)
        self.fell_back = True
        self.close(cancel=True)

    def _recover(self, done: int) -> Iterator[FileResult]:
        """After a worker died, with ``done`` files consumed: make every document land exactly once.

        A consumed file whose segment was never finished is prepared again and its kept
        documents (written, not discarded as copies) come back as a ``replay`` result, with
        postings, for this process to write: they were decided and counted already.  A file
        that arrived but was not consumed will be prepared again in this process like the
        files not reached yet, so its documents in a finished segment are marked deleted.
        """
        for i, (seg_id, keep, docnums) in sorted(self._written.items()):
            if i >= done:
                self._deleted.setdefault(seg_id, []).extend(docnums)
            elif seg_id not in self._finished and keep:
                res = prepare_file(self.jobs[i])
                res.docs = [pd for pd in res.docs if pd.doc.id in keep]
                res.skipped = []
                res.replay = True
                yield res
        self._written.clear()

    def results(self) -> Iterator[FileResult]:
        if not self.parallel:
            for job in self.jobs:
                yield prepare_file(job)
            return
        self.start()
        done = 0
        if not self.fell_back:
            try:
                while done < len(self.jobs):
                    self._fill(done)
                    while done not in self._arrived:
                        self._receive()
                    res = self._arrived.pop(done)
                    self._current = done
                    done += 1
                    yield res
                for _ in self._procs:
                    self._tasks.put(None)
                while self._done_workers < len(self._procs):
                    self._receive()
            except (WorkerLost, OSError, EOFError) as exc:
                self._fall_back(exc)
                self._arrived.clear()
                yield from self._recover(done)
        for job in self.jobs[done:]:
            yield prepare_file(job)

    def discard(self, pd: PreparedDoc) -> None:
        """A document a worker wrote is not to be kept (an exact copy): marked deleted in its segment."""
        if pd.written is None:
            return
        seg_id, docnum = pd.written
        self._deleted.setdefault(seg_id, []).append(docnum)
        entry = self._written.get(self._current)  # the file being consumed
        if entry is not None:
            entry[1].discard(pd.doc.id)

    def segments(self) -> list:
        """The workers' finished segments, with discarded documents marked deleted."""
        out = []
        for seg_id, seg in self._finished.items():
            for docnum in self._deleted.get(seg_id, ()):
                seg.delete_document(docnum)
            out.append(seg)
        return out

    def close(self, cancel: bool = False) -> None:
        for p in self._procs:
            if cancel and p.is_alive():
                p.terminate()
        for p in self._procs:
            p.join(timeout=None if not cancel else 5)
            if p.is_alive():
                p.kill()
                p.join()
        self._procs = []
        if self.folder:  # a worker that died leaves the runs of the segment it was building
            from ..engine.runs import RunSet

            for seg_id in self._worker_segments:
                RunSet(self.folder, seg_id).remove()
        for q in (self._tasks, self._results):
            if q is not None:
                q.cancel_join_thread()
                q.close()
        self._tasks = self._results = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, *rest: object) -> None:
        self.close(cancel=exc_type is not None)
