"""extract_meta: the pipeline entry point, hints, robustness (speed is measured by the benchmark, not here)."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.meta import extract_meta
from indexer.models import Article, Meta

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


def test_returns_meta() -> None:
    art = Article(title="灵璧县卫生健康局2021年工作总结", text="今年以来，我县开展了家庭医生签约服务。", published="2021/12/30")
    meta = extract_meta(art)
    assert isinstance(meta, Meta)
    assert meta.region == ["安徽省", "宿州市", "灵璧县"]
    assert meta.year == 2021
    assert meta.doc_type == "工作总结"
    assert meta.published == "2021-12-30"


def test_hints_fill_gaps_but_are_checked() -> None:
    art = Article(title=None, text="各位代表：现在，我代表省人民政府，向大会报告工作。全省经济稳中有进。")
    meta = extract_meta(art, {"title": "2026年政府工作报告", "province": "湖南省", "publish_date": "2026-02-24"})
    assert meta.year == 2026 and meta.doc_type == "政府工作报告" and meta.published == "2026-02-24"
    assert meta.region == ["湖南省"]
    # a hinted province cannot outvote a text that names another one
    text = "我代表省人民政府向大会报告。在广东省第十四届人民代表大会第五次会议上。广东省全省上下。广东省经济。"
    assert extract_meta(Article(title=None, text=text), {"province": "湖南省"}).region == ["广东省"]


@pytest.mark.parametrize("art", [Article(title=None, text=""), Article(title="", text="\x00"), Article(title=None, text=None),  # type: ignore[arg-type]
                                 Article(title=42, text=["x"]), Article(title="x" * 5000, text="年" * 100000)])  # type: ignore[arg-type]
def test_never_raises(art: Article) -> None:
    meta = extract_meta(art, hints={"year": "abc", "province": 7, "publish_date": object()})
    assert isinstance(meta, Meta)
