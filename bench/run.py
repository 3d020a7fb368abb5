"""Run the benchmark: ours (``indexer.pipeline`` + ``searchapp.engine``) and the textbook baseline.

The baseline is the approach every tutorial shows: ``jieba.analyse.ChineseAnalyzer``
on title and content, facet fields as ID/KEYWORD, one ``ix.writer()`` adding every
report in this process, ``MultifieldParser`` queries, facet counts with
``groupedby`` and snippets from ``hit.highlights`` (which re-segments the stored
text at query time).  Both run in this process on the same corpus files.
"""
from __future__ import annotations

import gc
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import corpus as corpus_mod

log = logging.getLogger(__name__)

# (query, filters) as the UI sends them: single words, several words, quoted phrases,
# with and without facet filters.  Every run asks all 30, each with facet counts and snippets.
QUERIES: list[tuple[str, dict[str, list[str]]]] = [
    ("卫生", {}), ("教育", {}), ("经济", {}), ("改革", {}), ("农业", {}), ("扶贫", {}),
    ("环境", {}), ("就业", {}),
    ("经济 发展", {}), ("医疗 服务", {}), ("基本药物 制度", {}), ("乡村 振兴", {}),
    ("科技 创新 人才", {}), ("生态 环境 保护", {}),
    ('"卫生服务"', {}), ('"深化改革"', {}), ('"人民群众"', {}), ('"高质量发展"', {}),
    ('"全面建成小康社会"', {}), ('"社会保障体系"', {}),
    ("卫生", {"region": ["广东省"]}), ("教育", {"year": ["2018"]}),
    ("经济 发展", {"doc_type": ["工作总结"]}), ('"人民群众"', {"region": ["浙江省"], "year": ["2015"]}),
    ("改革", {"region": ["四川省"], "doc_type": ["政府工作报告"]}), ("就业", {"year": ["2012", "2013"]}),
    ('"高质量发展"', {"region": ["江苏省"]}), ("农业 农村", {"doc_type": ["工作计划", "工作汇报"]}),
    ("", {"region": ["云南省"]}), ("医疗", {"region": ["湖北省"], "year": ["2020"]}),
]
PER_PAGE = 10


