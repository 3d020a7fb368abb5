"""例句 extraction: whole sentences, headings are not sentences, text under a matching heading, context, citation."""
from __future__ import annotations

from searchapp.sentences import (
    MAX_SENTENCE_CHARS,
    Example,
    find_examples,
    heading_label,
    heading_level,
    join_broken_lines,
    paragraphs,
    sentences_of,
)

REPORT = (
    "2020年卫生健康工作总结\n"
    "一、主要成绩\n"
    "全年完成家庭医生签约7000人。基层服务能力明显提升。\n"
    "三、存在问题\n"
    "（一）应急处置能力不足。\n"
    "（二）人才队伍紧缺，基层留人难。\n"
    "四、下一步工作打算\n"
    "继续巩固健康扶贫成果，推进分级诊疗。\n"
)


def groups(*items: str) -> list[list[str]]:
    return [[i] for i in items]


def test_headings_are_recognised_by_kind():
    for h in ("三、存在问题", "三、存在问题。", "（二）加强队伍建设", "(2)强化监督", "第三部分 工作打算",
              "1.加强领导", "存在问题"):
        assert heading_level(h, alone=True) is not None, h
    # a numbered line that is a real sentence, and a plain sentence
    assert heading_level("1、全县共完成接种12万人次，接种率达98%。", alone=True) is None
    assert heading_level("基层服务能力明显提升。", alone=True) is None
    # a short unnumbered piece inside a paragraph is not a heading
    assert heading_level("存在问题", alone=False) is None
    assert heading_label("三、存在问题。") == "存在问题"
    assert heading_label("（二）加强队伍建设") == "加强队伍建设"


def test_a_heading_is_not_a_sentence_and_gives_the_text_under_it():
    found, why = find_examples(REPORT, groups("存在问题"))
    assert why is None and len(found) == 1
    f = found[0]
    assert f.heading == "三、存在问题"
    # the sub-headings and sentences under it, up to the next heading of the same level
    assert f.text == "（一）应急处置能力不足。（二）人才队伍紧缺，基层留人难。"
    assert "三、存在问题" not in f.text and "四、" not in f.text
    # the anchor is the heading's own sentence number
    numbered = {s.text: s.n for s in sentences_of(REPORT)}
    assert f.sentence_no == numbered["三、存在问题"]


def test_bare_heading_alone_is_never_an_example():
    text = "工作总结\n一、存在问题\n二、工作打算\n"
    found, why = find_examples(text, groups("存在问题"))
    assert found == [] and why == "heading_only"


def test_context_holds_the_sentences_before_and_after():
    found, _ = find_examples(REPORT, groups("家庭医生签约"))
    assert [f.text for f in found] == ["全年完成家庭医生签约7000人。"]
    f = found[0]
    assert f.before == ["2020年卫生健康工作总结", "一、主要成绩"]
    assert f.after == ["基层服务能力明显提升。", "三、存在问题"]


def test_a_sentence_is_not_cut_at_a_semicolon():
    text = "一是加强队伍建设；二是完善签约服务；三是强化监督。"
    found, _ = find_examples(text, groups("签约服务"))
    assert [f.text for f in found] == [text]


def test_line_breaks_inside_a_sentence_are_joined():
    # a word runs across the break (劳动生|产率), a line ending in a comma, a line starting with one
    wrapped = "经济运行保持在合理区间，全员劳动生\n产率增长高于国内生产总值增长。"
    assert join_broken_lines(wrapped) == [wrapped.replace("\n", "")]
    assert join_broken_lines("各级财政加大投入，\n确保资金到位。") == ["各级财政加大投入，确保资金到位。"]
    assert join_broken_lines("各级财政加大投入\n，确保资金到位。") == ["各级财政加大投入，确保资金到位。"]
    found, _ = find_examples(wrapped, groups("劳动生产率"))
    assert [f.text for f in found] == ["经济运行保持在合理区间，全员劳动生产率增长高于国内生产总值增长。"]
    # a short line on its own stays what it looks like: a heading
    assert join_broken_lines("劳动生\n产率增长较快。") == ["劳动生", "产率增长较快。"]


def test_headings_paragraph_ends_and_list_items_are_not_joined():
    # a heading line, a paragraph that only lacks its final mark, a numbered item
    assert join_broken_lines("三、存在问题\n人才队伍紧缺。") == ["三、存在问题", "人才队伍紧缺。"]
    assert join_broken_lines("改革逐步在各领域展开，日益显示出重大作用\n通过科技体制的改革，激发了积极性。") == [
        "改革逐步在各领域展开，日益显示出重大作用", "通过科技体制的改革，激发了积极性。"]
    assert join_broken_lines("主要措施有，\n（一）加强领导。") == ["主要措施有，", "（一）加强领导。"]


def test_document_numbering_matches_the_examples():
    flat = [s for para in paragraphs(REPORT) for s in para]
    assert [s.n for s in flat] == list(range(len(flat)))
    assert [s.text for s in flat] == [s.text for s in sentences_of(REPORT)]


def test_run_on_blocks_are_not_examples():
    block = "签约服务" + "，继续推进" * (MAX_SENTENCE_CHARS // 5)
    found, why = find_examples(block + "。", groups("签约服务"))
    assert found == [] and why == "too_long"


def test_the_copy_text_is_the_sentence_with_its_citation():
    e = Example("全年完成家庭医生签约7000人。", "abc123", 4, "2020年卫生健康工作总结",
                ["贵州省", "黔南布依族苗族自治州", "罗甸县"], 2020)
    assert e.copy_text("http://example.org") == (
        "全年完成家庭医生签约7000人。\n"
        "——《2020年卫生健康工作总结》，贵州省黔南布依族苗族自治州罗甸县，2020年，"
        "http://example.org/doc/abc123#s-4")
    # unknown region and year are left out, not written as 未知
    bare = Example("句子。", "x", 0, "标题", [], None)
    assert bare.citation("http://h") == "——《标题》，http://h/doc/x#s-0"
    # text under a heading is quoted as "heading：text"
    under = Example("（一）能力不足。", "y", 7, "标题", ["全国"], 2001, heading="三、存在问题。")
    assert under.copy_text("http://h").startswith("存在问题：（一）能力不足。\n——《标题》，全国，2001年，")


def test_the_reason_for_no_sentence_is_told_apart():
    body = "下一步，我们要认真做好各项工作。全年工作打算已经上报。"
    assert find_examples(body, groups("下一步工作打算")) == ([], "scattered")
    assert find_examples(body, groups("下一步工作打算"), title="2021年下一步工作打算") == ([], "in_title")
