"""Topic (and region) facets scored on hand-judged reports of the shared corpora.

    python -m indexer.meta.evaluate_topics [--judgments FILE] [--corpora DIR]
                                           [--min-precision P] [--min-recall R]
    python -m indexer.evaluate --topics                      # the same, from the main evaluation

``tests/data/topic_judgments.json`` holds report–topic judgments made by reading the
reports (see its ``about``): each names a report of ``../shared/corpora`` by corpus and
title, a topic, and whether the report really addresses that topic.  Every judged report
goes through the product's own path (record → :func:`indexer.clean.clean_page` →
:func:`indexer.meta.extract_meta`), and the topics it gets are compared with the
judgments: per topic, precision (of the judged pairs the facet gives, how many were
judged yes) and recall (of the pairs judged yes, how many the facet gives).

The same run prints the region facet's accuracy on the corpora, where the expected path
is stated by the records themselves (the provincial CSVs' ``province`` column; the State
Council's reports and the NPC's resolutions on them are national).

Exit status 1 when overall precision or recall is below the floors (CI runs this).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..clean import clean_page
from ..ingest import read_file
from . import NATIONAL, extract_meta

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JUDGMENTS = ROOT / "tests" / "data" / "topic_judgments.json"
DEFAULT_CORPORA = ROOT.parent / "shared" / "corpora"
#: CI floors, below what was measured when the judgments were made (precision 0.99, recall
#: 0.92: see README "Metadata quality"), so that a change that loses ground fails CI
MIN_PRECISION = 0.9
MIN_RECALL = 0.8


@dataclass
class Report:
    """One report of the corpora as the index sees it."""

    corpus: str  # "national" | "provincial"
    title: str
    topics: list[str]
    region: list[str]
    expected_region: list[str] | None


def load_reports(corpora: Path) -> dict[tuple[str, str], Report]:
    """(corpus, title) → report, for every record of the national JSONL and provincial CSVs."""
    out: dict[tuple[str, str], Report] = {}
    files = [("national", p) for p in sorted((corpora / "national-gov-work-reports").glob("*.jsonl"))]
    files += [("provincial", p) for p in sorted((corpora / "provincial-gov-reports-2026").glob("*.csv"))]
    for corpus, path in files:
        pages, _skipped = read_file(path)
        for page in pages:
            title = str(page.hints.get("title") or "")
            articles = clean_page(page)
            if not articles:
                continue
            # a record is one report; the cleaner may split off nothing or (rarely) a fragment
            art = max(articles, key=lambda a: len(a.text))
            meta = extract_meta(art, page.hints)
            if corpus == "national":
                expected: list[str] | None = [NATIONAL]
            else:
                prov = page.hints.get("province")
                expected = [str(prov)] if prov else None
            out[(corpus, title)] = Report(corpus, title, list(meta.topics), list(meta.region or []), expected)
    return out


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


def _pad(name: str, width: int = 9) -> str:
    """Pad a topic name to ``width`` CJK cells (one full-width space per missing character)."""
    return name + "\u3000" * max(0, width - len(name))


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.2f}"


def evaluate_topics(judgments_path: Path = DEFAULT_JUDGMENTS, corpora: Path = DEFAULT_CORPORA,
                    min_precision: float = MIN_PRECISION, min_recall: float = MIN_RECALL,
                    out: Callable[[str], None] = print) -> bool:
    """Print per-topic precision/recall and region accuracy; True when the floors are met."""
    try:
        data = json.loads(judgments_path.read_text(encoding="utf-8"))
        judgments = data["judgments"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        out(f"topic judgments unreadable: {judgments_path}: {exc}")
        return False
    if not corpora.is_dir():
        out(f"corpora not found: {corpora} (the shared folder must be beside the checkout)")
        return False
    reports = load_reports(corpora)
    per_topic: dict[str, Scores] = defaultdict(Scores)
    total = Scores()
    missing = 0
    for j in judgments:
        rep = reports.get((j.get("corpus"), j.get("title")))
        if rep is None:
            out(f"  judged report not found in the corpora: {j.get('corpus')} {j.get('title')}")
            missing += 1
            continue
        given = j["topic"] in rep.topics
        s = per_topic[j["topic"]]
        for sc in (s, total):
            if given and j["judged"]:
                sc.tp += 1
            elif given:
                sc.fp += 1
            elif j["judged"]:
                sc.fn += 1
            else:
                sc.tn += 1
        if given != bool(j["judged"]):
            kind = "FALSE POSITIVE" if given else "MISSED"
            out(f"  {kind}: {j['title']} · {j['topic']} (judged {'yes' if j['judged'] else 'no'}: {j.get('evidence', '')})")
    n_reports = len({(j.get("corpus"), j.get("title")) for j in judgments})
    out(f"== topics on long multi-subject reports: {len(judgments)} judgments of {n_reports} reports ({judgments_path.name})")
    out(f"  {_pad('主题')} {'yes':>4} {'no':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6}")
    for topic in sorted(per_topic, key=lambda t: -(per_topic[t].tp + per_topic[t].fn + per_topic[t].fp + per_topic[t].tn)):
        s = per_topic[topic]
        out(f"  {_pad(topic)} {s.tp + s.fn:>4} {s.fp + s.tn:>4} {s.tp:>4} {s.fp:>4} {s.fn:>4} {_fmt(s.precision):>6} {_fmt(s.recall):>6}")
    out(f"TOPICS precision {_fmt(total.precision).strip()} ({total.tp}/{total.tp + total.fp})  "
        f"recall {_fmt(total.recall).strip()} ({total.tp}/{total.tp + total.fn})  "
        f"negatives kept out {total.tn}/{total.tn + total.fp}  floors {min_precision:.2f}/{min_recall:.2f}")
    with_topic = sum(1 for r in reports.values() if r.topics)
    out(f"  corpus reports with at least one topic: {with_topic}/{len(reports)}")
    # region: the records state where they are from
    ok = n = 0
    for rep in reports.values():
        if rep.expected_region is None:
            continue
        n += 1
        if rep.region[:1] == rep.expected_region:
            ok += 1
        else:
            out(f"  REGION DIFF: {rep.title}: {rep.region} (expected {rep.expected_region})")
    out(f"REGION corpora (province or 全国 stated by the records): {ok}/{n}")
    passed = (not missing and total.precision is not None and total.recall is not None
              and total.precision >= min_precision and total.recall >= min_recall)
    out("TOPICS RESULT " + ("PASS" if passed else "FAIL"))
    return passed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m indexer.meta.evaluate_topics", description=__doc__.split("\n\n")[0])
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    ap.add_argument("--min-precision", type=float, default=MIN_PRECISION)
    ap.add_argument("--min-recall", type=float, default=MIN_RECALL)
    args = ap.parse_args(argv)
    return 0 if evaluate_topics(args.judgments, args.corpora, args.min_precision, args.min_recall) else 1


if __name__ == "__main__":
    sys.exit(main())
