"""The block-wise segment writer makes the same index files as Whoosh's own writer.

``indexer.engine.fastwrite.BulkWriter`` bypasses Whoosh's per-posting pool, so the
proof that nothing changed is byte equality of every segment file (terms,
postings, stored fields, lengths, columns) against ``SegmentWriter`` fed the
same field dicts, plus equal postings when the bulk writer splits a run into
several segments or merges small segments at commit.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from whoosh import formats
from whoosh import index as whoosh_index
from whoosh import query as Q
from whoosh.writing import CLEAR

from indexer.engine import blocks, fastwrite
from indexer.engine.fastwrite import BulkWriter, prepare
from indexer.engine.format import WHOOSH_IDENTICAL
from indexer.engine.schema import build_schema, to_fields
from indexer.pipeline import documents_from_file, text_key

ROOT = Path(__file__).resolve().parents[2]


def _field_dicts(shared: Path, limit: int = 60, gram_codes: bool = False) -> list[dict]:
    files = sorted((ROOT / "corpus").iterdir()) + sorted((shared / "corpora").rglob("*.csv"))[:3]
    out = []
    for f in files:
        docs, _ = documents_from_file(f)
        for d in docs:
            out.append(to_fields(d, file=str(f), file_hash="h", text_key=text_key(d.article.text),
                                 gram_codes=gram_codes))
    out.append({"id": "boosted", "title": ["甲", "乙", "甲"], "content": "一段 普通 文字", "_content_boost": 2.0,
                "region": "中国,四川省", "year": 2010, "doc_type": "工作总结"})
    return out[:limit]


def _segment_files(folder: Path) -> dict[str, bytes]:
    """Segment files by extension (their names carry a random segment id)."""
    out = {}
    for p in folder.iterdir():
        if p.name.endswith(".toc") or p.name.endswith(".lock") or p.is_dir():
            continue
        ext = p.name.split(".", 1)[1] if "." in p.name else p.name
        # column files are named MAIN_<segid>_<field>.<ext>
        stem = p.name.split(".", 1)[0].split("_", 2)
        key = (stem[2] if len(stem) > 2 else "") + "." + ext
        out[key] = p.read_bytes()
    return out


def _whoosh_index(folder: Path, fields: list[dict], **writer_kw):
    """An index of ``fields`` written by Whoosh's own ``SegmentWriter`` (the reference)."""
    folder.mkdir(exist_ok=True)
    ix = whoosh_index.create_in(str(folder), build_schema())
    w = ix.writer(**writer_kw)
    for f in fields:
        w.add_document(**f)
    w.commit()
    return ix


def _bulk_index(folder: Path, fields: list[dict], **bulk_kw):
    """An index of ``fields`` written by the bulk writer, documents prepared in this process."""
    folder.mkdir(exist_ok=True)
    ix = whoosh_index.create_in(str(folder), build_schema())
    bw = BulkWriter(ix, **bulk_kw)
    for f in fields:
        bw.add_document(**f)
    bw.commit()
    return ix


def test_bulk_segment_is_byte_identical(shared, tmp_path):
    fields = _field_dicts(shared)
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    _whoosh_index(a, fields, compound=False)
    b.mkdir()
    ixb = whoosh_index.create_in(str(b), build_schema())
    bw = BulkWriter(ixb, block_format=WHOOSH_IDENTICAL)
    schema = build_schema()
    for f in fields:
        bw.add_prepared(prepare(schema, f))  # the workers' path: documents prepared beforehand
    bw.commit()
    fa, fb = _segment_files(a), _segment_files(b)
    assert sorted(fa) == sorted(fb)
    for key in fa:
        assert fa[key] == fb[key], f"segment file {key} differs"


