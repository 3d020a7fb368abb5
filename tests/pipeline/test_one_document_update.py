"""A one-document update does work that hardly grows with the corpus.

* Input files whose size, times and inode match the manifest's record are not read again
  (git's stat cache), except "racy" ones, recorded too soon after they were written;
  ``--rehash`` / ``REPORTSEARCH_REHASH`` reads everything; older manifests still work.
* The dedup state is a memory-mapped base plus an append-only journal: an update appends
  one record instead of rewriting the signatures of every document, a torn record (a run
  killed while appending) is never applied, and the journal and base are compacted.
* ``groups.json`` is rewritten only when a group gained or lost a member.
"""
from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from reportgen import make_pages, page_text

from indexer import dedup as dedup_mod
from indexer.dedup import DedupState, group_near_duplicates, journal_path
from indexer.engine import store
from indexer.pipeline import file_hash, index_paths
from indexer.pipeline import run as pipeline
from searchapp.cli import main


@pytest.fixture()
def hashed(monkeypatch) -> list[str]:
    """Every file the run reads to hash it, in order."""
    calls: list[str] = []
    real = pipeline.file_hash

    def counting(path: Path) -> str:
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(pipeline, "file_hash", counting)
    return calls


@pytest.fixture()
def settled(monkeypatch):
    """Files count as settled as soon as they are written (no 2-second wait in tests)."""
    monkeypatch.setattr(pipeline, "RACY_NS", 0)


def _manifest(ix: Path) -> dict:
    return json.loads((store.live_dir(ix) / store.MANIFEST_FILE).read_text(encoding="utf-8"))


def _key(p: Path) -> str:
    return str(p.resolve())


# -- the stat cache ----------------------------------------------------------------------------

def test_unchanged_files_are_not_read_again(tmp_path, hashed, settled):
    src = tmp_path / "pages"
    make_pages(src, 6)
    ix = tmp_path / "ix"
    s1 = index_paths([src], ix, workers=1)
    assert s1.added == 6 and len(hashed) == 6
    m = _manifest(ix)
    assert set(m["stat"]) == set(m["files"]) and m["stat_fields"] == ["size", "mtime_ns", "ctime_ns", "ino"]

    hashed.clear()
    s2 = index_paths([src], ix, workers=1)
    assert hashed == [] and s2.unchanged == 6 and not s2.committed

    # a changed file is read (and only it), even with the same size
    f = src / "r00002.txt"
    old = f.read_text(encoding="utf-8")
    new = old.replace("标记q00002x", "标记q00002y")
    assert len(new.encode()) == len(old.encode())
    f.write_text(new, encoding="utf-8")
    hashed.clear()
    s3 = index_paths([src], ix, workers=1)
    assert hashed == [_key(f)] and s3.updated == 1 and s3.unchanged == 5
    assert _manifest(ix)["files"][_key(f)] == file_hash(f)


def test_content_changed_with_size_and_mtime_restored_is_detected(tmp_path, hashed, settled):
    """``touch -d``/``rsync -t`` style: same size and modification time; the change time gives it away."""
    src = tmp_path / "pages"
    make_pages(src, 3)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    f = src / "r00001.txt"
    st = f.stat()
    old = f.read_text(encoding="utf-8")
    f.write_text(old.replace("标记q00001x", "标记q00001z"), encoding="utf-8")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    hashed.clear()
    s = index_paths([src], ix, workers=1)
    assert hashed == [_key(f)] and s.updated == 1


