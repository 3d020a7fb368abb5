"""Safety of indexing: kill -9 at any moment, concurrent runs, searches during a run, killed rebuilds.

Runs ``python -m searchapp.cli index`` as a subprocess over a few hundred generated
report pages and kills it with SIGKILL at chosen moments; the test hook
``REPORTSEARCH_TEST_PAUSE`` holds a run at the moment to hit (inside the commit:
segment files written but no TOC yet; after the commit: before the sidecars).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT
from reportgen import make_pages, page_text
from whoosh.index import TOC

from indexer.engine import store
from indexer.engine.integrity import check_index
from indexer.pipeline import IndexBusy, index_paths
from searchapp.engine import SearchEngine

GOOD = 30  # documents of the last good state
MORE = 170  # pages added before the runs that get killed


def start_run(src: Path, ix: Path, *extra: str, pause: str = "", workers: int = 2) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), REPORTSEARCH_TEST_PAUSE=pause)
    # the child holds its own copy of the log's file descriptor: ours closes once it is started
    with open(ix.parent / f"run-{time.monotonic_ns()}.log", "w") as log:
        return subprocess.Popen([sys.executable, "-m", "searchapp.cli", "index", str(src), "--index-dir", str(ix),
                                 "--workers", str(workers), "--json", *extra],
                                cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)


def children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill9(p: subprocess.Popen) -> None:
    kids = children(p.pid)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(k) for k in kids), "worker processes outlived the killed run"


def wait_for(pred, timeout: float = 180.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def orphans(ix: Path) -> list[str]:
    """Segment files in the live folder that its TOC does not list."""
    live = store.live_dir(ix)
    keep = {s.segment_id() for s in store.open_index(ix)._read_toc().segments}
    pat = TOC._segment_pattern("MAIN")
    return [p.name for p in live.iterdir() if pat.match(p.name) and pat.match(p.name).group(1) not in keep]


def fresh_count(ix: Path) -> int:
    eng = SearchEngine(ix)
    try:
        return eng.doc_count()
    finally:
        eng.close()


@pytest.fixture()
def good(tmp_path):
    src = tmp_path / "pages"
    make_pages(src, GOOD)
    ix = tmp_path / "ix"
    assert index_paths([src], ix, workers=1).documents == GOOD
    return src, ix


def test_kill_9_at_any_moment_then_rerun_completes(good):
    src, ix = good
    make_pages(src, MORE, start=GOOD)
    eng = SearchEngine(ix)  # a reader open all along, like the web app
    assert eng.search("标记q00001x").total == 1

    # 1. early (starting workers, hashing), 2. while workers clean and the writer is fed
    # (held 50 ms per file: a run of 170 files is otherwise over in about two seconds)
    for delay in (0.5, 3.0):
        p = start_run(src, ix, pause="per_file:0.05")
        t0 = time.monotonic()
        while time.monotonic() - t0 < delay:  # searches keep working during the run
            assert eng.search("标记q00001x").total == 1
            time.sleep(0.05)
        assert p.poll() is None, "the run ended before it could be killed"
        kill9(p)
        assert eng.doc_count() == GOOD and fresh_count(ix) == GOOD
        assert eng.search("标记q00005x").total == 1

    # 3. inside the commit: segment files are written, the new TOC is not
    p = start_run(src, ix, pause="in_commit:120")
    wait_for(lambda: store.read_progress(ix).get("phase") == "committing", what="the commit")
    wait_for(lambda: orphans(ix), timeout=60, what="segment files of the unfinished commit")
    assert eng.search("标记q00001x").total == 1
    kill9(p)
    assert orphans(ix), "the kill should have left the unfinished segment behind"
    assert (ix / store.LOCK_FILE).exists()  # a stale lock file stays; the kernel lock went with the process
    assert eng.doc_count() == GOOD and fresh_count(ix) == GOOD
    assert eng.search("标记q00100x").total == 0  # not committed, not visible
    assert check_index(ix, deep=True) == []  # orphan segment files are not damage

    # The next run (a stale lock file, orphan files) completes the work.
    p = start_run(src, ix)
    assert p.wait(timeout=300) == 0
    assert fresh_count(ix) == GOOD + MORE
    assert eng.doc_count() == GOOD + MORE and eng.search("标记q00100x").total == 1
    assert not orphans(ix) and not (store.live_dir(ix) / "MAIN.tmp").exists()
    assert not [p.name for p in store.live_dir(ix).iterdir() if p.name.endswith(".tmp")]
    assert check_index(ix, deep=True) == []
    eng.close()


def test_kill_9_between_commit_and_sidecars_is_repaired(good):
    src, ix = good
    for n in (1, 2, 3):
        (src / f"r{n:05d}.txt").write_text(page_text(n, tag=f"q{n:05d}new"), encoding="utf-8")
    gen = store.open_index(ix).latest_generation()
    p = start_run(src, ix, pause="after_commit:120", workers=1)
    wait_for(lambda: store.open_index(ix).latest_generation() > gen, what="the commit")
    kill9(p)
    # The commit landed: it is the last good state, even though its sidecars were not written.
    assert fresh_count(ix) == GOOD and SearchEngine(ix).search("标记q00002new").total == 1
    mgen, _ = store.load_manifest(store.live_dir(ix))
    assert mgen == gen  # stale
    assert check_index(ix, deep=True) == []  # a stale checksum record is not damage...
    s = index_paths([src], ix, workers=1)  # ...and the next run is not refused
    assert s.unchanged == GOOD and s.added == s.updated == 0  # nothing indexed twice
    mgen, files = store.load_manifest(store.live_dir(ix))
    assert mgen == store.open_index(ix).latest_generation() and len(files) == GOOD
    assert check_index(ix, deep=True) == []


def test_second_run_waits_or_exits_clearly(good, capsys):
    src, ix = good
    make_pages(src, 20, start=GOOD)
    p = start_run(src, ix, pause="per_file:0.3", workers=1)
    wait_for(lambda: store.is_locked(ix), what="the first run to take the lock")
    from searchapp.cli import main

    assert main(["index", str(src), "--index-dir", str(ix), "-q"]) == 3
    err = capsys.readouterr().err
    assert "another indexing run is using" in err and f"pid {p.pid}" in err and "--wait" in err
    with pytest.raises(IndexBusy):
        index_paths([src], ix, workers=1)
    waiter = start_run(src, ix, "--wait", "300", workers=1)
    assert p.wait(timeout=300) == 0
    assert waiter.wait(timeout=300) == 0
    assert fresh_count(ix) == GOOD + 20
    last = store.load_runs(ix)[-1]
    assert last["status"] == "ok" and last["unchanged"] == GOOD + 20  # the waiter found the work done


def test_two_threads_one_process(tmp_path):
    src = tmp_path / "pages"
    make_pages(src, 8)
    ix = tmp_path / "ix"
    os.environ["REPORTSEARCH_TEST_PAUSE"] = "per_file:0.2"
    results: list = []

    def run():
        try:
            results.append(index_paths([src], ix, workers=1).documents)
        except IndexBusy as exc:
            results.append(exc)

    try:
        threads = [threading.Thread(target=run) for _ in range(2)]
        threads[0].start()
        wait_for(lambda: store.is_locked(ix), timeout=60, what="the lock")
        threads[1].start()
        for t in threads:
            t.join(120)
    finally:
        del os.environ["REPORTSEARCH_TEST_PAUSE"]
    assert sorted(type(r).__name__ for r in results) == ["IndexBusy", "int"]
    assert fresh_count(ix) == 8


def test_killed_rebuild_keeps_the_live_index(good):
    src, ix = good
    index_paths([src], ix, rebuild=True, workers=1)
    assert store.current_generation_name(ix) == "gen-000001"
    (src / "r00000.txt").unlink()
    p = start_run(src, ix, "--rebuild", pause="in_commit:120", workers=1)
    wait_for(lambda: store.read_progress(ix).get("phase") == "committing", what="the rebuild's commit")
    kill9(p)
    assert store.current_generation_name(ix) == "gen-000001"
    assert (ix / "gen-000002").is_dir()  # the unfinished build
    assert fresh_count(ix) == GOOD and SearchEngine(ix).search("标记q00000x").total == 1
    assert check_index(ix, deep=True) == []
    s = index_paths([src], ix, workers=1)
    assert not (ix / "gen-000002").exists() and s.removed == 1 and s.documents == GOOD - 1
    assert json.loads((ix / "gen-000001" / "roots.json").read_text()) == [str(src.resolve())]
