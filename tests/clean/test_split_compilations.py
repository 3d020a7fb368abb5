"""Compilation pages split back into their reports, whatever the separator shape
(篇1 / 篇一 / 【篇一】 / 第一篇 / 范文一 / XX篇2 / a repeated title), and one report is
never split at its own sections (一、 / （一）)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.clean import clean_text
from indexer.clean.split import piece_number, split_segments

CN = "一二三四五六七八九十"
UNITS = ["县卫生局", "乡镇卫生院", "社区卫生服务中心", "市疾病预防控制中心", "区人民医院", "妇幼保健院", "卫生监督所"]
KINDS = ["工作总结", "工作计划", "述职报告", "自查报告", "实施方案", "年度工作要点"]
SENTENCES = [
    "我们始终坚持以人民健康为中心，认真落实上级部署，扎实推进各项工作任务。",
    "全年共完成门诊诊疗一万二千余人次，较上年增长百分之八，群众满意度明显提升。",
    "进一步健全基层医疗卫生服务网络，加强乡村医生培训，提高服务能力和水平。",
    "认真开展基本公共卫生服务项目，为辖区居民建立健康档案，做好慢病随访管理。",
    "严格落实传染病疫情报告制度，及时处置突发公共卫生事件，确保群众生命安全。",
    "加强医德医风建设，开展廉洁行医教育，规范诊疗行为，坚决纠正行业不正之风。",
    "持续深化医药卫生体制改革，落实国家基本药物制度，减轻群众就医负担。",
    "存在的问题主要是人才队伍不稳定，基础设施相对薄弱，信息化建设仍需加强。",
]
SECTIONS = ["一、主要工作及成效", "二、存在的问题", "三、下一步工作打算"]
SUBSECTIONS = ["（一）加强组织领导", "（二）强化队伍建设"]
STYLES = ["pian_digit", "pian_cn", "pian_bracket", "di_pian", "fanwen", "title_pian", "title_pian_run_on", "repeated"]


def report_body(draw_idx: list[int], gap: int = 1) -> list[str]:
    """A report with numbered sections and subsections; ``gap`` blank lines between paragraphs
    (text dumps often have none)."""
    blank = [""] * gap
    lines: list[str] = []
    k = 0
    for sec in SECTIONS:
        lines += [sec, *blank]
        for sub in SUBSECTIONS[: 1 + (draw_idx[k % len(draw_idx)] % 2)]:
            lines += [sub, *blank]
            para = "".join(SENTENCES[(draw_idx[(k + j) % len(draw_idx)] + j) % len(SENTENCES)] for j in range(2))
            lines += [para, *blank]
            k += 1
    return lines


def compile_page(titles: list[str], style: str, idx: list[int], gap: int = 1) -> tuple[list[str], list[str]]:
    """The page's lines and the titles the splitter must give back.  ``gap`` blank lines
    separate everything: with 0 the page has no layout evidence, only the markers."""
    blank = [""] * gap
    lines: list[str] = ["卫生工作范文（通用多篇）", *blank]
    expected: list[str] = []
    for n, title in enumerate(titles, start=1):
        if style == "pian_digit":
            head = [f"篇{n}", *blank, title]
        elif style == "pian_cn":
            head = [f"篇{CN[n - 1]}", *blank, title]
        elif style == "pian_bracket":
            head = [f"【篇{CN[n - 1]}】{title}"]
        elif style == "di_pian":
            head = [f"第{CN[n - 1]}篇", *blank, title]
        elif style == "fanwen":
            head = [f"范文{CN[n - 1]}", *blank, title]
        elif style == "title_pian":
            head = [f"{title}篇{n}"]
        elif style == "title_pian_run_on":  # "卫生监督工作计划篇2 一、…": one title, the report runs on
            title = titles[0]
            body = report_body(idx[n:] + idx[:n], gap)
            expected.append(title)
            lines += [f"{title}篇{n} {body[0]}", *body[1:], *blank]
            continue
        else:  # repeated: every report carries the same title
            title = titles[0]
            head = [title]
        expected.append(title)
        lines += head + blank + report_body(idx[n:] + idx[:n], gap) + blank
    return lines, expected


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=5),
    style=st.sampled_from(STYLES),
    picks=st.lists(st.tuples(st.sampled_from(UNITS), st.sampled_from(KINDS)), min_size=5, max_size=5, unique=True),
    idx=st.lists(st.integers(min_value=0, max_value=50), min_size=6, max_size=6),
    gap=st.integers(min_value=0, max_value=2),
)
def test_compilation_splits_back_into_its_reports(n: int, style: str, picks: list, idx: list[int], gap: int) -> None:
    titles = [f"{unit}{2010 + i}年{kind}" for i, (unit, kind) in enumerate(picks[:n])]
    lines, expected = compile_page(titles, style, idx, gap)
    articles = clean_text(lines)
    assert [a.title for a in articles] == expected, (style, [a.title for a in articles])
    for a in articles:
        assert "一、主要工作及成效" in a.text and "三、下一步工作打算" in a.text  # each report whole


@settings(max_examples=30, deadline=None)
@given(idx=st.lists(st.integers(min_value=0, max_value=50), min_size=6, max_size=6), gap=st.integers(0, 2))
def test_one_report_is_not_split_at_its_sections(idx: list[int], gap: int) -> None:
    lines = ["县卫生局2020年工作总结", "", ""] + report_body(idx, gap) + ["（三）完善工作机制", "", SENTENCES[0] * 2]
    articles = clean_text(lines)
    assert len(articles) == 1
    assert articles[0].title == "县卫生局2020年工作总结"


def test_title_first_marker_needs_a_numbered_sequence() -> None:
    # a lone "…篇2" line is not enough evidence for a compilation
    body = ["第一部分", ""] + [SENTENCES[i] for i in range(8)]
    segs, how = split_segments(["卫生院文明创建工作回顾篇2", "", *body])
    assert how != "pian" and len(segs) == 1


def test_piece_numbers() -> None:
    assert [piece_number(s) for s in ("1", "３", "一", "十", "十二", "二十一", "九十九")] == [1, 3, 1, 10, 12, 21, 99]
    assert piece_number("甲") is None
