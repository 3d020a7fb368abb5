"""The forgiving query parser."""
from __future__ import annotations

from searchapp.query import highlight_needles, parse, to_whoosh


def test_words_phrases_or_and_exclusion():
    pq = parse('基本药物 "公共卫生服务" 医改 OR 新农合 -疫情')
    assert [[(i.text, i.phrase) for i in g] for g in pq.groups] == [
        [("基本药物", False)], [("公共卫生服务", True)], [("医改", False), ("新农合", False)]]
    assert [i.text for i in pq.exclude] == ["疫情"]


def test_chinese_quotes_are_phrases():
    pq = parse("“卫生服务”")
    assert pq.groups[0][0].phrase and pq.groups[0][0].text == "卫生服务"


def test_malformed_queries_never_raise():
    for raw in ['"unbalanced', "AND", "OR", "(((", ")", "-", '""', "NOT", "a" * 10000, "卫生 OR", "OR 卫生",
                "（卫生）", "*", "\x00", "<script>alert(1)</script>"]:
        pq = parse(raw)
        to_whoosh(pq)
    assert parse("a" * 10000).truncated
    assert parse("AND").empty and parse("((( )))").empty


def test_needles_include_words_of_unquoted_items():
    needles = highlight_needles(parse("基本药物制度"))
    assert "基本药物制度" in needles and "基本" in needles