def _pss(pid: int) -> int | None:
    """Proportional set size of a process (Linux): shared pages counted once across processes."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss(pid: int) -> int | None:
    """Resident set size from ``/proc/<pid>/statm`` (one small read; psutil's ``memory_info`` reads it too)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class PeakMemory:
    """Samples the memory of this process plus its children (the indexing workers) every 100 ms.

    ``peak_rss`` is the peak of the summed RSS (reported as ``peak_rss_mb``), an
    upper bound: forked workers share the parent's tables copy-on-write, and
    summing RSS counts those pages once per process.  ``peak`` is the peak of
    the summed PSS (proportional set size, ``peak_pss_mb``) where Linux provides
    it, which counts shared pages once: the memory the run really occupies.

    The sampler must cost little: it runs beside the build it measures, and on a
    2-core machine with two busy workers every millisecond it takes is one the
    workers do not get (the single-threaded baseline leaves it a free core).
    Measured: psutil's process tree walk every sample and a PSS read at almost
    every sample took 7 s of CPU during a 77 s build.  So the list of processes
    is refreshed once a second (workers live for the whole run), RSS is read from
    ``statm``, and PSS (``smaps_rollup`` walks a process's page tables, 4–12 ms a
    process, under its memory-map lock) only when it can be a new peak (summed RSS
    above the PSS peak), and then at a new RSS high (at most every 0.3 s) or every
    2 s: measured, 722 PSS reads (3.0 s) of a 20,000-report build with a read at
    every RSS high, about 100 with these limits.
    """

    REFRESH_S = 1.0  # the process list
    PSS_HIGH_S = 0.3  # PSS at a new RSS high, at most this often
    PSS_EVERY_S = 2.0  # and otherwise (while it can be a new peak) this often

    def __init__(self):
        import psutil

        self._p = psutil.Process()
        self._psutil_error = psutil.Error
        self.peak = 0
        self.peak_rss = 0
        self._pids: list[int] = [os.getpid()]
        self._pids_at = -1e9
        self._pss_at = -1e9
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _refresh(self, now: float) -> None:
        if now - self._pids_at >= self.REFRESH_S:
            try:
                self._pids = [self._p.pid] + [c.pid for c in self._p.children(recursive=True)]
            except self._psutil_error as exc:  # a child exited mid-walk: keep the last list until the next refresh
                log.debug("process tree walk failed: %r", exc)
            self._pids_at = now

    def _sample(self, force: bool = False) -> tuple[int, int]:
        now = time.monotonic()
        self._refresh(now)
        rss_of = {}
        for pid in self._pids:
            r = _rss(pid)
            if r is not None:
                rss_of[pid] = r
        rss = sum(rss_of.values())
        # PSS is never above RSS, so while the summed RSS is at most the PSS peak the PSS
        # cannot be a new peak: skip reading it; otherwise read it at RSS highs, or once a second.
        if rss <= self.peak:
            return 0, rss
        since = now - self._pss_at
        if not force and since < self.PSS_EVERY_S and not (rss >= self.peak_rss and since >= self.PSS_HIGH_S):
            return 0, rss
        self._pss_at = now
        pss = sum((_pss(pid) or r) for pid, r in rss_of.items())
        return pss, rss

    def _update(self, force: bool = False) -> None:
        pss, rss = self._sample(force)
        self.peak = max(self.peak, pss)
        self.peak_rss = max(self.peak_rss, rss)

    def _run(self):
        while not self._stop.is_set():
            try:
                self._update()
            except Exception as exc:  # noqa: BLE001 - the sampler thread must outlive any one failed sample
                log.debug("memory sample failed: %r", exc)
            self._stop.wait(0.1)

    def __enter__(self):
        self._update(force=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self._pids_at = -1e9
        self._update(force=True)


def _fresh_dir(path: Path) -> Path:
    """An empty folder at ``path``: a kept ``--work-dir`` must not turn the next run's full build
    into an incremental update of the index left there (it did: a 20,000-report "build" of 1 s)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def _time_queries(one: Callable[[str, dict], int]) -> tuple[list[float], list[int]]:
    """Each of :data:`QUERIES` run once by ``one`` (which returns the total): milliseconds and totals."""
    lat, totals = [], []
    for q, f in QUERIES:
        t = time.perf_counter()
        totals.append(one(q, f))
        lat.append((time.perf_counter() - t) * 1000)
    return lat, totals


def _percentiles(ms: list[float], prefix: str = "") -> dict[str, float]:
    s = sorted(ms)
    def pct(p: float) -> float:
        if not s:
            return 0.0
        k = (len(s) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)
    return {f"{prefix}query_p50_ms": round(pct(0.50), 2), f"{prefix}query_p95_ms": round(pct(0.95), 2),
            f"{prefix}query_p99_ms": round(pct(0.99), 2),
            f"{prefix}query_mean_ms": round(statistics.fmean(s), 2) if s else 0.0}


# -- ours ----------------------------------------------------------------------------------------

def run_ours(info: corpus_mod.CorpusInfo, work: Path, workers: int | None) -> dict:
    from indexer.pipeline import index_paths
    from searchapp.engine import SearchEngine
    from searchapp.facets import Filters

    index_dir = _fresh_dir(work / "ours-index")
    gc.collect()
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        summary = index_paths([info.folder], index_dir, workers=workers)
        build_s = time.perf_counter() - t0
        eng = SearchEngine(index_dir)
        eng.search("启动")  # open the searcher, read the facet table (as a server's first request would)
        def one(q: str, f: dict) -> int:
            res = eng.search(q, Filters(**f), per_page=PER_PAGE)
            _ = [str(h.snippet) for h in res.hits]  # snippets as the page renders them
            return res.total

        lat, totals = _time_queries(one)  # cold: the first time each query is asked
        eng.forget_results()  # the result cache must not answer the second pass either
        warm, _t = _time_queries(one)
        corpus_mod.change_single(info.folder, 1)
        t = time.perf_counter()
        upd = index_paths([info.folder], index_dir, workers=workers)
        update_s = time.perf_counter() - t
        t = time.perf_counter()
        after = eng.search('"基层医疗卫生服务能力建设"', per_page=PER_PAGE)  # sees the change
        first_after_update_ms = (time.perf_counter() - t) * 1000
        eng.close()
    out = {
        "docs": summary.documents, "build_s": round(build_s, 2),
        "docs_per_s": round(summary.documents / build_s, 1),
        "index_mb_per_s": round(info.text_bytes / 1e6 / build_s, 3),
        "index_bytes": _dir_bytes(index_dir), "peak_rss_mb": round(mem.peak_rss / 2**20, 1),
        "peak_pss_mb": round(mem.peak / 2**20, 1),
        **_percentiles(lat), **_percentiles(warm, "warm_"),
        "update_one_s": round(update_s, 3), "update_changed_docs": upd.updated,
        "first_query_after_update_ms": round(first_after_update_ms, 2),
        "update_visible": after.total > 0,
        "timings": {k: round(v, 2) for k, v in summary.timings.items()},
        "totals": totals,
    }
    return out


# -- the textbook baseline -----------------------------------------------------------------------

def _baseline_schema():
    from jieba.analyse import ChineseAnalyzer
    from whoosh.fields import ID, KEYWORD, TEXT, Schema

    ana = ChineseAnalyzer()
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer=ana, stored=True, field_boost=3.0),
                  content=TEXT(analyzer=ana, stored=True), region=KEYWORD(stored=True, commas=True),
                  year=ID(stored=True), topic=KEYWORD(stored=True, commas=True), doc_type=ID(stored=True))


def _baseline_fields(n: int, rec: dict) -> dict:
    from .corpus import DOC_TYPES, TOPICS

    title = rec["title"]
    dtype = next((d for d, _w in DOC_TYPES if title.endswith(d)), "其他")
    topics = [t for t in TOPICS if t in title] or ["未知"]
    return {"id": str(n), "title": title, "content": rec["content"], "region": rec["province"],
            "year": rec["year"], "topic": ",".join(topics), "doc_type": dtype}


def _baseline_filter(f: dict[str, list[str]]):
    from whoosh import query as Q

    names = {"region": "region", "year": "year", "topic": "topic", "doc_type": "doc_type"}
    parts = []
    for k, vals in f.items():
        alts = [Q.Term(names[k], v) for v in vals]
        parts.append(alts[0] if len(alts) == 1 else Q.Or(alts))
    return (parts[0] if len(parts) == 1 else Q.And(parts)) if parts else None


def run_baseline(info: corpus_mod.CorpusInfo, work: Path) -> dict:
    from whoosh import index as windex
    from whoosh import sorting
    from whoosh.highlight import HtmlFormatter
    from whoosh.qparser import MultifieldParser
    from whoosh.query import Every

    index_dir = _fresh_dir(work / "baseline-index")
    gc.collect()
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        ix = windex.create_in(str(index_dir), _baseline_schema())
        w = ix.writer()
        n = 0
        for _f, rec in corpus_mod.iter_reports(info.folder):
            w.add_document(**_baseline_fields(n, rec))
            n += 1
        w.commit()
        build_s = time.perf_counter() - t0
        parser = MultifieldParser(["title", "content"], ix.schema)
        facets = {k: sorting.FieldFacet(k, allow_overlap=k in ("region", "topic")) for k in
                  ("region", "year", "topic", "doc_type")}
        with ix.searcher() as s:
            s.search(parser.parse("启动"), limit=1)

            def one(q: str, f: dict) -> int:
                wq = parser.parse(q) if q.strip() else Every()
                res = s.search(wq, limit=PER_PAGE, filter=_baseline_filter(f), groupedby=facets)
                res.formatter = HtmlFormatter(tagname="mark")
                counts = {k: {str(v): len(d) for v, d in res.groups(k).items()} for k in facets}
                # the page's hits only: with groupedby, Whoosh's Results hold every match, so
                # ``for h in res`` would highlight all of them (hundreds of documents re-segmented)
                snippets = [h.highlights("content") or h["content"][:160] for h in res[:PER_PAGE]]
                del counts, snippets
                return len(res)

            lat, totals = _time_queries(one)
            warm, _t = _time_queries(one)
        # one changed document, the textbook way: update_document in a new writer, commit
        rec = next(r for _f, r in corpus_mod.iter_reports(info.folder))
        t = time.perf_counter()
        w = ix.writer()
        w.update_document(**_baseline_fields(0, rec))
        w.commit()
        update_s = time.perf_counter() - t
    return {
        "docs": n, "build_s": round(build_s, 2), "docs_per_s": round(n / build_s, 1),
        "index_mb_per_s": round(info.text_bytes / 1e6 / build_s, 3),
        "index_bytes": _dir_bytes(index_dir), "peak_rss_mb": round(mem.peak_rss / 2**20, 1),
        "peak_pss_mb": round(mem.peak / 2**20, 1),
        **_percentiles(lat), **_percentiles(warm, "warm_"), "update_one_s": round(update_s, 3), "totals": totals,
    }


def run(docs: int, skip_baseline: bool = False, workers: int | None = None, work_dir: str | None = None,
        keep: bool = False) -> dict:
    base = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="reportsearch-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        info = corpus_mod.build(base / "corpus", docs)
        corpus_s = time.perf_counter() - t
        out: dict = {"docs": docs, "corpus_mb": round(info.text_bytes / 1e6, 2), "corpus_files": info.files,
                     "corpus_build_s": round(corpus_s, 2), "cores": os.cpu_count(), "queries": len(QUERIES)}
        ours = run_ours(info, base, workers)
        out.update({k: v for k, v in ours.items() if k != "docs"})
        out["indexed_docs"] = ours["docs"]
        if not skip_baseline:
            corpus_mod.change_single(info.folder, 0)
            bl = run_baseline(info, base)
            out["baseline"] = bl
            out["ratio"] = {
                "index_speedup": round(ours["index_mb_per_s"] / bl["index_mb_per_s"], 2) if bl["index_mb_per_s"] else None,
                "query_p95_speedup": round(bl["query_p95_ms"] / ours["query_p95_ms"], 2) if ours["query_p95_ms"] else None,
                "query_p50_speedup": round(bl["query_p50_ms"] / ours["query_p50_ms"], 2) if ours["query_p50_ms"] else None,
                "warm_query_p95_speedup": (round(bl["warm_query_p95_ms"] / ours["warm_query_p95_ms"], 2)
                                           if ours["warm_query_p95_ms"] else None),
                "update_speedup": round(bl["update_one_s"] / ours["update_one_s"], 2) if ours["update_one_s"] else None,
            }
        return out
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
