"""Cleaning measured on real pages: gold-text F1 per extraction method, pages lost,
mid-sentence line breaks.  Called by ``python -m indexer.evaluate`` (see that module
for the command line); each function returns numbers and prints a readable table.

* :func:`score_gold` — any folder or list of page + gold-text pairs (an ``index.json``
  like ``tests/data/gold/index.json``, or a folder of ``x.html`` + ``x.txt``).  For each
  page, character-bigram F1 of the gold text against every method: ``ours`` (our block
  selection and line rules, no fallback), each library alone (``readability``,
  ``trafilatura``, ``justext``), each library's text through our line rules (``+rules``),
  and ``combined`` (what the product stores: ours, or a fallback when ours found too
  little; see ``indexer/clean/fallback.py``).
* :func:`count_lost` — pages in a folder that give no document (refused as undecodable,
  or no report text found).
* :func:`count_breaks` — line breaks inside a sentence in the stored texts of every page
  and record under some folders, with and without the joining step.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median

from .clean import clean_page, clean_text, extractor_articles
from .clean.fallback import METHODS, run_extractor
from .clean.html import extract_lines
from .clean.linejoin import count_suspect_breaks, suspect_examples
from .ingest import iter_input_files, read_file
from .models import Article, Page

_NOT_TEXT = re.compile(r"[\s\W_]+")
#: Methods in table order.
ALL_METHODS = ("ours", *METHODS, *(f"{m}+rules" for m in METHODS), "combined")


def _grams(text: str) -> Counter[str]:
    s = _NOT_TEXT.sub("", text)
    return Counter(s[i : i + 2] for i in range(len(s) - 1))


def bigram_f1(gold: str, got: str) -> float:
    """F1 of the character bigrams (a multiset; white space and punctuation ignored)."""
    g, o = _grams(gold), _grams(got)
    if not g or not o:
        return 1.0 if not g and not o else 0.0
    inter = sum((g & o).values())
    if not inter:
        return 0.0
    p, r = inter / sum(o.values()), inter / sum(g.values())
    return 2 * p * r / (p + r)


def articles_text(articles: list[Article]) -> str:
    return "\n".join((a.title or "") + "\n" + a.text for a in articles)


def method_texts(page: Page) -> dict[str, str]:
    """The text every method gives for one HTML page."""
    raw = page.raw
    lines, info = extract_lines(raw)
    out = {"ours": articles_text(clean_text(lines, page.hints, info))}
    for m in METHODS:
        got = run_extractor(m, raw)
        out[m] = "\n".join(got)
        out[f"{m}+rules"] = articles_text(extractor_articles(raw, m, page.hints, info, lines=got))
    out["combined"] = articles_text(clean_page(page))
    return out


@dataclass
class GoldPair:
    page: Path
    gold: Path
    split: str = ""


def load_pairs(spec: Path, base: Path | None = None) -> list[GoldPair]:
    """Pairs from an index JSON (``{"pages": [{"page", "gold", "split"}]}``, page paths relative
    to ``base``, default: the repository's ``../shared``), or a folder of ``x.html`` + ``x.txt``."""
    if spec.is_dir() and (spec / "index.json").exists():
        spec = spec / "index.json"
    if spec.is_file():
        data = json.loads(spec.read_text(encoding="utf-8"))
        root = base or (Path(__file__).resolve().parents[1].parent / "shared")
        return [
            GoldPair(root / item["page"], spec.parent / item["gold"], item.get("split", ""))
            for item in data.get("pages", [])
        ]
    pairs = []
    for page in sorted(spec.iterdir()):
        if page.suffix.lower() in (".html", ".htm") and page.with_suffix(".txt").exists():
            pairs.append(GoldPair(page, page.with_suffix(".txt")))
    return pairs


@dataclass
class GoldResult:
    per_page: dict[str, dict[str, float]] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def score_gold(pairs: list[GoldPair], out: Callable[[str], None] = print) -> GoldResult:
    """Bigram F1 of every method on every pair; prints a row per page and the summary."""
    res = GoldResult()
    short = {m: m.replace("readability", "read").replace("trafilatura", "traf").replace("justext", "just") for m in ALL_METHODS}
    out("gold F1 per page: " + " ".join(f"{short[m]:>10}" for m in ALL_METHODS))
    for pair in pairs:
        name = f"{pair.page.parent.name}/{pair.page.name}" + (f" [{pair.split}]" if pair.split else "")
        if not pair.page.exists() or not pair.gold.exists():
            res.missing.append(name)
            out(f"  {name}: missing")
            continue
        pages, skipped = read_file(pair.page)
        gold = pair.gold.read_text(encoding="utf-8")
        if not pages:
            scores = {m: 0.0 for m in ALL_METHODS}
            out(f"  {name}: not read ({'; '.join(s.reason for s in skipped)})")
        else:
            texts = method_texts(pages[0])
            scores = {m: bigram_f1(gold, texts[m]) for m in ALL_METHODS}
        res.per_page[name] = scores
        out(f"  {name:40s} " + " ".join(f"{scores[m]:10.3f}" for m in ALL_METHODS))
    if res.per_page:
        for m in ALL_METHODS:
            vals = [s[m] for s in res.per_page.values()]
            res.means[m], res.medians[m] = mean(vals), median(vals)
        out(f"  {'MEAN (' + str(len(res.per_page)) + ' pages)':40s} " + " ".join(f"{res.means[m]:10.3f}" for m in ALL_METHODS))
        out(f"  {'MEDIAN':40s} " + " ".join(f"{res.medians[m]:10.3f}" for m in ALL_METHODS))
    return res


def _pages_under(paths: Iterable[Path]) -> Iterable[Page]:
    for path, problem in iter_input_files(paths):
        if problem:
            continue
        pages, _ = read_file(path)
        yield from pages


def count_lost(paths: list[Path], out: Callable[[str], None] = print) -> tuple[int, list[str]]:
    """(pages read, pages that give no document with the reason) over the files under ``paths``."""
    n = 0
    lost: list[str] = []
    damaged = 0
    for path, problem in iter_input_files(paths):
        if problem:
            continue
        pages, skipped = read_file(path)
        for s in skipped:
            n += 1
            lost.append(f"{s.path}: {s.reason}")
        for page in pages:
            n += 1
            damaged += page.undecodable_bytes > 0
            if not [a for a in clean_page(page) if a.text.strip()]:
                lost.append(f"{page.path}: no report text found after cleaning")
    out(f"pages lost: {len(lost)} of {n} under {', '.join(map(str, paths))} ({damaged} decoded with replacement characters)")
    for item in lost:
        out(f"  lost {item}")
    return n, lost


def count_breaks(paths: list[Path], out: Callable[[str], None] = print) -> tuple[int, int, int]:
    """(documents, mid-sentence breaks without joining, with joining) over the stored texts."""
    docs = before = after = 0
    examples: list[str] = []
    for page in _pages_under(paths):
        for a in clean_page(page, join_breaks=False):
            before += count_suspect_breaks(a.text)
        for a in clean_page(page):
            docs += 1
            n = count_suspect_breaks(a.text)
            after += n
            if n and len(examples) < 8:
                examples.extend(suspect_examples(a.text, 1))
    out(f"mid-sentence line breaks in {docs} stored texts under {', '.join(map(str, paths))}: "
        f"{before} without joining, {after} with joining")
    for e in examples:
        out(f"  still broken: {e}")
    return docs, before, after


#: Title methods in table order: the product's title (``ours``: the article's title, else what
#: a result list shows, the start of its text), trafilatura's metadata title, and the <title>
#: element's first part (what a browser tab shows, site names cut at - _ |).
TITLE_METHODS = ("ours", "trafilatura", "<title>")


def _title_element(raw: str) -> str:
    from .clean.html import head_info, parse

    doc = parse(raw)
    parts = head_info(doc).get("title_parts") if doc is not None else None
    return parts[0] if parts else ""


def _trafilatura_title(raw: str) -> str:
    try:
        import trafilatura
    except ImportError:  # optional: the column reads 0 without it
        return ""
    meta = trafilatura.extract_metadata(raw)
    return (meta.title or "") if meta is not None else ""


def shown_title(articles: list[Article]) -> str:
    """What a reader sees as the first article's title: its own, else the start of its text
    (``searchapp.engine.display_title`` does the same for result lists)."""
    if not articles:
        return ""
    a = articles[0]
    return a.title or " ".join(a.text.split())[:30]


@dataclass
class TitleResult:
    #: split → method → [right, pages]
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)

    def accuracy(self, split: str | None = None, method: str = "ours") -> float:
        rows = [c[method] for s, c in self.counts.items() if split in (None, s)]
        n = sum(r[1] for r in rows)
        return sum(r[0] for r in rows) / n if n else 0.0


