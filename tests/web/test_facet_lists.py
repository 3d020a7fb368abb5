"""Long facet lists, the "本级" row, honest exports and the favicon, through Flask's test client.

Over the seeds plus ../shared/corpora (31 provinces + 全国 + 未知 …), the same index
the other end-to-end tests use.
"""
from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import unquote

import pytest

from searchapp.facets import FACET_NAMES, FACETS, Filters


def _api(client, **params):
    r = client.get("/api/search", query_string=params)
    assert r.status_code == 200
    return r.get_json()


def test_facet_paging_walks_every_value_with_exact_counts(client):
    full = _api(client, per_page=1)
    for name in FACET_NAMES:
        everything = full["facets"][name]
        info = full["facet_info"][name]
        assert info["total_values"] == len(everything) and info["limit"] is None and not info["has_more"]
        walked: list[tuple[str, int]] = []
        offset = 0
        while True:
            page = _api(client, per_page=1, facet_limit=7, **{f"facet_offset.{name}": offset})["facet_info"][name]
            assert page["offset"] == offset and page["limit"] == 7
            walked += [(v["value"], v["count"]) for v in page["values"]]
            if not page["has_more"]:
                break
            offset += 7
        assert walked == FACETS[name].ordered(everything)  # every value once, in display order, exact counts
    assert len(full["facets"]["region"]) >= 32  # 31 provinces + 全国 (+ 未知) are all reachable


def test_facet_limit_per_facet_sort_and_prefix(client):
    d = _api(client, per_page=1, facet_limit=3, **{"facet_limit.topic": 0, "facet_sort.region": "name",
                                                 "facet_prefix.region": "江"})
    assert len(d["facets"]["year"]) == 3 and d["facet_info"]["year"]["has_more"]
    assert d["facet_info"]["topic"]["limit"] is None and not d["facet_info"]["topic"]["has_more"]
    region = [v["value"] for v in d["facet_info"]["region"]["values"]]
    assert region and all("江" in v for v in region) and region == sorted(region)
    assert d["facet_info"]["region"]["total_values"] == len([v for v in _api(client, per_page=1)["facets"]["region"]
                                                              if "江" in v])


def test_selected_values_stay_visible_outside_the_window(client):
    years = FACETS["year"].ordered(_api(client, per_page=1)["facets"]["year"])
    oldest = years[-2][0] if years[-1][0] == "未知" else years[-1][0]
    d = _api(client, per_page=1, year=oldest, facet_limit=2)
    info = d["facet_info"]["year"]
    assert oldest not in [v["value"] for v in info["values"]]
    assert [v["value"] for v in info["selected_outside"]] == [oldest] and info["selected_outside"][0]["selected"]
    html = client.get("/", query_string={"year": oldest}).get_data(as_text=True)
    assert re.search(rf'<li class="selected">\s*<a [^>]*data-value="{oldest}"[^>]*class="on"', html)


def test_own_level_rows_add_up_and_filter_exactly(client):
    provinces = [p for p in _api(client, per_page=1)["facets"]["region"] if p != "未知"]
    checked = 0
    for p in provinces:
        d = _api(client, region=p, per_page=100)
        own = d["facet_info"]["region"]["own_level"]
        children = sum(d["facets"]["region"].values())
        if not d["facets"]["region"]:
            assert own is None, p  # nothing below it: no row to tell apart
            continue
        assert (own["count"] if own else 0) + children == d["total"], p
        if own:
            checked += 1
            assert own["label"] == f"{p}（本级）" and not own["selected"]
            exact = _api(client, region=p, region_exact=1, per_page=100)
            assert exact["total"] == own["count"]
            assert all(h["region"] == [p] for h in exact["hits"])
            assert exact["facet_info"]["region"]["own_level"]["selected"]
            assert exact["filters"] == {"region": [p], "region_exact": True}
    assert checked >= 1  # 云南省 has a report at province level beside its prefectures


def test_own_level_filter_equals_its_whoosh_query(engine):
    """``region_exact`` as a mask and as a Whoosh query (did-you-mean uses the query) select the same documents."""
    engine.search("")  # open the searcher
    with engine._borrow() as (gen, r):
        table, s = gen.table, r.searcher
        for p in ("云南省", "黑龙江省", "全国"):
            f = Filters(region=[p], region_exact=True)
            ref = sorted(n for n in s.docs_for_query(f.to_query(table=table)) if n in table.records)
            assert (table.filter_mask(f) & table.live).nonzero()[0].tolist() == ref, p


