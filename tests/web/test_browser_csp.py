"""The Content-Security-Policy in a real browser: nothing on any page is blocked, and the scripts
that replaced inline handlers still do their work.

``script-src 'self'`` (issue 22 item 18) blocks any inline script or ``on…=`` handler a
template might still carry; the admin pages' ``style-src 'self'`` also blocks inline
``style`` attributes.  The template scan in test_admin_security.py catches what it knows
to look for; a browser reports every violation (``securitypolicyviolation`` events, which
an init script collects: init scripts run outside the page's policy).
"""
from __future__ import annotations

import re

import pytest
from browsing import serving

pytestmark = pytest.mark.browser

PASSWORD = "browser-pw-123"
_COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture(scope="module")
def server(full_index, tmp_path_factory):
    with serving({"INDEX_DIR": str(full_index), "ADMIN_PASSWORD": PASSWORD,
                  "DATA_DIR": str(tmp_path_factory.mktemp("csp-data"))}) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser):
    pg = browser.new_page(viewport={"width": 1280, "height": 900})
    pg.add_init_script(_COLLECT)
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.on("pageerror", lambda e: errors.append(f"script error: {e}"))
    pg.csp_errors = errors  # type: ignore[attr-defined]
    return pg


def _violations(page) -> list[str]:
    return list(page.evaluate("window.__csp || []")) + page.csp_errors


def test_no_page_is_blocked_by_the_policy(server, page):
    for path in ("/", "/?q=卫生", "/?q=卫生&region=云南省", "/sentences?q=卫生", "/?q=zzzzqx无结果",
                 "/doc/does-not-exist", "/admin/login"):
        page.goto(server + path)
        page.wait_for_load_state("load")
        assert _violations(page) == [], path
    page.goto(server + "/?q=卫生")
    href = page.locator("ol.hits li.hit h2 a").first.get_attribute("href")
    page.goto(server + href)
    page.wait_for_selector("article.doc")
    assert _violations(page) == [], href


def test_scripts_that_replaced_inline_handlers_still_work(server, page):
    page.goto(server + "/?q=卫生")
    page.wait_for_selector("ol.hits li.hit")
    options = page.locator("select[name=sort] option").evaluate_all("os => os.map(o => o.value)")
    current = page.locator("select[name=sort]").input_value()
    other = next(v for v in options if v != current)
    with page.expect_navigation():
        page.select_option("select[name=sort]", other)  # autosubmit.js, once an onchange= attribute
    assert f"sort={other}" in page.url
    page.fill("input[name=q]", "卫")  # suggest.js fetches /api/suggest (connect-src 'self')
    page.wait_for_timeout(800)
    assert _violations(page) == []


def test_admin_pages_run_under_their_stricter_policy(server, page):
    page.goto(server + "/admin/login")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")
    page.wait_for_selector("#progress")
    assert re.search(r"/admin/?$", page.url)
    page.wait_for_timeout(3500)  # admin.js polls /admin/api/progress after 3 s
    assert _violations(page) == []
