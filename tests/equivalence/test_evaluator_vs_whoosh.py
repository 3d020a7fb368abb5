"""numpy query evaluation gives Whoosh's documents, scores and order; array facets give the query facets' counts.

Checked on two indexes: the test archive as the pipeline writes it (block-writer
segments plus segments merged by Whoosh), and a small index written entirely
by Whoosh's own writer (compressed pickled blocks), so both posting layouts
are read.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as Q

from indexer.engine import store
from indexer.engine.fastquery import Evaluator, PostingCache, Unsupported, top_order
from indexer.engine.postings import read_term, read_terms
from indexer.engine.schema import build_schema, to_fields
from indexer.engine.scoring import CachedBM25F
from indexer.pipeline import documents_from_file, text_key
from searchapp import engine as engine_mod
from searchapp import query as qmod
from searchapp.facets import FACET_NAMES, FacetTable, Filters

ROOT = Path(__file__).resolve().parents[2]

QUERIES = [
    "卫生", "教育", "经济 发展", "医疗 服务", "基本药物 制度", "乡村 振兴", "科技 创新 人才",
    '"卫生服务"', '"深化改革"', '"人民群众"', '"高质量发展"', '"全面建成小康社会"', '"社会保障体系"',
    "教育 OR 医疗", "经济 发展 -农业", "乡村振兴", "醫療", "NOT 卫生", '"基层医疗卫生服务"',
    '"发展 发展"', "公共卫生 | 疾病预防", '"卫生"', "一二三四五六七八九十不存在",
]


@pytest.fixture(scope="module")
def whoosh_written(shared, tmp_path_factory) -> Path:
    """About 40 reports indexed by Whoosh's own writer (zlib-compressed, pickled blocks)."""
    d = tmp_path_factory.mktemp("whoosh_written")
    ix = whoosh_index.create_in(str(d), build_schema())
    w = ix.writer()
    files = (sorted((ROOT / "corpus").iterdir()) + sorted((shared / "corpora").rglob("*.jsonl"))
             + sorted((shared / "corpora").rglob("*.csv"))[:4])
    n = 0
    for f in files:
        docs, _ = documents_from_file(f)
        for doc in docs[-30:]:
            w.add_document(**to_fields(doc, file=str(f), file_hash="h", text_key=text_key(doc.article.text)))
            n += 1
    w.commit()
    assert n > 30
    return d


def _raw_postings(reader, fieldname: str, tbytes: bytes, positions: bool):
    m = reader._terms.matcher(fieldname, tbytes, reader.schema[fieldname].format)
    ids, ws, ps = [], [], []
    while m.is_active():
        ids.append(m.id())
        ws.append(m.weight())
        if positions:
            ps.append(m.value_as("positions"))
        m.next()
    return ids, ws, ps


