"""Worker processes for an indexing run: read, clean and describe files on every core.

The parent process keeps the single Whoosh writer; workers return ready-to-add
field dicts (``indexer.schema.to_fields``), so that anything expensive done per
document (today cleaning and metadata; later segmentation) runs in parallel
and the parent only feeds the writer.

Results come back in input order, so a run is deterministic whatever the number
of workers (which copy of an exact duplicate is kept depends on that order).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .ingest import Skipped
from .models import Document

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
    # the document's postings and per-document values (indexer.fastwrite.prepare), so that the
    # writer process only appends arrays
    prepared: Any = None


@dataclass
class FileResult:
    key: str  # absolute path of the input file
    hash: str  # its content hash
    docs: list[PreparedDoc] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def prepare_file(job: tuple[str, str]) -> FileResult:
    """Worker entry point: ``(file, hash)`` → the file's documents as field dicts.  Never raises."""
    from .dedup import signature
    from .fastwrite import prepare
    from .pipeline import documents_from_file, text_key
    from .schema import to_fields

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
    except Exception as exc:  # a bug in one stage must not stop the whole run
        res.docs.clear()
        res.skipped.append(Skipped(key, f"processing failed: {type(exc).__name__}: {exc}"))
    return res


IN_FLIGHT_PER_WORKER = 2  # files submitted ahead per worker (each result is held in memory until written)
_SCHEMA = None


def _schema():
    """One schema object per process (building one per document would be wasted work)."""
    global _SCHEMA
    if _SCHEMA is None:
        from .schema import build_schema

        _SCHEMA = build_schema()
    return _SCHEMA


AUTO_MIN_FILES = 64  # with the default worker count, fewer files than this are done in-process


def warm_up() -> None:
    """Load the cleaners' and metadata extractors' lazy tables once, before forking workers.

    Forked workers then share them (copy-on-write) instead of each loading them again.
    """
    try:
        from .clean import clean_page
        from .meta import extract_meta
        from .models import Article, Page

        text = "北京市海淀区2020年政府工作报告\n\n各位代表：现在，我代表区人民政府向大会报告工作，请予审议。"
        for a in clean_page(Page(path="<warm-up>", raw=text, kind="text")) or []:
            extract_meta(a, {})
        extract_meta(Article(title="北京市2020年政府工作报告", text=text), {})
    except Exception:
        pass


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
        ctx.set_forkserver_preload(["indexer.warm"])  # workers forked from a warm server
        return ctx
    return multiprocessing.get_context("spawn")


class FilePool:
    """Runs :func:`prepare_file` over jobs, in worker processes when that pays off.

    ``start()`` submits everything at once (so workers are busy while the parent
    does other work), ``results()`` yields in input order, ``close()`` cancels
    whatever is left (on error or interrupt) and shuts the workers down.
    """

    def __init__(self, jobs: list[tuple[str, str]], workers: int | None = None):
        self.jobs = jobs
        if not workers or workers < 1:
            # Automatic: starting and warming workers costs a few seconds, worth it only for a batch.
            n = default_workers() if len(jobs) >= AUTO_MIN_FILES else 1
        else:
            n = workers
        self.workers = max(1, min(n, len(jobs)))
        self._ex: ProcessPoolExecutor | None = None
        self._futures: list[Future | None] = []
        self.fell_back = False  # the worker processes failed; the rest was done in-process

    @property
    def parallel(self) -> bool:
        return self.workers > 1 and len(self.jobs) > 1

    def start(self) -> "FilePool":
        if self.parallel and self._ex is None and not self.fell_back:
            ctx = _context()
            if ctx.get_start_method() == "fork":
                warm_up()  # measured: cheaper than every worker loading the tables on a busy machine
            try:
                self._ex = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_worker)
                self._fill(0)
            except (BrokenProcessPool, OSError) as exc:
                self._fall_back(exc)
        return self

    def _fill(self, done: int) -> None:
        """Keep ``IN_FLIGHT_PER_WORKER`` files per worker submitted beyond the ``done`` ones.

        Bounded so that results the writer has not consumed yet never pile up in
        memory when the workers are faster than the writer.
        """
        limit = min(len(self.jobs), done + self.workers * IN_FLIGHT_PER_WORKER)
        while len(self._futures) < limit:
            assert self._ex is not None
            self._futures.append(self._ex.submit(prepare_file, self.jobs[len(self._futures)]))

    def _fall_back(self, exc: BaseException) -> None:
        log.warning("worker processes failed (%s: %s); going on in this process", type(exc).__name__, exc)
        self.fell_back = True
        self.close(cancel=True)
        self._futures = []

    def results(self) -> Iterator[FileResult]:
        if not self.parallel:
            for job in self.jobs:
                yield prepare_file(job)
            return
        self.start()
        done = 0
        if not self.fell_back:
            while done < len(self.jobs):
                try:
                    self._fill(done)
                    res = self._futures[done].result()
                except (BrokenProcessPool, OSError, RuntimeError) as exc:  # a worker died (OOM killer…): finish in-process
                    self._fall_back(exc)
                    break
                self._futures[done] = None  # type: ignore[call-overload]  # let the result go once consumed
                done += 1
                yield res
        for job in self.jobs[done:]:
            yield prepare_file(job)

    def close(self, cancel: bool = False) -> None:
        if self._ex is not None:
            self._ex.shutdown(wait=not cancel, cancel_futures=cancel)
            self._ex = None

    def __enter__(self) -> "FilePool":
        return self

    def __exit__(self, exc_type, *rest: object) -> None:
        self.close(cancel=exc_type is not None)