def test_facet_page_lists_every_value_without_script(client):
    html = client.get("/facet/region").get_data(as_text=True)
    values = re.findall(r'data-value="([^"]+)"', html)
    total = len(_api(client, per_page=1)["facets"]["region"])
    assert len(values) == total >= 32
    assert "在地区中查找" in html and 'name="facet_prefix"' in html
    # a value beyond the sidebar's first 20 links to its results
    last = values[-1]
    m = re.search(rf'<a href="([^"]+)" data-value="{re.escape(last)}"', html)
    target = m.group(1).replace("&amp;", "&")
    assert unquote(target).startswith(f"/?region={last}")
    count = _api(client, per_page=1)["facets"]["region"][last]
    assert _api(client, region=last, per_page=1)["total"] == count
    # the filter box and the sort links work as plain GET requests
    html = client.get("/facet/region", query_string={"facet_prefix": "江", "facet_sort": "name"}).get_data(as_text=True)
    found = re.findall(r'data-value="([^"]+)"', html)
    assert found and all("江" in v for v in found) and found == sorted(found)
    # paging
    html = client.get("/facet/topic", query_string={"facet_limit": 5}).get_data(as_text=True)
    assert len(re.findall(r'data-value="', html)) == 5 and 'id="facet-next"' in html
    assert client.get("/facet/nope").status_code == 404
    assert client.get("/sentences/facet/year", query_string={"q": "卫生"}).status_code == 200


def test_sidebar_shows_top_values_and_a_more_link(client):
    html = client.get("/").get_data(as_text=True)
    region = html.split('id="facet-region"')[1].split("</section>")[0]
    assert len(re.findall(r'data-value="', region)) == 10
    assert re.search(r'id="more-region">更多…<span class="count">（共 \d+ 项）', region)


def test_export_records_every_filter_and_each_records_provenance(client):
    params = {"q": "卫生", "year": ["2010", "2026"], "doc_type": ["工作总结", "政府工作报告"], "format": "json"}
    r = client.get("/export", query_string=params)
    data = r.get_json()
    assert data["filters"] == {"year": ["2010", "2026"], "doc_type": ["工作总结", "政府工作报告"]}
    assert data["query"] == "卫生" and data["total"] == len(data["hits"]) > 0
    for h in data["hits"]:
        assert set(h) >= {"source_url", "site", "snippet", "permalink"}
        assert h["snippet"] and "<mark>" not in h["snippet"]
        assert h["permalink"].endswith(f"/doc/{h['id']}")
    assert any(h["site"] for h in data["hits"])
    assert client.get(data["hits"][0]["permalink"].split("localhost", 1)[1]).status_code == 200
    disp = r.headers["Content-Disposition"]
    name = unquote(disp.split("filename*=UTF-8''", 1)[1])
    assert re.fullmatch(r"报告_卫生_2010、2026_工作总结、政府工作报告_\d{8}\.json", name), name
    assert 'filename="reports_' in disp  # ASCII fallback for old clients

    r = client.get("/export", query_string={**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == len(data["hits"])
    assert set(rows[0]) >= {"source_url", "site", "snippet", "permalink"}
    assert unquote(r.headers["Content-Disposition"].split("''", 1)[1]).endswith(".csv")


def test_csv_export_neutralises_formula_cells(tmp_path):
    from reportgen import page_text

    from indexer.pipeline import index_paths
    from searchapp import create_app

    titles = ["=HYPERLINK(\"http://x\",\"点我\")", "+1+1 卫生监督总结", "-2 卫生监督总结", "@SUM(A1) 卫生监督",
              "\t制表符开头的卫生监督总结"]
    src = tmp_path / "r.jsonl"
    src.write_text("\n".join(json.dumps({"title": t, "content": page_text(i, tag="卫生监督", paras=4),
                                                    "url": f"http://example.org/{i}"},
                                        ensure_ascii=False) for i, t in enumerate(titles)), encoding="utf-8")
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    client = create_app({"INDEX_DIR": str(ix), "TESTING": True}).test_client()
    text = client.get("/export?q=标记卫生监督").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(titles)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    # titles keep their text behind the apostrophe (the cleaner strips a leading tab from a title)
    assert {r["title"] for r in rows} == {("'" + t) if t[0] in "=+-@" else t.strip() for t in titles}
    from searchapp.csvcell import safe_row

    assert safe_row(["\tx", "\r=1", "a=b", None, 2010]) == ["'\tx", "'\r=1", "a=b", "", "2010"]


def test_favicon_is_served_and_linked(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.data[:4] == b"\x00\x00\x01\x00"
    html = client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in html and client.get("/static/favicon.svg").status_code == 200


def test_skip_link_and_labels_in_markup(client):
    html = client.get("/?q=卫生").get_data(as_text=True)
    body = html.split("<body>", 1)[1].lstrip()
    assert body.startswith('<a class="skip-link" href="#results">')
    assert 'id="results"' in html and '<label for="q"' in html
    chart = html.split('class="yearchart"', 1)[1].split("</svg>", 1)[0]
    assert re.search(r'<figcaption class="visually-hidden">按年份的报告数量：\d{4}–\d{4} 年', chart)
    assert '<svg viewBox="0 0 240 80" aria-hidden="true"' in chart
    assert chart.count("<a ") == chart.count('tabindex="-1"') > 1  # bars are not tab stops


@pytest.mark.parametrize("bad", ["abc", "-5", "99999999999999999999"])
def test_bad_facet_paging_arguments_fall_back(client, bad):
    r = client.get("/api/search", query_string={"facet_limit": bad, "facet_offset": bad})
    assert r.status_code == 200
    assert client.get("/facet/region", query_string={"facet_limit": bad, "facet_offset": bad}).status_code == 200
