"""Fallback extractors: never lose an article because our block selection missed it.

Our own selection (``html.select_content``) is readability-style scoring tuned on
Chinese report pages and keeps chrome out better than the libraries (see the table
in docs/cleaning.md).  But it picks one block, and on a page whose article sits in
a container it removed as "unlikely" (a class named ``…like…``, ``…share…``) or
that is split over sibling blocks, it finds only the heading and a date line.  A
page is then skipped as "no report text" although a browser shows an article.

So when our result is *nothing or too little* (``needs_fallback``), three maintained
extractors run on the same HTML:

* ``readability``: readability-lxml's ``Document.summary`` (Arc90 scoring);
* ``trafilatura``: trafilatura's ``extract`` (its own rules, then readability and
  jusText internally as fallbacks);
* ``justext``: jusText with no stoplist (none exists for Chinese): paragraphs are
  judged by length and link density only.

Each candidate's lines then go through *our* line rules (``clean_text``), so the
chrome the libraries keep around the article (info lines, share bars, related
lists, 责任编辑 …) is dropped exactly as on our own output.  The candidates (ours
included) are compared by a score a person can recompute by hand:

* a candidate is *viable* when it has an article's length of ``prose``: CJK
  characters on lines that read as sentences (they hold a 。，；！？ or are at least
  40 characters long), so length and punctuation density both count: menus, tag
  clouds and link lists have neither;
* ``quality = agreement × (1 − link density)²`` among the viable ones, where
  ``agreement`` is the mean bigram F1 with the other viable candidates (the text
  that independent methods agree on is the article; chrome that one method keeps
  and the others drop lowers its agreement), and ``link density`` is the share of
  the text on lines that are a link's whole text on the page (a related list or menu
  that slipped through).

Ours is kept unless a fallback's quality exceeds it by ``MARGIN``, so a page we
already clean well never gets a library's chrome.  A page is skipped only when no
candidate has ``MIN_ARTICLE_CJK`` characters of prose.  Measured per method and
combined: docs/cleaning.md.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from .normalize import cjk_count, normalize_text, split_lines

log = logging.getLogger(__name__)

#: Our result is "too little" below this many CJK characters of text: fallbacks run.
FALLBACK_BELOW_CJK = 200
#: Pages larger than this (characters) are not given to the libraries: a scraped article page is
#: tens of kilobytes, and the libraries build several full trees of the page each.
FALLBACK_MAX_CHARS = 5_000_000
#: A fallback replaces ours only when its quality exceeds ours by this much (agreement is an F1).
MARGIN = 0.05
_SENTENCE = re.compile(r"[。，；！？]")
METHODS = ("readability", "trafilatura", "justext")


@dataclass
class Candidate:
    """One method's text lines for a page, and how it scored."""

    method: str
    lines: list[str]
    quality: float = 0.0
    prose: int = 0
    link_density: float = 0.0
    agreement: float = 0.0


def needs_fallback(cjk_found: int, page_chars: int = 0) -> bool:
    """Our own selection found nothing or too little for an article (and the page is not huge)."""
    return cjk_found < FALLBACK_BELOW_CJK and page_chars <= FALLBACK_MAX_CHARS


# -- the three libraries, each HTML → lines ("" between paragraphs) -------------------------

def readability_lines(html: str) -> list[str]:
    """readability-lxml's main-content summary, flattened one block per line."""
    from readability import Document  # type: ignore[import-untyped]

    from .html import parse, to_lines

    summary = Document(html).summary(html_partial=True)
    doc = parse(summary)
    if doc is None:
        return []
    return to_lines(doc)


_TABLE_PIPES = re.compile(r"\s*(?<!\\)\|\s*")