def test_racy_file_is_hashed_again_until_its_stat_is_old_enough(tmp_path, hashed, monkeypatch):
    """A file recorded within RACY_NS of its last write may still change within the same timestamp
    tick without its stat changing: its hash is not trusted from the stat until it has settled."""
    src = tmp_path / "pages"
    make_pages(src, 2)
    f = src / "r00001.txt"
    written = max(f.stat().st_mtime_ns, f.stat().st_ctime_ns)
    ix = tmp_path / "ix"
    clock = {"now": written + 1_000_000}  # the run starts 1 ms after the last write
    monkeypatch.setattr(pipeline, "_now_ns", lambda: clock["now"])
    index_paths([src], ix, workers=1)
    assert _key(f) not in _manifest(ix)["stat"]  # racy: no stat recorded

    hashed.clear()  # same stat, still racy: read again (a write in the same tick would not show)
    s = index_paths([src], ix, workers=1)
    assert _key(f) in hashed and s.unchanged == 2 and not s.committed

    clock["now"] = written + pipeline.RACY_NS + 1_000_000  # later: the next hash settles it
    hashed.clear()
    index_paths([src], ix, workers=1)
    assert _key(f) in hashed and _key(f) in _manifest(ix)["stat"]
    hashed.clear()
    index_paths([src], ix, workers=1)
    assert hashed == []


def test_racy_files_are_settled_at_the_end_of_the_run(tmp_path, hashed, monkeypatch):
    """Files racy when the run started are hashed again at its end if they have settled by then,
    so the next run does not read them (a batch copied in just before a long build)."""
    src = tmp_path / "pages"
    make_pages(src, 3)
    written = max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in src.iterdir())
    times = iter([written + 1_000] * 3 + [written + pipeline.RACY_NS + 10**9] * 100)
    monkeypatch.setattr(pipeline, "_now_ns", lambda: next(times))
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    assert len(hashed) == 6  # scanned, then settled
    assert set(_manifest(ix)["stat"]) == {_key(p) for p in src.iterdir()}
    hashed.clear()
    index_paths([src], ix, workers=1)
    assert hashed == []


def test_file_changed_after_its_hash_is_not_settled_with_the_old_hash(tmp_path, monkeypatch):
    src = tmp_path / "pages"
    make_pages(src, 2)
    f = src / "r00000.txt"
    written = max(f.stat().st_mtime_ns, f.stat().st_ctime_ns)
    clock = {"now": written + 1_000}
    monkeypatch.setattr(pipeline, "_now_ns", lambda: clock["now"])
    real_commit = pipeline.merge_small_segments

    def change_during_run(writer, segments):  # the file changes while the run indexes it
        f.write_text(page_text(0, tag="q00000late"), encoding="utf-8")
        clock["now"] = f.stat().st_mtime_ns + pipeline.RACY_NS + 10**9
        return real_commit(writer, segments)

    monkeypatch.setattr(pipeline, "merge_small_segments", change_during_run)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    assert _key(f) not in _manifest(ix)["stat"]  # its hash no longer matches: nothing recorded
    monkeypatch.setattr(pipeline, "merge_small_segments", real_commit)
    s = index_paths([src], ix, workers=1)
    assert s.updated == 1  # the late change is picked up


def test_old_manifest_without_stat_hashes_everything_once(tmp_path, hashed, settled):
    src = tmp_path / "pages"
    make_pages(src, 4)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    live = store.live_dir(ix)
    m = _manifest(ix)
    (live / store.MANIFEST_FILE).write_text(json.dumps({"generation": m["generation"], "files": m["files"]}),
                                            encoding="utf-8")  # as written before stat records existed
    assert store.load_manifest_stats(live)[2] == {}
    hashed.clear()
    s = index_paths([src], ix, workers=1)
    assert len(hashed) == 4 and s.unchanged == 4 and not s.committed
    assert set(_manifest(ix)["stat"]) == set(m["files"])  # recorded now, without a commit
    assert _manifest(ix)["generation"] == m["generation"]
    hashed.clear()
    index_paths([src], ix, workers=1)
    assert hashed == []
    # and the manifest an older version reads is still file → hash
    gen, files = store.load_manifest(live)
    assert gen == m["generation"] and files == m["files"]


