"""Topic facet: the taxonomy file, and the 'substantially about' rule."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from indexer.meta.topics import TAXONOMY_PATH, extract_topics, fill_gaps, load_taxonomy, taxonomy

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


def test_taxonomy_loads_and_covers_the_brief() -> None:
    tax = load_taxonomy(TAXONOMY_PATH)
    brief = {"医药卫生体制改革", "基本药物制度", "基本公共卫生服务", "公共卫生", "社区卫生服务", "疫情防控", "传染病防治",
             "疾病预防控制", "免疫规划", "妇幼保健", "健康扶贫", "家庭医生签约", "新型农村合作医疗", "卫生监督", "爱国卫生",
             "卫生应急", "党建", "医德医风", "人才培养", "中医药", "健康教育", "卫生下乡", "对口支援", "创先争优", "医疗质量",
             "惠民医疗", "志愿服务", "三好一满意", "无偿献血", "示范区创建"}
    assert brief <= set(tax.names)
    assert tax.max_topics <= 12  # a safety cap; selection is by evidence
    # sub-topics fold into their parent when they have no section of their own
    assert tax.names[tax.parents[tax.names.index("免疫规划")]] == "疾病预防控制"


def test_malformed_taxonomy_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('[[topic]]\nname = "x"\nterms = { "a" = -1 }\n', encoding="utf-8")
    with pytest.raises(ValueError):
        load_taxonomy(bad)


@pytest.mark.parametrize(
    "toml",
    [
        '[[topic]]\nname = "a"\nparent = "b"\nterms = { "甲乙" = 1 }\n',  # unknown parent
        '[[topic]]\nname = "a"\nparent = "a"\nterms = { "甲乙" = 1 }\n',  # its own parent
        ('[[topic]]\nname = "a"\nterms = { "甲乙" = 1 }\n[[topic]]\nname = "b"\nparent = "a"\nterms = { "丙丁" = 1 }\n'
        '[[topic]]\nname = "c"\nparent = "b"\nterms = { "戊己" = 1 }\n'),  # two levels
        '[[topic]]\nname = "a"\nterms = { "甲乙" = true }\n',  # not a weight
    ],
)
def test_malformed_hierarchy_is_rejected(tmp_path: Path, toml: str) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError):
        load_taxonomy(bad)


def test_a_single_mention_is_not_a_topic() -> None:
    text = "我局全年开展了多项工作。" * 40 + "其中也组织了一次无偿献血活动。" + "各项工作稳步推进。" * 40
    assert "无偿献血" not in extract_topics("工作总结", text)


def test_a_substantial_topic_is_found() -> None:
    text = ("全年开展无偿献血活动12次，街头自愿无偿献血比例达到50%，临床用血百分之百来自志愿无偿献血，"
            "建立献血屋，健全无偿献血志愿者队伍，成分输血率达到95%以上。") * 3 + "其他工作稳步推进。" * 20
    assert "无偿献血" in extract_topics(None, text)


def test_longest_term_wins() -> None:
    # 基本公共卫生服务 must not also feed 公共卫生
    text = "基本公共卫生服务项目全面推进，基本公共卫生服务经费到位，居民健康档案建档率94%，老年人健康管理率75%。" * 4
    got = extract_topics(None, text)
    assert "基本公共卫生服务" in got and "公共卫生" not in got


# -- censored words ------------------------------------------------------------------

_FILLER = "全局上下认真落实各项工作部署，统筹兼顾，狠抓落实，较好地完成了全年目标任务。\n" * 25  # ~1,000 chars, no topic


def test_censored_word_is_filled_from_the_taxonomy() -> None:
    assert fill_gaps("(十)深化医药卫生_改革,促进医疗服务能力提升") == "(十)深化医药卫生体制改革,促进医疗服务能力提升"
    assert fill_gaps("持续深化医药卫生__改革。") == "持续深化医药卫生体制改革。"
    # no term fits: the text is left exactly as printed
    for s in ("以____思想为指引,全面贯彻落实__和_全会精神", "加强源头_,堵塞传播途径", "_", "医药_"):
        assert fill_gaps(s) == s


def test_censored_topic_counts() -> None:
    # a truncated preview: the section under the heading is gone, the headings remain
    review = "(十)深化医药卫生_改革,促进医疗服务能力提升。\n"
    plan = "四、明年工作打算\n(一)持续深化医药卫生_改革。\n(二)巩固健康扶贫成果。\n"
    assert "医药卫生体制改革" in extract_topics("工作总结", review + _FILLER * 2 + plan)
    # "医药卫生改革" with the gap closed is no term: nothing to fill, no topic
    closed = (review + _FILLER * 2 + plan).replace("_", "")
    assert "医药卫生体制改革" not in extract_topics("工作总结", closed)


# -- structure: sections and headings ---------------------------------------------------

def test_a_section_of_its_own_makes_a_topic_in_a_long_report() -> None:
    section = ("四、加强人才培养\n我们把人才培养作为重要工作，加强人才队伍建设，选派骨干到上级医院进修学习，"
               "开展岗位练兵和技术比武，举办业务培训班6期。\n")
    text = _FILLER * 3 + section + _FILLER * 3
    assert len(text) > 5000  # the whole-document density alone is far too low
    assert "人才培养" in extract_topics("工作总结", text)
    # the same words scattered without a section of their own are not a topic
    scattered = (_FILLER * 3).replace("较好地完成了全年目标任务。", "选派骨干进修学习。", 1) + _FILLER * 3
    assert "人才培养" not in extract_topics("工作总结", scattered)


def test_a_section_headed_by_another_topic_is_not_owned() -> None:
    section = ("一是继续加强公共卫生体系建设。完善突发公共卫生事件应急处置体系和应急预案，"
               "成立突发公共卫生事件专家咨询委员会，切实提高处置突发公共卫生事件的应急能力。\n")
    unheaded = section.replace("一是继续加强公共卫生体系建设。", "")
    assert "卫生应急" not in extract_topics("工作计划", _FILLER * 4 + section + _FILLER * 4)
    assert "卫生应急" in extract_topics("工作计划", _FILLER * 4 + unheaded + _FILLER * 4)


def test_a_topic_named_in_two_headings_is_a_topic() -> None:
    outline = "【提纲】一、工作措施。(一)深化医药卫生体制改革。(二)抓好党建工作。二、下步打算。(一)持续深化医药卫生体制改革。\n"
    once = "【提纲】一、工作措施。(一)深化医药卫生体制改革。(二)抓好党建工作。二、下步打算。(一)抓好党建工作。\n"
    assert "医药卫生体制改革" in extract_topics("工作总结", outline + _FILLER * 4)
    assert "医药卫生体制改革" not in extract_topics("工作总结", once + _FILLER * 4)


def test_a_subtopic_without_a_section_of_its_own_is_its_parent() -> None:
    disease = ("(六)扎实推进疾病预防控制。加强疫情监测，报告传染病837例；加强肺结核患者管理，累计报告肺结核549例；"
               "切实抓好艾滋病防治，防艾委成员单位职责明确；落实免疫规划，儿童常规免疫接种率97.66%。\n")
    got = extract_topics("工作总结", disease * 2 + _FILLER)
    assert "疾病预防控制" in got and "传染病防治" not in got
    own = ("传染病防治工作。认真贯彻《传染病防治法》，传染病疫情网络直报率100%，结核病、艾滋病、麻疹防治措施落实，"
           "传染病疫情报告及时率100%。\n")
    got = extract_topics("工作总结", disease * 2 + own + _FILLER)
    assert "传染病防治" in got


def test_a_minor_topic_far_below_the_main_one_is_not_listed() -> None:
    main = "全年开展无偿献血活动，街头无偿献血、临床用血、献血屋、成分输血、血站管理全面加强。" * 12
    minor = "孕产妇住院分娩率100%，新生儿疾病筛查率98%，开展两癌筛查。"
    got = extract_topics("无偿献血工作总结", main + minor)
    assert got[0] == "无偿献血" and "妇幼保健" not in got
    assert "妇幼保健" in extract_topics("工作总结", "各项工作稳步推进。" * 50 + minor * 2)


def test_never_raises() -> None:
    for args in [(None, None), ("", ""), (1, 2), ("x", "\x00" * 100)]:
        assert extract_topics(*args) == []  # type: ignore[arg-type]


def _gov_reports() -> list[tuple[str, str]]:
    out = []
    if NATIONAL.exists():
        for line in NATIONAL.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out.append((r["title"], r["content"]))
    for p in PROVINCIAL:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            out += [(r["title"], r["full_text"]) for r in csv.DictReader(fh)]
    return out


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_government_reports_get_health_topics_only_from_their_health_passages() -> None:
    # A report about everything is in the archive for its health paragraphs (issue 19):
    # its topics are the health subjects those paragraphs address, capped, and never a
    # non-health topic (党建, 人才培养, 示范区创建 … in their general sense).
    tax = taxonomy()
    not_health = {tax.names[i] for i in tax.not_health}
    reports = _gov_reports()
    got = [extract_topics(t, x) for t, x in reports]
    assert max(len(g) for g in got) <= tax.passage_max_topics
    assert not any(set(g) & not_health for g in got)
    assert sum(1 for g in got if g) > len(reports) // 2
