"""Ranking quality on hand-judged queries: this product against the textbook Whoosh + jieba setup.

``python -m searchapp.evaluate_relevance`` indexes the shared corpora and seeds
(``../shared/corpora``, ``../shared/seeds``) into a temporary folder, asks every
query of ``tests/data/relevance.json`` of this product (``SearchEngine.search``,
first page, near-duplicate copies shown once, as a user sees it) and of the
baseline every tutorial shows (``jieba.analyse.ChineseAnalyzer`` on title and
content, title boosted ×3, ``MultifieldParser``, the same clean documents), and
prints P@5, nDCG@10 and MRR for both, for the queries used while tuning and for
the held-out ones apart.  ``--min-p5/--min-ndcg/--min-mrr`` make it exit 1 when
this product falls below a floor (CI runs it so).

Reports are judged by identity (title and year; region for untitled reports),
not by document id, so the judgments survive re-indexing.
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "relevance.json"
SHARED = ROOT.parent / "shared"
INPUTS = (SHARED / "corpora", SHARED / "seeds")
DEPTH = 10

Key = tuple[str, Any, str]


def report_key(title: str, year: Any, region: str) -> Key:
    """A report's identity: its title and year; the region only distinguishes untitled reports."""
    title = (title or "").strip()
    return (title, year, "" if title else region)


def load(path: Path = DATA) -> list[dict[str, Any]]:
    """The judged queries: ``q``, ``split`` (tune / heldout) and ``grades`` (report key → 1 or 2)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for item in data["queries"]:
        grades = {report_key(r["title"], r.get("year"), r.get("region", "")): int(r.get("grade", 1))
                  for r in item["relevant"]}
        out.append({"q": item["q"], "split": item.get("split", "tune"), "kind": item.get("kind", ""),
                    "grades": grades})
    return out


# -- metrics ----------------------------------------------------------------------------------

def precision_at(ranked: list[Key], grades: dict[Key, int], k: int = 5) -> float:
    return sum(1 for key in ranked[:k] if grades.get(key, 0) > 0) / k


def ndcg_at(ranked: list[Key], grades: dict[Key, int], k: int = DEPTH) -> float:
    """nDCG with gains 2^grade − 1; a report listed twice counts once."""
    seen: set[Key] = set()
    dcg = 0.0
    for i, key in enumerate(ranked[:k]):
        if key in seen:
            continue
        seen.add(key)
        dcg += (2 ** grades.get(key, 0) - 1) / math.log2(i + 2)
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def reciprocal_rank(ranked: list[Key], grades: dict[Key, int], k: int = DEPTH) -> float:
    for i, key in enumerate(ranked[:k]):
        if grades.get(key, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def ideal_p5(grades: dict[Key, int]) -> float:
    return min(5, sum(1 for g in grades.values() if g > 0)) / 5


def score(queries: list[dict[str, Any]], rank: Callable[[str], list[Key]]) -> dict[str, Any]:
    """Per-query figures and their means over each split and over all queries."""
    rows = []
    for item in queries:
        ranked = rank(item["q"])
        rows.append({"q": item["q"], "split": item["split"], "kind": item["kind"],
                     "p5": precision_at(ranked, item["grades"]),
                     "ndcg10": ndcg_at(ranked, item["grades"]), "mrr": reciprocal_rank(ranked, item["grades"]),
                     "ideal_p5": ideal_p5(item["grades"])})
    out: dict[str, Any] = {"queries": rows}
    for split in ("tune", "heldout", "all"):
        out[split] = _means([r for r in rows if split == "all" or r["split"] == split])
    # by kind of query: a place or a year in it, an abbreviation, a phrase, a quoted item …
    kinds = sorted({k for r in rows for k in r["kind"].split("+") if k})
    out["by_kind"] = {k: _means([r for r in rows if k in r["kind"].split("+")]) for k in kinds}
    return out


def _means(part: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not part:
        return None
    return {m: round(sum(r[m] for r in part) / len(part), 3) for m in ("p5", "ndcg10", "mrr", "ideal_p5")} | {
        "n": len(part)}


# -- the two systems ----------------------------------------------------------------------------

def build_index(work: Path, inputs: tuple[Path, ...] = INPUTS) -> Path:
    """This product's index of ``inputs`` in ``work``."""
    from indexer.pipeline import index_paths

    index_dir = work / "index"
    index_paths([str(p) for p in inputs], index_dir)
    return index_dir


def ours(index_dir: Path) -> tuple[Callable[[str], list[Key]], Any]:
    from .engine import SearchEngine

    eng = SearchEngine(index_dir)

    def rank(q: str) -> list[Key]:
        res = eng.search(q, per_page=DEPTH)
        out = []
        for h in res.hits:  # the stored title: an untitled report's display title is its text's start
            doc = eng.document(h.id) or {}
            out.append(report_key(doc.get("title") or "", h.year, "/".join(h.region)))
        return out
    return rank, eng