def _plain_postings(ix) -> dict:
    """Every posting by document id; position values decoded (the block writer pickles the gap
    lists with narrower opcodes than ``pickle.dumps``: the same positions when read)."""
    out = {}
    with ix.searcher() as s:
        r = s.reader()
        ids = {n: s.stored_fields(n)["id"] for n in r.all_doc_ids()}
        for fieldname, text in r.all_terms():
            if fieldname == "id":
                continue
            items = []
            m = r.postings(fieldname, text)
            fmt = ix.schema[fieldname].format
            while m.is_active():
                v = m.value()
                if type(fmt) is formats.Positions:
                    v = (m.value_as("frequency"), fmt.decode_positions(v))
                items.append((ids[m.id()], round(m.weight(), 4), v))
                m.next()
            out[(fieldname, text)] = sorted(items)
    return out


def test_rolled_segments_and_merges_keep_every_posting(shared, tmp_path):
    fields = _field_dicts(shared, limit=40)
    a, b = tmp_path / "whoosh", tmp_path / "bulk"
    ixa = _whoosh_index(a, fields)
    b.mkdir()
    ixb = whoosh_index.create_in(str(b), build_schema())
    bw = BulkWriter(ixb, segment_mb=8)
    bw._budget = 200_000  # a few documents per segment
    finished = []
    bw.on_segment = finished.append
    schema = build_schema()
    for f in fields[:30]:
        bw.add_prepared(prepare(schema, f))
    bw.commit()
    assert len(finished) >= 2 and len(ixb._segments()) == len(finished) + 1
    expected = _plain_postings(ixa)
    bw = BulkWriter(ixb)  # a later run merges every segment through Whoosh's pool, and adds the rest
    for f in fields[30:]:
        bw.add_document(**f)
    bw.commit(optimize=True)
    assert len(ixb._segments()) == 1
    assert _plain_postings(ixb) == expected
    with ixb.searcher() as s:
        assert s.doc_count() == len(fields)
        hits = s.search(Q.Phrase("grams", ["卫生", "生工"]), limit=None)
        assert len(hits) > 0


def test_cancel_and_clear_leave_a_working_index(shared, tmp_path):
    fields = _field_dicts(shared, limit=10)
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    bw = BulkWriter(ix)
    for f in fields:
        bw.add_document(**f)
    bw.cancel()
    assert ix.doc_count() == 0
    bw = BulkWriter(ix)
    for f in fields:
        bw.add_document(**f)
    bw.commit()
    assert ix.doc_count() == len(fields)
    bw = BulkWriter(ix)
    bw.commit(mergetype=CLEAR)
    assert ix.doc_count() == 0


def test_unknown_field_is_refused():
    with pytest.raises(ValueError):
        prepare(build_schema(), {"id": "x", "nonsense": "y"})


def _stats(ix) -> dict:
    """Per term: term statistics, every block's statistics and every posting (same docnums).

    Position values are compared decoded: the numpy bigram path pickles the gap
    lists with other opcodes than ``pickle.dumps`` (same list when read).
    """
    out = {}
    with ix.searcher() as s:
        r = s.reader()
        schema = ix.schema
        for fieldname, text in r.all_terms():
            ti = r.term_info(fieldname, text)
            m = r.postings(fieldname, text)
            blocks, posts = [], []
            while m.is_active():
                blocks.append((m.block_min_id(), m.block_max_id(), m.block_max_weight(),
                               m.block_min_length(), m.block_max_length()))
                bid = m.block_max_id()
                while m.is_active() and m.id() <= bid:
                    v = m.value()
                    fmt = schema[fieldname].format
                    if type(fmt) is formats.Positions:
                        v = fmt.decode_positions(v)
                    posts.append((m.id(), m.weight(), v))
                    m.next()
            out[(fieldname, text)] = ((ti.weight(), ti.doc_frequency(), ti.min_length(), ti.max_length(),
                                       ti.max_weight(), ti.min_id(), ti.max_id()), blocks, posts)
    return out


