"""Indexing workers that write their own segments: the same index as one process, copies and lost workers.

In a parallel run every worker writes the documents it prepares into segments of
its own, and the parent commits them with its writer (``indexer.pipeline.workers``).
These tests compare such runs with an in-process run document by document,
including exact copies (marked deleted in a worker's segment), documents that
wait for a year, and a worker that dies in the middle of the run.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
from pathlib import Path

import pytest
from reportgen import make_pages, page_text

from indexer.engine import store
from indexer.pipeline import index_paths, workers


def _stored(index_dir: Path) -> list[tuple]:
    with store.open_index(index_dir).searcher() as s:
        return sorted((f["id"], f["year_key"], f["region"], f["file"].rsplit("/", 1)[-1], f["content"])
                      for f in s.all_stored_fields())


def _hits(index_dir: Path, q: str) -> int:
    from searchapp.engine import SearchEngine

    eng = SearchEngine(index_dir)
    try:
        return eng.search(q).total
    finally:
        eng.close()


@pytest.fixture()
def pages(tmp_path) -> Path:
    """40 pages, 5 exact copies of earlier ones under other names, 2 pages that state no year."""
    src = tmp_path / "pages"
    make_pages(src, 40)
    for n in (3, 11, 17, 25, 38):
        shutil.copy(src / f"r{n:05d}.txt", src / f"z-copy-of-{n:05d}.txt")
    for n in (0, 1):
        text = page_text(100 + n, tag=f"noyear{n}").replace(f"{2010 + (100 + n) % 12}年", "")
        (src / f"y{n}.txt").write_text(text, encoding="utf-8")
    return src


def _kill_worker_at(monkeypatch, name: str) -> None:
    """The worker process that takes the file ``name`` dies at once (as by the OOM killer);
    this process prepares it normally (the replay)."""
    parent = os.getpid()
    real = workers.prepare_file

    def dying(job):
        if os.getpid() != parent and job[0].endswith(name):
            os._exit(9)
        return real(job)

    monkeypatch.setattr(workers, "prepare_file", dying)


@pytest.fixture()
def forked(monkeypatch):
    """Workers forked from this process, so that a patched function reaches them."""
    monkeypatch.setattr(workers, "_context", lambda: multiprocessing.get_context("fork"))


@pytest.mark.parametrize("runs_per_segment", ["2", "100"])
def test_parallel_run_gives_the_in_process_index(tmp_path, pages, forked, monkeypatch, runs_per_segment):

    monkeypatch.setenv("REPORTSEARCH_WORKER_SEGMENT_MB", "0.1")  # a run per file or two
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", runs_per_segment)  # 2: several segments per worker; 100: one
    one = index_paths([pages], tmp_path / "ix1", workers=1)
    two = index_paths([pages], tmp_path / "ix2", workers=2)
    assert two.workers == 2 and one.workers == 1
    assert one.documents == two.documents == 42
    assert one.duplicates_skipped == two.duplicates_skipped == 5
    assert _stored(tmp_path / "ix1") == _stored(tmp_path / "ix2")
    # the copies were written by a worker and are deleted, not found
    ix2 = store.open_index(tmp_path / "ix2")
    assert ix2.doc_count() == 42 and ix2.doc_count_all() >= 42
    nsegs = len(ix2._read_toc().segments)  # the workers' segments were committed
    assert nsegs > 2 if runs_per_segment == "2" else nsegs == 2
    assert not list((tmp_path / "ix2").rglob("runs-*"))  # the workers' runs are gone
    for q in ("标记q00003x", "标记noyear0", "标记q00039x"):
        assert _hits(tmp_path / "ix1", q) == _hits(tmp_path / "ix2", q) == 1
    live = store.live_dir(tmp_path / "ix2")
    assert not [p.name for p in live.iterdir() if p.name.endswith(".tmp")]
    # an incremental run on top of the parallel one: a changed file replaces its document
    (pages / "r00007.txt").write_text(page_text(7, tag="q00007changed"), encoding="utf-8")
    s = index_paths([pages], tmp_path / "ix2", workers=2)
    assert s.updated == 1 and s.documents == 42
    assert _hits(tmp_path / "ix2", "标记q00007changed") == 1 and _hits(tmp_path / "ix2", "标记q00007x") == 0


def test_a_worker_that_dies_loses_nothing(tmp_path, pages, forked, monkeypatch):
    """A worker killed mid-run (as by the OOM killer): the run completes with every document."""
    monkeypatch.setenv("REPORTSEARCH_WORKER_SEGMENT_MB", "0.1")
    _kill_worker_at(monkeypatch, "r00020.txt")
    ref = index_paths([pages], tmp_path / "ref", workers=1)
    s = index_paths([pages], tmp_path / "ix", workers=2)
    assert s.documents == ref.documents == 42 and s.duplicates_skipped == 5
    assert _stored(tmp_path / "ref") == _stored(tmp_path / "ix")
    for n in (0, 5, 19, 20, 21, 39):
        assert _hits(tmp_path / "ix", f"标记q{n:05d}x") == 1
    # nothing of the lost worker's unfinished segment is left behind
    live = store.live_dir(tmp_path / "ix")
    keep = {sg.segment_id() for sg in store.open_index(tmp_path / "ix")._read_toc().segments}
    from whoosh.index import TOC

    pat = TOC._segment_pattern("MAIN")
    assert [p.name for p in live.iterdir() if pat.match(p.name) and pat.match(p.name).group(1) not in keep] == []
    assert not list(live.glob("runs-*"))  # nor its runs


@pytest.mark.parametrize("segment_mb", [0.1, 100.0])
def test_pool_replays_only_the_lost_segments_files(tmp_path, pages, forked, monkeypatch, segment_mb):
    """The pool's own account after a worker died: every document ends up written exactly once.

    Documents in finished segments stay there; those of the segments lost with the
    workers come back as ``replay`` results (with postings, for the run's writer);
    files not reached yet are prepared in this process.
    """
    from whoosh import index as whoosh_index
    from whoosh.reading import SegmentReader

    from indexer.engine.schema import build_schema
    from indexer.pipeline import file_hash

    folder = tmp_path / "ix"
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    files = sorted(pages.glob("r*.txt"))
    jobs = [(str(f), file_hash(f)) for f in files]
    _kill_worker_at(monkeypatch, "r00030.txt")

    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "2")  # 0.1 MB: a segment every two runs
    # 0.1 MB: a few files a segment, several finished before the death; 100 MB: none finished
    pool = workers.FilePool(jobs, 2, folder=str(folder), segment_mb=segment_mb)
    seen, replayed, in_process, all_ids = [], set(), set(), set()
    for res in pool.results():
        if res.replay:
            assert all(pd.prepared is not None for pd in res.docs)
            replayed |= {pd.doc.id for pd in res.docs}
            continue
        seen.append(res.key)
        all_ids |= {pd.doc.id for pd in res.docs}
        in_process |= {pd.doc.id for pd in res.docs if pd.written is None}
    segs = pool.segments()
    pool.close()
    assert pool.fell_back
    assert seen == [j[0] for j in jobs]  # every file once, in input order
    in_segments: list[str] = []
    for sg in segs:
        r = SegmentReader(ix.storage, ix.schema, sg)
        in_segments += [f["id"] for f in r.all_stored_fields()]
        r.close()
    if segment_mb < 1:
        assert in_segments  # finished segments survive their worker
    else:
        assert not in_segments and replayed  # nothing was finished: every consumed file is replayed
    assert len(in_segments) == len(set(in_segments))
    parts = [set(in_segments), replayed, in_process]
    assert sum(map(len, parts)) == len(all_ids) == 40 and set().union(*parts) == all_ids


def test_workers_from_a_threaded_process_use_the_fork_server(tmp_path, pages, caplog):
    """A run started by the web admin (a threaded process) gets its writing workers from a fork server."""
    import logging
    import threading

    ev = threading.Event()
    t = threading.Thread(target=ev.wait, daemon=True)
    t.start()
    try:
        assert workers._context().get_start_method() == "forkserver"
        with caplog.at_level(logging.WARNING, logger="indexer.pipeline.workers"):
            s = index_paths([pages], tmp_path / "ix", workers=2)
    finally:
        ev.set()
        t.join()
    assert not [r for r in caplog.records if "worker processes failed" in r.getMessage()]
    assert s.workers == 2 and s.documents == 42 and s.duplicates_skipped == 5
    assert _hits(tmp_path / "ix", "标记q00011x") == 1


def _hold_turn(folder: str, flag: str) -> None:
    """A process that takes the flush turn, says so (a file) and keeps it until it is killed."""
    import time

    t = workers.FlushTurns(folder)
    assert t.take(wait=True)
    Path(flag).write_text("held")
    time.sleep(60)


class _Writer:
    """Stands in for a worker's BulkWriter: a buffer of ``fill`` times its budget."""

    def __init__(self, fill: float):
        self.fill = fill
        self.rolled = 0

    def is_full(self, factor: float = 1.0) -> bool:
        return self.fill >= factor

    def roll_if_full(self):
        self.rolled += 1
        return "segment"


def test_workers_finish_segments_in_turns_and_a_dead_holder_frees_the_turn(tmp_path):
    """While one process finishes a segment, another with a full buffer goes on (no segment,
    no waiting) until its buffer passes the hard limit; a killed holder releases the turn."""
    import threading
    import time

    ctx = multiprocessing.get_context("fork")
    flag = tmp_path / "held"
    p = ctx.Process(target=_hold_turn, args=(str(tmp_path), str(flag)))
    p.start()
    try:
        for _ in range(100):
            if flag.exists():
                break
            time.sleep(0.1)
        assert flag.exists()
        mine = workers.FlushTurns(str(tmp_path))
        assert not mine.take(wait=False)
        full = _Writer(1.1)
        assert workers._roll_in_turn(full, mine) is None and full.rolled == 0  # goes on adding files
        assert workers._roll_in_turn(_Writer(0.5), mine) is None  # not full: never asks for a turn
        over = _Writer(workers.FlushTurns.HARD_FACTOR + 0.1)
        got = []
        waiter = threading.Thread(target=lambda: got.append(workers._roll_in_turn(over, mine)))
        waiter.start()
        time.sleep(0.5)
        assert waiter.is_alive() and not got  # over the hard limit: waits for its turn
        os.kill(p.pid, 9)  # the holder dies mid-finish: the kernel drops its lock
        waiter.join(10)
        assert got == ["segment"] and over.rolled == 1
        assert workers._roll_in_turn(full, mine) == "segment"  # the turn is free again
        mine.close()
    finally:
        if p.is_alive():
            os.kill(p.pid, 9)
        p.join(10)


def test_a_spilling_worker_merges_its_runs_outside_its_turn():
    """The run is written in the turn (its memory peak); the merge into a segment, which streams
    in little memory and takes seconds, happens after the turn is given back."""
    log: list[str] = []

    class Turns:
        held = False

        def take(self, wait: bool) -> bool:
            self.held = True
            log.append("take")
            return True

        def give(self) -> None:
            self.held = False
            log.append("give")

    turns = Turns()

    class Spilling:
        spilling = True
        runs = 0

        def is_full(self, factor: float = 1.0) -> bool:
            return True

        def spill_if_full(self) -> bool:
            assert turns.held
            self.runs += 1
            log.append("spill")
            return True

        @property
        def segment_due(self) -> bool:
            return self.runs >= 2

        def finish_segment(self):
            assert not turns.held
            log.append("merge")
            return "segment"

    w = Spilling()
    assert workers._roll_in_turn(w, turns) is None
    assert workers._roll_in_turn(w, turns) == "segment"
    assert log == ["take", "spill", "give", "take", "spill", "give", "merge"]
