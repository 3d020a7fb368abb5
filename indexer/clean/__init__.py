"""Cleaning stage: one scraped page → the clean report article(s) on it.

``clean_page(page)`` never raises: any unexpected error on a hostile page
degrades to ``[]`` (the pipeline reports such a page as skipped).

Flow (small pure functions, trafilatura style):

* HTML pages: ``html.extract_lines`` picks the main content block by text and
  link density (see that module for the library comparison) and flattens it to
  lines; text pages are split into lines directly;
* ``pageinfo.page_info`` reads publish date, site name, source credit and
  truncation from the whole page, chrome included;
* ``textdump.clean_lines`` drops the chrome lines (rules.py describes the kinds);
* ``split.split_segments`` cuts compilation pages into reports and
  ``split.choose_title`` finds titles;
* ``damage.is_damaged`` flags synonym-substitution damage.
"""
from __future__ import annotations

import logging
import re

from ..models import Article, Page
from . import rules
from .damage import is_damaged, repair_terms
from .fallback import METHODS, Candidate, choose, link_texts, needs_fallback, run_extractor, score
from .normalize import cjk_count, normalize_text, split_lines
from .pageinfo import page_info
from .split import (
    DOC_SUFFIX,
    Segment,
    choose_title,
    split_segments,
    strip_title_lines,
    title_key,
    title_like,
)
from .textdump import clean_lines

__all__ = ["clean_page", "clean_text", "extractor_articles", "is_damaged", "repair_terms"]

log = logging.getLogger(__name__)

#: An article needs at least this many CJK characters of text to be a report.
MIN_ARTICLE_CJK = 50
_HTML_SNIFF = re.compile(r"<\s*(?:html|body|div|p|table|head|meta|title|br|span|article)\b", re.IGNORECASE)
_PROMO_HEADING = re.compile(r"整理了\s*\d+\s*篇\s*([^,，。.；;]{2,40}(?:范文|文章|材料|总结|计划))")


def clean_page(page: Page, join_breaks: bool = True) -> list[Article]:
    """Turn one scraped page into its clean report article(s); [] when none. Never raises.

    ``join_breaks=False`` keeps mid-sentence line breaks (for the evaluation's before/after count).
    """
    try:
        raw = page.raw if isinstance(page.raw, str) else str(page.raw or "")
        hints = page.hints if isinstance(page.hints, dict) else {}
        kind = page.kind
        if kind != "html" and kind != "text":
            kind = "html" if _HTML_SNIFF.search(raw[:4000]) else "text"
        if kind == "html":
            from .html import extract_lines

            lines, html_info = extract_lines(raw)
            articles = clean_text(lines, hints, html_info, join_breaks)
            if needs_fallback(sum(cjk_count(a.text) for a in articles), len(raw)):
                articles = _best_of_extractors(raw, articles, hints, html_info, join_breaks)
            return articles
        lines = split_lines(normalize_text(raw))
        return clean_text(lines, hints, {}, join_breaks)
    except RecursionError:
        log.warning("clean_page: recursion limit on %s", getattr(page, "path", "?"))
        return []
    except Exception:
        log.exception("clean_page failed on %s", getattr(page, "path", "?"))
        return []


def article_lines(articles: list[Article]) -> list[str]:
    """Title and text lines of a page's articles, as one list (what a candidate is scored on)."""
    out: list[str] = []
    for a in articles:
        if a.title:
            out.append(a.title)
        out.extend(a.text.split("\n"))
    return out


def extractor_articles(raw: str, method: str, hints: dict | None = None, html_info: dict | None = None,
                       join_breaks: bool = True, lines: list[str] | None = None) -> list[Article]:
    """A fallback library's text for an HTML page, cleaned by our line rules (``lines``: what
    :func:`run_extractor` already gave for it, so it is not run again)."""
    html_info = html_info or {}
    lines = run_extractor(method, raw) if lines is None else list(lines)
    title = html_info.get("title")
    if lines and title and title not in lines[:20]:
        lines = [title, ""] + lines
    articles = clean_text(lines, hints or {}, html_info, join_breaks) if lines else []
    for a in articles:
        a.extractor = method
    return articles


def _best_of_extractors(raw: str, ours: list[Article], hints: dict, html_info: dict,
                        join_breaks: bool = True) -> list[Article]:
    """Our articles, or a fallback library's when ours found too little (see fallback.py)."""
    from .html import parse

    results: dict[str, list[Article]] = {"ours": ours}
    cands = [Candidate("ours", article_lines(ours))]
    for method in METHODS:
        results[method] = extractor_articles(raw, method, hints, html_info, join_breaks)
        cands.append(Candidate(method, article_lines(results[method])))
    score(cands, link_texts(parse(raw)), MIN_ARTICLE_CJK)
    best = choose(cands, MIN_ARTICLE_CJK)
    if best is None:
        return []
    return results[best.method]


