"""One input file → its documents: read (ingest), cleaned into reports, each described (meta).

The first phase of a run, and what every indexing worker does per file
(:mod:`.workers`), so it lives apart from the run that schedules it.  The ids and
keys made here are what the index stores: a document's id comes from where it is
(file, row, position on the page), its text key from its text (exact copies).
"""
from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path

from ..analysis import gram_text
from ..clean import clean_page
from ..ingest import MAX_DOC_CHARS_ENV, Skipped, limits, read_file, split_article
from ..meta import extract_meta
from ..models import Document
from ..provenance import page_provenance

log = logging.getLogger(__name__)


def file_hash(path: Path) -> str:
    """Content hash of an input file (what decides "changed")."""
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def doc_id(page_path: str, n: int | str) -> str:
    """A stable id from where the article is (file, row, position on the page)."""
    return hashlib.sha1(f"{page_path}\x00{n}".encode()).hexdigest()[:16]


def text_key(text: str) -> str:
    """Exact-copy key: the hash of the text with white space and width differences removed."""
    return hashlib.sha1(gram_text(text).encode("utf-8")).hexdigest()


def documents_from_file(path: Path) -> tuple[list[Document], list[Skipped]]:
    """Read, clean and describe one input file.  Never raises on bad content.

    ``path`` should be absolute: document ids are derived from it.
    """
    pages, skipped = read_file(path)
    docs: list[Document] = []
    max_doc = limits().doc_chars
    for page in pages:
        try:
            articles = clean_page(page)
        except Exception as exc:  # a cleaner bug must not stop the run: report the page
            log.debug("cleaning %s failed", page.path, exc_info=True)
            skipped.append(Skipped(page.path, f"cleaning failed: {type(exc).__name__}: {exc}"))
            continue
        articles = [a for a in articles if a.text and a.text.strip()]
        prov = page_provenance(page)
        if not articles:
            tried = " (nor by the readability, trafilatura and jusText fallbacks)" if page.kind == "html" else ""
            skipped.append(Skipped(page.path, f"no report text found after cleaning{tried}"))
            continue
        for n, article in enumerate(articles):
            article.undecodable_bytes = page.undecodable_bytes
            if page.cut:  # only the page's beginning was read: say the text is incomplete
                article.truncated = True
            try:
                meta = extract_meta(article, page.hints)
            except Exception as exc:  # likewise for the metadata
                log.debug("metadata of %s failed", page.path, exc_info=True)
                skipped.append(Skipped(page.path, f"metadata failed: {type(exc).__name__}: {exc}"))
                continue
            parts = split_article(article, max_doc)  # a part after the first: its own id, the report's metadata
            for k, part in enumerate(parts):
                docs.append(Document(id=doc_id(page.path, n if k == 0 else f"{n}.{k + 1}"), path=page.path,
                                     article=part, meta=meta if k == 0 else copy.deepcopy(meta),
                                     url=prov.url, retrieved=prov.retrieved))
            if len(parts) > 1:
                skipped.append(Skipped(page.path, f"long report ({len(article.text):,} characters) indexed as "
                                                  f"{len(parts)} parts (limit {MAX_DOC_CHARS_ENV}={max_doc:,})"))
    return docs, skipped
