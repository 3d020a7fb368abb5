"""A search reads each report's stored fields once: the proximity bonus (the best 20 reports'
text) and the page's hits share the reads, and the hits are the same as reading them apart."""
from __future__ import annotations

import pytest
from reportgen import index_records

from searchapp.engine import SearchEngine

FILLER = "会议强调，要坚持稳中求进工作总基调，统筹推进各项工作，确保各项任务落到实处。"


@pytest.fixture(scope="module")
def eng(tmp_path_factory):

    d = tmp_path_factory.mktemp("memo")
    bodies = ["加强卫生监督执法。", "卫生事业发展。" * 3 + "监督体系健全。", "卫生与监督分开写。" + FILLER + "监督。",
              "只有卫生。", "只有监督。"]
    recs = [{"title": f"第{i}县工作报告", "content": b + FILLER * (i + 2), "year": 2010 + i} for i, b in enumerate(bodies)]
    e = SearchEngine(index_records(d, recs))
    yield e
    e.close()


def test_each_document_is_read_once_per_search(eng, monkeypatch):
    expected = eng.search("卫生 监督")  # proximity applies: two words
    assert expected.total >= 3
    eng.forget_results()
    with eng._borrow() as (_gen, r):  # one thread: the next search borrows this same searcher back
        s = r.searcher
    reads: list[int] = []
    original = s.stored_fields

    def counting(docnum: int):
        reads.append(docnum)
        return original(docnum)

    monkeypatch.setattr(s, "stored_fields", counting)
    again = eng.search("卫生 监督")
    assert [h.as_json() for h in again.hits] == [h.as_json() for h in expected.hits]
    assert reads and len(reads) == len(set(reads))  # without sharing, every hit on the page is read twice
