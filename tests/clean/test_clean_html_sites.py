"""HTML pages of other site kinds (文库, Discuz forum, government portal, news with comments, 范文 compilation)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from cleancheck import assert_matches_expected

from indexer.clean import clean_page
from indexer.clean.html import extract_lines, parse, select_content
from indexer.models import Page

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))["pages"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_page(name: str) -> None:
    exp = EXPECTED[name]
    arts = clean_page(Page(name, (FIXTURES / name).read_text(encoding="utf-8"), "html", {}))
    assert_matches_expected(arts, exp)


def test_forum_takes_first_post_not_longer_reply() -> None:
    doc = parse((FIXTURES / "discuz_thread.html").read_text(encoding="utf-8"))
    best = select_content(doc)
    assert best is not None and best.get("id") == "postmessage_88101"


def test_html_kind_sniffed_when_unknown() -> None:
    html = (FIXTURES / "gov_portal_gbk.html").read_text(encoding="utf-8")
    arts = clean_page(Page("x", html, "unknown", {}))  # type: ignore[arg-type]
    assert arts and arts[0].title == "青川县卫生健康局2022年上半年工作总结"


def test_extract_lines_empty_and_garbage() -> None:
    assert extract_lines("")[0] == []
    assert extract_lines("<<<>>>")[0] == [] or isinstance(extract_lines("<<<>>>")[0], list)
