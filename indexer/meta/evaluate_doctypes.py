"""The document-type facet scored on judged pages: per-type precision and recall per method.

    python -m indexer.meta.evaluate_doctypes [--judgments FILE] [--labels FILE] [--min-accuracy A]
    python -m indexer.evaluate --doctypes                    # the same, from the main evaluation

Judged articles come from two places: ``tests/data/doctype_judgments.json`` (pages of
``../shared/pages-dev``, each article judged by reading it) and the ``doc_type`` of the seed
labels (``../shared/labels/seeds.json``).  Every page goes through the product's own path
(file → :func:`indexer.clean.clean_page` → metadata), and three methods are compared:

* ``title only`` — the type the title names, else 其他;
* ``+ vocabulary`` — the rule before ``reads_as_report``: the text's vocabulary (取得了,
  确保 …) decides for every text whose title names no type;
* ``now`` — the product (``indexer.meta.extract_meta``): that vocabulary counts for a
  titled text only when it reads as a report and its page has no news marks
  (``indexer.meta.doctype.reads_as_report``).

A type's precision is the share of the articles given that type that were judged so; its
recall the share of the articles judged so that got it.  Exit status 1 under ``--min-accuracy``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..clean import clean_page
from ..clean.split import title_key
from ..ingest import read_file
from ..models import Article
from . import extract_meta
from .doctype import DOC_TYPES, extract_doc_type, title_doc_type
from .evaluate_topics import _pad

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DEFAULT_JUDGMENTS = ROOT / "tests" / "data" / "doctype_judgments.json"
DEFAULT_LABELS = SHARED / "labels" / "seeds.json"
#: CI floor for ``now``'s accuracy, below the 1.000 measured when the judgments were made
MIN_ACCURACY = 0.95

METHODS: dict[str, Callable[[Article], str]] = {
    "title only": lambda a: title_doc_type(a.title),
    "+ vocabulary": lambda a: extract_doc_type(a.title, a.text, a.heading, require_voice=False),
    "now": lambda a: extract_meta(a).doc_type,  # the product's own path
}


@dataclass
class DocTypeResult:
    #: method → list of (judged, given)
    pairs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def accuracy(self, method: str = "now") -> float:
        rows = self.pairs.get(method, [])
        return sum(j == g for j, g in rows) / len(rows) if rows else 0.0

    def precision_recall(self, method: str, doc_type: str) -> tuple[float | None, float | None]:
        rows = self.pairs.get(method, [])
        given = [j for j, g in rows if g == doc_type]
        judged = [g for j, g in rows if j == doc_type]
        p = sum(j == doc_type for j in given) / len(given) if given else None
        r = sum(g == doc_type for g in judged) / len(judged) if judged else None
        return p, r


def _articles(path: Path) -> list[Article]:
    pages, _skipped = read_file(path)
    out: list[Article] = []
    for page in pages:
        out += [a for a in clean_page(page) if a.text.strip()]
    return out


def judged_articles(judgments: Path = DEFAULT_JUDGMENTS, labels: Path = DEFAULT_LABELS,
                    missing: list[str] | None = None) -> list[tuple[str, Article]]:
    """(judged type, the product's article) for every judgment that finds its article."""
    out: list[tuple[str, Article]] = []
    lost = missing if missing is not None else []
    cache: dict[Path, list[Article]] = {}

    def arts(path: Path) -> list[Article]:
        if path not in cache:
            cache[path] = _articles(path) if path.exists() else []
        return cache[path]

    for item in json.loads(judgments.read_text(encoding="utf-8")).get("pages", []):
        got = arts(SHARED / item["page"])
        k = int(item.get("article", 0))
        if k < len(got):
            out.append((item["doc_type"], got[k]))
        else:
            lost.append(f"{item['page']} #{k}")
    if labels.exists():
        for lab in json.loads(labels.read_text(encoding="utf-8")).get("articles", []):
            if not lab.get("doc_type"):
                continue
            got = arts(labels.parent.parent / "seeds" / lab["file"])
            want = title_key(lab.get("title") or "")
            match = next((a for a in got if want and title_key(a.title or "") == want), None)
            if match is None and not want and got:
                match = got[0]
            if match is None:
                lost.append(f"{lab['file']} {lab.get('title')}")
            else:
                out.append((lab["doc_type"], match))
    return out


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def evaluate_doctypes(judgments: Path = DEFAULT_JUDGMENTS, labels: Path = DEFAULT_LABELS,
                      min_accuracy: float | None = MIN_ACCURACY, out: Callable[[str], None] = print) -> bool:
    """Print the per-method table; False when ``now`` is under the floor or a judged article is missing."""
    res = DocTypeResult()
    items = judged_articles(judgments, labels, res.missing)
    for name, fn in METHODS.items():
        res.pairs[name] = [(want, fn(a)) for want, a in items]
    types = [t for t in DOC_TYPES if any(want == t for want, _a in items)
             or any(g == t for rows in res.pairs.values() for _w, g in rows)]
    out(f"DOC TYPES on {len(items)} judged articles (precision / recall per type)")
    out(f"  {_pad('type', 7)} {'judged':>6}  " + "  ".join(f"{m:>15}" for m in METHODS))
    for t in types:
        n = sum(want == t for want, _a in items)
        cells = []
        for m in METHODS:
            p, r = res.precision_recall(m, t)
            cells.append(f"{_fmt(p)} / {_fmt(r)}")
        out(f"  {_pad(t, 7)} {n:6d}  " + "  ".join(f"{c:>15}" for c in cells))
    out(f"  {_pad('accuracy', 7)} {len(items):6d}  " + "  ".join(f"{res.accuracy(m):15.3f}" for m in METHODS))
    for m in res.missing:
        out(f"  missing judged article: {m}")
    ok = not res.missing and (min_accuracy is None or res.accuracy() >= min_accuracy)
    out("DOC TYPES RESULT " + ("PASS" if ok else f"FAIL (accuracy {res.accuracy():.3f} < {min_accuracy})"))
    return ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m indexer.meta.evaluate_doctypes", description=__doc__.split("\n")[0])
    p.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    p.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    p.add_argument("--min-accuracy", type=float, default=MIN_ACCURACY)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    return 0 if evaluate_doctypes(args.judgments, args.labels, args.min_accuracy) else 1


if __name__ == "__main__":
    raise SystemExit(main())
