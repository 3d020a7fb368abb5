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
