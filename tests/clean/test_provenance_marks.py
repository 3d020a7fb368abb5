"""Where a page came from: record columns, saved-page marks, canonical links, a text dump's address line."""
from __future__ import annotations

from indexer.ingest import record_to_page
from indexer.models import Page
from indexer.provenance import clean_url, iso_date, page_provenance, site_of


def html(head: str) -> Page:
    return Page(path="/x/a.html", raw=head + "<html><head></head><body><p>正文</p></body></html>", kind="html")


def test_record_columns_win():
    page = record_to_page("/x/r.jsonl#1", {"content": "正文", "source_url": "https://a.example.cn/1.html",
                                            "crawl_time": "2023/07/08 10:00"})
    p = page_provenance(page)
    assert (p.url, p.retrieved) == ("https://a.example.cn/1.html", "2023-07-08")


def test_browser_singlefile_and_httrack_marks():
    p = page_provenance(html("<!-- saved from url=(0034)https://b.example.cn/news/2.html -->\n"))
    assert p.url == "https://b.example.cn/news/2.html" and p.retrieved is None
    p = page_provenance(html("<!--\n Page saved with SingleFile \n url: https://c.example.cn/3 \n"
                             " saved date: Thu Dec 01 2022 10:00:00 GMT+0800 (China Standard Time)\n-->"))
    assert (p.url, p.retrieved) == ("https://c.example.cn/3", "2022-12-01")
    p = page_provenance(html("<!-- Mirrored from d.example.cn/a/4.html by HTTrack Website Copier/3.x "
                             "[XR&CO'2014], Sat, 05 Mar 2022 08:00:00 GMT -->"))
    assert (p.url, p.retrieved) == ("http://d.example.cn/a/4.html", "2022-03-05")


def test_canonical_and_og_url():
    p = page_provenance(html('<head><link rel="canonical" href="https://e.example.cn/5.shtml"></head>'))
    assert p.url == "https://e.example.cn/5.shtml"
    p = page_provenance(html('<meta property="og:url" content="https://f.example.cn/6">'))
    assert p.url == "https://f.example.cn/6"


def test_text_dump_address_line():
    raw = "某某工作总结\n正文第一段。\n本文地址：http://www.fanwen.example/gz/12345.html\n"
    assert page_provenance(Page(path="/x/t.txt", raw=raw, kind="text")).url == "http://www.fanwen.example/gz/12345.html"


def test_nothing_is_guessed():
    p = page_provenance(Page(path="/x/t.txt", raw="工作总结\n正文。", kind="text"))
    assert (p.url, p.retrieved) == (None, None)
    # relative, scripted or malformed addresses are no provenance
    for bad in ("/local/page.html", "javascript:alert(1)", "file:///etc/passwd", "http://", "ht tp://x", None, 5):
        assert clean_url(bad) is None, bad
    assert iso_date("2023-02-30") is None and iso_date("明天") is None
    assert site_of("https://Zh.Wikisource.org/wiki/x") == "zh.wikisource.org"