@pytest.mark.parametrize("which", ["pipeline", "whoosh"])
def test_postings_read_in_bulk_equal_whooshs_matcher(which, full_index, whoosh_written):
    ix = store.open_index(full_index) if which == "pipeline" else whoosh_index.open_dir(str(whoosh_written))
    with ix.searcher() as s:
        leaves = [(ls.reader(), off) for ls, off in s.leaf_searchers()]
        checked = 0
        for fieldname in ("content", "title", "grams"):
            lex = list(s.reader().lexicon(fieldname))
            for tbytes in lex[:: max(1, len(lex) // 150)]:
                positions = fieldname == "grams"
                expect_ids, expect_w, expect_p = [], [], []
                for r, off in leaves:
                    if (fieldname, tbytes) not in r:
                        continue
                    ids, ws, ps = _raw_postings(r, fieldname, tbytes, positions)
                    expect_ids += [i + off for i in ids]
                    expect_w += ws
                    expect_p += ps
                    one = read_term(r, fieldname, tbytes, positions)  # one segment alone
                    assert one.ids.tolist() == ids and one.weights.tolist() == ws
                tp = read_terms(leaves, fieldname, tbytes, positions)
                assert tp.ids.tolist() == expect_ids, (fieldname, tbytes)
                assert tp.weights.tolist() == expect_w, (fieldname, tbytes)
                if positions:
                    owner, pos = tp.positions(np.arange(len(tp)))
                    got = [[] for _ in expect_ids]
                    for o, p in zip(owner.tolist(), pos.tolist()):
                        got[o].append(p)
                    assert got == expect_p, (fieldname, tbytes)
                checked += 1
        assert checked > 300


def _assert_same_as_whoosh(s, ev: Evaluator, wq) -> int:
    ref = [(h.docnum, h.score) for h in s.search(wq, limit=None)]
    docs, scores = ev.evaluate(wq)
    reader = s.reader()
    live = np.array([not reader.is_deleted(int(d)) for d in docs], dtype=bool)
    docs, scores = docs[live], scores[live]
    assert sorted(d for d, _ in ref) == docs.tolist(), wq
    by_doc = dict(zip(docs.tolist(), scores.tolist()))
    for d, sc in ref:
        assert math.isclose(by_doc[d], sc, rel_tol=1e-12), (wq, d, by_doc[d], sc)
    # the same order, but for scores equal up to the order of addition
    order = top_order(-scores, docs, len(docs))
    mine = docs[order].tolist()
    for k, (d, sc) in enumerate(ref):
        if mine[k] != d:
            assert math.isclose(by_doc[mine[k]], sc, rel_tol=1e-12), (wq, k)
    return len(ref)


@pytest.mark.parametrize("which", ["pipeline", "whoosh"])
def test_same_documents_scores_and_order_as_whoosh(which, full_index, whoosh_written):
    ix = store.open_index(full_index) if which == "pipeline" else whoosh_index.open_dir(str(whoosh_written))
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s, PostingCache())
        total = 0
        for q in QUERIES:
            total += _assert_same_as_whoosh(s, ev, qmod.to_whoosh(qmod.parse(q)))
        # nodes as the query module builds them, and a filter-only query
        total += _assert_same_as_whoosh(s, ev, Q.AndMaybe(Q.Term("content", "卫生"), Q.Term("title", "工作")))
        total += _assert_same_as_whoosh(s, ev, Q.AndNot(Q.Every(), Q.Term("content", "卫生")))
        assert total > (1000 if which == "pipeline" else 200)


@pytest.mark.parametrize("which", ["pipeline", "whoosh"])
def test_single_characters_as_bigram_prefixes_equal_whoosh(which, full_index, whoosh_written, monkeypatch):
    """A single character (every bigram starting with it, read in one batch) gives Whoosh's
    documents and scores, alone, in the queries the parser builds, and from the cache.

    Whoosh scores a prefix by its bigrams' BM25F added (its default Or) except on indexes
    under 5,000 documents or past 1,024 bigrams, where it preloads unscored matches (score
    1.0); the numpy evaluation always adds, so the comparison uses Whoosh's default Or."""
    monkeypatch.setattr(Q.Or, "matcher_type", Q.Or.DEFAULT_MATCHER)
    ix = store.open_index(full_index) if which == "pipeline" else whoosh_index.open_dir(str(whoosh_written))
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s, PostingCache())
        total = 0
        for ch in "卫的发乡年":
            total += _assert_same_as_whoosh(s, ev, Q.Prefix("grams", ch))
            total += _assert_same_as_whoosh(s, ev, Q.Prefix("grams", ch))  # cached
        for q in ("卫", "发 展", "医 OR 教", "卫生 的", '"卫"'):
            total += _assert_same_as_whoosh(s, ev, qmod.to_whoosh(qmod.parse(q)))
        assert _assert_same_as_whoosh(s, ev, Q.Prefix("grams", "\U0001f600")) == 0  # no such bigram
        assert total > 100


