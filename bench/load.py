"""``python -m bench.load --index-dir DIR``: requests per second of the search page under gunicorn.

Starts the production command the README documents (``gunicorn -w W -b 127.0.0.1:PORT
'searchapp:create_app()'``) on a free loopback port, waits until it answers, warms
every worker, drives it with ``wrk`` (Debian's package) for a fixed time, stops it, and
prints one JSON object: requests/s, latency, requests, HTTP errors (non-2xx/3xx) and
socket errors.

The default script (``bench/wrk_uncached.lua``) sends the benchmark's 30 queries with
their facet filters, each request with a different page number so that the engine's
result cache never answers: every request evaluates its query, counts every facet and
renders a page of highlighted snippets.  ``--cached`` uses ``bench/wrk_queries.lua``
(the same 30 URLs repeated: what a cache-friendly load sees).

Only loopback is ever targeted, the run is bounded by ``--seconds``, and the server
is always stopped, also on error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail early when the server process has died."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f} s ({last})")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(out: str) -> dict:
    """The figures of ``wrk --latency`` output: requests/s, requests, latency (ms), errors."""
    res: dict = {}
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    if not m:
        raise ValueError("no 'Requests/sec' line in wrk's output:\n" + out)
    res["requests_per_s"] = float(m.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if m:
        res["requests"] = int(m.group(1))
        res["duration_s"] = round(_ms(m.group(2), m.group(3)) / 1000, 2)
    m = re.search(r"Latency\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)\s+([\d.]+)(us|ms|s|m)", out)
    if m:
        res["latency_mean_ms"] = round(_ms(m.group(1), m.group(2)), 2)
        res["latency_max_ms"] = round(_ms(m.group(5), m.group(6)), 2)
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)", out, re.M)
        if m:
            res[f"latency_p{pct}_ms"] = round(_ms(m.group(1), m.group(2)), 2)
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    res["http_errors"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    return res


def run(index_dir: str | Path, seconds: float = 20.0, connections: int = 4, threads: int = 2,
        workers: int = 2, cached: bool = False, ready_timeout: float = 120.0) -> dict:
    """Start gunicorn on ``index_dir``, load it with wrk for ``seconds``, stop it; the figures."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    gunicorn = shutil.which("gunicorn")
    cmd_g = [gunicorn] if gunicorn else [sys.executable, "-m", "gunicorn"]
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = dict(os.environ, REPORTSEARCH_INDEX_DIR=str(Path(index_dir).resolve()))
    script = HERE / ("wrk_queries.lua" if cached else "wrk_uncached.lua")
    proc = subprocess.Popen(cmd_g + ["-w", str(workers), "-b", f"{HOST}:{port}", "--timeout", "120",
                                     "searchapp:create_app()"], env=env, cwd=str(HERE.parent),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_ready(f"{base}/?q=%E5%8D%AB%E7%94%9F", proc, ready_timeout)
        for _ in range(4 * workers):  # every worker opens its searcher and facet table before timing
            with urllib.request.urlopen(f"{base}/?q=%E5%8C%BB%E7%96%97", timeout=60) as r:
                r.read()
        out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency",
                              "-s", str(script), base], capture_output=True, text=True,
                             timeout=seconds + 120, check=True).stdout
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    res = parse_wrk(out)
    res.update({"server": f"gunicorn -w {workers}", "load": f"wrk -t{threads} -c{connections} -d{int(seconds)}s",
                "script": script.name, "cache_defeated": not cached})
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", required=True, help="an index built by reportsearch index or python -m bench --keep")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long wrk sends requests")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--cached", action="store_true", help="repeat the same 30 URLs (result cache answers)")
    args = ap.parse_args(argv)
    if not Path(args.index_dir).is_dir():
        print(f"error: no index folder {args.index_dir}", file=sys.stderr)
        return 2
    try:
        res = run(args.index_dir, args.seconds, args.connections, args.threads, args.workers, args.cached)
    except (RuntimeError, subprocess.SubprocessError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(res, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
