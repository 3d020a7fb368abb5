"""The JSON API and the HTML pages, through Flask's test client."""
from __future__ import annotations

import re

import pytest


def test_api_search_shape(client):
    r = client.get("/api/search", query_string={"q": "基本药物", "per_page": 3})
    assert r.status_code == 200
    data = r.get_json()
    assert set(data) >= {"total", "hits", "facets"}
    assert set(data["facets"]) == {"region", "year", "topic", "doc_type"}
    hit = data["hits"][0]
    assert set(hit) >= {"id", "title", "region", "year", "topics", "doc_type", "snippet"}
    assert len(data["hits"]) <= 3


def test_api_per_page_is_capped(client):
    data = client.get("/api/search?per_page=100000").get_json()
    assert data["per_page"] == 100 and len(data["hits"]) <= 100


def test_api_region_any_level(client):
    a = client.get("/api/search", query_string={"region": "云南省"}).get_json()
    assert a["total"] >= 1 and all(h["region"][0] == "云南省" for h in a["hits"])


def test_api_document_and_unknown_id(client):
    hit = client.get("/api/search?q=基本药物").get_json()["hits"][0]
    doc = client.get(f"/api/docs/{hit['id']}").get_json()
    assert doc["id"] == hit["id"] and "基本药物" in doc["text"]
    assert set(doc) >= {"title", "text", "region", "year", "topics", "doc_type", "source", "site", "url",
                        "published", "retrieved"}
    assert "path" not in doc  # the server's file layout is for administrators only
    r = client.get("/api/docs/does-not-exist")
    assert r.status_code == 404 and r.get_json()["error"] == "not found"


@pytest.mark.parametrize("q", ['"unbalanced', "AND", "OR", "(((", ")", "x" * 5000, "-", "卫生 OR", "NOT NOT",
                               "<script>alert(1)</script>", "%", "\\"])
def test_malformed_queries_answer(client, q):
    for path in ("/", "/api/search"):
        r = client.get(path, query_string={"q": q, "page": "abc", "per_page": "-5", "year": "不是年份",
                                           "region": "不存在的地方", "sort": "bogus"})
        assert r.status_code == 200, (path, q)


def test_page_out_of_range_has_message(client):
    data = client.get("/api/search?q=卫生&page=99999").get_json()
    assert data["hits"] == [] and data["messages"]
    html = client.get("/?q=卫生&page=99999").get_data(as_text=True)
    assert "页码超出范围" in html


def test_ui_search_page_shows_facets_and_marks(client):
    html = client.get("/?q=基本药物").get_data(as_text=True)
    assert "<mark>基本药物</mark>" in html
    for label in ("地区", "年份", "主题", "文档类型"):
        assert label in html
    assert "http://" not in html.split("<body>")[0] and "https://" not in html.split("<body>")[0]


def test_ui_filters_are_removable_and_in_url(client):
    html = client.get("/?q=卫生&region=云南省").get_data(as_text=True)
    assert "移除此筛选" in html and 'href="/?q=%E5%8D%AB%E7%94%9F"' in html


def test_ui_document_page_and_404(client):
    hit = client.get("/api/search?q=基本药物").get_json()["hits"][0]
    html = client.get(f"/doc/{hit['id']}?q=基本药物").get_data(as_text=True)
    assert re.search(r'<mark id="m1">基本药物(<a [^>]*>›</a>)?</mark>', html)
    r = client.get("/doc/nope")
    assert r.status_code == 404 and "没有找到" in r.get_data(as_text=True)


def test_page_text_is_escaped(tmp_path):
    from indexer.pipeline import index_paths
    from searchapp import create_app

    page = tmp_path / "evil.txt"
    page.write_text("卫生局工作总结\n\n今年我局开展了卫生监督工作<script>alert('x')</script>，"
                    "全年检查医疗机构90余次，取得了良好成效。\n" * 3, encoding="utf-8")
    ix = tmp_path / "ix"
    index_paths([page], ix)
    client = create_app({"INDEX_DIR": str(ix), "TESTING": True}).test_client()
    html = client.get("/?q=卫生监督").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    doc_id = client.get("/api/search?q=卫生监督").get_json()["hits"][0]["id"]
    html = client.get(f"/doc/{doc_id}?q=script").get_data(as_text=True)
    assert "<script>alert" not in html
