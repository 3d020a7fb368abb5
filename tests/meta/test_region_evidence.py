"""Region evidence (issue 19 item 6): explicit names over ambiguous towns, renamed divisions.

* An ambiguous town (城关镇 is in over a hundred counties) counts only as far as the other
  evidence agrees; an explicit county name with its suffix wins over it.
* Renamed divisions (撤县设区, 撤县设市, 撤地设市, and jionlp's change list) map to today's
  path, and the old name stays in the text, so a search for it still finds the report.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.meta.regions import extract_region, gazetteer, resolve_name

_PAD = "各项工作有序开展，群众就医更加方便，医疗服务能力持续提升。\n" * 12


def _clinic_plan(county_line: str) -> str:
    """A township clinic's plan that names its town in every section (a held-back page's shape)."""
    return ("为进一步做好我院2015年的各项卫生工作，" + county_line + "结合城关镇实际，制定本计划。\n"
            "一、加强基本公共卫生服务，做好城关镇居民健康档案管理。\n" + _PAD
            + "二、做好城关镇辖区内传染病疫情报告和预防接种工作。\n" + _PAD
            + "三、加强城关镇卫生院内部管理，提高服务质量。\n" + _PAD)


def test_the_township_is_truly_ambiguous() -> None:
    g = gazetteer()
    counties = {g.nodes[a.node].path for a in g.aliases["城关镇"]}
    assert len(counties) > 50  # the premise: hundreds of 城关镇
    assert ("甘肃省", "天水市", "武山县") in counties and ("甘肃省", "天水市", "秦安县") not in counties


def test_explicit_county_outweighs_an_ambiguous_town_in_the_title() -> None:
    text = _clinic_plan("根据秦安县卫生局的工作安排，")
    assert extract_region("城关镇卫生院2015年工作计划", text) == ["甘肃省", "天水市", "秦安县"]


def test_explicit_city_outweighs_an_ambiguous_town() -> None:
    # a county-level city named once, with its suffix, against a town named everywhere
    text = _clinic_plan("根据敦煌市卫生健康局的工作安排，")
    assert extract_region("城关镇卫生院2015年工作计划", text) == ["甘肃省", "酒泉市", "敦煌市"]


def test_an_ambiguous_town_alone_is_unknown() -> None:
    assert extract_region("城关镇卫生院2015年工作计划", _clinic_plan("")) == []


def test_an_ambiguous_town_stops_at_the_level_that_is_certain() -> None:
    # 店上镇 is in two counties of 长治市: the prefecture is certain, the county is not
    text = "店上镇卫生院认真落实基本公共卫生服务项目，店上镇群众健康档案建档率达90%。\n" + _PAD
    assert extract_region("店上镇卫生院工作总结", text) == ["山西省", "长治市"]
    # naming one of the two counties decides it
    assert extract_region("店上镇卫生院工作总结", text + "在壶关县卫生健康局的指导下完成。\n") == ["山西省", "长治市", "壶关县"]
    # 漫湾镇 is in two prefectures of 云南省: only the province is certain
    text = "漫湾镇卫生院认真落实基本公共卫生服务项目，漫湾镇群众健康档案建档率达90%。\n" + _PAD
    assert extract_region("漫湾镇卫生院工作总结", text) == ["云南省"]


def test_a_town_unique_under_the_named_prefecture_still_counts() -> None:
    # other evidence (天水市) agrees, and no other county of 天水市 is named: the only
    # 城关镇 of 天水市 is certain
    text = _clinic_plan("根据天水市卫生局的工作安排，")
    assert extract_region("城关镇卫生院2015年工作计划", text) == ["甘肃省", "天水市", "武山县"]


def test_a_town_does_not_beat_a_different_province_it_is_not_in() -> None:
    # 城关镇 exists in 甘肃 but the county named is in 河南: the town follows the county
    text = _clinic_plan("根据新安县卫生局的工作安排，")
    assert extract_region("城关镇卫生院2015年工作计划", text) == ["河南省", "洛阳市", "新安县"]


# -- renamed divisions ----------------------------------------------------------------------

@pytest.mark.parametrize(
    "old, today",
    [
        ("新津县", ["四川省", "成都市", "新津区"]),  # 撤县设区, in jionlp's change list
        ("宜宾县", ["四川省", "宜宾市", "叙州区"]),  # renamed outright, from the change list
        ("襄樊市", ["湖北省", "襄阳市"]),  # prefecture renamed, from the change list
        ("襄樊", ["湖北省", "襄阳市"]),  # its old short form
        ("毕节地区", ["贵州省", "毕节市"]),  # 撤地设市: derived from today's table
        ("铜仁地区", ["贵州省", "铜仁市"]),
        ("邵东县", ["湖南省", "邵阳市", "邵东市"]),  # 撤县设市: derived
        ("富阳县", ["浙江省", "杭州市", "富阳区"]),  # 撤县设区 (via 富阳市): derived
    ],
)
def test_renamed_division_resolves_to_todays_path(old: str, today: list[str]) -> None:
    assert resolve_name(old) == today


def test_an_old_name_never_shadows_a_current_one() -> None:
    # 吉县 is a county today; the derived "short + 县" of any district must not take it over
    assert resolve_name("吉县") == ["山西省", "临汾市", "吉县"]
    # two districts called 长安区 were both 长安县: the old name is ambiguous, not guessed
    assert resolve_name("长安县") is None


def test_a_report_of_a_renamed_county_is_filed_under_today() -> None:
    text = "今年以来，新津县卫生局认真贯彻落实县委、县政府的部署，全县卫生工作稳步推进。\n" + _PAD
    assert extract_region("新津县卫生局2015年工作总结", text) == ["四川省", "成都市", "新津区"]
    text = "毕节地区卫生局认真落实全区卫生工作会议精神，我区医疗卫生事业稳步发展。\n" + _PAD
    assert extract_region("毕节地区卫生局2008年工作总结", text) == ["贵州省", "毕节市"]


def test_a_renamed_county_stays_searchable_by_its_old_name(tmp_path: Path) -> None:
    from indexer.pipeline import index_paths
    from searchapp.engine import SearchEngine
    from searchapp.facets import Filters

    src = tmp_path / "pages"
    src.mkdir()
    (src / "xinjin.txt").write_text(
        "新津县卫生局2015年工作总结\n\n今年以来，新津县卫生局认真贯彻落实县委、县政府的部署，"
        "全县基本公共卫生服务项目稳步推进，居民健康档案建档率达到92%。\n" + _PAD, encoding="utf-8")
    ix = tmp_path / "ix"
    index_paths([src], ix)
    eng = SearchEngine(ix)
    try:
        res = eng.search("新津县")
        assert res.total == 1 and res.hits[0].region == ["四川省", "成都市", "新津区"]
        assert eng.search("新津县", Filters(region=["新津区"])).total == 1
    finally:
        eng.close()


def test_the_gazetteers_filler_levels_are_not_shown() -> None:
    # county-level cities directly under a province, towns directly under a prefecture-level city
    assert resolve_name("文昌市") == ["海南省", "文昌市"]
    assert resolve_name("仙桃市") == ["湖北省", "仙桃市"]
    text = "东莞市卫生健康局认真落实全市卫生健康工作会议部署，东莞市各镇街医疗服务能力持续提升。\n" + _PAD
    assert extract_region("东莞市卫生健康局2020年工作总结", text) == ["广东省", "东莞市"]


def test_a_short_form_two_counties_share_is_decided_by_the_text():
    """jionlp gives 南沙 to 三沙's 南沙区 only (广州's has no short form there); both hold it now,
    and the rest of the text decides between them."""
    from indexer.meta.regions import extract_region, gazetteer

    g = gazetteer()
    assert {g.nodes[a.node].path for a in g.aliases["南沙"]} == {("海南省", "三沙市", "南沙区"), ("广东省", "广州市", "南沙区")}
    guangzhou = "广州市卫生健康委员会指导下，南沙医院建设加快，南沙群众看病更方便，南沙卫生事业发展。"
    assert extract_region("2020年工作总结", guangzhou) == ["广东省", "广州市", "南沙区"]
    sansha = "三沙市南沙区工委推进岛礁医疗，南沙卫生事业发展，南沙医疗点建设。"
    assert extract_region("2020年工作总结", sansha) == ["海南省", "三沙市", "南沙区"]
    # a short form a prefecture holds stays the prefecture's (东营 is 东营市, not 东营区)
    assert {g.nodes[a.node].path for a in g.aliases["东营"]} == {("山东省", "东营市")}
