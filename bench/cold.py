"""``python -m bench.cold --index-dir DIR``: the 30 benchmark queries on a cold page cache, with and
without reading ahead.

Why: the first-pass figures of ``python -m bench`` depend on what the operating
system happens to keep cached (on the project machine a DAMON reclaim pages out
file pages untouched for about a minute), so they vary from run to run.  This
empties the page cache (``/proc/sys/vm/drop_caches``: needs root) before each
mode, opens a fresh engine, answers one query to open the searcher (as a server's
first request would) and times every query once, as the benchmark's first pass
does: first with ``postings.prefetch`` switched off, then on.  One JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from .run import PER_PAGE, _percentiles, _time_queries


def drop_caches() -> bool:
    """Write back and drop the page cache; False when not permitted (not root)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def cold_pass(index_dir: Path, read_ahead: bool) -> dict:
    from indexer.engine import fastquery
    from searchapp.engine import SearchEngine
    from searchapp.facets import Filters

    orig = fastquery.Evaluator.prefetch
    if not read_ahead:
        fastquery.Evaluator.prefetch = lambda self, q: {}  # no lookups made ahead
    try:
        dropped = drop_caches()
        eng = SearchEngine(index_dir)
        t = time.perf_counter()
        eng.search("启动")
        open_ms = (time.perf_counter() - t) * 1000

        def one(q: str, f: dict) -> int:
            res = eng.search(q, Filters(**f), per_page=PER_PAGE)
            _ = [str(h.snippet) for h in res.hits]
            return res.total

        lat, totals = _time_queries(one)
        eng.close()
    finally:
        fastquery.Evaluator.prefetch = orig
    return {"cache_dropped": dropped, "open_ms": round(open_ms, 1), **_percentiles(lat),
            "ms": [round(x, 1) for x in lat], "totals": totals}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.cold", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", required=True, type=Path)
    args = ap.parse_args(argv)
    from indexer.engine.store import index_exists

    if not index_exists(args.index_dir):
        ap.error(f"{args.index_dir} is not an index folder")
    off = cold_pass(args.index_dir, read_ahead=False)
    on = cold_pass(args.index_dir, read_ahead=True)
    out = {"index_dir": str(args.index_dir), "no_read_ahead": off, "read_ahead": on,
           "same_totals": off["totals"] == on["totals"],
           "p95_speedup": round(off["query_p95_ms"] / on["query_p95_ms"], 2) if on["query_p95_ms"] else None}
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
