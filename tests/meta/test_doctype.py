"""Document type from title and structure."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.meta.doctype import DOC_TYPES, extract_doc_type

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"


@pytest.mark.parametrize(
    "title, expected",
    [
        ("县卫生健康局2020年卫生健康工作总结", "工作总结"),
        ("市卫生局“三好一满意”活动阶段性工作总结", "工作总结"),
        ("卫生局2021年工作计划", "工作计划"),
        ("2020年工作总结和2021年工作计划", "工作总结"),
        ("区卫生局在年度全市卫生工作会议经验交流材料", "经验交流材料"),
        ("在全县卫生工作会议上的讲话", "讲话"),
        ("关于开展家庭医生签约服务的实施方案", "实施方案"),
        ("卫生院关于创建工作的情况汇报", "工作汇报"),
        ("2026年云南省政府工作报告", "政府工作报告"),
        ("第十四届全国人民代表大会第三次会议关于政府工作报告的决议", "决议"),
    ],
)
def test_title(title: str, expected: str) -> None:
    assert extract_doc_type(title, "") == expected


def test_title_beats_text() -> None:
    # the title says 总结 though the text says 汇报如下
    assert extract_doc_type("市卫生局活动阶段性工作总结", "现将我市活动开展情况汇报如下：") == "工作总结"


def test_plan_by_structure() -> None:
    text = ("三、工作措施\n（一）力争年内完成社区卫生服务中心新建。\n确保参保率达到90%以上，力争覆盖全部村。\n"
            "年内新申报卫生镇1个以上，要进一步加强监督。计划在广场建立献血屋。")
    assert extract_doc_type(None, text) == "工作计划"


def test_summary_by_structure() -> None:
    text = "今年以来，我局开展了义诊活动，取得了明显成效。截至目前，累计完成建档5万份，已完成体检3000人。存在问题：人员不足。"
    assert extract_doc_type(None, text) == "工作总结"


def test_news_about_work_is_not_a_report() -> None:
    """A titled news item uses a plan's and a summary's words; only a text in the institution's
    own voice, without a reporter's or an agency's marks, is typed by them."""
    plan_words = ("会议强调，要进一步加强疫情防控，确保各项措施落实到位，力争年内完成目标任务，"
                  "将继续加快推进重点项目建设，确保群众安全。")
    news = "新华社北京2月10日电（记者张三）" + plan_words
    assert extract_doc_type("国务院联防联控机制：湖北要严格管控", news) == "其他"
    assert extract_doc_type("国务院联防联控机制：湖北要严格管控", news, require_voice=False) == "工作计划"
    third_person = "该县卫生健康局表示，" + plan_words  # about the institution, not by it
    assert extract_doc_type("县卫生健康局推进重点项目", third_person) == "其他"
    own_voice = "我局将继续推进重点项目。我县" + plan_words
    assert extract_doc_type("县卫生健康局2021年重点工作", own_voice) == "工作计划"
    # without a title (a 文库 text that lost it) the vocabulary still decides, as before
    assert extract_doc_type(None, news.replace("新华社北京2月10日电（记者张三）", "")) == "工作计划"


def test_news_marks_found_on_the_page_survive_cleaning() -> None:
    """Cleaning removes bylines and 原标题 notes as chrome; the page still counts as news."""
    from indexer.clean import clean_page
    from indexer.meta import extract_meta
    from indexer.models import Page

    body = ["今年以来，我市完成了家庭医生签约服务扩面提质，重点人群签约率达到75%，取得了明显成效。",
            "我市开展了卫生应急演练，累计处置疫情12起，截至目前无重大突发公共卫生事件发生。",
            "我市深化医改，医共体建设取得了阶段性成效，已完成县域影像中心建设，累计投入资金1.2亿元。"]

    def page(marks: str) -> str:
        return ("<html><head><title>我市基层医疗卫生服务能力持续提升_某某日报</title></head><body><div class='article'>"
                f"<h1>我市基层医疗卫生服务能力持续提升</h1>{marks}" + "".join(f"<p>{b}</p>" for b in body)
                + "</div></body></html>")

    for marks in ("<p>记者 张三 通讯员 李四</p>", "<p>（原标题：基层医疗服务能力提升 群众就医更方便）</p>"):
        art = clean_page(Page("n", page(marks), "html", {}))[0]
        assert "张三" not in art.text and "原标题" not in art.text  # gone from the text …
        assert art.news_marks and extract_meta(art).doc_type == "其他"  # … but the page was news
    art = clean_page(Page("r", page(""), "html", {}))[0]
    assert not art.news_marks and extract_meta(art).doc_type == "工作总结"  # in 我市 voice, no marks
    # a report that mentions reporters is not news
    assert not clean_page(Page("r", page("<p>我局主动接受记者采访，答记者问三次。</p>"), "html", {}))[0].news_marks


def test_work_status_titles_are_reports_to_superiors() -> None:
    assert extract_doc_type("XX县卫生健康局关于2023年工作情况的报告", "") == "工作汇报"
    assert extract_doc_type("某镇卫生院2023年工作开展情况", "") == "工作汇报"
    assert extract_doc_type("工作情况通报会召开", "") == "其他"  # 情况 not at the end: not a status report


def test_doctype_evaluation_passes_its_floor() -> None:
    from indexer.meta.evaluate_doctypes import evaluate_doctypes

    if not (SHARED / "pages-dev").is_dir():
        pytest.skip("needs ../shared/pages-dev")
    lines: list[str] = []
    assert evaluate_doctypes(out=lines.append), "\n".join(lines)
    assert any("+ vocabulary" in ln for ln in lines)


def test_speech_and_report_by_structure() -> None:
    assert extract_doc_type(None, "同志们：今天召开会议，我讲几点意见。谢谢大家。") == "讲话"
    assert extract_doc_type(None, "各位代表：现在，我代表省人民政府，向大会报告工作，请予审议。") == "政府工作报告"


def test_heading_is_weak_evidence() -> None:
    assert extract_doc_type(None, "几句话。", heading="某某工作计划范文") == "其他"


def test_unknown_and_odd_input() -> None:
    assert extract_doc_type(None, "") == "其他"
    assert extract_doc_type(123, None) in DOC_TYPES  # type: ignore[arg-type]


@pytest.mark.skipif(not NATIONAL.exists(), reason="../shared not present")
def test_national_corpus() -> None:
    for line in NATIONAL.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        expected = "决议" if "决议" in r["title"] else "政府工作报告"
        assert extract_doc_type(r["title"], r["content"]) == expected, r["title"]
