"""``GramPhrase`` finds exactly the documents, and gives exactly the scores, of Whoosh's ``Phrase``."""
from __future__ import annotations

from whoosh import index as whoosh_index
from whoosh import query as Q

from indexer.analysis import bigrams
from indexer.engine import store
from indexer.engine.phrase import GramPhrase

PHRASES = ["基本药物", "卫生服务", "人民群众", "高质量发展", "全面建成小康社会", "公共卫生服务", "工作工作",
           "人民人民", "的的", "一是", "社会保障体系", "不存在的一串字符组合"]


def test_same_documents_and_scores_as_phrase(full_index):
    ix = store.open_index(full_index)
    with ix.searcher() as s:
        found = 0
        for text in PHRASES:
            g = bigrams(text)
            expected = [(h.docnum, round(h.score, 9)) for h in s.search(Q.Phrase("grams", g), limit=None)]
            got = [(h.docnum, round(h.score, 9)) for h in s.search(GramPhrase("grams", g), limit=None)]
            assert got == expected, text
            assert set(s.docs_for_query(GramPhrase("grams", g))) == {d for d, _ in expected}
            found += bool(expected)
        assert found >= 8  # the comparison is not between empty results


def test_repeated_bigram_needs_consecutive_positions(tmp_path):
    from whoosh.analysis import SpaceSeparatedTokenizer
    from whoosh.fields import ID, TEXT, Schema

    ix = whoosh_index.create_in(str(tmp_path), Schema(id=ID(stored=True), grams=TEXT(
        analyzer=SpaceSeparatedTokenizer(), phrase=True)))
    w = ix.writer()
    w.add_document(id="yes", grams="ab bc ab bc")
    w.add_document(id="no", grams="ab bc xx ab")
    w.commit()
    with ix.searcher() as s:
        hits = [h["id"] for h in s.search(GramPhrase("grams", ["ab", "bc", "ab"]))]
    assert hits == ["yes"]
