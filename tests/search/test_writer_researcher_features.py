"""Writers and researchers: recall independent of segmentation, example sentences, similar
reports, synonyms, traditional characters, suggestions, "did you mean", exports."""
from __future__ import annotations

import csv
import io
import json
import random

from searchapp.facets import Filters


def _stored_docs(engine):
    return [(stored["id"], stored.get("content") or "") for stored, _ in engine.iter_documents()]


def test_any_verbatim_substring_finds_its_document(engine):
    """500 random 2–8 character substrings of indexed texts (fixed seed): ≥ 99.5 % find their source."""
    docs = [(i, t) for i, t in _stored_docs(engine) if len(t) > 20]
    groups = {}
    for stored, dups in engine.iter_documents():
        groups[stored["id"]] = set(dups) | {stored["id"]}
    rnd = random.Random(500)
    misses = []
    for _ in range(500):
        doc_id, text = rnd.choice(docs)
        n = rnd.randint(2, 8)
        start = rnd.randrange(0, len(text) - n)
        sub = text[start:start + n]
        found = engine.ids_matching(sub)
        if not (found & groups[doc_id]):
            misses.append(sub)
    assert len(misses) <= 2, misses


def test_quoted_phrase_is_exact_and_crosses_word_boundaries(engine):
    # 卫生服务 inside 公共卫生服务 / 社区卫生服务中心, whatever jieba made of it
    res = engine.search('"卫生服务"', per_page=100)
    assert res.total > 0
    for stored, _ in engine.iter_documents():
        text = stored.get("content") or ""
        has = "卫生服务" in "".join(text.split())
        assert (stored["id"] in engine.ids_matching('"卫生服务"')) == has or not has


def test_whole_word_matches_rank_first(engine):
    res = engine.search("基本药物", per_page=5)
    assert "基本药物" in res.hits[0].title or res.hits[0].region[-1:] == ["海伦市"]


def test_sentence_mode_dedups_copies_and_counts(engine):
    # this sentence stands in both copies of the 宁蒗 report (which differ elsewhere: 20xx年 / 2010年)
    res = engine.sentences("220538人次", per_page=50)
    assert res.total == 1
    ex = res.sentences[0]
    assert "220538人次" in ex.text and ex.count == 2
    assert len(engine.sentences("参合率达95.31%").sentences) == 2  # the two differing versions
    res2 = engine.sentences("免费义诊")
    assert all("免费义诊" in e.text for e in res2.sentences)


def test_sentence_mode_applies_filters(engine):
    all_ = engine.sentences("卫生", per_page=100)
    yn = engine.sentences("卫生", Filters(region=["云南省"]), per_page=100)
    assert 0 < yn.total < all_.total
    assert all(e.region and e.region[0] == "云南省" for e in yn.sentences)


def test_sentence_api_shape(client):
    data = client.get("/api/sentences", query_string={"q": "基本药物"}).get_json()
    assert data["total"] > 0
    s = data["sentences"][0]
    assert set(s) >= {"text", "doc_id", "title", "region", "year", "count"}
    assert "基本药物" in s["text"]
    html = client.get(f"/doc/{s['doc_id']}?q=基本药物").get_data(as_text=True)
    assert f'id="s-{s["sentence"]}"' in html


def test_sentence_page_has_copy_buttons(client):
    html = client.get("/sentences?q=基本药物").get_data(as_text=True)
    assert 'class="copy"' in html and "copy.js" in html


def test_synonyms_work_both_ways(engine):
    short = engine.ids_matching("新农合")
    long = engine.ids_matching("新型农村合作医疗")
    assert short == long and short
    res = engine.search("新农合")
    assert any("新农合" in m and "新型农村合作医疗" in m for m in res.messages)
    # an expansion is a phrase: the long form's words scattered do not count (issue 20)
    assert engine.ids_matching("医改") == engine.ids_matching('"医改" OR "医药卫生体制改革"')


def test_traditional_query_finds_simplified_documents(engine):
    assert engine.ids_matching("醫藥衛生體制改革") == engine.ids_matching("医药卫生体制改革")
    res = engine.search("醫藥衛生")
    assert res.total > 0 and any("繁体" in m for m in res.messages)


def test_damaged_document_found_by_correct_wording(engine):
    damaged = [s["id"] for s, _ in engine.iter_documents() if s.get("damaged")]
    assert damaged
    # the damaged text says 社区卫生效劳示范区; the correct wording finds it
    assert set(damaged) & engine.ids_matching('"社区卫生服务示范区"')


def test_suggestions_from_titles_and_terms(client):
    data = client.get("/api/suggest", query_string={"q": "卫生系统"}).get_json()
    texts = [s["text"] for s in data["suggestions"]]
    assert any(t.startswith("卫生系统") for t in texts)
    assert client.get("/api/suggest?q=").get_json()["suggestions"] == []


def test_did_you_mean(engine):
    res = engine.search("创先争忧")
    assert res.total == 0 and res.suggestion == "创先争优"
    assert engine.search(res.suggestion).total > 0


def test_similar_reports_exclude_own_copies(client, engine):
    res = engine.search('"220538人次"')
    hit = res.hits[0]
    data = client.get(f"/api/docs/{hit.id}/similar").get_json()["similar"]
    ids = {d["id"] for d in data}
    assert ids and hit.id not in ids and not (ids & set(hit.duplicates))


def test_export_csv_and_json_of_result_set(client):
    r = client.get("/export", query_string={"q": "卫生", "format": "csv", "region": "云南省"})
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    total = client.get("/api/search", query_string={"q": "卫生", "region": "云南省"}).get_json()["total"]
    assert len(rows) == total and all(row["region"].startswith("云南省") for row in rows)
    assert all(row["permalink"].startswith("http") and "/doc/" in row["permalink"] for row in rows)
    data = json.loads(client.get("/export?q=卫生&format=json").get_data(as_text=True))
    assert data["cap"] == 1000 and data["exported"] == min(data["total"], 1000)
    assert {"id", "title", "region", "year", "topics", "doc_type", "permalink", "source_url"} <= set(data["hits"][0])


def test_document_text_download(client):
    hit = client.get("/api/search?q=基本药物").get_json()["hits"][0]
    r = client.get(f"/doc/{hit['id']}.txt")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    assert "基本药物" in r.get_data(as_text=True)
    assert client.get("/doc/unknown.txt").status_code == 404