def test_many_terms_read_in_one_batch_equal_one_by_one(full_index, whoosh_written):
    from indexer.engine.postings import read_many

    for ix in (store.open_index(full_index), whoosh_index.open_dir(str(whoosh_written))):
        with ix.searcher() as s:
            leaves = [(ls.reader(), off) for ls, off in s.leaf_searchers()]
            terms = list(s.reader().expand_prefix("grams", "发"))[:300]
            infos = {}
            for li, (r, _o) in enumerate(leaves):
                for tb in terms:
                    infos[(li, "grams", tb)] = r._terms.term_info("grams", tb) if ("grams", tb) in r else None
            ids, weights, owner = read_many(leaves, "grams", terms, infos)
            got = sorted(zip(owner.tolist(), ids.tolist(), weights.tolist()))
            want = sorted((t, i, w) for t, tb in enumerate(terms)
                          for i, w in zip(read_terms(leaves, "grams", tb).ids.tolist(),
                                          read_terms(leaves, "grams", tb).weights.tolist()))
            assert got == want and len(want) > 300


def test_a_deadline_gives_a_partial_answer_and_says_so(full_index):
    ix = store.open_index(full_index)
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s, PostingCache())
        q = Q.And([Q.Term("content", "卫生"), Q.Term("content", "发展"), Q.Term("content", "教育")])
        full_docs, _sc, complete = ev.evaluate_within(q, None)
        assert complete
        docs, _sc, complete = ev.evaluate_within(q, 0.0)  # already past: only the first part is taken
        assert not complete and set(full_docs.tolist()) < set(docs.tolist())  # an And cut short matches more
        q = Q.Or([Q.Prefix("grams", "卫"), Q.Prefix("grams", "发")])
        full_docs, _sc, complete = ev.evaluate_within(q, None)
        docs, _sc, complete = ev.evaluate_within(q, 0.0)
        assert not complete and 0 < len(docs) and set(docs.tolist()) < set(full_docs.tolist())  # an Or fewer
        assert ev.evaluate_within(q, None)[2]  # the cut answer was not cached as the whole one


def test_unsupported_nodes_are_reported_not_guessed(full_index):
    ix = store.open_index(full_index)
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s)
        with pytest.raises(Unsupported):
            ev.evaluate(Q.Wildcard("grams", "卫*"))
        with pytest.raises(Unsupported):
            ev.evaluate(Q.Or([Q.Term("content", "卫生"), Q.Term("content", "教育")], scale=0.9))
        with pytest.raises(Unsupported):
            ev.evaluate(Q.Phrase("grams", ["卫生", "生服"], slop=3))


def test_top_order_breaks_ties_by_document_number():
    key = np.array([-2.0, -1.0, -2.0, -3.0, -2.0, -1.0])
    docs = np.array([10, 11, 12, 13, 14, 15])
    full = np.lexsort((docs, key))
    for k in range(1, 7):
        assert top_order(key, docs, k).tolist() == full[:k].tolist()
    assert docs[top_order(key, docs, 3)].tolist() == [13, 10, 12]


# -- facets -------------------------------------------------------------------------------

def _brute_count(table: FacetTable, docs, name: str, level: int = 0) -> dict[str, int]:
    """The old per-document count: distinct reports per value."""
    seen: dict[str, set] = {}
    for n in docs:
        r = table.records[n]
        if name == "region":
            vals = [r.region[level]] if len(r.region) > level else (["未知"] if level == 0 else [])
        elif name == "year":
            vals = [str(r.year) if r.year else "未知"]
        elif name == "topic":
            vals = r.topics or ["未知"]
        else:
            vals = [r.doc_type or "未知"]
        for v in vals:
            seen.setdefault(v, set()).add(table.collapse_key(n))
    return {v: len(k) for v, k in seen.items()}


