"""Shared fixtures: paths to ../shared, and one index of the seeds plus the corpora per test session.

Building the index is the expensive step, so the session builds it once and
tests that need their own index (incremental runs, broken files) build small
ones in a temporary folder.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
LABELS = SHARED / "labels" / "seeds.json"
CORPORA = SHARED / "corpora"
PROVINCIAL = CORPORA / "provincial-gov-reports-2026"
NATIONAL = CORPORA / "national-gov-work-reports" / "government_work_reports.jsonl"


def pytest_collection_modifyitems(config, items):
    if not SHARED.is_dir():
        skip = pytest.mark.skip(reason="../shared is not beside the checkout")
        for item in items:
            if "shared" in item.fixturenames:
                item.add_marker(skip)


def shared_texts(shared: Path) -> list[str]:
    """Every text of ../shared: national reports (title + content), provincial reports, seed pages."""
    import csv

    texts = []
    nat = shared / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"
    for line in nat.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        texts.append((d.get("title") or "") + "\n" + d.get("content", ""))
    csv.field_size_limit(1 << 30)
    for f in sorted((shared / "corpora" / "provincial-gov-reports-2026").glob("*.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            texts += [row.get("full_text") or "" for row in csv.DictReader(fh)]
    for f in sorted((shared / "seeds").iterdir()):
        if f.is_file():
            texts.append(f.read_text(encoding="utf-8", errors="replace"))
    return texts


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def labels() -> dict:
    return json.loads(LABELS.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def full_index(tmp_path_factory) -> Path:
    """The shipped corpus (the seeds) plus ../shared/corpora, indexed once."""
    from indexer.pipeline import index_paths

    d = tmp_path_factory.mktemp("full_index")
    summary = index_paths([ROOT / "corpus", CORPORA], d)
    assert summary.documents > 100, summary.as_dict()
    return d


@pytest.fixture(scope="session")
def engine(full_index):
    from searchapp.engine import SearchEngine

    eng = SearchEngine(full_index)
    yield eng
    eng.close()


@pytest.fixture()
def client(full_index):
    from searchapp import create_app

    app = create_app({"INDEX_DIR": str(full_index), "TESTING": True})
    return app.test_client()
