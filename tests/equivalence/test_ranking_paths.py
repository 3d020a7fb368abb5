"""The ranking step gives the same order whichever evaluator matched: numpy (fastquery) or Whoosh."""
from __future__ import annotations

import numpy as np
import pytest

from searchapp import query as qmod
from searchapp import ranking


@pytest.mark.parametrize("q", ["云南 卫生", "卫生监督", "医共体", "新型农村合作医疗 2010", "基本药物 制度 改革",
                               '"医改" 2014', "贵州健康扶贫", "卫生 -疫情", "医改 OR 新农合"])
def test_numpy_and_whoosh_matches_rank_alike(engine, q):
    engine.search("卫生")  # open the searcher and the facet table
    s = engine._current()
    table = engine._table

    def whoosh(wq):
        docs, scores = engine._whoosh_match(s, wq)
        keep = docs < table.size
        keep[keep] = table.live[docs[keep]]
        return docs[keep], scores[keep]

    text = lambda n: s.stored_fields(n).get("content") or ""
    fast = ranking.rank(qmod.parse(q), table, lambda wq: engine._match(s, wq), text)
    slow = ranking.rank(qmod.parse(q), table, whoosh, text)
    assert np.array_equal(fast.docs, slow.docs)
    assert np.allclose(fast.scores, slow.scores, rtol=1e-9, atol=1e-12)
    order = lambda r: [int(r.docs[i]) for i in np.argsort(-np.round(r.scores, 9), kind="stable")[:20]]
    assert order(fast) == order(slow)