def _hint_title(hints: dict) -> str | None:
    t = hints.get("title")
    if not isinstance(t, str) or not t.strip():
        return None
    return rules.strip_file_ext(normalize_text(t).strip()) or None


def clean_text(
    lines: list[str], hints: dict | None = None, html_info: dict | None = None, join_breaks: bool = True
) -> list[Article]:
    """Clean already-split page lines into articles (shared by text and HTML paths)."""
    hints = hints or {}
    html_info = html_info or {}
    info = page_info(lines)
    site = html_info.get("site") or info.site
    hint_title = _hint_title(hints)
    # the page heading helps strip "heading第N页" markers glued into paragraphs
    first = next((ln for ln in lines[:15] if ln and title_like(rules.strip_file_ext(ln), 60)), None)
    glued = rules.strip_file_ext(first) if first else None
    kept, notes = clean_lines(lines, glued, join_breaks)
    if site:
        kept = [ln for ln in kept if ln != site]
    segments, how = split_segments(kept, stacked=not hint_title)

    if html_info.get("published_by") == "htmldate":  # stated in the page's markup: the best evidence
        published = html_info["published"]
    else:
        published = info.published or html_info.get("published") or _hint_date(hints)
    source = site or _str(hints.get("source")) or info.credit or html_info.get("credit")
    truncated = info.truncated or bool(html_info.get("truncated"))
    news = info.news or bool(html_info.get("news"))

    page_heading: str | None = rules.strip_file_ext(html_info["title"]) if html_info.get("title") else None
    if how == "pian" and not page_heading:
        for p in notes.get("promo", []):
            if m := _PROMO_HEADING.search(p):
                page_heading = m.group(1)
                break
    markup_title = page_heading if html_info.get("title_confirmed") else None
    articles: list[Article] = []
    for seg in segments:
        art = _segment_article(seg, how, notes, site, hint_title, page_heading, len(segments), markup_title)
        if art is None:
            continue
        art.published, art.source, art.truncated, art.news_marks = published, source, truncated, news
        art.damaged = is_damaged(art.text)
        articles.append(art)
    return articles


def _segment_article(
    seg: Segment,
    how: str,
    notes: dict,
    site: str | None,
    hint_title: str | None,
    page_heading: str | None,
    n_segments: int,
    markup_title: str | None = None,
) -> Article | None:
    lines = seg.lines
    heading: str | None = None
    if how == "single":
        title, heading = choose_title(lines, notes.get("repeated", set()), site)
        if page_heading and not heading and page_heading != title:
            heading = page_heading
        if markup_title and not hint_title and _markup_title_wins(markup_title, title):
            # a guessed line (an account name, a byline: short lines repeated or first on the
            # page) gives way to the title two parts of the markup agree on; it stays the page
            # heading and leaves the head of the text, as it did when it was taken for the title
            title, heading = markup_title, title or heading
        if hint_title:
            if title and title != hint_title and title_key(title) != title_key(hint_title):
                heading = heading or title
            title = hint_title if not (title and hint_title.endswith(title) and len(title) >= 6
                                       and re.match(r"^\d{2,4}年?度?$", hint_title[: -len(title)])) else title
        text_lines = strip_title_lines(lines, title, heading)
    else:
        title = seg.title
        text_lines = [ln for i, ln in enumerate(lines) if i != seg.title_index]
        if how == "pian":
            heading = page_heading or hint_title
            if title is None and n_segments == 1 and hint_title and not page_heading:
                heading = hint_title
    text_lines = [ln for ln in text_lines if ln]
    text = "\n".join(text_lines).strip()
    if cjk_count(text) < MIN_ARTICLE_CJK and not (text and not cjk_count(text) and len(text) > 200):
        return None
    if heading and title and heading == title:
        heading = None
    return Article(title=title, text=text, heading=heading)


def _markup_title_wins(markup_title: str, guessed: str | None) -> bool:
    """Whether the markup-confirmed title replaces the title guessed from the text's lines: always,
    except when the guess names a kind of report (…工作总结) and the markup title does not (a
    文库 page whose heading is the collection's, its report's own title in the text)."""
    if not guessed:
        return True
    if title_key(guessed).startswith(title_key(markup_title)):
        return False  # the same title, or the full form of one the markup cut short
    return not (DOC_SUFFIX.search(guessed) and not DOC_SUFFIX.search(markup_title))


def _str(v: object) -> str | None:
    return v.strip() if isinstance(v, str) and v.strip() else None


def _hint_date(hints: dict) -> str | None:
    v = hints.get("publish_date") or hints.get("published")
    if isinstance(v, str) and (m := re.match(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", v)):
        y, mo, d = (int(x) for x in m.groups())
        if 1949 <= y <= 2100 and 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    return None
