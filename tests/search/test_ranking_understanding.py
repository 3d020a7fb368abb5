"""Issue 20 items 1-3: phrase-aware ranking, expansions as phrases, exact quotes, places and years
in the query, short region names, "did you mean"."""
from __future__ import annotations

import pytest
from reportgen import index_records

from searchapp import query as qmod
from searchapp.engine import SearchEngine
from searchapp.facets import Filters
from searchapp.ranking import min_span
from searchapp.understand import parse_year, reads_as_words

FILLER = "会议强调，要坚持稳中求进工作总基调，统筹推进各项工作，确保各项任务落到实处。"


def _record(title: str, body: str, year: int = 2015, province: str = "") -> dict:
    return {"title": title, "content": body + FILLER * 6, "year": year, "province": province}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> SearchEngine:
    """A few reports built to tell phrase from scattered words, and expansions from loose words."""

    d = tmp_path_factory.mktemp("rank")
    recs = [
        # the whole phrase once
        _record("甲县工作报告", "今年加强卫生监督执法，查处违法案件十二起。"),
        # both words, many times and in the (boosted) title, never together
        _record("乙县卫生院与监督所工作报告", "卫生事业发展较快。" * 4 + "监督体系逐步健全，" * 4 + "卫生院建设，监督检查。"),
        # the long form of an abbreviation
        _record("丙县医疗集团报告", "县域医疗共同体建设全面推开，组建医疗共同体三个。"),
        # the long form's words apart: 医疗 here, 共同体 there (must not match 医共体)
        _record("丁市民族工作报告", "铸牢中华民族共同体意识。" + "医疗服务能力提升。"),
        # 医改 written out in full only (a quoted 医改 must not find it)
        _record("戊县卫生工作报告", "深化医药卫生体制改革，推进分级诊疗。"),
    ]
    eng = SearchEngine(index_records(d, recs))
    yield eng
    eng.close()


def _titles(res) -> list[str]:
    return [h.title for h in res.hits]


def test_phrase_beats_scattered_words(small):
    res = small.search("卫生监督")
    titles = _titles(res)
    assert "甲县工作报告" in titles and "乙县卫生院与监督所工作报告" in titles
    assert titles.index("甲县工作报告") < titles.index("乙县卫生院与监督所工作报告")
    # the snippet shows the whole phrase marked as one
    first = res.hits[titles.index("甲县工作报告")]
    assert "<mark>卫生监督</mark>" in str(first.snippet)


def test_proximity_span():
    text = "卫生" + "。" * 100 + "监督" + "。" * 10 + "卫生" + "。" * 3 + "监督"
    assert min_span(text, [["卫生"], ["监督"]]) == 3
    assert min_span(text, [["卫生"], ["不在"]]) is None


def test_expansion_stays_a_phrase(small):
    titles = _titles(small.search("医共体"))
    assert "丙县医疗集团报告" in titles  # 医疗共同体, the long form, as one string
    assert "丁市民族工作报告" not in titles  # 医疗 … 共同体 apart is not 医疗共同体
    pq = qmod.parse("医共体")
    assert "医疗共同体" in qmod.highlight_needles(pq) and "共同体" not in qmod.highlight_needles(pq)


def test_expansion_notice_only_when_it_changed_the_results(small):
    res = small.search("医共体")  # only the long form occurs: the expansion found the report
    assert any("医共体 → 医疗共同体" in m for m in res.messages)
    res = small.search("卫生监督")  # 卫监 is its abbreviation, but no report writes 卫监
    assert not any("已扩展" in m for m in res.messages)


def test_quoted_query_is_exact(small):
    res = small.search('"医改"')
    assert res.total == 0  # 医药卫生体制改革 is not the characters 医改
    assert any("精确" in m and "医药卫生体制改革" in m for m in res.messages)
    assert "戊县卫生工作报告" in _titles(small.search("医改"))  # unquoted, the expansion finds it
    pq = qmod.parse('"医改"')
    assert not pq.expansions and pq.unexpanded


def test_place_in_query_suggests_filter_and_ranks_first(engine):
    res = engine.search("云南 卫生")
    assert {"label": "只看 云南省", "params": {"region": "云南省"}} in res.refine
    assert all(h.region[:1] == ["云南省"] for h in res.hits[:3])
    # a filter that would leave nothing is not offered (no report of 2030), nor one that changes nothing
    assert engine.search("2030 卫生").refine == []
    assert engine.search("贵州 健康扶贫").refine == []
    # the place matches by metadata too: this county report never writes 贵州
    res = engine.search("贵州 健康扶贫")
    assert res.total >= 1 and res.hits[0].region[:1] == ["贵州省"]
    assert res.suggestion is None


