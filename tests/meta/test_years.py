"""Year facet: numerals, placeholders, ranges, and the national/provincial corpora."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from indexer.meta.years import extract_year, normalize_date

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


def test_title_year_wins() -> None:
    assert extract_year("县卫生健康局2020年卫生健康工作总结", "2021年工作打算：2021年要继续努力。") == 2020


@pytest.mark.parametrize("text, year", [("二〇二六年全省卫生工作要点", 2026), ("二○一○年工作回顾", 2010), ("二零一九年度总结", 2019),
                                        ("１９９６年国内工作的回顾", 1996)])
def test_chinese_and_fullwidth_numerals(text: str, year: int) -> None:
    assert extract_year(None, text) == year


@pytest.mark.parametrize("title", ["20xx年卫生工作总结", "20XX年工作计划", "20**年社区卫生工作总结", "20*年计划", "20××年总结"])
def test_placeholder_title_years_are_unknown(title: str) -> None:
    assert extract_year(title, "今年以来，我局各项工作取得进展。") is None


def test_placeholder_and_range_in_text() -> None:
    text = "制定出台《*市20*-2010年社区卫生服务站建设计划》，20*年确定为“医德医风建设年”。"
    assert extract_year(None, text) is None


def test_range_years_are_not_report_years() -> None:
    assert extract_year(None, "编制2021-2025年卫生发展规划，2021—2025年间完成。") is None


def test_masked_year_with_a_passing_reference_stays_unknown() -> None:
    text = "20xx年全县参合达215237人。对2009年参合农民住院医药费进行核查。"
    assert extract_year(None, text) is None


def test_most_supported_year_in_text() -> None:
    text = "我院于2010年1月18日至1月26日开展义诊。2010年全县参合达21万人。对2009年参合农民住院医药费进行核查。"
    assert extract_year(None, text) == 2010


def test_publish_date_alone_gives_no_year() -> None:
    assert extract_year("卫生工作总结", "今年以来工作顺利。", published="2020-10-30") is None


def test_hint_year_is_checked_evidence() -> None:
    assert extract_year(None, "今年以来工作顺利。", hint_year=2026) == 2026
    assert extract_year(None, "2019年全年完成。2019年全县2019年度", hint_year="2026") == 2019


@pytest.mark.parametrize("value, iso", [("2020/10/30 20:24:35", "2020-10-30"), ("2011-11-23 13:50", "2011-11-23"),
                                        ("2020年10月30日", "2020-10-30"), ("2026-02", "2026-02"), ("", None), (None, None), ("abc", None)])
def test_normalize_date(value, iso) -> None:
    assert normalize_date(value) == iso


def test_never_raises() -> None:
    for args in [(None, None), ("", ""), (1, 2), ("年" * 1000, "9999年 0000年 二二二二年")]:
        assert extract_year(*args) is None or isinstance(extract_year(*args), int)  # type: ignore[arg-type]


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_national_report_years_match_the_corpus() -> None:
    recs = [json.loads(line) for line in NATIONAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    with_year = [r for r in recs if r.get("year") is not None]
    assert len(with_year) >= 50
    for r in with_year:
        assert extract_year(r["title"], r["content"]) == int(r["year"]), r["title"]


@pytest.mark.skipif(not PROVINCIAL, reason="../shared not present")
def test_provincial_report_years() -> None:
    for p in PROVINCIAL:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                assert extract_year(row["title"], row["full_text"]) == int(row["year"]), p.name
                # a generic title: the text and its date line still say 2026
                assert extract_year("政府工作报告", row["full_text"]) == int(row["year"]), p.name
