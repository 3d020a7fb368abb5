"""The results page in a real browser: long facet lists, 本级 rows, a phone-sized screen, keyboards, axe-core.

Headless Debian Chromium through Playwright, as ``tests/test_browser.py``; axe-core
is the copy bundled with the ``axe-playwright-python`` package (injected from disk,
nothing fetched).  Skipped on a developer machine without Chromium; under CI a
missing browser fails.
"""
from __future__ import annotations

import pytest
from browsing import serving
from werkzeug.security import generate_password_hash

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "浏览器测试-口令-2026"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(full_index, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    with serving({"INDEX_DIR": str(full_index), "SECRET_KEY": "k" * 64, "UPLOAD_DIR": str(tmp / "uploads"),
                  "ADMIN_PASSWORD_HASH": generate_password_hash(ADMIN_PASSWORD), "INDEX_WORKERS": 1}) as url:
        yield url


@pytest.fixture()
def page(browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    yield pg
    pg.close()


def _total(page) -> int:
    return int(page.inner_text("#total"))


def test_a_province_beyond_the_twentieth_is_reachable_and_clickable(site, page):
    page.goto(site + "/")
    shown = page.locator("#facet-region li a[data-value]").all_inner_texts()
    assert len(shown) <= 20
    page.click("#more-region")
    page.wait_for_selector("#facet-list")
    links = page.locator("#facet-list li a[data-value]")
    values = [links.nth(i).get_attribute("data-value") for i in range(links.count())]
    assert len(values) >= 32  # 31 provinces + 全国 (and 未知)
    late = [v for v in values[20:] if v not in shown and v != "未知"]
    assert late, values
    target = page.locator(f"#facet-list li a[data-value='{late[-1]}']")
    count = int(target.locator("xpath=following-sibling::span").inner_text())
    with page.expect_navigation():
        target.click()
    page.wait_for_selector("ol.hits li.hit")
    assert _total(page) == count
    regions = page.locator(".hit .meta span:first-child").all_inner_texts()
    assert regions and all(late[-1] in r for r in regions)
    # the filter box narrows the full list (with script: as you type; without: on submit)
    page.goto(site + "/facet/region")
    page.fill("#facet_prefix", "江")
    visible = [t for t in page.locator("#facet-list li:not([hidden]) a[data-value]").all_inner_texts()]
    assert visible and all("江" in t for t in visible)
    with page.expect_navigation():
        page.click("form.facetfilter button[type=submit]")
    page.wait_for_selector("#facet-list")
    assert all("江" in v for v in page.locator("#facet-list li a[data-value]").all_inner_texts())


def test_own_level_counts_add_up(site, page):
    page.goto(site + "/?region=" + "云南省")
    page.wait_for_selector("#facet-region li")
    total = _total(page)
    counts = [int(c) for c in page.locator("#facet-region li .count").all_inner_texts()]
    assert sum(counts) == total and len(counts) >= 2
    own = page.locator("#facet-region li.own a")
    assert own.inner_text().strip() == "云南省（本级）"
    own_count = int(page.locator("#facet-region li.own .count").inner_text())
    with page.expect_navigation():
        own.click()
    page.wait_for_selector("ol.hits li.hit")
    assert _total(page) == own_count
    assert all(r.strip() == "地区：云南省" for r in page.locator(".hit .meta span:first-child").all_inner_texts())
    with page.expect_navigation():
        page.locator(".chip a.x").first.click()  # removing the province drops 本级 too
    page.wait_for_selector("ol.hits li.hit")
    assert "region_exact" not in page.url and "region" not in page.url


def test_phone_first_result_within_first_screen_and_facets_behind_toggle(site, browser):
    pg = browser.new_page(viewport=PHONE)
    try:
        pg.goto(site + "/?q=卫生")
        box = pg.locator("ol.hits li.hit").first.bounding_box()
        assert box is not None and box["y"] + 40 < PHONE["height"], box  # the first title is on the first screen
        print(f"first result at y={box['y']:.0f} px of a {PHONE['height']} px screen (390 px wide)")
        assert not pg.locator("#facet-region").is_visible()
        pg.click("details.filters > summary")
        assert pg.locator("#facet-region").is_visible()
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing sticks out sideways
        chart = pg.locator(".yearchart svg").bounding_box()
        assert chart and chart["width"] <= PHONE["width"]
    finally:
        pg.close()


def test_desktop_shows_facets_without_toggle(site, page):
    page.goto(site + "/?q=卫生")
    assert page.locator("#facet-region").is_visible()
    assert not page.locator("details.filters > summary").is_visible()


def test_skip_link_and_few_tab_stops_to_the_first_result(site, page):
    page.goto(site + "/?q=卫生")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "results"
    first = page.locator("ol.hits li.hit h2 a").first.get_attribute("href")
    for _ in range(14):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == first:
            break
    else:
        pytest.fail("the first result was not reached within 14 tab presses after the skip link")
    # the year chart is one image, not a tab stop per bar
    assert "按年份的报告数量" in page.locator(".yearchart figcaption").inner_text()
    assert page.evaluate("""[...document.querySelectorAll('.yearchart a')]
                            .filter(a => a.tabIndex >= 0).length""") == 0


def _axe_serious(page) -> list[tuple[str, str, int]]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [(v["id"], v["impact"], len(v["nodes"])) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violations(site, page, browser):
    page.goto(site + "/?q=卫生")
    doc = page.locator("ol.hits li.hit h2 a").first.get_attribute("href")
    pages = {"results": "/?q=卫生", "drill-down": "/?region=云南省", "facet list": "/facet/region?q=卫生",
             "例句": "/sentences?q=卫生", "document": doc, "no results": "/?q=zzzzqx"}
    found = {}
    for name, url in pages.items():
        page.goto(site + url)
        found[name] = _axe_serious(page)
    phone = browser.new_page(viewport=PHONE)
    try:
        phone.goto(site + "/?q=卫生")
        phone.click("details.filters > summary")
        found["results (390 px, filters open)"] = _axe_serious(phone)
    finally:
        phone.close()
    page.goto(site + "/admin/login")
    found["admin login"] = _axe_serious(page)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.admin-login button[type=submit]")
    page.wait_for_url("**/admin/")
    found["admin"] = _axe_serious(page)
    assert {k: v for k, v in found.items() if v} == {}
