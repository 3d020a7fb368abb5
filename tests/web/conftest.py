"""Fixtures of the browser tests (``browsing.py`` holds the how): one Chromium per test module, and
the app on the shipped corpus plus ``../shared/corpora`` served on a loopback port.  A module that
needs other settings defines its own ``server``."""
from __future__ import annotations

import pytest
from browsing import chromium, serving


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(full_index):
    with serving({"INDEX_DIR": str(full_index)}) as url:
        yield url
