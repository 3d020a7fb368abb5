"""Evaluate the cleaner (and, when present, the metadata extractor) against hand labels.

    python -m indexer.evaluate ../shared/labels/seeds.json [--topics]
    python -m indexer.evaluate ../shared/labels/seeds.json --gold tests/data/gold \
        --pages ../shared/pages-dev --breaks ../shared/corpora ../shared/seeds \
        --min-f1 0.93 --max-lost 0 --max-breaks 30 \
        --titles tests/data/titles.json --min-title 0.85  # + --topics --doctypes: what CI runs

``--gold`` scores a folder or index of page + gold-text pairs (bigram F1 per method:
ours, readability, trafilatura, jusText, each library + our line rules, and the
combination the product stores; ``--split dev|heldout`` picks one part of an index);
``--pages`` counts pages that give no document; ``--breaks`` counts mid-sentence line
breaks in the stored texts, without and with the joining step (``indexer.cleaneval``).
The floors make the run fail (exit 1) when the combined mean F1, the pages lost or the
remaining breaks regress.

Seed files are resolved as ``<labels dir>/../seeds/<file>``.  For every labelled
article it prints must_keep kept (x/y), must_drop dropped (x/y), title match and
region/year agreement (``indexer.meta.extract_meta``, imported lazily: "n/a"
while that module is missing), and per file the article count expected vs got.
Exit status 1 when any must_keep / must_drop / article-count check fails;
region/year disagreement is only reported.

``--titles`` scores article titles on labelled pages (``tests/data/titles.json``): ours,
trafilatura's metadata title and the <title> element's first part, per split, with
``--min-title`` as the floor (``indexer.cleaneval.score_titles``).

``--doctypes`` scores the document-type facet on judged pages, per type and method, with a
floor (:mod:`indexer.meta.evaluate_doctypes`).

``--topics`` adds the topic facet scored on hand-judged reports of the shared corpora
(per-topic precision and recall, with a floor) and the region facet's accuracy there:
see :mod:`indexer.meta.evaluate_topics`.

Labelled articles are matched to produced articles by title similarity
(difflib ratio) when the label has a title, otherwise by order.
"""
from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .clean import clean_page
from .models import Article, Page


