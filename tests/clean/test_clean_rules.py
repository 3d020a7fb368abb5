"""Unit tests of the line rules, inline cleaning, damage scoring, plus robustness properties."""
from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.clean import clean_page, is_damaged, repair_terms, rules
from indexer.clean.inline import join_docx_chunks, strip_inline
from indexer.clean.pageinfo import find_published, find_site, find_truncated
from indexer.clean.split import split_segments
from indexer.clean.textdump import clean_lines, drop_outline_echo, rejoin_fragments
from indexer.models import Page


def test_chrome_kinds() -> None:
    for line in ("下载 打印 全屏 收藏", "【字号：", "【字体：大 中 小】", "收藏 分享(赏)", "分享到:", "打印本页", "鲜花", "小黑屋|手机版|关于我们"):
        assert rules.chrome_kind(line) == "bar", line
    assert rules.chrome_kind("当前位置:首页 > 资格与职业考试 > 其它") == "crumb"
    assert rules.chrome_kind("您的位置：首页 > 新闻") == "crumb"
    assert rules.chrome_kind("copyright@ 2008-2023 wnwk.com网站版权所有") == "footer"
    assert rules.chrome_kind("经营许可证编号:浙ICP备2024059924号-2") == "footer"
    assert rules.chrome_kind("上传人:la****1 文档编号:1029488 上传时间:2023-04-17 格式:DOCX 页数:9 大小:21.79KB") == "info"
    assert rules.chrome_kind("2011-11-23 13:50| 发布者: vv7| 查看: 384| 评论: 0") == "info"
    assert rules.chrome_kind("来源：安徽日报") == "info"
    # the note of a news item's first headline, in its usual shapes
    assert rules.chrome_kind("（原标题：国务院联防联控机制印发通知 进一步指导各地落实防控策略）") == "info"
    assert rules.chrome_kind("原标题：快讯！陈同佳刑满出狱，向潘晓颖家人鞠躬致歉") == "info"
    assert rules.chrome_kind("原题为《关于加强基层卫生工作的意见》") == "info"
    assert rules.chrome_kind("原题目难度较大，学生完成率低。") is None  # 原题目 is not a note
    assert rules.chrome_kind("原题为“已知鸡兔同笼共35头”，我将其改编为生活情境题，学生参与度明显提高") is None
    assert rules.chrome_kind("2026-02-03 09:02:33") == "info"
    assert rules.chrome_kind("第1页 / 共9页") == "page"
    assert rules.chrome_kind("某某材料.docx_第3页") == "page"
    assert rules.chrome_kind("预览结束,全文7280字,当前显示3253字,还剩4027字") == "preview"
    assert rules.chrome_kind("gz85.COM更多总结编辑推荐") == "promo"
    assert rules.chrome_kind("中华会计网校 新东方网络课堂 环球网校 中公网校") == "links"


def test_report_lines_are_not_chrome() -> None:
    for line in (
        "一、提高认识加强领导",
        "开展新农合工作 让农民群众看得起病",
        "各位代表！",
        "2、宣传防艾知识",
        "全年门诊接诊病人28436人次，同比增长6.3%。",
        "相关报道总点击量超610亿次。那些激动人心的场景令人难忘。",
        "2010年12月20日",
        "11.“五统一、一开放”：",
    ):
        assert rules.chrome_kind(line) is None, line
        assert not rules.is_tail_marker(line), line


def test_outline_is_report_text_but_a_teaser_is_not() -> None:
    outline = ("【提纲】一、工作措施。(一)强化党建引领,提升基层党组织服务效能。(二)强化领导保障。"
               "二、取得的主要成绩。(一)项目建设有序推进。四、2021年工作打算。(三)全面推进健康罗甸建设。")
    assert rules.is_outline(outline) and not rules.is_summary(outline)
    assert rules.is_outline("[目录] 一、基本情况 二、主要做法 三、存在问题 四、下步打算")
    for teaser in ("【摘要】2020年全县卫生健康工作在县委、县政府的正确领导下……", "导读:今年以来,我局认真落实各项工作...",
                   "【提纲】", "【提纲】本文讲述了卫生健康工作的做法和体会。", "【内容简介】一、工作措施。(一)强化党建引领。(二)强化领导保障。"):
        assert rules.is_summary(teaser) and not rules.is_outline(teaser), teaser
    # a report paragraph that lists numbered items is neither
    para = "一是加强领导(一)落实责任(二)强化督导(三)严格考核。"
    assert not rules.is_outline(para) and not rules.is_summary(para)