def score_titles(spec: Path, base: Path | None = None, out: Callable[[str], None] = print) -> TitleResult:
    """Title accuracy per method on labelled pages (``tests/data/titles.json``: page, title, split).

    A title is right when it equals the label up to spacing, width, case and punctuation
    (digits count: 2019年 must be right); a missing title counts as wrong.
    """
    from .analysis import matching_form

    def title_key(t: str) -> str:
        return _NOT_TEXT.sub("", matching_form(t))

    data = json.loads(spec.read_text(encoding="utf-8"))
    root = base or (Path(__file__).resolve().parents[1].parent / "shared")
    res = TitleResult()
    for item in data.get("pages", []):
        path, want, split = root / item["page"], item["title"], item.get("split", "")
        pages, _skipped = read_file(path) if path.exists() else ([], [])
        got: dict[str, str] = dict.fromkeys(TITLE_METHODS, "")
        if pages:
            got["ours"] = shown_title(clean_page(pages[0]))
            got["trafilatura"] = _trafilatura_title(pages[0].raw)
            got["<title>"] = _title_element(pages[0].raw)
        row = res.counts.setdefault(split, {m: [0, 0] for m in TITLE_METHODS})
        for m in TITLE_METHODS:
            ok = bool(got[m]) and title_key(got[m]) == title_key(want)
            row[m][0] += ok
            row[m][1] += 1
        if not (bool(got["ours"]) and title_key(got["ours"]) == title_key(want)):
            res.wrong.append(f"{item['page']} [{split}]: {got['ours'][:40]!r}, want {want[:40]!r}")
    out("title accuracy   " + " ".join(f"{m:>12}" for m in TITLE_METHODS))
    for split in sorted(res.counts):
        n = res.counts[split][TITLE_METHODS[0]][1]
        out(f"  {split + ' (' + str(n) + ')':14} " + " ".join(f"{res.accuracy(split, m):12.3f}" for m in TITLE_METHODS))
    out(f"  {'all':14} " + " ".join(f"{res.accuracy(None, m):12.3f}" for m in TITLE_METHODS))
    for w in res.wrong:
        out(f"  wrong title: {w}")
    return res
