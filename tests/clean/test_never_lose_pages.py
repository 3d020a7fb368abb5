"""Issue 19 items 1, 2, 4, 5, 8: tolerant decoding, fallback extractors, related lists and
photo credits as chrome, mid-sentence line joining, publish dates from htmldate."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from indexer.clean import clean_page, clean_text, rules
from indexer.clean.fallback import Candidate, choose, score
from indexer.clean.linejoin import count_suspect_breaks, join_broken_sentences, should_join
from indexer.ingest import DecodeError, decode_page, read_file
from indexer.models import Page
from indexer.pipeline import documents_from_file

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "pages-dev" / "news-sites"
PARA = "现在我代表县人民政府向大会报告工作，请予审议，并请县政协委员和其他列席人员提出意见。"


def paras(n: int) -> list[str]:
    """``n`` different report paragraphs (a page repeating one line would be deduplicated)."""
    return [f"第{i + 1}项工作：{PARA}全年完成投资{i + 3}亿元，比上年增长{i + 5}%，各项任务均按期完成。" for i in range(n)]


def _damaged(data: bytes, n: int, seed: int = 1) -> bytes:
    """``data`` with ``n`` bytes in the body replaced by 0xFF (never valid in GB18030 or UTF-8)."""
    b = bytearray(data)
    rnd = random.Random(seed)
    for i in rnd.sample(range(200, len(b) - 50), n):
        b[i] = 0xFF
    return bytes(b)


# -- 1. decode like a browser ---------------------------------------------------------------------

@pytest.mark.parametrize("declared", ["gbk", "gb2312", None])
def test_a_few_bad_gbk_bytes_decode_with_a_count(declared: str | None) -> None:
    meta = f'<meta charset="{declared}">' if declared else ""
    html = f"<html><head>{meta}<title>县政府工作报告</title></head><body>" + f"<p>{PARA}</p>" * 50 + "</body></html>"
    data = _damaged(html.encode("gb18030"), 6)  # 6 bad bytes in ~7 KB, as in issue 22
    text, bad = decode_page(data)
    assert 6 <= bad <= 12  # a bad byte can also unpair the byte after it
    assert text.count("\ufffd") >= 6
    assert text.count("现在我代表县人民政府向大会报告工作") >= 40  # only the damaged spots differ


def test_mostly_undecodable_is_refused_with_a_reason() -> None:
    html = ("<html><body>" + f"<p>{PARA}</p>" * 30 + "</body></html>").encode("gb18030")
    with pytest.raises(DecodeError, match="places with invalid bytes .* even in the best-fitting encoding"):
        decode_page(_damaged(html, len(html) // 20))


def test_damaged_page_is_indexed_and_flagged(tmp_path: Path) -> None:
    html = "<html><head><meta charset=gbk><title>县政府工作报告</title></head><body><h1>县政府工作报告</h1>" + "".join(f"<p>{p}</p>" for p in paras(30)) + "</body></html>"
    p = tmp_path / "report.html"
    p.write_bytes(_damaged(html.encode("gbk"), 5))
    pages, skipped = read_file(p)
    assert not skipped and pages[0].undecodable_bytes >= 5
    docs, skipped = documents_from_file(p)
    assert not skipped and docs and docs[0].article.undecodable_bytes == pages[0].undecodable_bytes


def test_clean_utf8_still_decodes_exactly() -> None:
    assert decode_page(PARA.encode("utf-8")) == (PARA, 0)


@pytest.mark.parametrize("encoding,declared", [("utf-8", None), ("big5", "big5"), ("gb18030", "gb2312")])
def test_ten_damaged_bytes_in_five_kilobytes_decode_in_the_right_encoding(encoding: str, declared: str | None) -> None:
    # one bad byte in UTF-8 orphans the continuation bytes after it: still one damaged place
    meta = f"<meta charset={declared}>" if declared else ""
    text = "現在我代表縣人民政府向大會報告工作，請予審議。" if encoding == "big5" else PARA
    html = f"<html><head>{meta}</head><body>" + f"<p>{text}</p>" * 40 + "</body></html>"
    decoded, places = decode_page(_damaged(html.encode(encoding), 10, seed=3))
    assert 1 <= places <= 20  # in GB18030 a bad byte can unpair the next character too
    assert decoded.count(text) >= 28  # the right encoding: only the damaged paragraphs differ


# -- 2. never lose an article ---------------------------------------------------------------------

def _page(html: str) -> Page:
    return Page("x.html", html, "html")


def test_article_our_selection_misses_is_rescued() -> None:
    # the article sits in a container whose class says "share" (removed as unlikely), the
    # only block left is a short heading: ours finds too little, a fallback finds the article
    body = "".join(f"<p>{p}</p>" for p in paras(12))
    html = (
        "<html><head><title>县政府工作报告</title></head><body>"
        "<div class='top'><h1>县政府工作报告</h1><p>2024年1月5日</p></div>"
        f"<div class='share-box'>{body}</div>"
        "<div class='footer'>版权所有 某某县人民政府</div></body></html>"
    )
    arts = clean_page(_page(html))
    assert arts and arts[0].extractor != "ours"
    assert "第12项工作" in arts[0].text
    assert "版权所有" not in arts[0].text


def test_a_page_we_clean_well_keeps_our_text() -> None:
    body = "".join(f"<p>{p}</p>" for p in paras(10))
    html = f"<html><body><div class='article'><h1>县卫生局工作总结</h1>{body}</div><div class='nav'><a href='/'>首页</a></div></body></html>"
    arts = clean_page(_page(html))
    assert arts and arts[0].extractor == "ours"


def test_choice_prefers_agreement_and_keeps_ours_on_ties() -> None:
    article = [PARA * 3, PARA[::-1] * 2]
    chrome = ["热门文章排行榜第一名，点击查看更多精彩内容，欢迎关注我们的公众号。"] * 8
    cands = [Candidate("ours", list(article)), Candidate("a", list(article)), Candidate("b", article + chrome), Candidate("c", [])]
    score(cands, set(), 50)
    assert choose(cands, 50) is cands[0]
    nothing = [Candidate("ours", []), Candidate("a", [])]
    score(nothing, set(), 50)
    assert choose(nothing, 50) is None


@pytest.mark.skipif(not DEV.exists(), reason="../shared not present")
@pytest.mark.parametrize("rel", ["ifeng/3.html", "sxmu/1.html"])
def test_dev_pages_once_skipped_give_their_article(rel: str) -> None:
    pages, _ = read_file(DEV / rel)
    arts = clean_page(pages[0])
    assert arts and sum(len(a.text) for a in arts) > 1000


# -- 4. related lists and photo credits are chrome --------------------------------------------------

def test_related_list_line_is_chrome_in_a_text_dump() -> None:
    lines = ["卫生院2015年工作计划", ""] + paras(6) + ["", "相关推荐:卫生院工作计划 卫生院工作总结 乡镇卫生院年度工作计划"]
    arts = clean_text(lines)
    assert len(arts) == 1 and "相关推荐" not in arts[0].text and "乡镇卫生院年度工作计划" not in arts[0].text
    for line in ("猜你喜欢：a文章 b文章", "【热门文章】", "推荐阅读 >>", "延伸阅读：某某工作总结"):
        assert rules.is_related_list(line), line
    assert not rules.is_related_list("推荐阅读了大量文件。")  # a sentence starting with those words


def test_long_related_list_after_a_short_report_is_cut() -> None:
    titles = [f"某某单位{i}年度工作总结范文大全" for i in range(2015, 2040)]
    lines = ["卫生院工作计划", ""] + paras(3) + ["", "猜你喜欢", *titles]
    arts = clean_text(lines)
    assert arts and not any(t in arts[0].text for t in titles)


def test_photo_credits_are_chrome_but_report_sentences_are_not() -> None:
    for line in (
        "1月25日，省长王某作政府工作报告。本报记者 张三 摄",
        "省长李某作政府工作报告。本报全媒体记者 林 君摄",
        "任某作政府工作报告。新甘肃·甘肃日报记者 盛某某",
        "图为启动仪式现场。（刘某摄）",
        "资料图：市民在寒冷天气中出行。",
        "摄影：产品经理",
    ):
        assert rules.chrome_kind(line) == "photo", line
    for line in ("我们拍摄了宣传片十部，全年摄影作品展出三次。", "记者节期间，我局组织了座谈会。"):
        assert rules.chrome_kind(line) is None, line


# -- 5. sentences stay whole ----------------------------------------------------------------------

def test_fixed_width_breaks_are_joined() -> None:
    # a fixed-width transcription: every line cut at 30 characters, wherever that falls
    text = (
        "过去五年，我们坚持稳中求进工作总基调，全面深化改革，交出一份人民满意、世界瞩目、可以载入史册的答卷。"
        "今年要继续完善资本市场基础制度，扎实推进农业农村、社会事业各项工作，持续改善人民生活，"
        "加强基层医疗卫生服务体系建设，提高基本公共卫生服务均等化水平。"
    )
    lines = [text[i : i + 30] for i in range(0, len(text), 30)]
    assert len(lines) >= 3 and count_suspect_breaks("\n".join(lines)) == len(lines) - 1
    assert join_broken_sentences(lines) == [text]
    # long lines (a PDF preview) without a common width
    long_lines = [
        "过去五年，我们坚持稳中求进工作总基调，全面深化改革，扩大对外开放，经济社会发展取得新成就，交出一份人",
        "民满意、世界瞩目、可以载入史册的答卷。",
    ]
    assert join_broken_sentences(long_lines) == ["".join(long_lines)]
    # one blank line inside a long wrapped sentence (a transcription's empty wrap line)
    assert len(join_broken_sentences([long_lines[0], "", long_lines[1]])) == 1
    # Latin words keep a space, 'PM' + '2.5' does not get one
    assert join_broken_sentences(["生态环境保护督察整改取得明显成效，持续改善空气质量，细颗粒物浓度下降，全年以PM", "2.5为重点开展联防联控。"])[0].endswith("以PM2.5为重点开展联防联控。")


@pytest.mark.parametrize(
    "prev,nxt",
    [
        ("一、坚持稳中求进，推动经济高质量发展", "过去一年，我们紧紧围绕目标任务开展工作。"),  # numbered heading
        ("（二）加强基层医疗卫生服务能力建设，提升服务水平", "全年新建村卫生室十二所。"),
        ("深化医药卫生体制改革", "全面推开公立医院综合改革。"),  # short unnumbered heading
        ("项目名称  完成投资  同比增长", "道路工程  12亿元  15%"),  # table rows
        ("全年共完成以下重点工作，具体情况如下", "1. 新建乡镇卫生院三所，改造村卫生室十所。"),  # list item follows
        ("我们将继续推进各项改革。", "下一步工作打算是加强队伍建设。"),  # a finished sentence
    ],
)
def test_headings_list_items_and_table_rows_are_not_joined(prev: str, nxt: str) -> None:
    assert not should_join(prev, nxt)
    assert join_broken_sentences([prev, nxt]) == [prev, nxt]


def test_heading_followed_by_white_space_is_not_joined() -> None:
    heading = "五年来，在改革开放的推动下，我国国民经济持续发展，人民生活明显改善，总的形势是很好的"
    assert len(heading) >= 40
    out = join_broken_sentences([heading, "", "", "国家经济实力继续得到显著增强。"])
    assert out[0] == heading


# -- 8. publish dates via htmldate ------------------------------------------------------------------

def test_publish_date_stated_in_markup_is_used() -> None:
    html = (
        "<html><head><title>县卫生局工作总结</title>"
        '<script type="application/ld+json">{"@type":"NewsArticle","datePublished":"2021-03-04T08:00:00+08:00"}</script>'
        "</head><body><div class='article'><h1>县卫生局2020年工作总结</h1>"
        + "".join(f"<p>{p}</p>" for p in paras(8))
        + "</div></body></html>"
    )
    arts = clean_page(_page(html))
    assert arts and arts[0].published == "2021-03-04"


def test_related_list_inside_an_html_article_block_is_dropped() -> None:
    body = "".join(f"<p>{p}</p>" for p in paras(6))
    related = "<p>相关推荐</p><ul>" + "".join(f"<li><a href='/a{i}'>某某县{2010 + i}年卫生工作总结</a></li>" for i in range(8)) + "</ul>"
    html = f"<html><body><div class='content'><h1>县卫生局工作总结</h1>{body}{related}</div></body></html>"
    arts = clean_page(_page(html))
    assert arts and "第6项工作" in arts[0].text
    assert "相关推荐" not in arts[0].text and "年卫生工作总结" not in arts[0].text