def test_outline_kept_and_title_echo_below_it_dropped() -> None:
    outline = "【提纲】一、工作措施。(一)强化党建引领。(二)强化领导保障。二、2021年工作打算。(一)持续深化医改。"
    lines = ["到某某文库首页", "", "县卫生健康局2020年卫生健康工作总结", "", "发布时间:2020/10/30 20:24:35 字数:7280",
             outline, "县卫生健康局2020年卫生健康工作总结", "2020年全县卫生健康工作在县委、县政府的正确领导下,稳步推进各项工作。"]
    kept, _ = clean_lines(lines)
    assert outline in kept
    assert kept.count("县卫生健康局2020年卫生健康工作总结") == 1
    assert kept.index("县卫生健康局2020年卫生健康工作总结") < kept.index(outline)
    # only a repeat of a line from above the outline is an echo
    assert drop_outline_echo([outline, "一、工作措施"]) == [outline, "一、工作措施"]
    assert drop_outline_echo(["标题", outline, "", "标题"]) == ["标题", outline, "", ""]


def test_promo_paragraphs() -> None:
    assert rules.is_promo("引论:我们为您整理了13篇中队委帮扶带工作计划范文,供您借鉴以丰富您的创作。")
    assert rules.is_promo("当学习或者工作结束时,我们通常会使用到总结报告。以下是小编为大家精心整理的“某总结”,欢迎阅读,希望您能阅读并收藏。")
    assert not rules.is_promo("我院将开展卫生下乡活动纳入目标管理的重要内容,成立下乡活动领导小组,制定工作方案。")


def test_inline_advert_and_page_marks() -> None:
    assert strip_inline("将上级文件精神、改(工作总结之家:;卫生资讯网:;卫生健康网:)革具体思路") == "将上级文件精神、改革具体思路"
    assert strip_inline("敬请各位领导批评指正。 第9页 共9页") == "敬请各位领导批评指正。"
    assert strip_inline("建设方案第3页继续推进", heading="建设方案") == "继续推进"
    assert strip_inline("按照(一)的要求") == "按照(一)的要求"


def test_docx_chunks_join_only_real_chunks() -> None:
    body = "落实" * 100
    lines = [f"1、{body}落实方", "", f"2、针政策{body}。", "", f"3、{body}工作", "", f"4、{body}。"]
    out, joined = join_docx_chunks(lines)
    assert joined and "落实方针政策" in "".join(out)
    items = ["1、宣传防艾知识。", "2、宣传降消项目。", "3、宣传卫生科普知识。"]
    assert join_docx_chunks(items) == (items, False)


def test_rejoin_link_fragments() -> None:
    assert rejoin_fragments(["根据《", "中华人民共和国著作权法", "》第五条，本作品不适用于该法。"]) == [
        "根据《中华人民共和国著作权法》第五条，本作品不适用于该法。"
    ]
    assert rejoin_fragments(["听取和审议了总理所作的", "政府工作报告", "。会议充分肯定"]) == ["听取和审议了总理所作的政府工作报告。会议充分肯定"]
    assert rejoin_fragments(["一、工作回顾", "过去一年成绩显著。"]) == ["一、工作回顾", "过去一年成绩显著。"]


def test_crumb_printed_one_item_per_line_and_label_values() -> None:
    lines = ["您的位置:", "首页", ">", "云南要闻", "云南要闻", "2026年政府工作报告", "来源:", "云南日报", "各位代表：", "现在，我代表省人民政府向大会报告工作。" * 3]
    kept, _ = clean_lines(lines)
    assert kept[0] == "2026年政府工作报告"
    assert "云南要闻" not in kept and "云南日报" not in kept


def test_pageinfo() -> None:
    assert find_published(["发布时间:2020/10/30 20:24:35 字数:7280"]) == "2020-10-30"
    assert find_published(["2011-11-23 13:50| 发布者: vv7"]) == "2011-11-23"
    assert find_published(["发表时间：", "2026-02-09 09:45:30"]) == "2026-02-09"
    assert find_published(["2099-13-45 发布"]) is None
    assert find_site(["小黑屋|手机版|关于我们|两全其美网校城 ( 京ICP备05068258-34 )"]) == "两全其美网校城"
    assert find_site(["到文鼎文库首页"]) == "文鼎文库"
    assert find_truncated(["亲,该文档总共9页,到这儿已超出免费预览范围", "结束语。 第9页 共9页"]) is False
    assert find_truncated(["亲,该文档总共9页,到这儿已超出免费预览范围", "第6页 / 共9页"]) is True
    assert find_truncated(["……(某文库此处省略1078字。点击下载全文)……"]) is True


