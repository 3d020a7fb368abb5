"""``CachedBM25F`` ranks and scores exactly like Whoosh's ``BM25F``."""
from __future__ import annotations

from whoosh import scoring

from indexer.engine import store
from indexer.engine.scoring import CachedBM25F
from searchapp import query as qmod

QUERIES = ["卫生", "基本药物 制度", '"人民群众"', "教育 OR 医疗", "经济 发展 -农业", "乡村振兴", "醫療"]


def test_same_scores_as_bm25f(full_index):
    ix = store.open_index(full_index)
    plain = ix.searcher(weighting=scoring.BM25F())
    cached = ix.searcher(weighting=CachedBM25F())
    try:
        compared = 0
        for q in QUERIES:
            wq = qmod.to_whoosh(qmod.parse(q))
            a = [(h.docnum, h.score) for h in plain.search(wq, limit=None)]
            b = [(h.docnum, h.score) for h in cached.search(wq, limit=None)]
            assert a == b, q
            compared += len(a)
        assert compared > 50
    finally:
        plain.close()
        cached.close()
