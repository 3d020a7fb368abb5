"""Data passed between the pipeline stages: ingest → clean → metadata → index.

Each stage is a set of pure functions over these small records, so that every
stage can be tested on its own with real pages (the trafilatura way).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PageKind = Literal["html", "text"]


@dataclass
class Page:
    """One scraped page as it arrives, decoded to ``str`` but otherwise untouched.

    A file gives one page; a record file (``.jsonl``/``.csv``) gives one page per row.
    ``hints`` carries what a record states outright (title, year, province,
    publish_date, url, source); the cleaner and metadata stages treat hints as
    evidence, never as a replacement for reading the text.
    """

    path: str  # file path, with "#N" appended for row N of a record file
    raw: str
    kind: PageKind
    hints: dict[str, Any] = field(default_factory=dict)
    undecodable_bytes: int = 0  # places with invalid bytes the decoder replaced with U+FFFD (rare damage, as a browser shows it)
    cut: bool = False  # longer than the page limit: only its beginning was read (indexer.ingest.cap_page)


@dataclass
class Article:
    """One report found on a page, after the site chrome is gone."""

    title: str | None
    text: str  # clean report text, one paragraph per line
    truncated: bool = False  # the page was a cut-off preview
    published: str | None = None  # ISO date (YYYY-MM-DD) the page says it was published
    source: str | None = None  # the site the page names itself as, when it does
    damaged: bool = False  # synonym-substitution damage (伪原创) detected
    heading: str | None = None  # the page's own heading when it is not this article's title (weak evidence only)
    undecodable_bytes: int = 0  # places in the page's bytes that could not be decoded (shown as U+FFFD in the text)
    extractor: str = "ours"  # which extraction found the text: ours, or a fallback library (readability, trafilatura, justext)
    news_marks: bool = False  # the page carries a news item's marks (reporter byline, agency dateline, 原标题 note)


@dataclass
class Meta:
    """Facet values for one article. Unknown stays ``None``/empty: never guessed."""

    region: list[str] = field(default_factory=list)  # province › prefecture › county, most general first
    year: int | None = None  # the year the report covers
    topics: list[str] = field(default_factory=list)
    doc_type: str = "其他"
    published: str | None = None


@dataclass
class Document:
    """What goes into the index: an article, its metadata and where it came from."""

    id: str
    path: str
    article: Article
    meta: Meta
    duplicates: list[str] = field(default_factory=list)  # ids of near-duplicate copies
    url: str | None = None  # the page's source address (``indexer.provenance``), for readers to check it
    retrieved: str | None = None  # ISO date the page was retrieved, when a record or the saved page says