def test_malformed_stat_records_are_ignored(tmp_path, hashed, settled):
    src = tmp_path / "pages"
    make_pages(src, 2)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    live = store.live_dir(ix)
    m = _manifest(ix)
    f0, f1 = sorted(m["files"])
    m["stat"][f0] = ["x", 1, 2, 3]
    m["stat"][f1] = [1, 2, 3]
    (live / store.MANIFEST_FILE).write_text(json.dumps(m), encoding="utf-8")
    assert store.load_manifest_stats(live)[2] == {}
    hashed.clear()
    assert index_paths([src], ix, workers=1).unchanged == 2 and len(hashed) == 2


def test_rehash_env_and_flag_read_every_file(tmp_path, hashed, settled, monkeypatch):
    src = tmp_path / "pages"
    make_pages(src, 3)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    hashed.clear()
    monkeypatch.setenv("REPORTSEARCH_REHASH", "1")
    assert index_paths([src], ix, workers=1).unchanged == 3 and len(hashed) == 3
    monkeypatch.delenv("REPORTSEARCH_REHASH")
    hashed.clear()
    assert main(["index", str(src), "--index-dir", str(ix), "--workers", "1", "-q", "--rehash"]) == 0
    assert len(hashed) == 3
    hashed.clear()
    assert main(["index", str(src), "--index-dir", str(ix), "--workers", "1", "-q"]) == 0
    assert hashed == []


def test_stat_records_of_other_folders_are_kept(tmp_path, hashed, settled):
    a, b = tmp_path / "a", tmp_path / "b"
    make_pages(a, 2)
    make_pages(b, 2, start=10)
    ix = tmp_path / "ix"
    index_paths([a], ix, workers=1)
    index_paths([b], ix, workers=1)
    (a / "r00000.txt").write_text(page_text(0, tag="q00000new"), encoding="utf-8")
    index_paths([a], ix, workers=1)  # a run over a only
    assert set(_manifest(ix)["stat"]) == set(_manifest(ix)["files"])
    hashed.clear()
    index_paths([], ix, workers=1)  # both folders: nothing read
    assert hashed == []


def test_input_key_equals_path_resolve(tmp_path, monkeypatch):
    """The scan's cheap resolution gives exactly ``str(path.resolve())`` (what documents are keyed by)."""
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    f = real / "sub" / "a.txt"
    f.write_text("x", encoding="utf-8")
    (tmp_path / "linkdir").symlink_to(real)
    (real / "sub" / "l.txt").symlink_to(f)
    (real / "sub" / "rel.txt").symlink_to("a.txt")
    monkeypatch.chdir(tmp_path)
    cases = [f, tmp_path / "linkdir" / "sub" / "a.txt", Path("linkdir/sub/a.txt"), Path("linkdir/sub/../sub/a.txt"),
             Path("./real/sub/a.txt"), real / "sub" / "l.txt", Path("linkdir/sub/l.txt"), Path("real/sub/rel.txt")]
    cache: dict[str, str] = {}
    for c in cases * 2:  # the second time from the folder cache
        key, st = pipeline.input_key(c, cache)
        assert key == str(c.resolve()), c
        assert (st.st_ino, st.st_size, st.st_mtime_ns) == (f.stat().st_ino, f.stat().st_size, f.stat().st_mtime_ns)
    with pytest.raises(OSError):
        pipeline.input_key(real / "missing.txt", cache)


# -- the dedup journal ------------------------------------------------------------------------

def _rows(n: int, start: int = 0, file: str = "f", copies_of: dict[int, int] | None = None) -> list[tuple]:
    """Rows with random signatures; ``copies_of`` maps a row number to the row it nearly copies."""
    rng = np.random.default_rng(start)
    sigs = {}
    out = []
    for k in range(start, start + n):
        if copies_of and k in copies_of:
            s = sigs[copies_of[k]].copy()
            s[:3] = 7  # 125 of 128 values equal: a near duplicate
        else:
            s = rng.integers(0, 2**32 - 1, size=dedup_mod.NUM_PERM, dtype=np.uint32)
        sigs[k] = s
        out.append((f"id{k}", f"{file}{k // 4}", f"key{k}", 2000 + k % 20, None if k % 11 == 10 else s))
    return out


