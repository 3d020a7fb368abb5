"""Region facet: unit cases from the brief, then the provincial and national corpora."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from indexer.meta.regions import extract_region, region_levels, resolve_name

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"


@pytest.mark.parametrize(
    "name, path",
    [
        ("宿州市", ["安徽省", "宿州市"]),
        ("灵璧县", ["安徽省", "宿州市", "灵璧县"]),
        ("海伦市", ["黑龙江省", "绥化市", "海伦市"]),
        ("巍山镇", ["浙江省", "金华市", "东阳市"]),
        ("独龙江乡", ["云南省", "怒江傈僳族自治州", "贡山独龙族怒族自治县"]),
        ("独龙江", ["云南省", "怒江傈僳族自治州", "贡山独龙族怒族自治县"]),
        ("宁蒗县", ["云南省", "丽江市", "宁蒗彝族自治县"]),
        ("贡山", ["云南省", "怒江傈僳族自治州", "贡山独龙族怒族自治县"]),
        ("襄樊市", ["湖北省", "襄阳市"]),  # historic name
        ("北京市", ["北京市"]),
        ("全国", ["全国"]),
    ],
)
def test_resolve_name(name: str, path: list[str]) -> None:
    assert resolve_name(name) == path


@pytest.mark.parametrize("name", ["朝阳区", "鼓楼区", "通州区", "大兴镇", "xx县", "XX市", "某县", "*市", "××区", "", "不存在的地方"])
def test_resolve_name_unknown_or_ambiguous(name: str) -> None:
    assert resolve_name(name) is None


def test_region_levels() -> None:
    assert region_levels(["云南省", "丽江市", "宁蒗彝族自治县"]) == ["云南省", "云南省/丽江市", "云南省/丽江市/宁蒗彝族自治县"]
    assert region_levels([]) == []
    assert region_levels(None) == []


def test_issuing_body_in_title() -> None:
    assert extract_region("灵璧县卫生健康局2021年工作总结", "今年以来，我局认真落实各项工作。") == ["安徽省", "宿州市", "灵璧县"]


def test_newspaper_named_after_place() -> None:
    text = "我区创建工作成效明显，在西安日报发表文章6篇，受到好评。xx区政府高度重视。"
    assert extract_region("区卫生局经验交流材料", text) == ["陕西省", "西安市"]


def test_programme_named_after_place() -> None:
    text = "县委、县政府高度重视卫生健康工作。全面推进健康罗甸建设，我县医疗服务能力持续提升。"
    assert extract_region("县卫生健康局工作总结", text) == ["贵州省", "黔南布依族苗族自治州", "罗甸县"]


# A county-level issuer that never names its county ("县卫生健康局", 全县, 我县) is placed
# by one unambiguous town of the county, or a programme named after it, when nothing
# else in the document points elsewhere.
_LUODIAN = ["贵州省", "黔南布依族苗族自治州", "罗甸县"]
_PAD = "各项工作有序开展，群众就医更加方便。" * 30


def test_county_issuer_placed_by_a_single_town() -> None:
    text = "今年以来，全县卫生健康工作稳步推进。" + _PAD + "将县医院改扩建、木引卫生院建设列入政府工作报告。" + _PAD
    assert extract_region("县卫生健康局2020年卫生健康工作总结", text) == _LUODIAN
    # the same town with no county-level issuer is not enough to place a report
    assert extract_region("卫生健康工作总结", text.replace("全县", "全年")) == []


def test_county_issuer_placed_by_a_programme_named_after_the_county() -> None:
    text = "全县卫生健康工作稳步推进。" + _PAD * 3 + "明年，我们将全面推进健康罗甸建设。"
    assert extract_region("县卫生健康局工作总结", text) == _LUODIAN


def test_county_issuer_with_contradicting_places_stays_unknown() -> None:
    # two towns of two different counties: nothing decides between them
    text = "全县卫生健康工作稳步推进。" + _PAD + "组织专家到木引镇、巍山镇开展义诊。" + _PAD
    assert extract_region("县卫生健康局工作总结", text) == []
    assert extract_region("县卫生健康局工作总结", text.replace("、巍山镇", "")) == _LUODIAN
    # a town named in passing is not a place when the text itself names another province strongly
    text = "全县卫生健康工作稳步推进。" + _PAD + "木引卫生院建设完成。赴浙江省、江苏省考察学习，浙江省经验值得借鉴。" + _PAD
    assert extract_region("县卫生健康局工作总结", text)[:1] != ["贵州省"]


def test_town_resolves_upward() -> None:
    text = "我市将积极指导巍山镇开展“浙江省卫生镇”复查工作，全市卫生工作再上台阶。"
    assert extract_region(None, text) == ["浙江省", "金华市", "东阳市"]


def test_town_without_suffix_before_clinic() -> None:
    text = "县医院对口支援独龙江卫生院，先后到丙中洛乡、捧当乡开展义诊。全县卫生工作稳步推进。"
    assert extract_region(None, text) == ["云南省", "怒江傈僳族自治州", "贡山独龙族怒族自治县"]


def test_placeholders_are_not_places() -> None:
    assert extract_region("xx县卫生局工作总结", "XX市第一医院、××区、*市、某县卫生院开展工作。") == []


def test_common_words_are_not_places() -> None:
    # 和平, 东方, 长安, 平原, 振兴, 通道 are also place short forms
    text = "坚持和平发展，东方风来满眼春，长治久安、长安街，华北平原，东北振兴，绿色通道。"
    assert extract_region(None, text) == []


def test_short_form_followed_by_township_is_not_the_district() -> None:
    # 红桥 is a district of 天津, but 红桥乡 is a township of 宁蒗
    text = "我来到红桥乡卫生院，看病的人很多。宁蒗县卫生局组织工作人员到永宁乡、大兴镇检查。"
    assert extract_region(None, text) == ["云南省", "丽江市", "宁蒗彝族自治县"]


def test_ambiguous_name_resolved_by_other_evidence() -> None:
    text = "辽宁省朝阳市卫生局部署工作，朝阳市各县区积极落实。"
    assert extract_region(None, text) == ["辽宁省", "朝阳市"]
    # alone, 朝阳区 (Beijing or Changchun) is left unknown
    assert extract_region(None, "朝阳区卫生局召开会议。") == []


def test_footer_chrome_does_not_decide() -> None:
    body = "市卫生局按照省卫生厅部署，下发了《德州市卫生系统实施方案》，德州市各医院积极参与。我市成效明显。\n"
    chrome = "小黑屋|手机版|关于我们|两全其美网校城 ( 京ICP备05068258-34 )\n北京大学医院管理研修班 北京 北京 北京"
    assert extract_region("市卫生局工作总结", body + chrome) == ["山东省", "德州市"]


def test_never_raises_on_odd_input() -> None:
    for title, text in [(None, ""), ("", None), (None, "\x00\ufeff" * 10), ("x" * 10000, "县" * 50000), (123, 456)]:
        assert isinstance(extract_region(title, text), list)  # type: ignore[arg-type]


@pytest.mark.skipif(not PROVINCIAL, reason="../shared not present")
@pytest.mark.parametrize("csv_path", PROVINCIAL, ids=[p.stem for p in PROVINCIAL])
def test_provincial_reports_get_their_province_from_the_text(csv_path: Path) -> None:
    with open(csv_path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        # generic title: the province must come from the text, and stop at province level
        assert extract_region("政府工作报告", row["full_text"]) == [row["province"]]
        assert extract_region(row["title"], row["full_text"]) == [row["province"]]


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_national_reports_are_national() -> None:
    recs = [json.loads(line) for line in NATIONAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(recs) >= 70
    for r in recs:
        assert extract_region(r["title"], r["content"]) == ["全国"], r["title"]
    # without the title, the text alone still says so for (nearly) all
    text_only = sum(extract_region(None, r["content"]) == ["全国"] for r in recs)
    assert text_only >= len(recs) - 2
