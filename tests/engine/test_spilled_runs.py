"""A segment written in runs (spilled buffers merged at the end) holds what one written at once holds.

``indexer.engine.runs`` copies each run's posting blocks of a term one after another
and combines the term's statistics, without decoding anything, so the proof is
term by term: same terms, same statistics, same postings through Whoosh's own
matchers and through ``indexer.engine.postings``, same stored fields and lengths,
for a segment of many runs, cut into many partitions and merge ranges.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import formats
from whoosh import index as whoosh_index

from indexer.engine import runs
from indexer.engine.fastwrite import BulkWriter, prepare
from indexer.engine.postings import read_term
from indexer.engine.schema import build_schema
from tests.equivalence.test_bulk_writer_vs_whoosh import _field_dicts


def _write(folder: Path, fields: list[dict], *, spill: bool, budget: int | None = None):
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    bw = BulkWriter(ix, spill=spill)
    if budget:
        bw._budget = budget
    spilled = []
    schema = build_schema()
    for f in fields:
        bw.add_prepared(prepare(schema, f))  # the workers' path
        spilled.append(bw.runs_spilled)
    bw.commit()
    return ix, spilled


def _terms(ix) -> dict:
    """Every term's statistics and postings (Whoosh's matchers), keyed by (field, term); positions
    decoded (a block's position opcodes are as wide as its largest gap, and a run's blocks end
    where the run does)."""
    out = {}
    with ix.searcher() as s:
        r = s.reader()
        for fieldname, text in r.all_terms():
            ti = r.term_info(fieldname, text)
            stats = (ti.doc_frequency(), round(ti.weight(), 3), ti.min_length(), ti.max_length(),
                     round(ti.max_weight(), 4), ti.min_id(), ti.max_id())
            m = r.postings(fieldname, text)
            fmt = ix.schema[fieldname].format
            items = []
            while m.is_active():
                v = m.value()
                if type(fmt) is formats.Positions:  # opcode widths are per block, and blocks differ
                    v = fmt.decode_positions(v)
                items.append((m.id(), round(m.weight(), 4), v))
                m.next()
            out[(fieldname, text)] = (stats, items)
    return out


@pytest.fixture
def small_ranges(monkeypatch):
    """Tiny partitions and merge ranges, so that a small test crosses many of them."""
    monkeypatch.setattr(runs, "PART_BYTES", 3_000)
    monkeypatch.setattr(runs, "RANGE_BYTES", 20_000)


def test_spilled_segment_equals_the_segment_written_at_once(shared, tmp_path, small_ranges, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "1000")
    fields = _field_dicts(shared, limit=80, gram_codes=True)
    ref, _ = _write(tmp_path / "ref", fields, spill=False)
    ix, spilled = _write(tmp_path / "runs", fields, spill=True, budget=150_000)
    assert spilled[-1] >= 4  # the buffer was spilled several times
    assert len(ix._segments()) == len(ref._segments()) == 1
    assert not list((tmp_path / "runs").glob("runs-*"))  # the runs are gone
    a, b = _terms(ref), _terms(ix)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key
    # the query side's decoder reads the merged lists (runs' short last blocks in the middle)
    schema = build_schema()
    with ref.searcher() as s1, ix.searcher() as s2:
        r1, r2 = s1.reader(), s2.reader()
        assert [r1.stored_fields(n) for n in range(r1.doc_count_all())] == \
            [r2.stored_fields(n) for n in range(r2.doc_count_all())]
        for name in ("title", "content", "grams"):
            assert [r1.doc_field_length(n, name) for n in range(r1.doc_count_all())] == \
                [r2.doc_field_length(n, name) for n in range(r2.doc_count_all())]
            assert r1.field_length(name) == r2.field_length(name)
        checked = 0
        for (fieldname, text), (stats, _items) in b.items():
            if stats[0] < 3 or fieldname not in ("content", "grams"):
                continue
            pos = type(schema[fieldname].format) is formats.Positions
            t1, t2 = read_term(r1, fieldname, text, pos), read_term(r2, fieldname, text, pos)
            assert np.array_equal(t1.ids, t2.ids) and np.array_equal(t1.weights, t2.weights)
            if pos:
                sel = np.arange(len(t1))
                for x, y in zip(t1.positions(sel), t2.positions(sel)):
                    assert np.array_equal(x, y)
            checked += 1
        assert checked > 100


def test_a_spilling_writer_finishes_a_segment_every_n_runs(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "3")
    fields = _field_dicts(shared, limit=60, gram_codes=True)
    ix, _spilled = _write(tmp_path / "ix", fields, spill=True, budget=100_000)
    nsegs = len(ix._segments())
    assert nsegs >= 2
    ref, _ = _write(tmp_path / "ref", fields, spill=False, budget=100_000)
    assert len(ref._segments()) > nsegs  # a rolling writer finishes a segment at every full buffer

    def by_id(index) -> dict:
        out = {}
        with index.searcher() as s:
            r = s.reader()
            ids = {n: s.stored_fields(n)["id"] for n in r.all_doc_ids()}
            for fieldname, text in r.all_terms():
                if fieldname in ("title", "grams"):
                    out[(fieldname, text)] = sorted(ids[d] for d in r.postings(fieldname, text).all_ids())
        return out

    assert by_id(ix) == by_id(ref)


def test_stale_run_folders_are_removed(tmp_path):
    d = tmp_path / "ix"
    (d / "runs-abc.tmp").mkdir(parents=True)
    (d / "runs-abc.tmp" / "0.pst").write_bytes(b"x")
    (d / "keep.tmp").mkdir()
    runs.remove_stale(str(d))
    assert sorted(p.name for p in d.iterdir()) == ["keep.tmp"]


@pytest.mark.parametrize("alphabet", [b"ab\xe4\xb8", b"a\x00b", bytes(range(1, 256))])
def test_union_of_sorted_key_lists_equals_set_union(alphabet):
    """The numpy union (fixed-width keys) and the set union (keys with NUL bytes, long keys) give the
    sorted union and each list's positions in it; an empty list and an empty key included."""
    import random

    rng = random.Random(len(alphabet))
    for long in (False, True):
        lists = []
        for k in range(5):
            n = 0 if k == 2 else rng.randint(1, 60)
            size = (lambda: rng.randint(0, 70)) if long else (lambda: rng.randint(0, 6))
            lists.append(sorted({bytes(rng.choice(alphabet) for _ in range(size())) for _ in range(n)}))
        blobs = [b"".join(ks) for ks in lists]
        offs = [np.concatenate([[0], np.cumsum([len(k) for k in ks])]).astype(np.int64) for ks in lists]
        union, uidx = runs._union(blobs, offs)
        assert union == sorted(set().union(*lists))
        for ks, ix in zip(lists, uidx):
            assert [union[i] for i in ix.tolist()] == ks