def _same(a: DedupState, b: DedupState) -> None:
    assert a.ids == b.ids
    assert a.text_keys() == b.text_keys()
    assert a.year_of() == b.year_of()
    assert a.groups() == b.groups()


def test_update_appends_a_journal_record_and_leaves_the_base_alone(tmp_path):
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(40, copies_of={5: 1, 9: 5, 30: 2}))
    st.save(path, 1)
    base = path.stat()
    assert not journal_path(path).exists()
    for gen in range(2, 6):
        st = DedupState.load(path, gen - 1)
        split = st.remove_files({f"f{gen}"})
        st.add(_rows(2, start=100 + 2 * gen, file="g", copies_of=None), split=split)
        st.set_year(f"id{100 + 2 * gen}", 1999)
        st.save(path, gen)
        again = DedupState.load(path, gen)
        _same(st, again)
        assert DedupState.load(path, gen - 1) is None and DedupState.load(path, gen + 1) is None
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (base.st_ino, base.st_mtime_ns, base.st_size)
    assert again._origin.records == 4 and again.year_of()["id108"] == 1999
    assert again.find_key("key108") == "id108" and again.find_key("key3") == "id3"
    assert again.find_key("key8") is None  # file f2 was removed


def test_torn_journal_record_is_never_applied_and_is_overwritten(tmp_path):
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(20, copies_of={3: 1}))
    st.save(path, 1)
    st = DedupState.load(path, 1)
    st.add(_rows(1, start=50))
    st.save(path, 2)
    good_end = journal_path(path).stat().st_size
    # a run killed while appending its record for generation 3: half a record on disk
    st3 = DedupState.load(path, 2)
    st3.add(_rows(1, start=60))
    st3.save(path, 3)
    data = journal_path(path).read_bytes()
    journal_path(path).write_bytes(data[: good_end + (len(data) - good_end) // 2])
    assert DedupState.load(path, 3) is None  # the pipeline then rebuilds from the index
    st2 = DedupState.load(path, 2)
    assert st2 is not None and "id60" not in st2.ids and "id50" in st2.ids
    # a flipped byte in a complete record: its checksum fails
    journal_path(path).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert DedupState.load(path, 3) is None and DedupState.load(path, 2) is not None
    # the next save truncates the bad tail and appends after the last good record
    st2 = DedupState.load(path, 2)
    st2.add(_rows(1, start=70))
    st2.save(path, 3)
    st3 = DedupState.load(path, 3)
    assert "id70" in st3.ids and "id60" not in st3.ids
    _same(st2, st3)


def test_journal_of_another_base_is_ignored(tmp_path):
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(10))
    st.save(path, 1)
    st = DedupState.load(path, 1)
    st.add(_rows(1, start=30))
    st.save(path, 2)
    journal = journal_path(path).read_bytes()
    fresh = DedupState.empty()  # a new base (a rebuild of the state), then the old journal put back
    fresh.add(_rows(10))
    fresh.save(path, 1)
    journal_path(path).write_bytes(journal)
    assert DedupState.load(path, 2) is None  # records name the other base's nonce
    loaded = DedupState.load(path, 1)
    assert loaded is not None and "id30" not in loaded.ids


def _step(path: Path, gen: int, *, add: int = 0, remove: str | None = None) -> DedupState:
    st = DedupState.load(path, gen - 1)
    split = st.remove_files({remove}) if remove else []
    st.add(_rows(add, start=1000 + 10 * gen, file="n"), split=split)
    st.save(path, gen)
    again = DedupState.load(path, gen)
    _same(st, again)
    return again


def test_long_journal_is_rewritten_as_one_record(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup_mod, "MAX_JOURNAL_RECORDS", 3)
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(40, copies_of={5: 1, 9: 5}))
    st.save(path, 1)
    base = path.stat()
    records = [_step(path, gen, add=2, remove=f"f{gen}")._origin.records for gen in range(2, 8)]
    assert records == [1, 2, 3, 1, 2, 3]
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (base.st_ino, base.st_mtime_ns)


