"""Facets of the further-site fixtures: region, year and document type where the page states
them — in the title, a 发布机构 portal, a traditional-character page, or only in the 落款
signature block at the end of the report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.ingest import read_file
from indexer.meta import extract_meta
from indexer.meta.textutil import to_simplified
from indexer.models import Article

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "clean"
EXPECTED = json.loads((FIXTURES / "expected_more.json").read_text(encoding="utf-8"))["pages"]


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if "meta" in EXPECTED[n]))
def test_fixture_meta(name: str) -> None:
    exp = EXPECTED[name]["meta"]
    pages, _ = read_file(FIXTURES / name)
    arts = clean_page(pages[0])
    meta = extract_meta(arts[0])
    if "region" in exp:
        assert meta.region == exp["region"]
    if "year" in exp:
        assert meta.year == exp["year"]
    if "doc_type" in exp:
        assert meta.doc_type == exp["doc_type"]


def test_region_from_signature_block_only() -> None:
    text = ("一年来，我局坚持以人民健康为中心，全县家庭医生签约服务覆盖率达到70%，基层医疗卫生机构服务能力明显提升。"
            "下一步，我们将继续深化医改。\n旌德县卫生健康局\n2021年12月30日")
    meta = extract_meta(Article(title="2021年卫生健康工作总结", text=text))
    assert meta.region == ["安徽省", "宣城市", "旌德县"] and meta.year == 2021


def test_traditional_text_gets_simplified_facets() -> None:
    art = Article(title="蘭考縣衛生健康委員會2020年工作總結", text="2020年，縣衛生健康委員會統籌推進疫情防控，全縣醫共體建設全面推開。" * 3)
    meta = extract_meta(art)
    assert meta.region == ["河南省", "开封市", "兰考县"] and meta.year == 2020 and meta.doc_type == "工作总结"


def test_simplified_text_untouched() -> None:
    s = "县卫生健康局2021年工作总结，全县医共体建设全面推开。"
    assert to_simplified(s) is s
