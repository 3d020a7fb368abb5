"""What every browser test needs: Debian's Chromium under Playwright, and the app on a loopback port.

One place for the launch flags (without the background-networking ones Chromium's connections
are refused by this machine's closed network, many at a time) and for the rule that a missing
browser skips on a developer machine but fails under CI (``CI`` set), so a browser test cannot
pass by not running.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(config: dict[str, Any]) -> Iterator[str]:
    """``create_app(config)`` served on a free loopback port; yields its base URL."""
    from werkzeug.serving import make_server

    from searchapp import create_app

    srv = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