def test_base_is_rewritten_when_dead_rows_pile_up(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup_mod, "REBASE_MIN_ROWS", 10)
    monkeypatch.setattr(dedup_mod, "REBASE_SHARE", 0.0)
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(40, copies_of={5: 1, 9: 5}))
    st.save(path, 1)
    ino = path.stat().st_ino
    a = _step(path, 2, remove="f2")  # 4 dead rows
    b = _step(path, 3, remove="f3")  # 8
    assert path.stat().st_ino == ino and b._origin.records == 2 and b._n_slots == 40
    c = _step(path, 4, remove="f4")  # 12 > 10: a new base without them, no journal
    assert path.stat().st_ino != ino and not journal_path(path).exists()
    assert c._n_slots == len(c) == 28 and c._origin.records == 0
    assert len(a) == 36


def test_base_is_rewritten_when_the_journal_holds_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup_mod, "REBASE_MIN_ROWS", 10)
    monkeypatch.setattr(dedup_mod, "REBASE_SHARE", 0.0)
    path = tmp_path / "dedup.npz"
    st = DedupState.empty()
    st.add(_rows(20))
    st.save(path, 1)
    ino = path.stat().st_ino
    assert _step(path, 2, add=6)._origin.records == 1 and path.stat().st_ino == ino
    c = _step(path, 3, add=6)  # 12 rows beyond the base
    assert path.stat().st_ino != ino and c._n_base == 32 and not journal_path(path).exists()


def test_incremental_groups_with_a_save_and_load_every_step(tmp_path, monkeypatch):
    """Like tests/pipeline/test_dedup.py's check, but through the journal every step (dead rows, mapped base,
    journal rows and compaction all mixed) against grouping from scratch."""
    from test_dedup import _as_sets, _random_edit, _variants

    monkeypatch.setattr(dedup_mod, "MAX_JOURNAL_RECORDS", 4)
    monkeypatch.setattr(dedup_mod, "REBASE_MIN_ROWS", 25)
    rnd = random.Random(5)
    pool = _variants(60, seed=17)  # a small pool: documents often copy one another
    names = list(pool)
    files: dict[str, dict[str, str]] = {}
    path = tmp_path / "dedup.npz"
    state = DedupState.empty()
    grouped_steps = 0
    for step in range(40):
        touched, new_rows = _random_edit(rnd, files, pool, names, step, max_docs=8)
        state.add(new_rows, split=state.remove_files(touched))
        state.save(path, step)
        state = DedupState.load(path, step)
        assert state is not None
        all_texts = {i: t for docs in files.values() for i, t in docs.items()}
        assert sorted(state.ids) == sorted(all_texts)
        assert _as_sets(state.groups()) == _as_sets(group_near_duplicates(all_texts)), step
        grouped_steps += bool(state.groups())
    assert grouped_steps > 10


def _write_v1(path: Path, st: DedupState, generation: int) -> None:
    """The sidecar as the previous version wrote it (one npz, version 1, no journal)."""
    _, bands, rows = dedup_mod.lsh_params(st.threshold)
    alive = np.flatnonzero(st._alive)
    files = [dedup_mod._dec(f) for f in st._files[st._fidx[alive]].tolist()]
    file_list = sorted(set(files))
    meta = {"version": 1, "generation": generation, "threshold": st.threshold, "num_perm": dedup_mod.NUM_PERM,
            "shingle": dedup_mod.SHINGLE, "sample_above": dedup_mod.SAMPLE_ABOVE, "bands": bands, "rows": rows,
            "files": file_list}
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), ids=st._ids[alive],
             keys=st._keys[alive], file_idx=np.array([file_list.index(f) for f in files], dtype=np.int32),
             years=st._years[alive], sigs=st._sig_rows(alive), has_sig=st._has_sig[alive],
             label=st._label[alive])


