"""The fast segmenter (jieba-rs + jieba's search-mode rule) gives exactly jieba's tokens."""
from __future__ import annotations

import jieba
import pytest
from conftest import shared_texts

from indexer import analysis

pytestmark = pytest.mark.skipif(not analysis.fast_segmenter(), reason="rjieba not installed")


def test_search_tokens_equal_jieba_on_shared_corpora(shared):
    """Every token (word, start, end) of jieba.tokenize(mode="search"), on every shared text."""
    texts = shared_texts(shared)
    assert len(texts) > 100
    for text in texts:
        assert analysis.search_tokens(text) == list(jieba.tokenize(text, mode="search"))


def test_cut_equals_jieba_on_tricky_inputs():
    for text in ["2011-2020年PM2.5浓度下降3.5%", "ＡＢＣ全角与半角混排abc", "C++与C#，GDP增长6.5％",
                 "㐀㐁罕用字与〇", "  空格\t制表\r\n换行  ", "", "a", "公共卫生服务中心"]:
        assert analysis.cut(text) == jieba.lcut(text), text
        assert analysis.search_tokens(text) == list(jieba.tokenize(text, mode="search")), text


def test_analyzer_uses_same_tokens_as_pretokenized_fields():
    text = "实施国家基本药物制度，推进公共卫生服务均等化。PM2.5年均浓度下降"
    assert analysis.index_words(text) == [t.text for t in analysis.word_analyzer()(text)]
    assert analysis.bigrams(text) == [t.text for t in analysis.gram_analyzer()(text)]
    assert analysis.bigrams("字") == ["字"] and analysis.bigrams(" ") == []