def test_year_in_query_suggests_filter_and_ranks_first(engine):
    res = engine.search("新型农村合作医疗 2010")
    assert {"label": "只看 2010 年", "params": {"year": "2010"}} in res.refine
    assert res.hits[0].year == 2010
    assert parse_year("2010年") == (2010, 2010) and parse_year("2010-2012") == (2010, 2012)
    assert parse_year("2010至2012年") == (2010, 2012) and parse_year("12345") is None
    res = engine.search("医疗卫生 2010-2012")
    assert {"label": "只看 2010–2012 年", "params": {"year_from": "2010", "year_to": "2012"}} in res.refine
    assert all(2010 <= (h.year or 0) <= 2012 for h in res.hits[:3])


def test_place_or_year_written_against_the_topic(engine):
    # no space: jieba's cut makes the place a word of its own; a year at either end
    res = engine.search("贵州健康扶贫")
    assert res.total >= 1 and res.hits[0].region[:1] == ["贵州省"]
    res = engine.search("2010年新农合")
    assert res.hits[0].year == 2010 and {"label": "只看 2010 年", "params": {"year": "2010"}} in res.refine
    assert engine.search("新农合2010").hits[0].year == 2010
    # a place inside one word of jieba's is not split off (中山大学 is not 中山市)
    from searchapp.understand import analyse
    pq = qmod.parse("中山大学")
    assert not analyse(pq, engine._generation().table).places


def test_suggestion_is_a_link_on_the_page(client):
    html = client.get("/?q=云南 卫生").get_data(as_text=True)
    assert "只看 云南省" in html and "region=%E4%BA%91%E5%8D%97%E7%9C%81" in html


def test_region_parameter_accepts_short_forms(engine, client):
    full = engine.search("", Filters(region=["云南省"]))
    short = engine.search("", Filters(region=["云南"]))
    assert full.total > 0 and short.total == full.total and short.filters.region == ["云南省"]
    assert engine.sentences("卫生", Filters(region=["云南"])).reports == engine.sentences(
        "卫生", Filters(region=["云南省"])).reports > 0
    data = client.get("/api/search?region=宁蒗").get_json()
    assert data["total"] == engine.search("", Filters(region=["宁蒗彝族自治县"])).total > 0


def test_did_you_mean_catches_one_character_typo_in_long_terms(engine):
    res = engine.search("医疗卫生体质改革")
    assert res.suggestion == "医疗卫生体制改革"
    assert engine.search(res.suggestion).total > 0
    assert engine.search("基本药务").suggestion == "基本药物"
    # a character missing or one too many
    assert engine.search("医疗卫生体改革").suggestion == "医疗卫生体制改革"
    assert engine.search("基本药物物制度").suggestion == "基本药物制度"
    # the first character, which has no left neighbour to propose a substitute: its homophones
    assert engine.search("为生健康").suggestion == "卫生健康"
    assert engine.search("加庭医生").suggestion == "家庭医生"
    assert engine.search("技本公共卫生服务").suggestion == "基本公共卫生服务"


def test_homophones_use_the_main_reading():
    from searchapp.understand import _homophones

    assert "卫" in _homophones("为") and "为" not in _homophones("为")
    assert "有" not in _homophones("为")  # 有 is read wěi only rarely


def test_did_you_mean_never_returns_a_non_term(engine):
    engine.search("卫生")
    with engine._borrow() as (_gen, r):
        reader = r.searcher.reader()
    for q in ("贵州 健康扶贫", "贵的 健康扶贫", "健康付贫", "卫生间督", "zzzzqx", "家庭医生前约", "的的的的"):
        sug = engine.search(q).suggestion
        if sug is None:
            continue
        assert "贵的" not in sug
        for item in qmod.parse(sug).positive_items():
            assert engine.ids_matching(f'"{item.text}"'), (q, sug)  # found verbatim in the index
            assert reads_as_words(item.text, reader), (q, sug)  # whole words, not a fragment
    assert not reads_as_words("贵的", reader)


def test_did_you_mean_not_run_for_filter_only_empty_results(engine, client, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "_did_you_mean", lambda *a: calls.append(a) or "x")
    engine.forget_results()
    res = engine.search("卫生", Filters(region=["没有这个地方"]))
    assert res.total == 0 and res.suggestion is None
    res = engine.search("医疗卫生体质改革", Filters(region=["没有这个地方"]))
    assert res.total == 0 and calls  # a typo still gets a fix, filters or not
    calls.clear()
    engine.all_hits("zzzzqx", Filters(), "relevance", 10)  # an export never asks
    assert not calls
    assert client.get("/api/search?q=zzzzqx&year_from=-1").status_code == 200
    engine.forget_results()  # nothing answered by the stand-in stays cached


def test_short_region_name_keeps_the_own_level_filter(engine):
    """region=云南 is read as 云南省; the 本级 filter beside it must survive that rewrite."""
    full = engine.search("", Filters(region=["云南省"], region_exact=True))
    short = engine.search("", Filters(region=["云南"], region_exact=True))
    assert short.filters.region_exact and short.total == full.total
    assert short.total < engine.search("", Filters(region=["云南省"])).total