def test_split_headings_are_not_articles() -> None:
    body = "这是一段足够长的报告正文，用来说明工作开展的情况和取得的成效。" * 6
    lines = ["某县卫生局工作总结", "", body, "", "开展新农合工作 让农民群众看得起病", "", body, "", "一、提高认识加强领导", "", "", body]
    segs, how = split_segments(lines)
    assert how == "single" and len(segs) == 1
    lines2 = ["甲县卫生工作总结", "", body, "", "乙县卫生工作计划", "", "", body]
    segs2, how2 = split_segments(lines2)
    assert how2 == "stacked" and [s.title for s in segs2] == ["甲县卫生工作总结", "乙县卫生工作计划"]


def test_damage_density() -> None:
    clean = "我们开展了健康教育活动，从根本上解决了群众看病难问题，平安建设扎实推进。" * 5
    assert not is_damaged(clean)
    damaged = "为群众提供优质效劳，夯实根底，坚持政府主导的原那么，使广阔群众受益，创立全国示范区。"
    assert is_damaged(damaged)
    assert "服务" in repair_terms("社区卫生效劳中心") and repair_terms("社区卫生效劳中心") == "社区卫生服务中心"
    assert repair_terms("坚持原那么") == "坚持原则"


# --- robustness ---------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_random_bytes_never_crash(data: bytes) -> None:
    for enc in ("utf-8", "gbk", "latin-1"):
        text = data.decode(enc, errors="replace")
        for kind in ("text", "html"):
            assert isinstance(clean_page(Page("p", text, kind, {})), list)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list("<>/divp a=\"'&;：:，。\n一二三、第页共相关报道下载首页>") + ["<div>", "</p>", "<br>", "<!--", "<script>", "<td class='t_f'>", "第1页 / 共9页", "1、"]), max_size=800))
def test_random_markup_never_crashes(parts: list[str]) -> None:
    text = "".join(parts)
    assert isinstance(clean_page(Page("p", text, "html", {})), list)
    assert isinstance(clean_page(Page("p", text, "text", {"title": text[:20]})), list)


# A hang detector, not a speed target (speed is measured by `python -m bench`): catastrophic regex
# backtracking on hostile input runs for hours; anything that finishes within minutes is fine.
HANG = 120


def test_truncated_and_deep_html_never_crash() -> None:
    from pathlib import Path

    html = (Path(__file__).resolve().parents[1] / "fixtures" / "clean" / "discuz_thread.html").read_text(encoding="utf-8")
    for cut in range(0, len(html), max(1, len(html) // 40)):
        assert isinstance(clean_page(Page("p", html[:cut], "html", {})), list)
    deep = "<div>" * 1000 + "卫生工作总结。" * 50 + "</div>" * 1000
    t0 = time.perf_counter()
    assert isinstance(clean_page(Page("p", deep, "html", {})), list)
    deep2 = "<html><body>" + "<span><b>" * 3000 + "内容，正文。" * 100
    assert isinstance(clean_page(Page("p", deep2, "html", {})), list)
    assert time.perf_counter() - t0 < HANG


def test_huge_single_line_never_hangs() -> None:
    line = ("卫生健康工作取得新进展，" * 450_000)[:5_000_000 // 3]  # ~5 MB of UTF-8 on one line
    t0 = time.perf_counter()
    arts = clean_page(Page("p", line, "text", {}))
    assert time.perf_counter() - t0 < HANG
    assert isinstance(arts, list)
    junk = "(" * 200_000 + "：" * 200_000 + ";" * 200_000
    t0 = time.perf_counter()
    assert isinstance(clean_page(Page("p", junk, "text", {})), list)
    assert time.perf_counter() - t0 < HANG


def test_hostile_types() -> None:
    assert clean_page(Page("p", None, "text", {})) == []  # type: ignore[arg-type]
    assert clean_page(Page("p", "", "html", None)) == []  # type: ignore[arg-type]
    assert clean_page(Page("p", "\x00\ud800abc", "text", {})) == []