def test_filter_masks_equal_filter_queries_and_counts_equal_brute_force(full_index):
    ix = store.open_index(full_index)
    with ix.searcher() as s:
        table = FacetTable.load(s, store.load_groups(full_index))
        live = np.flatnonzero(table.live)
        cases = []
        for name in FACET_NAMES:
            for v in table.names[name][:12]:
                cases.append(Filters(**{name: [v]}))
        cases += [Filters(year_from=2010, year_to=2015), Filters(year_from=2020),
                  Filters(region=["中国"], year=["2018", "2019"]), Filters(doc_type=["政府工作报告", "工作总结"])]
        assert len(cases) > 30
        for f in cases:
            ref = sorted(n for n in s.docs_for_query(f.to_query()) if n in table.records)
            mask = table.filter_mask(f)
            assert np.flatnonzero(mask & table.live).tolist() == ref, f
            docs = live[mask[live]]
            assert table.total(docs) == len({table.collapse_key(n) for n in ref})
            for name in FACET_NAMES:
                level = 1 if name == "region" and f.region else 0
                assert table.count_facet(docs, name, level) == _brute_count(table, ref, name, level), (f, name)


def test_engine_gives_the_same_page_and_facets_as_whooshs_matcher(full_index, monkeypatch):
    queries = [("卫生", Filters()), ("经济 发展", Filters(doc_type=["政府工作报告"])),
               ('"人民群众"', Filters(year=["2015", "2016"])), ("", Filters(region=["中国"])),
               ("教育", Filters(year=["2018"], topic=["公共卫生"]))]
    fast = engine_mod.SearchEngine(full_index)
    slow = engine_mod.SearchEngine(full_index)
    try:
        got = [fast.search(q, f, sort=srt, per_page=20) for q, f in queries for srt in ("relevance", "year")]

        def refuse(self, q, deadline):
            raise Unsupported("test: use Whoosh")

        monkeypatch.setattr(engine_mod.Evaluator, "evaluate_within", refuse)
        want = [slow.search(q, f, sort=srt, per_page=20) for q, f in queries for srt in ("relevance", "year")]
        assert sum(r.total for r in want) > 100
        for a, b in zip(got, want):
            assert (a.total, a.facets, a.region_level) == (b.total, b.facets, b.region_level)
            assert [h.id for h in a.hits] == [h.id for h in b.hits]
    finally:
        fast.close()
        slow.close()


def test_facet_table_after_an_update_reads_only_new_segments(tmp_path, monkeypatch):
    from reportgen import make_pages, page_text

    from indexer.pipeline import index_paths
    from searchapp import facets as facets_mod

    src = tmp_path / "pages"
    make_pages(src, 8)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    with store.open_index(ix).searcher() as s:
        first = FacetTable.load(s, store.load_groups(ix))
        before = {ls.reader()._segment.segment_id() for ls, _o in s.leaf_searchers()}
    (src / "r00003.txt").write_text(page_text(3, tag="q00003changed"), encoding="utf-8")
    index_paths([src], ix, workers=1)

    parsed = []
    real_init = facets_mod._SegmentFacets.__init__

    def counting_init(self, reader):
        parsed.append(reader._segment.segment_id())
        real_init(self, reader)

    monkeypatch.setattr(facets_mod._SegmentFacets, "__init__", counting_init)
    with store.open_index(ix).searcher() as s:
        after = FacetTable.load(s, store.load_groups(ix))
        now = {ls.reader()._segment.segment_id() for ls, _o in s.leaf_searchers()}
        assert set(parsed) == now - before and parsed  # only the segments the update wrote
        facets_mod._SEGMENT_CACHE.clear()
        fresh = FacetTable.load(s, store.load_groups(ix))
    assert len(after.records) == len(first.records) == 8
    assert after.records == fresh.records and after.by_id == fresh.by_id
    for name in FACET_NAMES:
        docs = np.flatnonzero(after.live)
        assert after.count_facet(docs, name) == fresh.count_facet(docs, name)
    assert (after.live == fresh.live).all() and (after.year_num == fresh.year_num).all()


