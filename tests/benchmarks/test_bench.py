"""The benchmark runs on a tiny corpus and prints the documented keys (no timing is asserted)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

KEYS = {"docs", "index_mb_per_s", "query_p50_ms", "query_p95_ms", "update_one_s", "index_bytes", "peak_rss_mb",
        "warm_query_p50_ms", "warm_query_p95_ms"}


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
    assert {"index_speedup", "query_p95_speedup", "warm_query_p95_speedup"} <= set(data["ratio"])
    assert data["docs"] == 40 and data["baseline"]["docs"] == 40 and data["update_visible"]


WRK_SAMPLE = """Running 2s test @ http://127.0.0.1:40000
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    35.12ms   10.01ms 120.50ms   70.00%
    Req/Sec    56.50     10.11    80.00     65.00%
  Latency Distribution
     50%   33.00ms
     75%   40.00ms
     90%   48.00ms
     99%    1.10s
  226 requests in 2.01s, 9.12MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:    112.44
Transfer/sec:      4.54MB
"""


def test_wrk_output_is_parsed_with_its_units():
    from bench.load import parse_wrk

    r = parse_wrk(WRK_SAMPLE)
    assert r["requests_per_s"] == 112.44 and r["requests"] == 226 and r["duration_s"] == 2.01
    assert r["latency_mean_ms"] == 35.12 and r["latency_max_ms"] == 120.5
    assert r["latency_p50_ms"] == 33.0 and r["latency_p99_ms"] == 1100.0
    assert r["http_errors"] == 3 and r["socket_errors"] == 3


def test_load_benchmark_serves_the_search_page_under_gunicorn(full_index):
    """The documented production command answers real requests with no error (the rate is not asserted)."""
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (.ci/run installs Debian's wrk)")
    out = subprocess.run([sys.executable, "-m", "bench.load", "--index-dir", str(full_index), "--seconds", "2"],
                         cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["requests"] > 0 and data["requests_per_s"] > 0
    assert data["http_errors"] == 0 and data["socket_errors"] == 0
    assert data["cache_defeated"] and data["server"] == "gunicorn -w 2"


def test_load_benchmark_refuses_a_missing_index(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.load", "--index-dir", str(tmp_path / "nope")],
                         cwd=ROOT, check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no index folder" in out.stderr


def test_baseline_highlights_only_the_page(tmp_path, shared, monkeypatch):
    """The textbook baseline re-segments the page's hits, not every match (grouped Results hold all)."""
    from whoosh.searching import Hit

    from bench import corpus, run

    info = corpus.build(tmp_path / "corpus", 60)
    calls = []
    real = Hit.highlights

    def counting(self, *a, **k):
        calls.append(self.docnum)
        return real(self, *a, **k)

    monkeypatch.setattr(Hit, "highlights", counting)
    out = run.run_baseline(info, tmp_path)
    assert max(out["totals"]) > run.PER_PAGE  # some query matches more than a page
    assert 0 < len(calls) <= 2 * len(run.QUERIES) * run.PER_PAGE  # two passes, a page each


def test_cold_benchmark_gives_the_same_answers_with_and_without_read_ahead(full_index):
    from bench.cold import cold_pass

    off = cold_pass(full_index, read_ahead=False)
    on = cold_pass(full_index, read_ahead=True)
    assert off["totals"] == on["totals"] and any(off["totals"])
    assert on["query_p95_ms"] > 0


def test_prefetch_asks_for_the_posting_lists_a_query_reads(full_index):
    """Every segment's lookup is settled (found, or certainly absent), and the idf it gives
    is the one Whoosh computes."""
    from whoosh import query as Q

    from indexer.engine import store
    from indexer.engine.fastquery import Evaluator
    from indexer.engine.postings import prefetch

    ix = store.open_index(full_index)
    with ix.searcher() as s:
        ev = Evaluator(s)
        leaves = ev.leaves
        tb = "卫生".encode()
        has = [("content", tb) in r for r, _o in leaves]
        assert any(has)
        got = prefetch(leaves, [("content", tb), ("content", "一二三四五六七不存在".encode())])
        assert [got[(li, "content", tb)] is not None for li in range(len(leaves))] == has
        assert all(got[(li, "content", "一二三四五六七不存在".encode())] is None for li in range(len(leaves)))
        q = Q.And([Q.Term("content", "卫生"), Q.Term("title", "一二三四五六七不存在")])
        infos = ev.prefetch(q)
        assert sum(v is not None for v in infos.values()) == sum(has)
        expect = s.weighting.idf(s, "content", tb)  # Whoosh's own computation
        assert s._idf_cache[("content", tb)] == expect
        ev.evaluate(Q.Term("content", "卫生"))
        assert ev.prefetch(Q.Term("content", "卫生")) == {}  # cached: nothing to look up


def test_peak_memory_sees_a_peak_that_is_gone_at_the_end():
    """The sampler skips reading PSS only when it cannot be a new peak: a 300 MB allocation
    that is freed before the block ends still shows in both peaks."""
    import time

    from bench.run import PeakMemory

    with PeakMemory() as mem:
        base = mem.peak
        blob = bytearray(300 * 2**20)  # zero-filled: every page touched
        time.sleep(0.5)
        del blob
        time.sleep(0.3)
    assert mem.peak - base > 250 * 2**20
    assert mem.peak_rss >= mem.peak


def test_prefetch_lookups_equal_whooshs_term_info(full_index):
    """The record read by ``prefetch`` itself is the TermInfo Whoosh's lookup returns, for every
    segment of hundreds of terms (present in some segments, absent from others)."""
    from indexer.engine import store
    from indexer.engine.postings import prefetch

    ix = store.open_index(full_index)
    with ix.searcher() as s:
        leaves = [(ls.reader(), off) for ls, off in s.leaf_searchers()]
        keys = []
        for fieldname in ("content", "title", "grams", "region"):
            lex = list(s.reader().lexicon(fieldname))
            keys += [(fieldname, t) for t in lex[:: max(1, len(lex) // 100)]]
        keys.append(("content", "一二三四五六七不存在".encode()))
        got = prefetch(leaves, keys)
        settled = 0
        for li, (r, _o) in enumerate(leaves):
            for fieldname, tb in keys:
                if (li, fieldname, tb) not in got:
                    continue
                settled += 1
                ti = got[(li, fieldname, tb)]
                if (fieldname, tb) in r:
                    assert ti is not None and vars(ti) == vars(r._terms.term_info(fieldname, tb))
                else:
                    assert ti is None
        assert settled == len(keys) * len(leaves)  # every lookup settled: probing reads whole runs


def test_a_kept_work_folder_is_built_again_from_scratch(tmp_path, shared):
    """Run twice on one ``--work-dir --keep``: the second run builds both indexes anew (every
    segment file is newer than its start), rather than updating the index the first one left."""
    import time

    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "bench", "--docs", "40", "--work-dir", str(work), "--keep"]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=True)
    started = time.time()
    time.sleep(1.1)  # coarse file times: the second run's files must be distinguishable
    data = json.loads(subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, check=True).stdout)
    assert data["docs"] == 40 and data["baseline"]["docs"] == 40
    for name in ("ours-index", "baseline-index"):
        segs = [f for f in (work / name).iterdir() if f.suffix in (".trm", ".seg", ".pst")]
        assert segs and all(f.stat().st_mtime >= started for f in segs), name
