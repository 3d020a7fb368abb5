"""Pages of further site kinds (个人图书馆-style article, 道客巴巴/豆丁 and 百度文库 dumps, a county
portal with a 信息公开 info table, a 公众号 article, a forum dump with 楼层 replies, a 篇一/篇二
范文 dump, a Big5 page in traditional characters, a report ending with its 落款).

Each page is read from its raw bytes through ``indexer.ingest.read_file`` (GBK/Big5 files are
stored in their declared encoding), so decoding, kind sniffing and cleaning run as in a real run.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cleancheck import assert_matches_expected

from indexer.clean import clean_page, rules
from indexer.ingest import read_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"
EXPECTED = json.loads((FIXTURES / "expected_more.json").read_text(encoding="utf-8"))["pages"]


def clean_fixture(name: str):
    pages, skipped = read_file(FIXTURES / name)
    assert not skipped and len(pages) == 1
    return clean_page(pages[0])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bytes_are_in_the_declared_encoding(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    enc = EXPECTED[name]["encoding"]
    data.decode(enc)  # stored as the site serves it
    if enc != "utf-8":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_page(name: str) -> None:
    exp = EXPECTED[name]
    arts = clean_fixture(name)
    assert_matches_expected(arts, exp)


def test_signature_block_is_the_last_text() -> None:
    (art,) = clean_fixture("signature_block_gbk.txt")
    assert art.text.split("\n")[-2:] == ["旌德县卫生健康局", "2021年12月30日"]


@pytest.mark.parametrize("line,kind", [
    ("广告", "bar"), ("下载客户端", "bar"), ("百度首页", "nav"), ("使用百度前必读 | 文库协议 | 网站地图", "footer"),
    ("VIP专享文档，开通VIP即可免费下载", "preview"), ("下载积分：800 已有12人下载", "preview"),
    ("文档评分4.5 2022-01-10 阅读1286次", "info"), ("2021-01-06 | 阅 326 | 转 12", "info"), ("阅读 2617", "info"),
    ("在看 12", "info"), ("原创 某某卫健 2023-07-12 18:05 发表于安徽", "info"), ("收录于合集", "social"),
    ("#工作动态 36个", "social"), ("点击蓝字 关注我们", "social"), ("阅读了该文档的用户还阅读了这些文档", "related"),
])
def test_new_chrome_kinds(line: str, kind: str) -> None:
    assert rules.chrome_kind(line) == kind


@pytest.mark.parametrize("line", [
    "全年门诊诊疗21364人次，住院患者1186人次。", "旌德县卫生健康局", "2021年12月30日", "阅读推广活动覆盖全县12个乡镇",
    "一、加强组织领导，完善工作机制", "赞助企业5家捐赠药品", "县医院首页挂号系统上线",
])
def test_report_lines_are_not_chrome(line: str) -> None:
    assert rules.chrome_kind(line) is None


@pytest.mark.parametrize("line", ["上一篇：2021年度全县爱国卫生运动工作总结", "下一篇：关于做好元旦期间工作的通知", "往期推荐", "类似文章"])
def test_prev_next_and_feed_lists_end_the_report(line: str) -> None:
    assert rules.is_tail_marker(line)