def _similar(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 1.0 if a == b else 0.0
    return difflib.SequenceMatcher(None, a, b).ratio()


def match_articles(labels: list[dict], got: list[Article]) -> list[Article | None]:
    """Pair each label with a produced article: best title similarity, else by order."""
    used: set[int] = set()
    out: list[Article | None] = []
    for pos, lab in enumerate(labels):
        best, best_s = None, 0.5
        if lab.get("title"):
            for i, a in enumerate(got):
                if i in used:
                    continue
                s = _similar(lab["title"], a.title)
                if s > best_s:
                    best, best_s = i, s
        if best is None:
            best = next((i for i in range(len(got)) if i not in used and i >= pos), None)
            if best is None:
                best = next((i for i in range(len(got)) if i not in used), None)
        if best is not None:
            used.add(best)
        out.append(got[best] if best is not None else None)
    return out


def _load_meta() -> Callable[..., Any] | None:
    try:
        from .meta import extract_meta  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - another engineer's module may be missing or broken
        return None
    return extract_meta


def evaluate(labels_path: Path, out: Callable[[str], None] = print) -> bool:
    """Run the evaluation; return True when every hard check passes."""
    data = json.loads(labels_path.read_text(encoding="utf-8"))
    seeds_dir = labels_path.resolve().parent.parent / "seeds"
    by_file: dict[str, list[dict]] = {}
    for lab in data.get("articles", []):
        by_file.setdefault(lab["file"], []).append(lab)
    extract_meta = _load_meta()
    all_ok = True
    totals = {"keep": [0, 0], "drop": [0, 0], "count": [0, 0], "title": [0, 0], "region": [0, 0], "year": [0, 0]}
    for fname, labels in by_file.items():
        path = seeds_dir / fname
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            out(f"{fname}: cannot read ({exc})")
            all_ok = False
            continue
        kind = "html" if path.suffix.lower() in (".html", ".htm") else "text"
        got = clean_page(Page(str(path), raw, kind, {}))
        count_ok = len(got) == len(labels)
        totals["count"][0] += count_ok
        totals["count"][1] += 1
        all_ok &= count_ok
        out(f"== {fname}: articles expected {len(labels)}, got {len(got)} {'OK' if count_ok else 'FAIL'}")
        all_text = "\n".join((a.title or "") + "\n" + a.text for a in got)
        for lab, art in zip(labels, match_articles(labels, got)):
            text = art.text if art else ""
            keep = sum(s in text for s in lab.get("must_keep", []))
            drop = sum(s not in all_text for s in lab.get("must_drop", []))
            nk, nd = len(lab.get("must_keep", [])), len(lab.get("must_drop", []))
            title_ok = art is not None and (art.title or None) == (lab.get("title") or None)
            region = year = "n/a"
            if extract_meta is not None and art is not None:
                try:
                    meta = extract_meta(art, None)
                    r_ok = list(meta.region or []) == list(lab.get("region") or [])
                    accepted = [lab.get("year")] + list(lab.get("year_also_accepted", []))
                    y_ok = meta.year in accepted
                    region = f"{'OK' if r_ok else 'DIFF'} {meta.region}"
                    year = f"{'OK' if y_ok else 'DIFF'} {meta.year}"
                    totals["region"][0] += r_ok
                    totals["region"][1] += 1
                    totals["year"][0] += y_ok
                    totals["year"][1] += 1
                except Exception as exc:  # noqa: BLE001
                    region = year = f"error: {type(exc).__name__}"
            totals["keep"][0] += keep
            totals["keep"][1] += nk
            totals["drop"][0] += drop
            totals["drop"][1] += nd
            totals["title"][0] += title_ok
            totals["title"][1] += 1
            ok = keep == nk and drop == nd
            all_ok &= ok
            out(
                f"  {lab['id']}: must_keep {keep}/{nk}  must_drop {drop}/{nd}  "
                f"title {'OK' if title_ok else 'DIFF'} ({art.title if art else None!r} vs {lab.get('title')!r})  "
                f"region {region}  year {year}  {'OK' if ok else 'FAIL'}"
            )
    t = totals
    out(
        f"TOTAL must_keep {t['keep'][0]}/{t['keep'][1]}  must_drop {t['drop'][0]}/{t['drop'][1]}  "
        f"article counts {t['count'][0]}/{t['count'][1]}  titles {t['title'][0]}/{t['title'][1]}  "
        + (f"region {t['region'][0]}/{t['region'][1]}  year {t['year'][0]}/{t['year'][1]}" if extract_meta else "region n/a  year n/a")
    )
    out("RESULT " + ("PASS" if all_ok else "FAIL"))
    return all_ok


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m indexer.evaluate", description="Score cleaning and metadata.")
    p.add_argument("labels", nargs="?", type=Path, help="reference labels (../shared/labels/seeds.json)")
    p.add_argument("--gold", type=Path, action="append", default=[], help="folder or index.json of page + gold-text pairs")
    p.add_argument("--split", choices=("dev", "heldout"), help="score only this part of a gold index")
    p.add_argument("--pages", type=Path, action="append", default=[], help="folder of pages: count pages lost")
    p.add_argument("--breaks", type=Path, nargs="+", default=[], help="folders: count mid-sentence line breaks")
    p.add_argument("--min-f1", type=float, default=None, help="fail when the combined mean gold F1 is lower")
    p.add_argument("--max-lost", type=int, default=None, help="fail when more pages than this are lost")
    p.add_argument("--max-breaks", type=int, default=None, help="fail when more mid-sentence breaks remain")
    p.add_argument("--topics", action="store_true", help="also score the topic facet on the judged corpus reports")
    p.add_argument("--doctypes", action="store_true",
                   help="also score the document-type facet on judged pages (tests/data/doctype_judgments.json)")
    p.add_argument("--titles", type=Path, help="labelled page titles (tests/data/titles.json): accuracy per method")
    p.add_argument("--min-title", type=float, default=None, help="fail when our title accuracy (all pages) is lower")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if not (args.labels or args.gold or args.pages or args.breaks or args.topics or args.titles or args.doctypes):
        _parser().print_usage(sys.stderr)
        return 2
    from . import cleaneval

    ok = True
    if args.labels:
        ok &= evaluate(args.labels)
    for spec in args.gold:
        if not spec.exists():
            print(f"gold: {spec} not found")
            ok = False
            continue
        pairs = [p for p in cleaneval.load_pairs(spec) if not args.split or p.split == args.split]
        res = cleaneval.score_gold(pairs)
        combined = res.means.get("combined", 0.0)
        if res.missing:
            ok = False
        if args.min_f1 is not None and combined < args.min_f1:
            print(f"FAIL gold: combined mean F1 {combined:.3f} < floor {args.min_f1}")
            ok = False
    if args.pages:
        _, lost = cleaneval.count_lost(args.pages)
        if args.max_lost is not None and len(lost) > args.max_lost:
            print(f"FAIL pages lost: {len(lost)} > {args.max_lost}")
            ok = False
    if args.breaks:
        _, _, after = cleaneval.count_breaks(args.breaks)
        if args.max_breaks is not None and after > args.max_breaks:
            print(f"FAIL mid-sentence breaks: {after} > {args.max_breaks}")
            ok = False
    if args.titles:
        tres = cleaneval.score_titles(args.titles)
        if args.min_title is not None and tres.accuracy() < args.min_title:
            print(f"FAIL titles: accuracy {tres.accuracy():.3f} < floor {args.min_title}")
            ok = False
    if args.doctypes:
        from .meta.evaluate_doctypes import evaluate_doctypes

        ok = evaluate_doctypes() and ok
    if args.topics:
        from .meta.evaluate_topics import evaluate_topics

        ok = evaluate_topics() and ok
    if not args.labels:
        print("RESULT " + ("PASS" if ok else "FAIL"))
    elif args.gold or args.pages or args.breaks or args.topics or args.titles or args.doctypes:
        print("OVERALL " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