@pytest.mark.parametrize("chunk", [None, 7])
def test_fast_blocks_keep_whoosh_statistics(shared, tmp_path, monkeypatch, chunk):
    if chunk:  # the writer turns postings into Python lists a chunk of terms at a time
        monkeypatch.setattr(blocks, "_CHUNK", chunk)
    fields = _field_dicts(shared, limit=60)
    fast_fields = _field_dicts(shared, limit=60, gram_codes=True)
    # a term in more than one block (BLOCK postings): the same word in many short documents
    extra = [{"id": f"many{i}", "content": ["常见词", f"词{i}"], "grams": ["常见", "见词"] * (i % 3 + 1)}
             for i in range(300)]
    # a bigram at 120 positions: its value is longer than 255 bytes (BINBYTES, not SHORT_BINBYTES)
    extra.append({"id": "long", "content": ["长"], "grams": ["重复", "复重"] * 120})
    fields += extra
    ixa = _whoosh_index(tmp_path / "whoosh", fields)
    ixb = _bulk_index(tmp_path / "bulk", fast_fields + fields[len(fast_fields):])
    sa, sb = _stats(ixa), _stats(ixb)
    assert sa.keys() == sb.keys()
    multi = [k for k, v in sa.items() if len(v[1]) > 1]
    assert multi, "the corpus must exercise multi-block terms"
    for k in sa:
        assert sa[k] == sb[k], k


def test_merge_policy_folds_small_segments_only(tmp_path):
    """Eight one-document segments are merged; a bigger segment is left alone (no pure-Python re-merge)."""
    from types import SimpleNamespace

    from indexer.pipeline.run import MAX_SMALL_SEGMENTS, SEGMENT_TIERS, merge_small_segments

    merged = []
    writer = SimpleNamespace(storage=None, schema=None, add_reader=merged.append)

    def segs(*counts):
        return [SimpleNamespace(doc_count_all=lambda c=c: c, name=f"s{i}") for i, c in enumerate(counts)]

    big = SEGMENT_TIERS[1] + 1
    few = segs(big, *[1] * (MAX_SMALL_SEGMENTS - 1))
    assert merge_small_segments(writer, few) == few

    class FakeReader:
        def __init__(self, storage, schema, seg):
            self.seg = seg

        def close(self):
            pass

    import whoosh.reading

    orig = whoosh.reading.SegmentReader
    whoosh.reading.SegmentReader = FakeReader
    try:
        many = segs(big, big, *[1] * MAX_SMALL_SEGMENTS, 100)
        kept = merge_small_segments(writer, many)
    finally:
        whoosh.reading.SegmentReader = orig
    assert [s.doc_count_all() for s in kept] == [big, big, 100]
    assert len(merged) == MAX_SMALL_SEGMENTS


def test_run_gather_and_mask_match_slicing():
    """The two byte-layout helpers of the block encoder against plain slicing, on random runs."""
    import numpy as np

    from indexer.engine.blocks import _gather_runs, _run_mask

    rng = np.random.default_rng(7)
    src = rng.integers(0, 256, size=5000, dtype=np.uint8)
    for _ in range(50):
        k = int(rng.integers(0, 40))
        lens = rng.integers(0, 30, size=k)
        starts = rng.integers(0, len(src) - 30, size=k)
        want = b"".join(src[s:s + n].tobytes() for s, n in zip(starts, lens))
        assert _gather_runs(src, starts, lens).tobytes() == want
        gaps = rng.integers(0, 5, size=k)  # ascending non-overlapping runs, some touching, some empty
        pos = np.cumsum(gaps + lens) - lens
        size = int(pos[-1] + lens[-1] + 3) if k else 3
        mask = np.zeros(size, dtype=bool)
        for s, n in zip(pos, lens):
            mask[s:s + n] = True
        assert np.array_equal(_run_mask(size, pos, lens), mask)


@pytest.mark.parametrize("bound", [1, 200, 1 << 16, (1 << 16) + 1, 600_000, 1 << 32, 1 << 40])
def test_radix_argsort_and_unique_equal_numpy(bound):
    """The flush's sorting helpers give exactly numpy's stable argsort and unique-with-inverse."""
    rng = np.random.default_rng(bound)
    for n in (0, 1, 5, 70_000):
        keys = (rng.zipf(1.3, n) % bound).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        assert np.array_equal(blocks.stable_argsort(keys, bound), np.argsort(keys, kind="stable"))
        u, inv = fastwrite._unique_inverse(keys.astype(np.uint64))
        u2, inv2 = np.unique(keys.astype(np.uint64), return_inverse=True)
        assert np.array_equal(u, u2) and np.array_equal(inv, inv2.ravel())