def test_a_spilling_writer_that_merges_old_segments_at_commit_keeps_their_lengths(shared, tmp_path, monkeypatch):
    """Segments merged in at commit (``add_reader``) join a spilling writer's last run; their
    documents' lengths come from the per-document files (they never passed ``add_prepared``), so
    block and term length statistics equal those of the same documents written at once."""
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "1000")
    fields = _field_dicts(shared, limit=50, gram_codes=True)  # 12 documents
    old, new = fields[:4], fields[4:]
    schema = build_schema()
    folder = tmp_path / "ix"
    folder.mkdir()
    ix = whoosh_index.create_in(str(folder), build_schema())
    for part in (old[:2], old[2:]):  # two small segments to merge later
        w = BulkWriter(ix)
        for f in part:
            w.add_prepared(prepare(schema, f))
        w.commit()
    assert len(ix._segments()) == 2
    w = BulkWriter(ix, spill=True)
    w._budget = 100_000
    for f in new:
        w.add_prepared(prepare(schema, f))
    assert w.runs_spilled >= 2
    w.commit(optimize=True)  # every segment merged: the old documents come after the new ones
    assert len(ix._segments()) == 1
    ref, _ = _write(tmp_path / "ref", new + old, spill=False)
    a, b = _terms(ref), _terms(ix)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key
