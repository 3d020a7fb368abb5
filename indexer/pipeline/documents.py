"""One input file → its documents: read (ingest), cleaned into reports, each described (meta).

The first phase of a run, and what every indexing worker does per file
(:mod:`.workers`), so it lives apart from the run that schedules it.  The ids and
keys made here are what the index stores: a document's id comes from where it is
(file, row, position on the page), its text key from its text (exact copies).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from ..analysis import gram_text
from ..clean import clean_page
from ..ingest import Skipped, read_file
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


def doc_id(page_path: str, n: int) -> str:
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
            try:
                meta = extract_meta(article, page.hints)
            except Exception as exc:  # likewise for the metadata
                log.debug("metadata of %s failed", page.path, exc_info=True)
                skipped.append(Skipped(page.path, f"metadata failed: {type(exc).__name__}: {exc}"))
                continue
            docs.append(Document(id=doc_id(page.path, n), path=page.path, article=article, meta=meta,
                                 url=prov.url, retrieved=prov.retrieved))
    return docs, skipped
