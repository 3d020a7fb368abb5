"""Snippets and highlights: page text is data, never markup."""
from __future__ import annotations

from searchapp.highlight import highlight, snippet


def test_script_in_page_text_is_escaped_and_marks_survive():
    text = "正文<script>alert('x')</script>基本药物制度"
    out = str(highlight(text, ["基本药物", "<script>"]))
    assert "<script>" not in out
    assert "<mark>&lt;script&gt;</mark>" in out
    assert "<mark>基本药物</mark>" in out


def test_snippet_centres_on_matches():
    text = "无关内容。" * 200 + "实施国家基本药物制度工作" + "其他。" * 200
    out = str(snippet(text, ["基本药物"], width=60))
    assert "<mark>基本药物</mark>" in out and out.startswith("…")
    assert len(out) < 200


def test_snippet_without_match_is_text_start():
    assert str(snippet("第一段。第二段。", ["无"])) == "第一段。第二段。"


def test_result_snippet_marks_the_phrase_not_its_scattered_words(tmp_path):
    """A report holding the query as a phrase shows it marked whole; its words elsewhere stay unmarked,
    while a report holding only the words shows them (the document page marks the same way)."""
    from reportgen import index_records

    from searchapp.engine import SearchEngine

    filler = "会议强调，要统筹推进各项工作，确保各项任务落到实处。" * 3
    recs = [{"title": "甲县卫生工作报告", "year": 2020,
             "content": "医生队伍不断壮大，签约服务扩面。全面推进家庭医生签约服务，重点人群覆盖率提高。" + filler},
            {"title": "乙县卫生工作报告", "year": 2020,
             "content": "乡村医生培训三百人次，与二十家企业签约合作，公共卫生服务。" + filler}]
    eng = SearchEngine(index_records(tmp_path, recs))
    try:
        hits = {h.title: str(h.snippet) for h in eng.search("家庭医生签约").hits}
    finally:
        eng.close()
    assert "<mark>家庭医生签约</mark>" in hits["甲县卫生工作报告"]
    assert hits["甲县卫生工作报告"].count("<mark>") == 1, hits["甲县卫生工作报告"]
    if "乙县卫生工作报告" in hits:  # words only: they are what matched, so they are marked
        assert "<mark>医生</mark>" in hits["乙县卫生工作报告"]