def test_read_ahead_on_compound_segments_changes_nothing(whoosh_written):
    """Whoosh's own writer makes compound segments (read through a buffer or a sub-file, no file
    descriptor): the lookups ``prefetch`` makes there equal Whoosh's, and queries answer the same."""
    from indexer.engine.postings import prefetch

    ix = whoosh_index.open_dir(str(whoosh_written))
    with ix.searcher() as s:
        leaves = [(ls.reader(), off) for ls, off in s.leaf_searchers()]
        lex = list(s.reader().lexicon("content"))
        keys = [("content", t) for t in lex[:: max(1, len(lex) // 60)]]
        got = prefetch(leaves, keys)
        assert got
        for (li, fieldname, tb), ti in got.items():
            r = leaves[li][0]
            if ti is None:
                assert (fieldname, tb) not in r
            else:
                assert vars(ti) == vars(r._terms.term_info(fieldname, tb))
        ev = Evaluator(s)
        for text in ("卫生", "经济 发展", '"人民群众"'):
            _assert_same_as_whoosh(s, ev, qmod.to_whoosh(qmod.parse(text)))


def _valid_checks(n: int, chosen: list[int]) -> bool:
    """Both ends checked, and no bigram left out whose neighbours are not both checked."""
    s = set(chosen)
    return 0 in s and n - 1 in s and all(i in s or (i - 1 in s and i + 1 in s) for i in range(n))


def test_position_checks_choose_the_cheapest_valid_set():
    """Against every subset: the choice is valid and no valid subset costs less."""
    import itertools
    import random

    from indexer.engine.fastquery import _position_checks

    rnd = random.Random(7)
    for n in range(3, 9):
        words = ["一二三四五六七八九十"[i:i + 2] for i in range(n)]
        for _ in range(30):
            costs = [rnd.randint(0, 50) for _ in range(n)]
            got = _position_checks(words, costs)
            assert got == sorted(got) and _valid_checks(n, got), (costs, got)
            cheapest = min(sum(costs[i] for i in sub) for k in range(1, n + 1)
                           for sub in itertools.combinations(range(n), k) if _valid_checks(n, list(sub)))
            assert sum(costs[i] for i in got) == cheapest
    # not a chain of bigrams (a hand-made query, a one-character word): everything is checked
    assert _position_checks(["卫生", "服务", "体系"], [1, 100, 1]) == [0, 1, 2]
    assert _position_checks(["卫生", "生服", "服"], [1, 100, 1]) == [0, 1, 2]
    assert _position_checks(["卫生", "生服"], [1, 100]) == [0, 1]


def test_phrases_from_the_archive_match_as_whoosh_matches_them(full_index):
    """Quoted phrases of 3–10 characters cut from indexed texts (so they match, and their
    bigrams overlap other text), plus repeated characters: the same documents and scores as
    Whoosh's own phrase matcher, with bigrams left unchecked where their neighbours imply them."""
    import random

    rnd = random.Random(11)
    ix = store.open_index(full_index)
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s, PostingCache())
        texts = [s.stored_fields(d).get("content") or "" for d in range(0, s.doc_count_all(), 7)]
        texts = [t for t in texts if len(t) > 200]
        phrases = ["哈哈哈", "发展发展", "。。。", "人人人人"]
        while len(phrases) < 60:
            t = rnd.choice(texts)
            k = rnd.randint(3, 10)
            at = rnd.randrange(len(t) - k)
            cut = t[at:at + k]
            if '"' not in cut and cut.strip() == cut and "\n" not in cut:
                phrases.append(cut)
        matched = 0
        for p in phrases:
            wq = qmod.to_whoosh(qmod.parse(f'"{p}"'))
            matched += _assert_same_as_whoosh(s, ev, wq) > 0
        assert matched >= 50


def test_positions_of_a_selection_equal_the_positions_of_each_posting(full_index):
    """``positions`` of every other posting, of the last one alone and of all, against each
    posting's own list (the offsets of non-adjacent selections are computed, not walked)."""
    ix = store.open_index(full_index)
    with ix.searcher() as s:
        leaves = [(ls.reader(), off) for ls, off in s.leaf_searchers()]
        checked = 0
        for tbytes in ["发展".encode(), "卫生".encode(), "人民".encode(), "年度".encode()]:
            tp = read_terms(leaves, "grams", tbytes, True)
            if len(tp) < 3:
                continue
            each = []
            for k in range(len(tp)):
                _o, pos = tp.positions(np.array([k]))
                each.append(pos.tolist())
            assert max(map(max, each)) > 255  # lists of more than one opcode width
            for sel in (np.arange(0, len(tp), 2), np.array([len(tp) - 1]), np.arange(len(tp))):
                owner, pos = tp.positions(sel)
                got = [[] for _ in sel]
                for o, p in zip(owner.tolist(), pos.tolist()):
                    got[o].append(p)
                assert got == [each[k] for k in sel.tolist()]
                checked += 1
        assert checked >= 9


@pytest.mark.parametrize("alone", [0, 12, 10**6])
@pytest.mark.parametrize("which", ["pipeline", "whoosh"])
def test_block_extents_of_many_lists_equal_each_lists_own(which, alone, full_index, whoosh_written, monkeypatch):
    """The all-lists-at-once walk of block headers gives, list by list, what walking one list
    gives: the same blocks, and "not the fast layout" for the same lists (Whoosh's compressed
    blocks, a truncated list); whether the lists are walked all at once (``alone`` 0), list by list
    (10**6), or at once until few are left."""
    from indexer.engine import postings
    from indexer.engine.format import BLOCK_MAGIC
    from indexer.engine.postings import _all_block_extents, _block_extents

    monkeypatch.setattr(postings, "_WALK_ALONE", alone)

    ix = store.open_index(full_index) if which == "pipeline" else whoosh_index.open_dir(str(whoosh_written))
    raws = []
    with ix.searcher() as s:
        for r, _off in [(ls.reader(), off) for ls, off in s.leaf_searchers()]:
            for fieldname in ("content", "grams"):
                for tbytes in list(r.lexicon(fieldname))[::97]:
                    ti = r._terms.term_info(fieldname, tbytes)
                    if not ti.is_inlined():
                        off, length = ti.extent()
                        raws.append(r._terms._postfile.get(off, length if isinstance(length, int) else length[0]))
    assert len(raws) > 20 and all(raw[:4] == BLOCK_MAGIC for raw in raws)
    raws.append(raws[0][:30])  # cut short inside the first block header
    lens = np.array([len(r) for r in raws], dtype=np.int64)
    lstart = np.cumsum(lens) - lens
    ok, owner, ds, de, n = _all_block_extents(np.frombuffer(b"".join(raws), dtype=np.uint8), lstart, lstart + lens)
    for k, raw in enumerate(raws):
        one = _block_extents(raw)
        assert ok[k] == (one is not None), k
        if one is not None:
            m = owner == k
            assert ds[m].tolist() == (one[0] + lstart[k]).tolist()
            assert de[m].tolist() == (one[1] + lstart[k]).tolist()
            assert n[m].tolist() == one[2].tolist()
    assert not ok[-1]
    assert ok.any() if which == "pipeline" else not ok[:-1].any()


def test_a_phrase_reads_positions_only_of_the_bigrams_it_checks(full_index):
    """With the query's lookups at hand, the bigrams implied by their neighbours are read without
    positions (cheaper to decode), and the answer is still Whoosh's."""
    from indexer.engine.fastquery import _position_checks

    ix = store.open_index(full_index)
    with ix.searcher(weighting=CachedBM25F()) as s:
        ev = Evaluator(s, PostingCache())
        phrase = "全面建成小康社会"
        wq = qmod.to_whoosh(qmod.parse(f'"{phrase}"'))
        assert _assert_same_as_whoosh(s, ev, wq) > 0
        words = [phrase[i:i + 2] for i in range(len(phrase) - 1)]
        with_pos = [(ev.key, "p", "grams", w.encode(), True) in ev.cache for w in words]
        without = [(ev.key, "p", "grams", w.encode(), False) in ev.cache for w in words]
        assert with_pos[0] and with_pos[-1] and not all(with_pos)
        assert [not p for p in with_pos] == without
        est = [sum(r._terms.term_info("grams", w.encode()).weight() for r, _o in ev.leaves
                   if ("grams", w.encode()) in r) for w in words]
        assert [i for i, p in enumerate(with_pos) if p] == _position_checks(words, est)