def trafilatura_lines(html: str) -> list[str]:
    """trafilatura's text output (comments off); table rows lose their markdown pipes."""
    import trafilatura  # type: ignore[import-untyped]

    text = trafilatura.extract(html, include_comments=False, include_tables=True, output_format="txt") or ""
    out: list[str] = []
    for ln in split_lines(normalize_text(text)):
        if ln.startswith("|"):
            cells = [c.replace("\\|", "|").strip() for c in _TABLE_PIPES.split(ln)]
            cells = [c for c in cells if c and not re.fullmatch(r"[-:| ]+", c)]
            out.extend(cells)
        elif ln.startswith("- "):
            out.append(ln[2:])
        else:
            out.append(ln)
        out.append("")
    return out


def justext_lines(html: str) -> list[str]:
    """jusText without a stoplist: paragraphs kept by length and link density alone.

    Lengths are in characters; a Chinese sentence is short in characters, so the
    thresholds are a third of jusText's defaults for European languages.
    """
    import justext  # type: ignore[import-untyped]

    paras = justext.justext(
        html.encode("utf-8"), frozenset(), length_low=25, length_high=70,
        stopwords_low=0.0, stopwords_high=0.0, max_link_density=0.2,
    )
    out: list[str] = []
    for p in paras:
        if not p.is_boilerplate:
            out.extend(split_lines(normalize_text(p.text)))
            out.append("")
    return out


EXTRACTORS: dict[str, Callable[[str], list[str]]] = {
    "readability": readability_lines,
    "trafilatura": trafilatura_lines,
    "justext": justext_lines,
}


def run_extractor(method: str, html: str) -> list[str]:
    """One library's lines; [] when it fails (a library bug must not lose the page)."""
    try:
        return EXTRACTORS[method](html)
    except RecursionError:
        return []
    except Exception:
        log.debug("%s failed", method, exc_info=True)
        return []


# -- the quality score -----------------------------------------------------------------------

def link_texts(doc: etree._Element | None) -> set[str]:
    """The whole texts of the page's links (long enough to mean something)."""
    out: set[str] = set()
    if doc is None:
        return out
    for a in doc.iter("a"):
        t = " ".join((a.text_content() or "").split())
        if len(t) >= 4:
            out.add(t)
    return out


def prose_chars(lines: list[str]) -> int:
    """CJK characters on lines that read as sentences (punctuated, or long)."""
    return sum(cjk_count(ln) for ln in lines if ln and (_SENTENCE.search(ln) or len(ln) >= 40))


def bigrams(text: str) -> set[str]:
    """Character bigrams of the CJK/alphanumeric text (whitespace and punctuation ignored)."""
    s = re.sub(r"[^\w]", "", text)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def overlap(a: set[str], b: set[str]) -> float:
    """Bigram F1 of two texts' bigram sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    if not inter:
        return 0.0
    p, r = inter / len(a), inter / len(b)
    return 2 * p * r / (p + r)


def score(cands: list[Candidate], links: set[str], min_prose: int) -> None:
    """Fill in each candidate's prose, link density, agreement and quality (0 when not viable)."""
    grams = [bigrams("\n".join(c.lines)) for c in cands]
    for c in cands:
        text_lines = [ln for ln in c.lines if ln]
        total = sum(len(ln) for ln in text_lines) or 1
        c.prose = prose_chars(text_lines)
        c.link_density = sum(len(ln) for ln in text_lines if ln in links) / total
    viable = [i for i, c in enumerate(cands) if c.prose >= min_prose]
    for i in viable:
        c = cands[i]
        others = [overlap(grams[i], grams[j]) for j in viable if j != i]
        # a lone viable candidate has nothing to agree with: it is the only article found
        c.agreement = sum(others) / len(others) if others else 1.0
        c.quality = c.agreement * (1 - c.link_density) ** 2


def choose(cands: list[Candidate], min_prose: int) -> Candidate | None:
    """Ours (the first candidate) unless a fallback's quality is ``MARGIN`` higher; None when
    no candidate has article-length prose.  Call :func:`score` first."""
    viable = [c for c in cands if c.prose >= min_prose]
    if not viable:
        return None
    ours = cands[0] if cands and cands[0].method == "ours" else None
    best = max(viable, key=lambda c: (c.quality, c.prose))
    if ours is not None and ours in viable and best is not ours and best.quality < ours.quality + MARGIN:
        return ours
    return best