def test_identifier_postings_are_remembered_per_field_object_and_value():
    """Repeated facet values share one FieldPostings; the remembered one equals a fresh one, and
    another field object (another schema) or another boost is another entry."""
    schema, other = build_schema(), build_schema()
    fastwrite._MEMO.clear()
    a = fastwrite._postings_of(schema["region"], "中国,四川省", 1.0)
    assert fastwrite._postings_of(schema["region"], "中国,四川省", 1.0) is a
    fresh = fastwrite._postings_uncached(schema["region"], "中国,四川省", 1.0)
    assert fresh[1] == a[1] and fresh[0].term_bytes() == a[0].term_bytes()
    assert list(fresh[0].weights) == list(a[0].weights) and bytes(fresh[0].values) == bytes(a[0].values)
    assert fastwrite._postings_of(other["region"], "中国,四川省", 1.0) is not a
    assert list(fastwrite._postings_of(schema["region"], "中国,四川省", 2.0)[0].weights) == [2.0, 2.0]
    assert fastwrite._postings_of(schema["year"], 2015, 1.0)[0].term_bytes() != \
        fastwrite._postings_of(schema["year"], 2016, 1.0)[0].term_bytes()


@pytest.mark.parametrize("mixed", [False, True])
def test_sorted_postings_of_bigram_codes_equal_sorting_their_terms(mixed):
    """A bigram buffer's postings come out by term in UTF-8 byte order, documents in the order
    added within a term, whether sorted by code (all codes) or by term bytes (one posting added
    as a term, which sends the buffer through the vocabulary)."""
    from array import array

    from indexer.engine.fastwrite import FieldPostings, GramCodes, _FieldBuffer, _postings_uncached

    schema = build_schema()
    texts = ["卫生健康工作总结", "公共卫生服务𠀋能力", "aé卫生", "总结卫生", "𠀋𠀋卫生健康"]
    buf, ref = _FieldBuffer(), []  # ref: (term bytes, posting number)
    for doc, text in enumerate(texts * 3):
        fp, _n = _postings_uncached(schema["grams"], GramCodes.of(text), 1.0)
        for t in fp.term_bytes():
            ref.append((t, len(ref)))
        buf.add(doc, fp)
    if mixed:
        buf.add(len(texts) * 3, FieldPostings([b"\x01z"], array("d", [1.0]), b"\x00\x00\x00\x00", array("I", [1]), gaps=True))
        ref.append((b"\x01z", len(ref)))
    terms, perm, counts = buf.sorted_postings()
    ref.sort()
    want_terms = sorted({t for t, _i in ref})
    assert terms == want_terms
    assert perm.tolist() == [i for _t, i in ref]
    assert counts.tolist() == [sum(1 for t, _i in ref if t == w) for w in want_terms]


def test_gram_postings_packed_sort_equals_stable_argsort(monkeypatch):
    """Bigram postings sorted as packed (code, position) words equal those of the stable argsort
    that texts too long to pack (over 4 M characters) still use."""
    from indexer.engine.fastwrite import GramCodes, _gram_postings

    rng = np.random.default_rng(7)
    chars = "卫生健康工作总结𠀋𠀌aé"
    for n in (2, 3, 50, 3000):
        gc = GramCodes.of("".join(rng.choice(list(chars), size=n)))
        packed = _gram_postings(gc, 0.5)
        monkeypatch.setattr(fastwrite, "_POS_MASK", 1)  # every text "too long": the argsort path
        plain = _gram_postings(gc, 0.5)
        monkeypatch.undo()
        assert packed.codes.tolist() == plain.codes.tolist()
        assert bytes(packed.values) == bytes(plain.values)
        assert list(packed.weights) == list(plain.weights) and list(packed.value_lens) == list(plain.value_lens)
        assert packed.term_bytes() == sorted(set(packed.term_bytes()))
