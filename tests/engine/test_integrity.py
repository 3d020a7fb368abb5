"""A damaged index says so: ``reportsearch check``, ``index`` refusing to add to it, 503 on the web.

Issue 22 items 9-11: each damage case below used to give a traceback on the command line,
"internal error" on every page, and an ``index`` run that exited 0 over a broken index (or a
garbled facet column that silently changed counts).  Each case is made on a copy of one small
index, and the advice printed (``reportsearch index --rebuild``) is followed to show it works.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from reportgen import make_pages

from indexer.engine import store
from indexer.engine.integrity import CHECKSUMS_FILE, check_index
from indexer.pipeline import index_paths
from searchapp import create_app
from searchapp.cli import main as cli


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    make_pages(root / "pages", 12)
    index_paths([root / "pages"], root / "base", workers=1)
    return root


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert found, pattern
    return found[0]


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as fh:
        fh.truncate(size)


def _garble_facets(folder: Path) -> None:
    col = _one(folder, "*.facets.col")
    data = col.read_bytes()
    for a, b in (("北京市", "上海市"), ("浙江省", "江苏省"), ("政府工作报告", "工作总结")):
        data = data.replace(a.encode(), b.encode())  # same lengths: only a checksum or the postings tell
    col.write_bytes(data)


DAMAGE = {
    "truncated .trm": lambda d: _truncate(_one(d, "*.trm"), 1000),
    "truncated .pst": lambda d: _truncate(_one(d, "*.pst"), 1000),
    "truncated _stored.col": lambda d: _truncate(_one(d, "*_stored.col"), 100),
    "deleted .trm": lambda d: _one(d, "*.trm").unlink(),
    "truncated TOC": lambda d: _truncate(_one(d, "_MAIN_*.toc"), 50),
    "garbled facets.col": _garble_facets,
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request, built, tmp_path):
    ix = tmp_path / "ix"
    shutil.copytree(built / "base", ix)
    DAMAGE[request.param](store.live_dir(ix))
    return built, ix


def test_healthy_index_checks_clean(built, capsys):
    assert check_index(built / "base", deep=True) == []
    assert (store.live_dir(built / "base") / CHECKSUMS_FILE).is_file()
    assert cli(["check", "--index-dir", str(built / "base")]) == 0
    assert "ok:" in capsys.readouterr().out


def test_each_damage_is_found_refused_served_as_503_and_repaired(damaged, capsys):
    built, ix = damaged
    assert check_index(ix), "quick check misses it"
    assert cli(["check", "--index-dir", str(ix)]) != 0
    out = capsys.readouterr()
    assert "index --rebuild" in out.out + out.err and "Traceback" not in out.out + out.err

    # index refuses to add to it, with the advice, and leaves it as it was
    assert cli(["index", str(built / "pages"), "--index-dir", str(ix), "-q"]) == 4
    err = capsys.readouterr().err
    assert "damaged" in err and "--rebuild" in err and "Traceback" not in err

    # search on the command line: one line, no traceback
    assert cli(["search", "标记q00003x", "--index-dir", str(ix)]) == 4
    assert "damaged" in capsys.readouterr().err

    # the web: a clear page and a 503 JSON, never "internal error"
    client = create_app({"INDEX_DIR": str(ix), "TESTING": False}).test_client()
    r = client.get("/api/search?q=标记q00003x")
    assert r.status_code == 503 and "rebuild" in r.get_json()["advice"]
    page = client.get("/?q=标记q00003x")
    assert page.status_code == 503 and "reportsearch index --rebuild" in page.get_data(as_text=True)

    # the advice works
    assert cli(["index", "--rebuild", "--index-dir", str(ix), "-q"]) == 0
    capsys.readouterr()
    assert check_index(ix, deep=True) == []
    assert cli(["search", "标记q00003x", "--index-dir", str(ix), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 1


def test_garbled_facets_found_without_checksums(built, tmp_path):
    """An index from before checksums: the deep check compares the facet column with the postings."""
    ix = tmp_path / "ix"
    shutil.copytree(built / "base", ix)
    (store.live_dir(ix) / CHECKSUMS_FILE).unlink()
    _garble_facets(store.live_dir(ix))
    problems = check_index(ix, deep=True)
    assert any("facet" in p.what for p in problems), problems


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          check=False, capture_output=True).returncode == 0


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "searchapp.cli", *args], cwd=cwd, check=False, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ,
                                            "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def test_full_disk_and_read_only_give_one_line_and_leave_no_running_state(tmp_path):
    mnt = tmp_path / "disk"
    if not _tmpfs(mnt, "3M"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        pages = tmp_path / "pages"
        make_pages(pages, 4)
        ix = mnt / "ix"
        first = _run_cli("index", str(pages), "--index-dir", str(ix), "-q", "--workers", "1", cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        def files() -> list[str]:  # progress.json may be removed when it cannot be rewritten
            return sorted(p.name for p in store.live_dir(ix).iterdir() if p.name != store.PROGRESS_FILE)

        before = files()
        big = tmp_path / "big"
        make_pages(big, 400, start=100)  # far more than the 3 MB left
        r = _run_cli("index", str(big), "--index-dir", str(ix), "-q", "--workers", "1", cwd=tmp_path)
        assert r.returncode == 1 and "disk is full" in r.stderr and "Traceback" not in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert not store.read_progress(ix).get("running")
        assert files() == before  # the failed run's leftovers removed
        assert check_index(ix, deep=True) == []
        again = _run_cli("index", str(pages), "--index-dir", str(ix), "-q", "--workers", "1", cwd=tmp_path)
        assert again.returncode == 0, again.stderr  # the next run is not stuck

        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        r = _run_cli("index", str(big), "--index-dir", str(ix), "-q", "--workers", "1", cwd=tmp_path)
        assert r.returncode == 1 and "read-only" in r.stderr and "Traceback" not in r.stderr, r.stderr
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)


# -- no false alarms: what normal life does to an index ---------------------------------------

def test_deletions_rebuilds_and_killed_runs_leave_a_clean_check(tmp_path):
    """An incremental run that removes and replaces documents, a rebuild, and a run whose
    sidecars (checksums included) were never written: the full check stays clean each time."""
    src, ix = tmp_path / "pages", tmp_path / "ix"
    make_pages(src, 10)
    index_paths([src], ix, workers=1)
    assert check_index(ix, deep=True) == []
    (src / "r00003.txt").unlink()
    (src / "r00004.txt").write_text((src / "r00005.txt").read_text(encoding="utf-8") + "\n补充一段。\n", encoding="utf-8")
    s = index_paths([src], ix, workers=1)
    assert s.removed >= 1 and check_index(ix, deep=True) == []
    index_paths([src], ix, rebuild=True, workers=1)
    assert check_index(ix, deep=True) == []
    # A run killed after its commit, before its sidecars: the record names the previous generation.
    live = store.live_dir(ix)
    stale = (live / CHECKSUMS_FILE).read_bytes()
    make_pages(src, 2, start=50)
    index_paths([src], ix, workers=1)
    (live / CHECKSUMS_FILE).write_bytes(stale)
    assert check_index(ix, deep=True) == [] and check_index(ix) == []
    make_pages(src, 1, start=60)
    assert index_paths([src], ix, workers=1).added == 1  # the next run is not refused, and records afresh
    assert json.loads((live / CHECKSUMS_FILE).read_text())["generation"] == store.open_index(ix).latest_generation()
    assert check_index(ix, deep=True) == []


def test_a_commit_during_the_check_is_not_damage(tmp_path):
    """Runs that commit (and merge away old segments) while a server checks: never a false 'damaged'."""
    import threading

    src, ix = tmp_path / "pages", tmp_path / "ix"
    make_pages(src, 4)
    index_paths([src], ix, workers=1)
    found: list = []
    stop = threading.Event()

    def checker() -> None:
        while not stop.is_set():
            try:
                found.extend(check_index(ix))
            except Exception as exc:  # noqa: BLE001 - a check that raises is as wrong as a false alarm
                found.append(exc)

    t = threading.Thread(target=checker)
    t.start()
    try:
        for n in range(12):  # one file per run: a new small segment each time, merged now and then
            make_pages(src, 1, start=100 + n)
            index_paths([src], ix, workers=1)
    finally:
        stop.set()
        t.join(60)
    assert found == []


def test_errors_do_not_turn_into_a_flood_of_checks(built, monkeypatch):
    """The web app asks for a recheck after every unexpected error: one check per interval serves them all."""
    from indexer.engine import integrity

    calls: list[int] = []
    real = integrity.check_index
    monkeypatch.setattr(integrity, "check_index", lambda ix, **kw: calls.append(1) or real(ix, **kw))
    health = integrity.IndexHealth(built / "base")
    assert health.problems() == [] and len(calls) == 1  # first request: checked
    for _ in range(50):
        assert health.problems(recheck=True) == []
    assert len(calls) == 1  # 50 errors within the interval: no new check
    health._checked -= health.RECHECK_INTERVAL
    health.problems(recheck=True)
    assert len(calls) == 2


def test_full_check_is_clean_on_the_shipped_and_shared_corpora(full_index):
    """The facet-column check mirrors how the schema indexes facets; on real reports (every
    province, prefectures, multi-topic, unknown years) it must find nothing."""
    assert check_index(full_index, deep=True) == []


def test_damage_between_runs_is_not_recorded_as_good(tmp_path):
    """A big file overwritten in place (same size: the quick check before a run passes it) must
    still be found after the next run has recorded its checksums."""
    src, ix = tmp_path / "pages", tmp_path / "ix"
    make_pages(src, 10)
    index_paths([src], ix, workers=1)
    live = store.live_dir(ix)
    stored = _one(live, "*._stored.col")
    data = bytearray(stored.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(64)
    stored.write_bytes(bytes(data))
    make_pages(src, 1, start=40)
    index_paths([src], ix, workers=1)  # a new segment beside the damaged one (no merge of 2 segments)
    if not stored.exists():
        pytest.skip("the run merged the damaged segment away")
    problems = check_index(ix, deep=True)
    assert [p.where for p in problems] == [stored.name], problems


def test_a_damaged_index_is_logged_once_not_per_request(built, tmp_path, caplog):
    ix = tmp_path / "ix"
    shutil.copytree(built / "base", ix)
    _truncate(_one(store.live_dir(ix), "*.pst"), 1000)
    client = create_app({"INDEX_DIR": str(ix)}).test_client()
    with caplog.at_level("ERROR"):
        for _ in range(10):
            assert client.get("/api/search?q=卫生").status_code == 503
    assert sum("index damaged" in r.getMessage() for r in caplog.records) == 1
