"""End to end over the real seeds and ../shared/corpora: ranking, filters, facet counts."""
from __future__ import annotations

import random

from searchapp.facets import FACET_NAMES, Filters


def test_basic_drug_query_ranks_hailun_report_first(engine):
    res = engine.search("基本药物")
    assert res.total > 0
    top = res.hits[0]
    assert top.region[-1:] == ["海伦市"], (top.title, top.region)
    assert "<mark>基本药物</mark>" in str(top.snippet)


def test_region_filter_keeps_only_that_province(engine):
    res = engine.search("", Filters(region=["云南省"]), per_page=100)
    assert res.total >= 3
    assert all(h.region and h.region[0] == "云南省" for h in res.hits)
    titles = {h.title for h in res.hits}
    assert "卫生系统下乡活动工作总结范文" in titles


def test_every_provincial_report_gets_its_province(engine, shared):
    provinces = sorted(p.name.split("_")[1] for p in (shared / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))
    assert len(provinces) == 31
    for prov in provinces:
        res = engine.search("", Filters(region=[prov], doc_type=["政府工作报告"]), per_page=50)
        assert res.total >= 1, prov
        assert all(h.region[0] == prov for h in res.hits)


def test_region_filter_works_at_any_level(engine):
    county = engine.search("", Filters(region=["海伦市"]))
    assert county.total >= 1 and all("海伦市" in h.region for h in county.hits)
    prov = engine.search("", Filters(region=["黑龙江省"]))
    assert prov.total >= county.total


def _with(filters: Filters, name: str, value: str) -> Filters:
    """The filters a click on ``value`` stands for: region narrows, other facets select that value."""
    f = Filters(**{n: list(getattr(filters, n)) for n in FACET_NAMES})
    if name == "region":
        if value not in f.region:
            f.region.append(value)
    else:
        setattr(f, name, [value])
    return f


def test_facet_counts_equal_filtered_totals(engine):
    rnd = random.Random(20261123)
    checked = 0
    for q in ["", "卫生", "医疗 服务", '"公共卫生"']:
        for _ in range(5):
            filters = Filters()
            for _ in range(rnd.randint(0, 3)):
                name = rnd.choice(FACET_NAMES)
                values = list(engine.search(q, filters, per_page=1).facets.get(name, {}))
                if values:
                    filters = _with(filters, name, rnd.choice(values))
            current = engine.search(q, filters, per_page=1)
            for name in FACET_NAMES:
                for value, count in current.facets.get(name, {}).items():
                    assert engine.search(q, _with(filters, name, value), per_page=1).total == count, \
                        (q, filters, name, value)
                    checked += 1
    assert checked > 100


def test_multi_select_is_or_within_a_facet(engine):
    types = engine.search("").facets["doc_type"]
    assert len(types) >= 2
    a, b = list(types)[:2]
    both = engine.search("", Filters(doc_type=[a, b]))
    assert both.total == types[a] + types[b]


def test_sort_by_year_orders_hits(engine):
    res = engine.search("", sort="year", per_page=50)
    years = [h.year or 0 for h in res.hits]
    assert years == sorted(years, reverse=True)


def test_pagination_is_consistent(engine):
    first = engine.search("卫生", per_page=5, page=1)
    second = engine.search("卫生", per_page=5, page=2)
    assert first.total == second.total
    assert not {h.id for h in first.hits} & {h.id for h in second.hits}
    beyond = engine.search("卫生", per_page=5, page=10**5)
    assert beyond.hits == [] and beyond.messages


def test_copy_that_writes_20xx_gets_the_year_its_copy_states(engine):
    """Seed 000's 3rd article says 20xx年; its near-duplicate (4th) says 2010年: both cover 2010."""
    ids = engine.ids_matching('"20xx年全县参合达215237人"')
    assert ids
    for i in ids:
        assert engine.document(i)["year"] == 2010
