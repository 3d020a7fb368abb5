"""例句 page and document page: no-sentence help, CSV export, copy text, phrase marks, match anchors, provenance.

One small index built from crafted files, so every expected value is known.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from indexer.pipeline import index_paths
from searchapp import create_app

BODY = (
    "三、存在问题\n"
    "（一）签约医生队伍人手不足。\n"
    "（二）基层留人难，待遇偏低。\n"
    "四、下一步工作\n"
    "我们将继续做实签约医生服务，推动优质资源下沉。另外，医生培训和签约考核也要加强。\n"
    "=HYPERLINK(\"http://evil.example\")是一个不应执行的公式，签约医生服务要规范。\n"
)
RECORDS = [
    {"title": "海东市卫生健康局2021年工作总结", "url": "https://www.example.gov.cn/zwgk/2021/卫生总结.html",
     "retrieved": "2022-03-04", "publish_date": "2021-12-30", "province": "青海省",
     "content": "海东市卫生健康局2021年工作总结\n一、主要成绩\n全年新增家庭医生团队40个，群众满意度稳步提高。\n" + BODY * 2},
    {"title": "-2 某县卫生院工作计划", "source": "某县人民政府网", "year": 2019,
     "content": "某县卫生院2019年工作计划\n一、工作目标\n下一步，我们要把工作打算落到实处，全面提升服务水平。"
                "签约服务覆盖率达到60%以上，重点人群签约率达到80%。\n二、主要措施\n加强队伍建设，落实工作责任。\n"},
]
HTML = """<!DOCTYPE html>
<!-- saved from url=(0048)https://news.example.com/2020/05/health-work.html -->
<html><head><meta charset="utf-8"><title>市卫健委2020年工作总结</title>
<link rel="canonical" href="https://news.example.com/2020/05/health-work.html"></head>
<body><div class="article"><h1>市卫健委2020年工作总结</h1>
<p>2020年，全市卫生健康系统坚持人民至上，统筹推进疫情防控和卫生健康事业发展，家庭医生签约服务覆盖率达到百分之六十五。</p>
<p>全市新建社区卫生服务中心五个，基层首诊率持续提高，群众看病就医更加便捷，医疗服务质量稳步提升。</p>
</div></body></html>"""


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ui_pages")
    src = root / "src"
    src.mkdir()
    (src / "reports.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in RECORDS) + "\n",
                                       encoding="utf-8")
    (src / "saved.html").write_text(HTML, encoding="utf-8")
    ix = root / "ix"
    summary = index_paths([src], ix, workers=1)
    assert summary.documents == 3, summary.as_dict()
    return ix


@pytest.fixture()
def client(small_index):
    app = create_app({"INDEX_DIR": str(small_index), "TESTING": True})
    return app.test_client()


def doc_id_with(client, query: str, title_part: str) -> str:
    hits = client.get("/api/search", query_string={"q": query, "per_page": 50}).get_json()["hits"]
    return next(h["id"] for h in hits if title_part in h["title"])


# -- 例句 ----------------------------------------------------------------------------------------

def test_sentence_page_gives_text_under_a_matching_heading_not_the_heading(client):
    data = client.get("/api/sentences", query_string={"q": "存在问题"}).get_json()
    texts = [s["text"] for s in data["sentences"]]
    assert texts and all("三、存在问题" != t.strip("。") for t in texts)
    first = data["sentences"][0]
    assert first["heading"] == "三、存在问题"
    assert first["text"].startswith("（一）签约医生队伍人手不足。")
    assert first["citation"].startswith("存在问题：（一）签约医生队伍人手不足。")


def test_each_sentence_has_context_and_a_visible_citation_without_script(client):
    html = client.get("/sentences", query_string={"q": "签约医生服务"}).get_data(as_text=True)
    items = re.findall(r'<li class="hit sentence".*?</li>', html, re.DOTALL)
    assert items
    for li in items:
        assert "<details class=\"context\">" in li and "<summary>上下文与出处</summary>" in li
        assert 'class="around"' in li  # sentences before/after
        cite = re.search(r'<span class="cite-text">(.*?)</span>', li, re.DOTALL).group(1)
        assert "——《" in cite and "/doc/" in cite and "#s-" in cite
        # the copy button copies exactly the visible citation text (and is hidden until the script shows it)
        button = re.search(r'<button type="button" class="copy" data-text="(.*?)" hidden>', li, re.DOTALL)
        assert button and button.group(1) == cite


def test_copy_text_names_title_region_year_and_link(client):
    s = client.get("/api/sentences", query_string={"q": "做实签约医生服务"}).get_json()["sentences"][0]
    lines = s["citation"].split("\n")
    assert lines[0] == s["text"]
    assert lines[1].startswith("——《海东市卫生健康局2021年工作总结》，青海省")
    assert lines[1].endswith(f"/doc/{s['doc_id']}#s-{s['sentence']}")
    assert s["before"] and s["after"]


def test_no_sentences_says_why_and_links_to_the_reports(client):
    # every report has 下一步 and 工作打算 … but never as one string in one sentence
    r = client.get("/sentences", query_string={"q": "下一步工作打算"})
    html = r.get_data(as_text=True)
    api = client.get("/api/sentences", query_string={"q": "下一步工作打算"}).get_json()
    reports = client.get("/api/search", query_string={"q": "下一步工作打算"}).get_json()["total"]
    assert api["total"] == 0 and api["reports"] == reports > 0
    assert api["no_sentences_reason"]
    box = re.search(r'<div class="nosentences" id="no-sentences">(.*?)</div>', html, re.DOTALL).group(1)
    assert api["no_sentences_reason"] in box
    link = re.search(r'<a href="([^"]+)" id="see-reports">查看匹配的 (\d+) 篇报告', box)
    assert link and int(link.group(2)) == reports
    assert link.group(1).startswith("/?q=")
    # the link opens exactly those reports
    listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'id="total">{reports}<' in listed


def test_no_report_at_all_is_said_too(client):
    html = client.get("/sentences", query_string={"q": "玄鸟瓷砖独一无二"}).get_data(as_text=True)
    assert "没有报告包含「玄鸟瓷砖独一无二」" in html


def test_sentences_export_csv_is_complete_and_formula_safe(client):
    r = client.get("/sentences/export", query_string={"q": "签约医生", "format": "csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header == ["sentence", "heading", "title", "region", "year", "reports", "doc_id", "url", "citation"]
    api = client.get("/api/sentences", query_string={"q": "签约医生", "per_page": 100}).get_json()
    assert len(body) == api["total"] > 0
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert any(row[0].startswith("'=HYPERLINK") for row in body)  # neutralised, not dropped
    assert all("/doc/" in row[7] and "#s-" in row[7] for row in body)
    j = client.get("/sentences/export", query_string={"q": "签约医生", "format": "json"}).get_json()
    assert j["total"] == len(j["sentences"]) == len(body)


def test_sentences_page_links_the_export(client):
    html = client.get("/sentences", query_string={"q": "签约医生"}).get_data(as_text=True)
    assert 'id="export-sentences-csv"' in html


# -- document page ------------------------------------------------------------------------------

def test_whole_phrase_is_marked_not_its_words(client):
    did = doc_id_with(client, "签约医生", "海东市")
    html = client.get(f"/doc/{did}", query_string={"q": "签约医生"}).get_data(as_text=True)
    marks = re.findall(r'<mark id="m\d+">(?:<a[^>]*>.</a>)?(.*?)(?:<a[^>]*>.</a>)?</mark>', html)
    assert marks and set(marks) == {"签约医生"}
    # 医生培训和签约考核: the words alone are not marked when the phrase is in the text
    assert "医生培训和签约考核" in html


def test_words_are_marked_when_the_phrase_is_absent(client):
    did = doc_id_with(client, "工作打算", "卫生院")
    html = client.get(f"/doc/{did}", query_string={"q": "服务 落实"}).get_data(as_text=True)
    marks = set(re.findall(r'<mark id="m\d+">(?:<a[^>]*>.</a>)?(.*?)(?:<a[^>]*>.</a>)?</mark>', html))
    assert marks == {"服务", "落实"}


def test_match_count_and_anchors_work_without_script(client):
    did = doc_id_with(client, "签约医生", "海东市")
    text = client.get(f"/api/docs/{did}").get_json()["text"]
    expected = text.count("签约医生")
    html = client.get(f"/doc/{did}", query_string={"q": "签约医生"}).get_data(as_text=True)
    ids = [int(x) for x in re.findall(r'<mark id="m(\d+)">', html)]
    assert ids == list(range(1, expected + 1))
    assert f"共 <strong>{expected}</strong> 处匹配" in html
    assert 'href="#m1" id="match-first"' in html and f'href="#m{expected}" id="match-last"' in html
    # every match links to its neighbours, so next/previous work through anchors alone
    for k in range(1, expected + 1):
        m = re.search(rf'<mark id="m{k}">(.*?)</mark>', html).group(1)
        assert (f'href="#m{k - 1}"' in m) == (k > 1)
        assert (f'href="#m{k + 1}"' in m) == (k < expected)


def test_no_match_in_the_text_is_said(client):
    did = doc_id_with(client, "签约医生", "海东市")
    html = client.get(f"/doc/{did}", query_string={"q": "玄鸟瓷砖"}).get_data(as_text=True)
    assert "正文中没有「玄鸟瓷砖」的原样匹配" in html and "<mark" not in html


def test_provenance_shows_url_site_and_dates_never_a_server_path(client, small_index):
    did = doc_id_with(client, "签约医生", "海东市")
    html = client.get(f"/doc/{did}").get_data(as_text=True)
    assert 'id="source-url"' in html and "www.example.gov.cn" in html
    assert "https://www.example.gov.cn/zwgk/2021/卫生总结.html" in html
    assert '<dd id="published">2021-12-30</dd>' in html and '<dd id="retrieved">2022-03-04</dd>' in html
    root = str(small_index.parent)
    assert root not in html and "reports.jsonl" not in html
    doc = client.get(f"/api/docs/{did}").get_json()
    assert "path" not in doc and root not in json.dumps(doc, ensure_ascii=False)
    assert doc["url"] == "https://www.example.gov.cn/zwgk/2021/卫生总结.html"
    assert doc["site"] == "www.example.gov.cn" and doc["retrieved"] == "2022-03-04"


def test_saved_html_page_keeps_its_address(client):
    did = doc_id_with(client, "社区卫生服务中心", "卫健委")
    doc = client.get(f"/api/docs/{did}").get_json()
    assert doc["url"] == "https://news.example.com/2020/05/health-work.html"
    html = client.get(f"/doc/{did}").get_data(as_text=True)
    assert "saved.html" not in html


def test_site_named_without_url_is_shown(client):
    did = doc_id_with(client, "工作打算", "卫生院")
    html = client.get(f"/doc/{did}").get_data(as_text=True)
    assert '<dd id="source-site">某县人民政府网</dd>' in html and 'id="retrieved"' not in html


def test_admin_sees_the_server_path(small_index, tmp_path):
    from adminkit import login
    from werkzeug.security import generate_password_hash

    app = create_app({"INDEX_DIR": str(small_index), "TESTING": True, "SECRET_KEY": "k" * 64,
                      "ADMIN_PASSWORD_HASH": generate_password_hash("pw-123456"),
                      "UPLOAD_DIR": str(tmp_path / "up")})
    c = app.test_client()
    did = doc_id_with(c, "签约医生", "海东市")
    assert "reports.jsonl" not in c.get(f"/doc/{did}").get_data(as_text=True)
    login(c, "pw-123456")
    assert "reports.jsonl" in c.get(f"/doc/{did}").get_data(as_text=True)
    assert c.get(f"/api/docs/{did}").get_json()["path"].endswith("reports.jsonl#1")


def test_text_download_has_one_charset_and_the_source(client):
    did = doc_id_with(client, "签约医生", "海东市")
    r = client.get(f"/doc/{did}.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["Content-Type"].count("charset") == 1
    body = r.get_data(as_text=True)
    assert "原文网址：https://www.example.gov.cn/zwgk/2021/卫生总结.html" in body
    assert "reports.jsonl" not in body


def test_page_marks_the_item_not_its_synonym_inside_other_words():
    from searchapp.highlight import page_needles
    from searchapp.query import parse

    text = "做实家庭医生签约服务。对22家医疗机构进行检查。"
    pq = parse("家庭医生签约")
    assert page_needles(text, pq) == ["家庭医生签约"]
    # without the item as typed, its words are what there is to mark
    assert set(page_needles("签约服务和医生培训。", parse("签约医生"))) == {"签约", "医生"}


def test_exclusion_only_query_shows_no_match_bar(client):
    did = doc_id_with(client, "签约医生", "海东市")
    html = client.get(f"/doc/{did}", query_string={"q": "-疫情"}).get_data(as_text=True)
    assert 'id="matchnav"' not in html and "<mark" not in html