def test_version_1_sidecar_is_read_and_replaced_by_a_base(tmp_path):
    st = DedupState.empty()
    st.add(_rows(30, copies_of={4: 2, 20: 4}))
    path = tmp_path / "dedup.npz"
    _write_v1(path, st, 7)
    old = DedupState.load(path, 7)
    assert old is not None and DedupState.load(path, 8) is None
    _same(st, old)
    old.add(_rows(1, start=90), split=old.remove_files({"f1"}))
    old.save(path, 8)  # not appendable: written as a version-2 base
    with np.load(path) as z:
        assert json.loads(z["meta"].tobytes())["version"] == 2
    _same(old, DedupState.load(path, 8))


# -- whole runs --------------------------------------------------------------------------------

def test_one_file_update_appends_to_the_sidecars_it_must_and_no_more(tmp_path, hashed, settled):
    src = tmp_path / "pages"
    make_pages(src, 8)
    (src / "r00100.txt").write_text(page_text(3, tag="copy3"), encoding="utf-8")  # a near copy of r00003
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    live = store.live_dir(ix)
    groups = store.load_groups(ix)
    assert len(groups) == 2
    base = (live / store.DEDUP_FILE).stat()
    gstat = (live / store.GROUPS_FILE).stat()

    (src / "r00005.txt").write_text(page_text(5, tag="q00005new"), encoding="utf-8")  # in no group
    hashed.clear()
    s = index_paths([src], ix, workers=1)
    assert s.updated == 1 and hashed == [_key(src / "r00005.txt")]
    now = (live / store.DEDUP_FILE).stat()
    assert (now.st_ino, now.st_mtime_ns) == (base.st_ino, base.st_mtime_ns)  # base not rewritten
    assert (live / store.DEDUP_JOURNAL_FILE).exists()
    g2 = (live / store.GROUPS_FILE).stat()
    assert (g2.st_ino, g2.st_mtime_ns) == (gstat.st_ino, gstat.st_mtime_ns)  # groups unchanged: not rewritten
    assert store.load_groups(ix) == groups

    (src / "r00100.txt").write_text(page_text(6, tag="copy6"), encoding="utf-8")  # leaves r00003's group
    index_paths([src], ix, workers=1)
    new_groups = store.load_groups(ix)
    assert new_groups != groups and len(new_groups) == 2  # now a copy of r00006


def test_torn_journal_in_an_index_is_repaired_by_the_next_run(tmp_path, settled):
    src = tmp_path / "pages"
    make_pages(src, 5)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    (src / "r00001.txt").write_text(page_text(1, tag="q00001b"), encoding="utf-8")
    index_paths([src], ix, workers=1)
    jp = store.live_dir(ix) / store.DEDUP_JOURNAL_FILE
    data = jp.read_bytes()
    jp.write_bytes(data[: len(data) - 10])  # the last record torn (as if killed while appending it)
    make_pages(src, 1, start=20)
    s = index_paths([src], ix, workers=1)
    assert "dedup_rebuild" in s.timings and s.added == 1 and s.documents == 6
    gen = store.open_index(ix).latest_generation()
    assert len(DedupState.load(store.live_dir(ix) / store.DEDUP_FILE, gen)) == 6


def test_repeated_updates_of_one_file_leave_no_small_segments_behind(tmp_path, settled):
    """Each update deletes the document the previous one wrote: its segment is dropped, not merged."""
    from searchapp.engine import SearchEngine

    src = tmp_path / "pages"
    make_pages(src, 6)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    for n in range(10):
        (src / "r00001.txt").write_text(page_text(1, tag=f"q00001v{n}"), encoding="utf-8")
        s = index_paths([src], ix, workers=1)
        assert s.updated == 1 and s.documents == 6
        segs = store.open_index(ix)._read_toc().segments
        assert len(segs) <= 2 and all(seg.doc_count() > 0 for seg in segs)
    eng = SearchEngine(ix)
    try:
        assert eng.search("标记q00001v9").total == 1 and eng.search("标记q00001v8").total == 0
        assert eng.doc_count() == 6
    finally:
        eng.close()
