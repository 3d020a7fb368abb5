"""The benchmark runs on a tiny corpus and prints the documented keys (no timing is asserted)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

KEYS = {"docs", "index_mb_per_s", "query_p50_ms", "query_p95_ms", "update_one_s", "index_bytes", "peak_rss_mb"}


def test_corpus_is_deterministic(tmp_path, shared):
    from bench import corpus

    a = corpus.build(tmp_path / "a", 30)
    b = corpus.build(tmp_path / "b", 30)
    assert a.text_bytes == b.text_bytes and a.files == b.files
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    recs = [r for _f, r in corpus.iter_reports(tmp_path / "a")]
    assert len(recs) == 30 and all(r["title"] and r["content"] and r["province"] for r in recs)


def test_bench_prints_the_keys(shared):
    out = subprocess.run([sys.executable, "-m", "bench", "--docs", "40"], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, check=True).stdout
    data = json.loads(out)
    assert KEYS <= set(data) and KEYS <= set(data["baseline"])
    assert {"index_speedup", "query_p95_speedup"} <= set(data["ratio"])
    assert data["docs"] == 40 and data["baseline"]["docs"] == 40 and data["update_visible"]
