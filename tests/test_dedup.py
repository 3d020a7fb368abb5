"""Near-duplicate grouping and the exact-copy key."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.dedup import exact_key, group_near_duplicates
from indexer.models import Page

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED000 = SHARED / "seeds" / "000_fe7e8a9d8dea42e3.txt"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


@pytest.mark.skipif(not SEED000.exists(), reason="../shared not present")
def test_seed_000_third_and_fourth_group_only() -> None:
    arts = clean_page(Page(str(SEED000), SEED000.read_text(encoding="utf-8"), "text", {}))
    assert len(arts) == 4
    texts = {f"a{i}": a.text for i, a in enumerate(arts)}
    g = group_near_duplicates(texts)
    assert g == {"a0": [], "a1": [], "a2": ["a3"], "a3": ["a2"]}


@pytest.mark.skipif(not PROVINCIAL, reason="provincial corpus missing")
def test_provincial_reports_do_not_group() -> None:
    texts = {}
    for f in PROVINCIAL:
        with f.open(encoding="utf-8-sig", newline="") as fh:
            row = next(csv.DictReader(fh))
        texts[row["province"]] = row["full_text"]
    g = group_near_duplicates(texts)
    assert all(v == [] for v in g.values())
    # a copy of one of them with a changed year and quotes does group with it
    any_id = next(iter(texts))
    texts["copy"] = texts[any_id].replace("2026", "20xx").replace("“", "\"").replace("”", "\"")
    g = group_near_duplicates(texts)
    assert g["copy"] == [any_id] and g[any_id] == ["copy"]


def test_threshold_and_edge_cases() -> None:
    assert group_near_duplicates({}) == {}
    assert group_near_duplicates({"x": "只有一篇"}) == {"x": []}
    base = "全县卫生健康工作取得新成效，基层医疗服务能力明显提升。" * 20
    other = "我市教育事业稳步发展，新建改扩建中小学十所，新增学位一万个。" * 20
    half = base[: len(base) // 2] + other[: len(other) // 2]
    g = group_near_duplicates({"a": base, "b": base + "。", "c": other, "d": half, "e": ""})
    assert g["a"] == ["b"] and g["c"] == [] and g["d"] == [] and g["e"] == []


def test_exact_key() -> None:
    assert exact_key("卫生 工作\n总结") == exact_key("卫生工作总结")
    assert exact_key("ＡＢＣ卫生") == exact_key("ABC卫生")  # width variants
    assert exact_key("卫生工作总结") != exact_key("卫生工作计划")
