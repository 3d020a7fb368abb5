"""Headless Chromium on the 例句 page and the document page, at desktop width and at 390 px.

Screenshots of the results page, 例句 and the document page are written to the
test's temporary folder (``pytest --basetemp=DIR`` keeps them in DIR) to be
checked by eye.  Skipped without Chromium, failed under CI (like tests/test_browser.py).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def new_page(browser, server, size="desktop", js=True):
    ctx = browser.new_context(viewport=WIDTHS[size], java_script_enabled=js)
    if js:
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    return ctx, ctx.new_page()


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_sentences_context_copy_and_screenshots(browser, server, shots, size):
    ctx, page = new_page(browser, server, size)
    page.goto(server + "/?q=" + "家庭医生签约")
    page.wait_for_selector("ol.hits li.hit")
    page.screenshot(path=str(shots / f"results-{size}.png"), full_page=False)
    assert no_horizontal_scroll(page)

    page.goto(server + "/sentences?q=" + "存在问题")
    page.wait_for_selector("ol.sentences li.sentence")
    first = page.locator("ol.sentences li.sentence").first
    # a heading is shown as the label of the text under it, never as the sentence itself
    assert first.locator("p.under .heading").count() == 1
    assert not re.fullmatch(r"[一二三四五六七八九十]+、存在问题。?", first.locator("p.snippet").inner_text().strip())
    # context opens in place
    assert not first.locator("p.ctx").is_visible()
    first.locator("details.context summary").click()
    assert first.locator("p.ctx .around").first.is_visible()
    cite = first.locator(".cite-text").inner_text()
    assert "——《" in cite and "/doc/" in cite
    # the copy button (shown by the script) copies the sentence with its citation
    btn = first.locator("button.copy")
    assert btn.is_visible()
    btn.click()
    expect(btn).to_have_text("已复制")  # (wait_for_function's string would need 'unsafe-eval', which the CSP refuses)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == btn.get_attribute("data-text") == cite
    page.screenshot(path=str(shots / f"sentences-{size}.png"), full_page=False)
    assert no_horizontal_scroll(page)
    ctx.close()


def test_no_sentences_links_to_the_reports(browser, server, shots):
    ctx, page = new_page(browser, server)
    page.goto(server + "/sentences?q=" + "下一步工作打算")
    box = page.locator("#no-sentences")
    assert box.is_visible()
    n = int(re.search(r"查看匹配的 (\d+) 篇报告", box.inner_text()).group(1))
    assert n > 0
    page.screenshot(path=str(shots / "sentences-none-desktop.png"))
    with page.expect_navigation():
        page.click("#see-reports")
    page.wait_for_selector("ol.hits li.hit")
    assert int(page.inner_text("#total")) == n
    ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_document_match_navigation_with_script(browser, server, shots, size):
    ctx, page = new_page(browser, server, size)
    page.goto(server + "/?q=" + "家庭医生签约")
    href = page.locator("ol.hits li.hit h2 a").first.get_attribute("href")
    page.goto(server + href)
    total = int(page.locator("#match-count strong").inner_text())
    assert total == page.locator("article.doc mark[id^=m]").count() > 1
    # whole phrase marked
    assert set(page.locator("article.doc mark[id^=m]").all_inner_texts()) <= {"家庭医生签约", "家医"}
    page.screenshot(path=str(shots / f"doc-{size}.png"), full_page=False)
    page.click("#match-next")
    expect(page).to_have_url(re.compile(r"#m1$"))
    page.click("#match-next")
    expect(page).to_have_url(re.compile(r"#m2$"))
    expect(page.locator("#match-pos")).to_have_text(f"第 2 / {total} 处")
    page.click("#match-prev")
    expect(page).to_have_url(re.compile(r"#m1$"))
    expect(page.locator("#match-pos")).to_have_text(f"第 1 / {total} 处")
    # the current match is in view, below the sticky bar
    top = page.evaluate("document.getElementById('m1').getBoundingClientRect().top")
    bar = page.evaluate("document.getElementById('matchnav').getBoundingClientRect().bottom")
    assert bar <= top < page.viewport_size["height"]
    page.screenshot(path=str(shots / f"doc-match-{size}.png"), full_page=False)
    assert no_horizontal_scroll(page)
    ctx.close()


def test_document_match_navigation_without_script(browser, server):
    ctx, page = new_page(browser, server, js=False)
    page.goto(server + "/?q=" + "家庭医生签约")
    href = page.locator("ol.hits li.hit h2 a").first.get_attribute("href")
    page.goto(server + href)
    page.click("#match-first")
    assert page.url.endswith("#m1")
    # the targeted match shows a link to the next one; following it moves on
    nxt = page.locator("#m1 a.mnav.next")
    assert nxt.is_visible() and not page.locator("#m2 a.mnav").first.is_visible()
    nxt.click()
    assert page.url.endswith("#m2")
    page.locator("#m2 a.mnav.prev").click()
    assert page.url.endswith("#m1")
    ctx.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_document_provenance_is_shown(browser, server, shots, size):
    ctx, page = new_page(browser, server, size)
    hits = page.request.get(server + "/api/search?q=" + "医疗保障" + "&per_page=50").json()["hits"]
    doc = None
    for h in hits:
        d = page.request.get(server + f"/api/docs/{h['id']}").json()
        if d.get("url"):
            doc = d
            break
    assert doc is not None, "the corpora's records carry source URLs"
    page.goto(server + f"/doc/{doc['id']}?q=" + "医疗保障")
    link = page.locator("#source-url")
    assert link.is_visible() and link.get_attribute("href") == doc["url"]
    assert "path" not in doc and "/shared/" not in page.content()
    page.screenshot(path=str(shots / f"doc-provenance-{size}.png"), full_page=False)
    assert no_horizontal_scroll(page)
    ctx.close()
