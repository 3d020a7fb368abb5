"""Cleaning against the shared seeds, their labels, and the government-report corpora.

Reads ../shared beside the repository (never copied into it)."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.clean.normalize import cjk_count
from indexer.models import Page

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
LABELS = SHARED / "labels" / "seeds.json"
SEEDS = SHARED / "seeds"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"

pytestmark = pytest.mark.skipif(not LABELS.exists(), reason="../shared not present")


def _labels() -> list[dict]:
    return json.loads(LABELS.read_text(encoding="utf-8"))["articles"]


def _clean_seed(fname: str):
    return clean_page(Page(str(SEEDS / fname), (SEEDS / fname).read_text(encoding="utf-8"), "text", {}))


def _by_file() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for lab in _labels():
        out.setdefault(lab["file"], []).append(lab)
    return out


@pytest.mark.parametrize("fname", sorted(_by_file()) if LABELS.exists() else [])
def test_seed_article_count_titles_keep_drop(fname: str) -> None:
    labels = _by_file()[fname]
    arts = _clean_seed(fname)
    assert len(arts) == len(labels)
    everything = "\n".join((a.title or "") + "\n" + (a.heading or "") + "\n" + a.text for a in arts)
    for lab, art in zip(labels, arts):  # compilation articles come out in page order
        assert art.title == lab["title"]
        for s in lab["must_keep"]:
            assert s in art.text, (lab["id"], s)
        for s in lab["must_drop"]:
            assert s not in everything, (lab["id"], s)
        assert art.truncated == bool(lab.get("truncated", False)), lab["id"]
        if lab.get("published"):
            assert art.published == lab["published"]


def test_seed_flags() -> None:
    by = {f[:3]: _clean_seed(f) for f in _by_file()}
    assert by["001"][0].truncated and by["001"][0].published == "2020-10-30"
    assert by["003"][0].published == "2011-11-23"
    assert by["004"][0].damaged
    assert not any(a.damaged for k in ("000", "001", "002", "003") for a in by[k])
    assert by["004"][0].title == "区卫生局在年度全市卫生工作会议经验交流材料"
    assert by["002"][0].title is None and by["002"][0].heading  # page heading kept as weak evidence only
    assert by["001"][0].source == "文鼎文库"
    assert by["003"][0].source == "两全其美网校城"
    assert by["004"][0].source == "wnwk.com"


def test_seed_001_outline_is_kept_as_report_text() -> None:
    """The site's 【提纲】 is the report's own table of contents, including the headings of
    the part the preview truncates: it stays, once, and the title is not repeated below it."""
    (art,) = _clean_seed("001_e73bff1597a268b4.txt")
    lines = art.text.split("\n")
    assert lines[0].startswith("【提纲】一、工作措施。(一)强化党建引领")
    assert "(三)全面推进健康罗甸建设。" in lines[0] and "(十)深化医药卫生_改革" in lines[0]
    assert sum(line.startswith("【提纲】") for line in lines) == 1
    assert art.title == "县卫生健康局2020年卫生健康工作总结" and art.title not in lines
    assert lines[1].startswith("2020年全县卫生健康工作在县委、县政府的正确领导下")


def test_docx_chunks_rejoined_and_list_items_kept() -> None:
    a004 = _clean_seed("004_91ebadcf882a8f22.txt")[0].text
    assert "落实方针政策" in a004 and "于2023年11月顺利通过国家复核" in a004
    a000 = _clean_seed("000_fe7e8a9d8dea42e3.txt")[0].text
    assert "2、宣传防艾知识" in a000  # a real list item stays
    b000 = _clean_seed("000_fe7e8a9d8dea42e3.txt")[1].text
    assert "改革具体思路" in b000
    assert "\n1、狠抓了基础设施建设" in b000  # numbered list lines of a report are not docx chunks


def _province_pages() -> list[tuple[str, Page]]:
    out = []
    for f in PROVINCIAL:
        with f.open(encoding="utf-8-sig", newline="") as fh:
            for i, row in enumerate(csv.DictReader(fh)):
                hints = {k: row[k] for k in ("province", "year", "title", "publish_date", "source_url") if k in row}
                out.append((row["province"], Page(f"{f}#{i}", row["full_text"], "text", hints)))
    return out


CHROME_LINES = ("下载", "打印", "全屏", "收藏", "加大", "还原", "减小", "大", "中", "小", "】", "【字号：", "【字体：", "首页", ">")
CHROME_START = ("【字号", "【字体", "首页 >", "您的位置", "当前位置", "相关报道", "相关文档", "相关链接", "扫一扫在手机打开当前页",
                "打印本页", "关闭窗口", "责任编辑", "分享到")


@pytest.mark.skipif(not PROVINCIAL, reason="provincial corpus missing")
@pytest.mark.parametrize("province,page", _province_pages() if PROVINCIAL else [])
def test_provincial_report_clean_and_complete(province: str, page: Page) -> None:
    arts = clean_page(page)
    assert len(arts) == 1
    text = arts[0].text
    lines = text.split("\n")
    for ln in lines:
        assert ln not in CHROME_LINES, ln
        assert not ln.startswith(CHROME_START), ln
    # starts at or before the salutation
    assert "各位代表" in text
    raw_lines = [ln.strip() for ln in page.raw.split("\n") if ln.strip()]
    # the report's last paragraph: last long line of the raw text before the page's end matter
    long_lines = [ln for ln in raw_lines if len(ln) >= 40]
    if province == "四川省":  # after 关闭窗口 the page repeats the title and first line: chrome
        last = [ln for ln in long_lines if ln.startswith("20.")][-1]
        assert not text.rstrip().endswith("请予审议，并请省政协委员提出意见。")
    else:
        last = long_lines[-1]
    assert last in text
    if province in ("广东省", "江西省", "海南省", "四川省"):
        assert any(m in text for m in ("名词解释", "名词注释", "注释"))
    assert arts[0].published and not arts[0].damaged


@pytest.mark.skipif(not NATIONAL.exists(), reason="national corpus missing")
def test_national_reports_pass_through_essentially_unchanged() -> None:
    rows = [json.loads(ln) for ln in NATIONAL.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert rows
    for i, r in enumerate(rows):
        arts = clean_page(Page(f"{NATIONAL}#{i}", r["content"], "text", {"title": r["title"], "year": r["year"]}))
        assert len(arts) == 1, r["title"]
        body = re.split(r"本作品(?:来自|在|是)", r["content"])[0]  # Wikisource licence footer follows
        got = cjk_count(arts[0].text) + cjk_count(arts[0].title or "")
        assert got >= 0.97 * cjk_count(body), r["title"]
        assert not arts[0].damaged, r["title"]
        paras = [p.strip() for p in body.split("\n") if len(p.strip()) >= 30]
        assert paras[-1] in arts[0].text.replace("\n", "") or paras[-1][:30] in arts[0].text
