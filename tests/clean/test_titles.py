"""Article titles from the markup: the heading the <title> element (or the og:title meta) confirms
wins over a line guessed from the text, and news headlines keep their punctuation."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.clean.html import confirmed_title
from indexer.cleaneval import score_titles
from indexer.models import Page

ROOT = Path(__file__).resolve().parents[2]
TITLES = ROOT / "tests" / "data" / "titles.json"
SHARED = ROOT.parent / "shared"
BODY = "".join(f"<p>第{i}段：县卫生健康局认真落实基本公共卫生服务项目，全年为辖区居民建立健康档案，慢病随访率明显提高。</p>"
               for i in range(1, 9))


def _page(head: str, top: str) -> str:
    return (f"<html><head>{head}</head><body><div class='path'><h1 class='logo'>新闻中心</h1></div>"
            f"<div class='article'>{top}{BODY}</div><div class='footer'>版权所有</div></body></html>")


def test_the_heading_the_title_element_begins_with_is_the_title():
    head = "<title>定了！县医院新院区即将开诊，地铁直达_政务_某某新闻网</title>"
    html = _page(head, "<h1 class='news_title'>定了！县医院新院区即将开诊，地铁直达</h1>"
                       "<p class='account'>某某发布</p><p>某某发布</p>")
    art = clean_page(Page("x", html, "html", {}))[0]
    assert art.title == "定了！县医院新院区即将开诊，地铁直达"  # not 新闻中心 (the first h1), not the account name
    assert "定了" not in art.text.split("\n")[0]


def test_a_badge_before_the_heading_is_left_out_and_meta_confirms():
    assert confirmed_title(["原创最不愁吃肉的国家：顿顿有肉吃"], "最不愁吃肉的国家：顿顿有肉吃", None) == "最不愁吃肉的国家：顿顿有肉吃"
    assert confirmed_title(["山西省人民政府网站", "山西品牌丝路行正式启动"], "山西品牌丝路行正式启动 - 山西省人民政府门户网站",
                           "山西品牌丝路行正式启动") == "山西品牌丝路行正式启动"
    # no heading: a meta title the <title> begins with
    assert confirmed_title([], "王文：中美贸易持久战，斗志被激发_观察者网", "王文：中美贸易持久战，斗志被激发") == "王文：中美贸易持久战，斗志被激发"
    # nothing agrees: no confirmed title (a short channel heading is never confirmed)
    assert confirmed_title(["新闻动态"], "新闻动态--中国地理学会官网", None) is None
    assert confirmed_title(["今日股市行情_明日大盘"], "明日股市预测--最新出炉联合国贸发报告", None) is None


def test_the_site_name_in_the_header_or_title_is_never_the_title():
    """Government sites print their own name as a heading and end (or begin) every <title> with it."""
    body = BODY.replace("<p>", "<p>会议指出，").replace("</p>", "</p>")
    site = "武宁县卫生健康委员会"
    news = "县卫健委召开2023年度卫生健康工作推进会"
    cases = [
        # <title>: headline_channel_site; meta title; site name as the header's h1; headline in a div
        (f"<title>{news}_工作动态_{site}</title><meta name='ArticleTitle' content='{news}'>",
         f"<header><h1>{site}</h1></header><div class='article'><div class='title'>{news}</div>{body}</div>", news),
        # <title>: the site name alone; the site name again in a sidebar heading
        (f"<title>{site}</title>",
         f"<div class='article'><h1>{news}</h1>{body}</div><aside><h3>{site}</h3><p>地址：某某路1号</p></aside>", news),
        # <title>: site-channel
        (f"<title>{site}-工作动态</title>",
         f"<div class='article'><h1>{news}</h1>{body}</div><aside><h3>{site}</h3></aside>", news),
    ]
    for head, body_html, want in cases:
        html = f"<html><head>{head}</head><body>{body_html}</body></html>"
        art = clean_page(Page("x", html, "html", {}))[0]
        assert art.title == want, (head, art.title)
    assert confirmed_title([site], f"{news}_工作动态_{site}", news, None) == news  # the meta title, not the site


def test_a_report_title_in_the_text_beats_a_generic_confirmed_heading():
    head = "<title>工作总结范文大全_某某文库</title>"
    html = _page(head, "<h1>工作总结范文大全</h1><p>某县卫生健康局2020年卫生健康工作总结</p>")
    art = clean_page(Page("x", html, "html", {}))[0]
    assert art.title == "某县卫生健康局2020年卫生健康工作总结"


@pytest.mark.skipif(not (SHARED / "pages-dev").is_dir(), reason="needs ../shared/pages-dev")
def test_title_accuracy_on_labelled_pages():
    lines: list[str] = []
    res = score_titles(TITLES, out=lines.append)
    print("\n".join(lines))
    assert res.accuracy("heldout") >= 0.9 and res.accuracy() >= 0.85
    assert res.accuracy(None, "ours") > res.accuracy(None, "trafilatura")


def test_title_labels_cover_many_sites_with_a_held_out_part():
    pages = json.loads(TITLES.read_text(encoding="utf-8"))["pages"]
    assert len(pages) >= 60 and len({p["page"].split("/")[2] for p in pages}) >= 25
    assert sum(p["split"] == "heldout" for p in pages) >= 30
