"""Metadata stage: facet values (region, year, topics, document type) for one article.

``extract_meta(article, hints)`` is the entry point used by the pipeline.  Each facet
lives in its own submodule with its own tests:

* :mod:`indexer.meta.regions`  – region path from a gazetteer (jionlp's data, see there)
* :mod:`indexer.meta.years`    – the year a report covers, and publish-date normalisation
* :mod:`indexer.meta.topics`   – topics from ``indexer/data/topics.toml``
* :mod:`indexer.meta.doctype`  – 工作总结 / 工作计划 / … / 政府工作报告 / 决议 / 其他

Unknown stays unknown: every extractor returns ``None``/``[]``/``"其他"`` rather than a
guess, and none of them raises on odd input.  Heavy resources (gazetteer automaton,
taxonomy) are built once per process on first use; call :func:`warm_up` to pay that
cost up front (e.g. before forking index workers).

``hints`` are what a record file states (title, year, province, publish_date, url,
source).  They are treated as strong but checkable evidence: a hinted title stands in
for a missing article title, a hinted year or province adds weight to that value but
the text can outvote it, a hinted publish date fills ``published`` when the article has
none.
"""
from __future__ import annotations

import logging
from typing import Any

from ..models import Article, Meta
from .doctype import DOC_TYPES, extract_doc_type
from .regions import NATIONAL, extract_region, region_levels, resolve_name
from .textutil import fold_width, to_simplified
from .topics import extract_topics, taxonomy
from .years import extract_year, normalize_date

log = logging.getLogger(__name__)

__all__ = [
    "DOC_TYPES",
    "NATIONAL",
    "extract_doc_type",
    "extract_meta",
    "extract_region",
    "extract_topics",
    "extract_year",
    "normalize_date",
    "region_levels",
    "resolve_name",
    "warm_up",
]


def warm_up() -> None:
    """Load the gazetteer, the segmenter and the taxonomy now (≈0.3 s once per process from the
    cache files of :mod:`indexer.loadcache`, ≈4–5 s when they have to be built)."""
    from .regions import gazetteer

    gazetteer()
    taxonomy()


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v.strip() else None


def extract_meta(article: Article, hints: dict | None = None) -> Meta:
    """Facet values for one article; never raises (a broken facet yields its unknown value)."""
    hints = hints if isinstance(hints, dict) else {}
    title = _s(getattr(article, "title", None)) or _s(hints.get("title"))
    text = getattr(article, "text", "") or ""
    if not isinstance(text, str):
        text = str(text)
    # normalise once here; the extractors' own normalise() is then a cheap no-op scan
    title = to_simplified(fold_width(title)) or None
    text = to_simplified(fold_width(text))
    heading = _s(getattr(article, "heading", None))
    heading = to_simplified(heading) if heading else heading
    published = normalize_date(getattr(article, "published", None)) or normalize_date(hints.get("publish_date"))
    try:
        doc_type = extract_doc_type(title, text, heading, news=bool(getattr(article, "news_marks", False)))
    except Exception as exc:  # noqa: BLE001 # pragma: no cover - extract_doc_type already guards; a facet never breaks indexing
        log.debug("doc type extraction failed: %r", exc)
        doc_type = "其他"
    return Meta(
        region=extract_region(title, text, hints),
        year=extract_year(title, text, published, hints.get("year")),
        topics=extract_topics(title, text, doc_type=doc_type),
        doc_type=doc_type if doc_type in DOC_TYPES else "其他",
        published=published,
    )
