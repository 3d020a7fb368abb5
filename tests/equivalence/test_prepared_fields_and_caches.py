"""Speed-ups must not change answers: pre-tokenized fields, cached results."""
from __future__ import annotations

from indexer.analysis import bigrams, gram_analyzer, index_words, word_analyzer
from indexer.engine.schema import to_fields
from indexer.models import Article, Document, Meta
from searchapp.facets import Filters


def test_fields_hold_what_the_analyzers_would_make():
    text = "北京市2020年卫生健康工作总结\n全面推进基本公共卫生服务，ＧＤＰ增长6.1％。"
    doc = Document(id="x", path="p", article=Article(title="卫生健康工作总结", text=text),
                   meta=Meta(region=["北京市"], year=2020, topics=["公共卫生"], doc_type="工作总结"))
    f = to_fields(doc, file="f", file_hash="h", text_key="k")
    assert f["_stored_content"] == text and f["_stored_title"] == "卫生健康工作总结"
    assert f["content"] == [t.text for t in word_analyzer()(text)]
    assert f["title"] == [t.text for t in word_analyzer()("卫生健康工作总结")]
    assert f["grams"] == [t.text for t in gram_analyzer()("卫生健康工作总结\n" + text)]
    assert index_words("") == [] and bigrams("") == []


def test_stored_text_is_the_original(engine):
    stored, _ = next(iter(engine.iter_documents()))
    assert isinstance(stored["content"], str) and isinstance(stored.get("title", ""), str)


def test_cached_results_equal_fresh_ones(engine):
    for q, f in [("卫生", Filters()), ('"卫生服务"', Filters(region=["云南省"])), ("医疗 服务", Filters(year=["2010"]))]:
        first = engine.search(q, f, per_page=7)
        again = engine.search(q, f, per_page=7)  # from the cache
        engine.forget_results()
        fresh = engine.search(q, f, per_page=7)
        for r in (again, fresh):
            assert r.as_json() == first.as_json()
        again.messages.append("changed by a caller")
        assert "changed by a caller" not in engine.search(q, f, per_page=7).messages