def baseline(index_dir: Path, work: Path) -> Callable[[str], list[Key]]:
    """The textbook setup over the same clean documents (``bench.run``'s schema)."""
    from whoosh import index as windex
    from whoosh.qparser import MultifieldParser

    from bench.run import _baseline_schema

    from .engine import SearchEngine

    eng = SearchEngine(index_dir)
    folder = work / "baseline"
    folder.mkdir()
    ix = windex.create_in(str(folder), _baseline_schema())
    w = ix.writer()
    keys: dict[str, Key] = {}
    for stored, _dups in eng.iter_documents():
        meta = stored.get("meta") or {}
        region = "/".join(meta.get("region") or [])
        w.add_document(id=stored["id"], title=stored.get("title") or "", content=stored.get("content") or "",
                       region=region, year=str(meta.get("year") or ""), topic="", doc_type="")
        keys[stored["id"]] = report_key(stored.get("title") or "", meta.get("year"), region)
    w.commit()
    eng.close()
    parser = MultifieldParser(["title", "content"], ix.schema)
    searcher = ix.searcher()

    def rank(q: str) -> list[Key]:
        res = searcher.search(parser.parse(q), limit=DEPTH)
        return [keys[h["id"]] for h in res]
    return rank


def run(data: Path = DATA, inputs: tuple[Path, ...] = INPUTS, index_dir: Path | None = None,
        with_baseline: bool = True) -> dict[str, Any]:
    queries = load(data)
    work = Path(tempfile.mkdtemp(prefix="reportsearch-relevance-"))
    try:
        ix = index_dir or build_index(work, inputs)
        rank, eng = ours(ix)
        out = {"ours": score(queries, rank)}
        eng.close()
        if with_baseline:
            out["baseline"] = score(queries, baseline(ix, work))
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def kind_table(result: dict[str, Any]) -> str:
    """nDCG@10 and MRR by kind of query (all queries), both systems."""
    lines = ["| kind of query | n | this product nDCG@10 / MRR | Whoosh + jieba nDCG@10 / MRR |",
             "| --- | --- | --- | --- |"]
    for kind, s in result["ours"]["by_kind"].items():
        b = result.get("baseline", {}).get("by_kind", {}).get(kind)
        other = f"{b['ndcg10']:.3f} / {b['mrr']:.3f}" if b else "–"
        lines.append(f"| {kind} | {s['n']} | {s['ndcg10']:.3f} / {s['mrr']:.3f} | {other} |")
    return "\n".join(lines)


def table(result: dict[str, Any]) -> str:
    """The summary as a Markdown table (what docs/search.md shows)."""
    lines = ["| queries | system | P@5 | nDCG@10 | MRR | ideal P@5 |", "| --- | --- | --- | --- | --- | --- |"]
    for split in ("tune", "heldout", "all"):
        for name in ("ours", "baseline"):
            s = result.get(name, {}).get(split)
            if s:
                label = {"tune": "tuning", "heldout": "held out", "all": "all"}[split]
                lines.append(f"| {label} ({s['n']}) | {'this product' if name == 'ours' else 'Whoosh + jieba'} "
                             f"| {s['p5']:.3f} | {s['ndcg10']:.3f} | {s['mrr']:.3f} | {s['ideal_p5']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m searchapp.evaluate_relevance", description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="judged queries (default tests/data/relevance.json)")
    ap.add_argument("--index-dir", type=Path, help="an existing index of the corpora (default: build one in a temp dir)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the textbook Whoosh + jieba setup")
    ap.add_argument("--per-query", action="store_true", help="print every query's figures")
    ap.add_argument("--by-kind", action="store_true", help="print nDCG@10 and MRR by kind of query")
    ap.add_argument("--json", action="store_true", help="print the whole result as JSON")
    ap.add_argument("--min-p5", type=float, default=0.0, help="exit 1 when this product's P@5 (all queries) is lower")
    ap.add_argument("--min-ndcg", type=float, default=0.0, help="the same for nDCG@10")
    ap.add_argument("--min-mrr", type=float, default=0.0, help="the same for MRR")
    args = ap.parse_args(argv)
    missing = [str(p) for p in INPUTS if not p.exists()] if args.index_dir is None else []
    if missing:
        print(f"error: corpora not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    result = run(args.data, index_dir=args.index_dir, with_baseline=not args.no_baseline)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        if args.per_query:
            base = {r["q"]: r for r in result.get("baseline", {}).get("queries", [])}
            for r in result["ours"]["queries"]:
                b = base.get(r["q"])
                extra = f"   baseline P@5 {b['p5']:.2f} nDCG {b['ndcg10']:.2f} MRR {b['mrr']:.2f}" if b else ""
                print(f"[{r['split']:7s}] {r['q']:24s} P@5 {r['p5']:.2f} nDCG {r['ndcg10']:.2f} MRR {r['mrr']:.2f}{extra}")
        print(table(result))
        if args.by_kind:
            print()
            print(kind_table(result))
    s = result["ours"]["all"]
    failed = [f"{name} {got:.3f} < {floor:.3f}" for name, got, floor in
              (("P@5", s["p5"], args.min_p5), ("nDCG@10", s["ndcg10"], args.min_ndcg), ("MRR", s["mrr"], args.min_mrr))
              if got < floor]
    if failed:
        print("RESULT FAIL: " + "; ".join(failed))
        return 1
    print("RESULT PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
