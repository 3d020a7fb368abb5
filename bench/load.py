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

``--mixed`` (issue 22) drives the same server with ``--clients`` (default 20) concurrent
clients instead of wrk, each sending, one after the other, a random mix of normal queries,
zero-result queries, facet-heavy requests (several filters, the HTML page with its facet
sidebar) and hostile ones (dozens of single characters, 128-term queries, odd year
parameters); nearly every request is a different URL, so the result cache seldom answers.
It runs twice: for ``--seconds`` with the index at rest, then for as long as
``reportsearch index`` takes to add ``--index-docs`` new reports to it, its commit and the
servers' reopen included (on a copy of ``--index-dir``, which is never modified).  It
prints latency percentiles per phase and per kind of request, errors, the load average,
and whether each target is met: p95 < 300 ms at rest, p95 < 1 s while
indexing, no request over 2 s, no error.

Only loopback is ever targeted, the run is bounded by ``--seconds``, and the server
is always stopped, also on error or Ctrl-C.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
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
        m = re.search(rf"^\s*{pct}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)", out, re.MULTILINE)
        if m:
            res[f"latency_p{pct}_ms"] = round(_ms(m.group(1), m.group(2)), 2)
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    res["http_errors"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    return res


@contextlib.contextmanager
def gunicorn(index_dir: str | Path, workers: int = 2, ready_timeout: float = 120.0) -> Iterator[str]:
    """The README's production command on a free loopback port, warmed; yields its base URL, then stops it."""
    exe = shutil.which("gunicorn")
    cmd_g = [exe] if exe else [sys.executable, "-m", "gunicorn"]
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = dict(os.environ, REPORTSEARCH_INDEX_DIR=str(Path(index_dir).resolve()))
    proc = subprocess.Popen(cmd_g + ["-w", str(workers), "-b", f"{HOST}:{port}", "--timeout", "120",
                                     "searchapp:create_app()"], env=env, cwd=str(HERE.parent),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_ready(f"{base}/?q=%E5%8D%AB%E7%94%9F", proc, ready_timeout)
        for _ in range(4 * workers):  # every worker opens its searcher and facet table before timing
            with urllib.request.urlopen(f"{base}/?q=%E5%8C%BB%E7%96%97", timeout=60) as r:
                r.read()
        yield base
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


def run(index_dir: str | Path, seconds: float = 20.0, connections: int = 4, threads: int = 2,
        workers: int = 2, cached: bool = False, ready_timeout: float = 120.0) -> dict:
    """Start gunicorn on ``index_dir``, load it with wrk for ``seconds``, stop it; the figures."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    script = HERE / ("wrk_queries.lua" if cached else "wrk_uncached.lua")
    with gunicorn(index_dir, workers, ready_timeout) as base:
        out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, int(seconds))}s", "--latency",
                              "-s", str(script), base], capture_output=True, text=True,
                             timeout=seconds + 120, check=True).stdout
    res = parse_wrk(out)
    res.update({"server": f"gunicorn -w {workers}", "load": f"wrk -t{threads} -c{connections} -d{int(seconds)}s",
                "script": script.name, "cache_defeated": not cached})
    return res


# -- the mixed load of issue 22 ------------------------------------------------------------------

NORMAL = ["卫生", "教育", "经济 发展", "医疗 服务", "基本药物 制度", "乡村 振兴", "科技 创新 人才", '"卫生服务"',
          '"深化改革"', '"人民群众"', '"高质量发展"', "教育 OR 医疗", "经济 发展 -农业", "安全生产", "生态环境 保护",
          "社会保障", "扶贫 攻坚", "交通 建设", "党建 工作", "公共卫生 | 疾病预防", "营商环境", "就业 创业",
          "养老 服务", "污染 防治", "城乡 统筹", "财政 收入", "招商引资", "民生 实事"]
REGIONS = ["广东省", "浙江省", "江苏省", "山东省", "河南省", "四川省", "湖北省", "安徽省", "宿州市", "杭州市", "成都市"]
TOPICS = ["医疗卫生", "教育", "乡村振兴", "安全生产", "生态环境", "科技创新", "社会保障", "党建", "扶贫", "交通"]
DOC_TYPES = ["工作总结", "工作计划", "工作汇报", "经验交流材料", "政府工作报告"]
COMMON_CHARS = ("的一是在不了有和人这中大为上个国我以要发展工作经济社会卫生教育医疗服务改革建设制度农村城市年"
                "加强推进提高完善落实全面深化创新质量水平体系管理安全环境生态产业企业项目资金政策群众基层")
KIND_WEIGHTS = [("normal", 50), ("zero", 15), ("facets", 20), ("hostile", 15)]
INDEX_PHASE_CAP = 20  # the indexing phase ends with the run, or after this many times --seconds
TARGETS = {"p95_ms_at_rest": 300.0, "p95_ms_indexing": 1000.0, "max_ms": 2000.0}


def mixed_request(rnd: random.Random) -> tuple[str, str]:
    """(kind, path with query string) of one request of the mix; ``rnd`` makes it reproducible."""
    x = rnd.uniform(0, sum(w for _k, w in KIND_WEIGHTS))
    kind = KIND_WEIGHTS[-1][0]
    for k, w in KIND_WEIGHTS:
        if x < w:
            kind = k
            break
        x -= w
    path = rnd.choice(["/api/search", "/api/search", "/"])
    args: list[tuple[str, str]] = []
    if kind == "normal":
        q = rnd.choice(NORMAL) if rnd.random() < 0.5 else f"{rnd.choice(NORMAL)} OR {rnd.choice(NORMAL)}"
        args = [("q", q), ("page", str(rnd.randint(1, 5)))]
        if rnd.random() < 0.3:
            args.append(("sort", rnd.choice(["year", "year_asc"])))
    elif kind == "zero":
        nonsense = "".join(rnd.choice("㐀㐁㐂㐃㐄㐅㐆㐇㐈㐉") for _ in range(rnd.randint(2, 6)))
        args = [("q", rnd.choice([f"zzqx{rnd.randint(0, 10**6)}", nonsense, f"{rnd.choice(NORMAL)} {nonsense}"]))]
        if rnd.random() < 0.5:
            args += rnd.choice([[("year_from", "-1")], [("region", "不存在省")], [("topic", "未知主题x")]])
    elif kind == "facets":
        path = rnd.choice(["/", "/api/search"])
        args = [("q", rnd.choice(["", "", rnd.choice(NORMAL)]))]
        args += [("region", r) for r in rnd.sample(REGIONS, rnd.randint(0, 1))]
        args += [("year", str(y)) for y in rnd.sample(range(2005, 2026), rnd.randint(0, 3))]
        args += [("topic", t) for t in rnd.sample(TOPICS, rnd.randint(0, 2))]
        args += [("doc_type", d) for d in rnd.sample(DOC_TYPES, rnd.randint(0, 2))]
        if rnd.random() < 0.4:
            lo = rnd.randint(2005, 2020)
            args += [("year_from", str(lo)), ("year_to", str(lo + rnd.randint(0, 5)))]
        args += [("sort", rnd.choice(["relevance", "year"])), ("page", str(rnd.randint(1, 3)))]
    else:
        style = rnd.randrange(3)
        if style == 0:  # dozens of different single characters
            q = " ".join(rnd.sample(COMMON_CHARS, rnd.randint(30, 60)))
        elif style == 1:  # 128 terms
            q = " ".join(rnd.choice(COMMON_CHARS) + rnd.choice(COMMON_CHARS) for _ in range(128))
        else:  # odd year parameters
            q = rnd.choice(NORMAL + ["zzzzqx"])
            args += [("year_from", rnd.choice(["-1", "99999999999", "abc", "2030"])),
                     ("year_to", rnd.choice(["-5", "1e9", "", "1900"]))]
        args.insert(0, ("q", q))
        args.append(("page", str(rnd.randint(1, 3))))
    return kind, path + "?" + urllib.parse.urlencode(args)


def _get(base: str, path: str, timeout: float) -> int:
    """One GET on a new connection (gunicorn's sync workers close each one); the status, body read."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname or HOST, u.port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def _percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    k = min(len(sorted_ms) - 1, max(0, round(p / 100 * len(sorted_ms) + 0.5) - 1))
    return round(sorted_ms[k], 1)


def summarize(samples: list[tuple[str, float, int]], seconds: float) -> dict:
    """Figures of one phase: ``samples`` are (kind, milliseconds, status; 0 for a failed request)."""
    def figures(rows: list[tuple[str, float, int]]) -> dict:
        ms = sorted(r[1] for r in rows)
        return {"requests": len(rows), "p50_ms": _percentile(ms, 50), "p95_ms": _percentile(ms, 95),
                "p99_ms": _percentile(ms, 99), "max_ms": round(ms[-1], 1) if ms else 0.0,
                "errors": sum(1 for r in rows if r[2] != 200), "over_2s": sum(1 for m in ms if m > 2000)}

    out = figures(samples)
    out["requests_per_s"] = round(len(samples) / seconds, 1) if seconds else 0.0
    out["seconds"] = round(seconds, 1)
    out["by_kind"] = {k: figures([r for r in samples if r[0] == k]) for k, _w in KIND_WEIGHTS}
    return out


def drive(base: str, clients: int, seconds: float, seed: int, stop: threading.Event | None = None,
          timeout: float = 30.0, think_ms: float = 0.0) -> dict:
    """``clients`` threads each sending the mix for ``seconds`` (or until ``stop``): back to back,
    or after a pause of ``think_ms`` on average (exponentially distributed) between requests."""
    samples: list[tuple[str, float, int]] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds
    stop = stop or threading.Event()

    def client(k: int) -> None:
        rnd = random.Random(seed * 1000 + k)
        while time.monotonic() < end and not stop.is_set():
            kind, path = mixed_request(rnd)
            t = time.perf_counter()
            try:
                status = _get(base, path, timeout)
            except OSError:
                status = 0
            ms = (time.perf_counter() - t) * 1000
            with lock:
                samples.append((kind, ms, status))
            if think_ms > 0:
                stop.wait(min(rnd.expovariate(1000.0 / think_ms), max(0.0, end - time.monotonic())))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 5)
    return summarize(samples, time.monotonic() - started)


def run_mixed(index_dir: str | Path, seconds: float = 30.0, clients: int = 20, workers: int = 2,
              index_docs: int = 2000, index_workers: int = 1, seed: int = 22,
              ready_timeout: float = 120.0, work_dir: str | Path | None = None, think_ms: float = 0.0) -> dict:
    """The mixed load at rest and during an indexing run, on a copy of ``index_dir``; the figures and targets."""
    from bench import corpus

    work = Path(tempfile.mkdtemp(prefix="bench-load-", dir=work_dir))
    try:
        served = work / "index"
        shutil.copytree(index_dir, served, symlinks=True)
        extra = work / "extra"
        if index_docs:
            corpus.build(extra, index_docs, seed=corpus.SEED + 22)
        res: dict = {"server": f"gunicorn -w {workers}", "clients": clients, "think_ms": think_ms,
                     "seconds_per_phase": seconds,
                     "load_average_start": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}
        with gunicorn(served, workers, ready_timeout) as base:
            res["at_rest"] = drive(base, clients, seconds, seed, think_ms=think_ms)
            if index_docs:
                cmd = [sys.executable, "-m", "searchapp.cli", "index", str(extra), "--index-dir", str(served),
                       "--workers", str(index_workers), "--quiet"]
                env = dict(os.environ)
                started = time.monotonic()
                ix = subprocess.Popen(cmd, cwd=str(HERE.parent), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
                stop = threading.Event()
                def watch() -> None:  # the indexing phase ends with the run
                    ix.wait()
                    stop.set()

                watcher = threading.Thread(target=watch, daemon=True)
                watcher.start()
                try:
                    # the phase lasts as long as the run (its commit and the reopen included), at most
                    # INDEX_PHASE_CAP times --seconds
                    res["indexing"] = drive(base, clients, seconds * INDEX_PHASE_CAP, seed + 1, stop=stop,
                                            think_ms=think_ms)
                    finished_in_phase = stop.is_set()
                finally:
                    if ix.poll() is None:  # the phase ended first: let the run finish, unmeasured
                        try:
                            ix.wait(timeout=1800)
                        except subprocess.TimeoutExpired:
                            os.killpg(ix.pid, signal.SIGKILL)
                            ix.wait()
                res["indexing"]["index_run"] = {
                    "command": f"reportsearch index <{index_docs} new reports> --workers {index_workers}",
                    "status": ix.returncode, "run_s": round(time.monotonic() - started, 1),
                    "phase_ended_with_the_run": finished_in_phase}
                if ix.returncode != 0:
                    raise RuntimeError("the indexing run failed: " + (ix.stderr.read().decode()[-2000:]
                                                                     if ix.stderr else ""))
        res["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rest = res["at_rest"]
    phases = [rest] + ([res["indexing"]] if "indexing" in res else [])
    res["targets"] = {
        "p95_under_300ms_at_rest": rest["p95_ms"] < TARGETS["p95_ms_at_rest"],
        "p95_under_1s_while_indexing": (res["indexing"]["p95_ms"] < TARGETS["p95_ms_indexing"]
                                        if "indexing" in res else None),
        "no_request_over_2s": all(p["max_ms"] <= TARGETS["max_ms"] for p in phases),
        "zero_errors": all(p["errors"] == 0 for p in phases),
    }
    res["all_targets_met"] = all(v for v in res["targets"].values() if v is not None)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--index-dir", required=True, help="an index built by reportsearch index or python -m bench --keep")
    ap.add_argument("--seconds", type=float, default=20.0, help="how long requests are sent (per phase with --mixed)")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    ap.add_argument("--cached", action="store_true", help="repeat the same 30 URLs (result cache answers)")
    ap.add_argument("--mixed", action="store_true",
                    help="concurrent clients with normal, zero-result, facet-heavy and hostile requests, "
                         "at rest and during an indexing run, with the targets (no wrk needed)")
    ap.add_argument("--clients", type=int, default=20, help="--mixed: concurrent clients")
    ap.add_argument("--index-docs", type=int, default=2000,
                    help="--mixed: new reports indexed during the second phase (0: no indexing phase)")
    ap.add_argument("--index-workers", type=int, default=1, help="--mixed: workers of that indexing run")
    ap.add_argument("--seed", type=int, default=22, help="--mixed: the request mix's random seed")
    ap.add_argument("--think-ms", type=float, default=0.0,
                    help="--mixed: each client's mean pause between requests (0: back to back)")
    args = ap.parse_args(argv)
    if not Path(args.index_dir).is_dir():
        print(f"error: no index folder {args.index_dir}", file=sys.stderr)
        return 2
    try:
        if args.mixed:
            res = run_mixed(args.index_dir, args.seconds, args.clients, args.workers, args.index_docs,
                            args.index_workers, args.seed, think_ms=args.think_ms)
        else:
            res = run(args.index_dir, args.seconds, args.connections, args.threads, args.workers, args.cached)
    except (RuntimeError, subprocess.SubprocessError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    json.dump(res, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
