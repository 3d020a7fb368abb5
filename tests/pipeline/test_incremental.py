"""Incremental indexing: add / change / delete files and re-run; roots; manifest; rebuild and swap."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from reportgen import make_pages, page_text

from indexer.engine import store
from indexer.pipeline import file_hash, index_paths, indexed_files_from_postings
from searchapp.cli import _ProgressOutput, main


def hits(index_dir: Path, q: str) -> int:
    from searchapp.engine import SearchEngine

    eng = SearchEngine(index_dir)
    try:
        return eng.search(q).total
    finally:
        eng.close()


def doc_count(index_dir: Path) -> int:
    ix = store.open_index(index_dir)
    return ix.doc_count()


def whoosh_generation(index_dir: Path) -> int:
    return store.open_index(index_dir).latest_generation()


@pytest.fixture()
def src(tmp_path) -> Path:
    d = tmp_path / "pages"
    make_pages(d, 6)
    return d


def test_add_change_delete_and_rerun(tmp_path, src):
    ix = tmp_path / "ix"
    s1 = index_paths([src], ix, workers=1)
    assert (s1.added, s1.updated, s1.removed, s1.unchanged) == (6, 0, 0, 0)
    assert s1.files_added == 6 and s1.documents == 6 and s1.committed
    assert hits(ix, "标记q00002x") == 1 and hits(ix, "标记q00004x") == 1
    gen1 = whoosh_generation(ix)

    s2 = index_paths([src], ix, workers=1)  # nothing changed: no writer, no commit
    assert (s2.added, s2.updated, s2.removed, s2.unchanged) == (0, 0, 0, 6)
    assert not s2.committed and whoosh_generation(ix) == gen1 and s2.documents == 6

    (src / "r00002.txt").write_text(page_text(2, tag="q00002changed"), encoding="utf-8")  # change
    (src / "r00004.txt").unlink()  # delete
    make_pages(src, 1, start=6)  # add r00006
    s3 = index_paths([src], ix, workers=1)
    assert (s3.added, s3.updated, s3.unchanged) == (1, 1, 4)
    assert s3.removed == 2  # the changed file's old document and the deleted file's
    assert (s3.files_added, s3.files_updated, s3.files_removed) == (1, 1, 1)
    assert s3.documents == doc_count(ix) == 6
    assert hits(ix, "标记q00002x") == 0 and hits(ix, "标记q00002changed") == 1
    assert hits(ix, "标记q00004x") == 0
    assert hits(ix, "标记q00006x") == 1

    # The compact manifest is what the index holds, tagged with the generation on disk.
    live = store.live_dir(ix)
    gen, files = store.load_manifest(live)
    assert gen == whoosh_generation(ix)
    assert files == indexed_files_from_postings(store.open_index(ix))
    assert files[str((src / "r00002.txt").resolve())] == file_hash(src / "r00002.txt")

    runs = store.load_runs(ix)
    assert [r["added"] for r in runs] == [6, 0, 1] and all(r["status"] == "ok" for r in runs)


def test_other_root_keeps_documents_and_no_path_repeats_roots(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_pages(a, 3)
    make_pages(b, 2, start=10)
    ix = tmp_path / "ix"
    index_paths([a], ix, workers=1)
    s = index_paths([b], ix, workers=1)  # a run over another folder deletes nothing of a
    assert s.removed == 0 and s.documents == 5
    assert sorted(store.load_roots(ix)) == sorted([str(a.resolve()), str(b.resolve())])

    (a / "r00001.txt").unlink()
    (b / "r00010.txt").write_text(page_text(10, tag="q00010changed"), encoding="utf-8")
    s = index_paths([], ix, workers=1)  # no path: the folders indexed before
    assert s.removed == 2 and s.updated == 1 and s.documents == 4
    assert hits(ix, "标记q00010changed") == 1 and hits(ix, "标记q00001x") == 0


def test_deleted_file_argument_is_removed(tmp_path, src):
    ix = tmp_path / "ix"
    one = src / "r00003.txt"
    index_paths([one, src / "r00001.txt"], ix, workers=1)
    one.unlink()
    s = index_paths([one], ix, workers=1)
    assert s.removed == 1 and s.documents == 1
    assert any(sk.reason == "not found" for sk in s.skipped)


def test_skipping_unchanged_files_reads_no_content(tmp_path, monkeypatch):
    """1000 unchanged files are recognised from the manifest alone: no file is read, cleaned or
    written (the time this takes is measured by ``python -m bench``, not asserted here)."""
    src = tmp_path / "many"
    src.mkdir()
    files = {}
    for n in range(1000):
        p = src / f"p{n:04d}.txt"
        p.write_text(f"第{n}号 " + "县卫生局工作总结，推进基本公共卫生服务。" * 20, encoding="utf-8")
        files[str(p.resolve())] = file_hash(p)
    ix = tmp_path / "ix"
    live = Path(store.open_or_create(ix).storage.folder)
    store.save_manifest(live, whoosh_generation(ix), files)  # as if a run had indexed them
    def must_not_run(*_a, **_k):
        raise AssertionError("an unchanged file was processed")

    monkeypatch.setattr("indexer.pipeline.documents.documents_from_file", must_not_run)
    s = index_paths([src], ix, workers=1)
    assert s.unchanged == 1000 and s.added == 0 and not s.committed


def test_lost_manifest_is_rebuilt_from_the_index(tmp_path, src):
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    (store.live_dir(ix) / store.MANIFEST_FILE).unlink()
    s = index_paths([src], ix, workers=1)
    assert s.unchanged == 6 and s.added == 0 and s.documents == 6
    gen, files = store.load_manifest(store.live_dir(ix))
    assert gen == whoosh_generation(ix) and len(files) == 6


def test_workers_give_the_same_index(tmp_path, src):
    one = index_paths([src], tmp_path / "ix1", workers=1)
    two = index_paths([src], tmp_path / "ix2", workers=2)
    assert two.workers == 2 and one.documents == two.documents == 6

    def ids(d):
        with store.open_index(d).searcher() as s:
            return sorted((f["id"], f["year_key"], f["region"]) for f in s.all_stored_fields())

    assert ids(tmp_path / "ix1") == ids(tmp_path / "ix2")
    assert json.loads((store.live_dir(tmp_path / "ix1") / "groups.json").read_text()) == \
        json.loads((store.live_dir(tmp_path / "ix2") / "groups.json").read_text())


def test_rebuild_swaps_atomically_and_readers_follow(tmp_path, src):
    from searchapp.engine import SearchEngine

    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    assert store.current_generation_name(ix) is None  # plain layout first
    eng = SearchEngine(ix)
    assert eng.doc_count() == 6
    (src / "r00000.txt").unlink()
    s = index_paths([], ix, rebuild=True, workers=1)
    assert s.mode == "rebuild" and s.added == 5 and s.documents == 5
    cur = store.current_generation_name(ix)
    assert cur == "gen-000001" and (ix / cur / "manifest.json").exists()
    assert eng.doc_count() == 5  # the open engine followed CURRENT
    assert eng.search("标记q00003x").total == 1

    # Incremental runs now write into the live generation; the superseded plain index is cleaned up.
    make_pages(src, 1, start=20)
    s = index_paths([src], ix, workers=1)
    assert s.added == 1 and s.documents == 6 and eng.doc_count() == 6
    assert not list(ix.glob("_MAIN_*.toc")) and not (ix / "groups.json").exists()

    index_paths([src], ix, rebuild=True, workers=1)
    index_paths([src], ix, rebuild=True, workers=1)
    index_paths([src], ix, workers=1)
    assert store.current_generation_name(ix) == "gen-000003"
    assert [d.name for _, d in store.generation_dirs(ix)] == ["gen-000002", "gen-000003"]  # live + previous
    assert eng.doc_count() == 6 and eng.search("标记q00020x").total == 1
    eng.close()


def test_cli_index_options_and_summary(tmp_path, src, capsys):
    ix = tmp_path / "ix"
    assert main(["index", str(src), "--index-dir", str(ix), "--workers", "1", "--json", "-q"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"added", "updated", "removed", "unchanged", "skipped", "documents", "files_removed",
            "timings"} <= set(data)
    (src / "notes.doc").write_bytes(b"\xd0\xcf\x11\xe0binary")
    assert main(["index", str(src), "--index-dir", str(ix), "--workers", "1"]) == 0
    cap = capsys.readouterr()
    assert "documents: 0 added, 0 updated, 0 removed" in cap.out  # documents and files never on one line
    assert "files:     0 new, 0 changed, 0 gone, 6 unchanged (6 looked at)" in cap.out
    assert "skipped:   1 (files, records or parts of them" in cap.out
    assert "notes.doc: unsupported file type .doc" in cap.out
    assert "nothing changed" in cap.out
    assert main(["index", "--index-dir", str(tmp_path / "fresh")]) == 2  # nothing to repeat
    assert "nothing to index" in capsys.readouterr().err


def test_progress_log_lines_and_tty_bar(capsys):
    out = _ProgressOutput(quiet=False, tty=False)
    out.phase("indexing")
    for i in range(1, 4):
        out.progress(i, 3, f"/x/{i}.txt")
    out.close()
    err = capsys.readouterr().err
    assert "indexing 1/3 files" in err and "indexing 3/3 files" in err and "s left" in err

    bar = _ProgressOutput(quiet=False, tty=True)
    for i in range(1, 4):
        bar.progress(i, 3, f"/x/{i}.txt")
    bar.close()
    err = capsys.readouterr().err
    assert "3/3" in err and "file/s" in err  # tqdm: count, rate, and elapsed<left
    assert "<" in err


# -- incremental near-duplicate grouping: the dedup sidecar -------------------------------------

SEED000 = Path(__file__).resolve().parents[2].parent / "shared" / "seeds" / "000_fe7e8a9d8dea42e3.txt"


@contextmanager
def _blind(monkeypatch):
    """Make every read of a stored document fail (the level all of Whoosh's stored-field reads go through)."""
    import whoosh.codec.whoosh3 as w3
    import whoosh.reading as wr

    def forbidden(*_a, **_k):
        raise AssertionError("an incremental run read a stored document")

    with monkeypatch.context() as m:
        m.setattr(w3.W3PerDocReader, "stored_fields", forbidden)
        m.setattr(wr.SegmentReader, "all_stored_fields", forbidden)
        yield


def _index_state(ix: Path) -> tuple[dict[str, str], dict[str, str]]:
    """id → text and id → year_key of every document in the index (reads stored fields)."""
    texts, years = {}, {}
    with store.open_index(ix).searcher() as s:
        for f in s.all_stored_fields():
            texts[f["id"]] = f.get("content", "")
            years[f["id"]] = f["year_key"]
    return texts, years


def _groups_as_sets(groups: dict[str, list[str]]) -> dict[str, set[str]]:
    return {k: set(v) for k, v in groups.items() if v}


def _assert_groups_from_scratch(ix: Path) -> dict[str, set[str]]:
    from indexer.dedup import group_near_duplicates

    texts, _ = _index_state(ix)
    on_disk = _groups_as_sets(store.load_groups(ix))
    assert on_disk == _groups_as_sets(group_near_duplicates(texts))
    return on_disk


@pytest.mark.skipif(not SEED000.exists(), reason="../shared not present")
def test_incremental_runs_read_no_stored_text_and_group_like_from_scratch(tmp_path, monkeypatch):
    from indexer.clean import clean_page
    from indexer.models import Page

    src = tmp_path / "pages"
    make_pages(src, 10)
    (src / "r00100.txt").write_text(page_text(3, tag="copy3a"), encoding="utf-8")  # near copy of r00003
    (src / "r00101.txt").write_text(page_text(3, tag="copy3b"), encoding="utf-8")
    arts = clean_page(Page(str(SEED000), SEED000.read_text(encoding="utf-8"), "text", {}))
    (src / "s2010.txt").write_text(arts[3].title + "\n\n" + arts[3].text, encoding="utf-8")  # states 2010年
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    groups = _assert_groups_from_scratch(ix)
    assert len(groups) == 3  # r00003 and its two copies
    with _blind(monkeypatch), pytest.raises(AssertionError, match="stored document"):
        _index_state(ix)  # the guard does catch stored-field reads

    def ids_of(tag: str) -> list[str]:
        from searchapp.engine import SearchEngine

        eng = SearchEngine(ix)
        try:
            return eng.ids_matching(f"标记{tag}")
        finally:
            eng.close()

    steps = [
        # a copy that writes 20xx年 gets the year of the indexed copy that states it
        lambda: (src / "s20xx.txt").write_text(arts[2].title + "\n\n" + arts[2].text, encoding="utf-8"),
        # a group loses a member (file changed into another text), another file is deleted
        lambda: ((src / "r00100.txt").write_text(page_text(7, tag="copy7"), encoding="utf-8"),
                 (src / "r00004.txt").unlink()),
        # the group's first member goes; its copies stay one group
        lambda: (src / "r00003.txt").unlink(),
        # an exact copy of an indexed document is skipped, recognised from the sidecar
        lambda: (src / "dup.txt").write_text((src / "r00005.txt").read_text(encoding="utf-8"), encoding="utf-8"),
    ]
    for n, step in enumerate(steps):
        step()
        with _blind(monkeypatch):
            s = index_paths([src], ix, workers=1)
        assert s.committed and s.status == "ok" and "dedup_rebuild" not in s.timings
        groups = _assert_groups_from_scratch(ix)
        if n == 0:
            texts, years = _index_state(ix)
            copies = [i for i, t in texts.items() if "20xx年全县参合达215237人" in t]
            assert len(copies) == 1 and years[copies[0]] == "2010" and groups[copies[0]]
        if n == 1:
            assert {frozenset({*v, k}) for k, v in groups.items()} >= {frozenset(set(ids_of("copy7")) | set(ids_of("q00007x")))}
        if n == 3:
            assert s.duplicates_skipped == 1 and s.added == 0

    # The sidecar describes the index's generation; lost, it is rebuilt from the index once.
    gen = whoosh_generation(ix)
    from indexer.dedup import DedupState

    assert DedupState.load(store.live_dir(ix) / store.DEDUP_FILE, gen) is not None
    (store.live_dir(ix) / store.DEDUP_FILE).unlink()
    make_pages(src, 1, start=50)
    s = index_paths([src], ix, workers=1)
    assert "dedup_rebuild" in s.timings and s.added == 1
    assert DedupState.load(store.live_dir(ix) / store.DEDUP_FILE, whoosh_generation(ix)) is not None
    _assert_groups_from_scratch(ix)
