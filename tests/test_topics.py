"""Topic facet: the taxonomy file, and the 'substantially about' rule."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from indexer.meta.topics import TAXONOMY_PATH, extract_topics, load_taxonomy, taxonomy

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


def test_taxonomy_loads_and_covers_the_brief() -> None:
    tax = load_taxonomy(TAXONOMY_PATH)
    brief = {"医药卫生体制改革", "基本药物制度", "基本公共卫生服务", "公共卫生", "社区卫生服务", "疫情防控", "传染病防治",
             "疾病预防控制", "免疫规划", "妇幼保健", "健康扶贫", "家庭医生签约", "新型农村合作医疗", "卫生监督", "爱国卫生",
             "卫生应急", "党建", "医德医风", "人才培养", "中医药", "健康教育", "卫生下乡", "对口支援", "创先争优", "医疗质量",
             "惠民医疗", "志愿服务", "三好一满意", "无偿献血", "示范区创建"}
    assert brief <= set(tax.names)
    assert tax.max_topics <= 10


def test_malformed_taxonomy_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('[[topic]]\nname = "x"\nterms = { "a" = -1 }\n', encoding="utf-8")
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
def test_government_reports_get_few_health_topics() -> None:
    reports = _gov_reports()
    counts = [len(extract_topics(t, x)) for t, x in reports]
    assert max(counts) <= 3, counts
    assert sum(counts) <= len(reports)  # most get none: they are about everything
    assert taxonomy().names
