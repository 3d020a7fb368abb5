"""The Whoosh schema, and how a :class:`Document` becomes index fields.

Facet values are indexed twice on purpose: as ID/KEYWORD fields, so a filter is
an ordinary term query answered from postings, and packed in one small column
(``facets``), so facet *counting* reads a compact per-document array instead of
loading every stored document (see ``searchapp.facets``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from ..analysis import bigrams, gram_analyzer, gram_text, index_words, simplified_variant, word_analyzer
from ..models import Document
from .fastwrite import GramCodes

UNKNOWN = "未知"  # the visible, filterable bucket for a facet value the text does not give
TITLE_BOOST = 3.0


def build_schema() -> Schema:
    """A fresh schema object (analyzers are shared between index and query time)."""
    words = word_analyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        path=ID(stored=True),
        file=ID(stored=True),
        file_hash=ID(stored=True),
        text_key=ID(stored=True),
        title=TEXT(analyzer=words, stored=True, phrase=False, field_boost=TITLE_BOOST),
        content=TEXT(analyzer=words, stored=True, phrase=False),
        # searched, never shown: the corrected wording of a synonym-damaged (伪原创) text,
        # and the simplified form of a text in traditional characters
        repaired=TEXT(analyzer=words, phrase=False),
        grams=TEXT(analyzer=gram_analyzer(), phrase=True, field_boost=0.5),
        region=KEYWORD(stored=True, commas=True, lowercase=False, scorable=False),
        year=NUMERIC(stored=True, sortable=True, signed=False, bits=32),
        year_key=ID(stored=True),
        topics=KEYWORD(stored=True, commas=True, lowercase=False, scorable=False),
        doc_type=ID(stored=True),
        source=STORED(),
        published=STORED(),
        truncated=BOOLEAN(stored=True),
        damaged=BOOLEAN(stored=True),
        meta=STORED(),
        facets=COLUMN(columns.VarBytesColumn()),
    )


# Joins the repaired wording to the text in the bigram field; no query contains it,
# so no match can span the join.
GRAM_SEPARATOR = "\u241e"


def repaired_text(text: str) -> str:
    """The text with synonym-substitution damage undone (效劳 → 服务), for the index only."""
    from ..clean.damage import repair_terms

    return repair_terms(text)


def _keywords(values: list[str]) -> str:
    """KEYWORD fields are comma separated; names never contain commas, but be safe."""
    return ",".join(v.replace(",", " ") for v in values if v)


def facet_field_values(region: list[str], year: int | None, topics: list[str], doc_type: str | None) -> dict[str, str]:
    """The four facet fields as indexed (KEYWORD fields comma separated, ``UNKNOWN`` for none): what
    :func:`to_fields` writes and what the integrity check expects a facet record's postings to be."""
    return {"region": _keywords(region) or UNKNOWN, "year_key": str(year) if year else UNKNOWN,
            "topics": _keywords(topics) or UNKNOWN, "doc_type": doc_type or UNKNOWN}


# -- the facet record: one small JSON object per document in the ``facets`` column -------------

@dataclass
class FacetRecord:
    """What the facet counter and the admin statistics read of a document (no stored fields)."""

    id: str
    region: list[str]  # the path: province, prefecture, county (empty: unknown)
    year: int | None
    topics: list[str]
    doc_type: str  # UNKNOWN when the text does not give it
    title: str = ""


def encode_facet_record(doc: Document) -> bytes:
    """The compact facet record of a document: id, title, region path, year, topics, type.

    Short keys, because every document carries one and facet counting reads them
    all; :func:`decode_facet_record` is the only reader.
    """
    m = doc.meta
    return json.dumps({"i": doc.id, "n": doc.article.title or "", "r": m.region, "y": m.year, "t": m.topics, "d": m.doc_type}, ensure_ascii=False).encode("utf-8")


def decode_facet_record(raw: bytes | None) -> FacetRecord | None:
    """A record written by :func:`encode_facet_record`; None for a missing or unreadable one."""
    if not raw:
        return None
    try:
        d = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(d, dict):
        return None
    return FacetRecord(d.get("i", ""), list(d.get("r") or []), d.get("y"), list(d.get("t") or []),
                       d.get("d") or UNKNOWN, d.get("n") or "")


def _grams(text: str, codes: bool) -> GramCodes | list[str]:
    if codes:
        return GramCodes.of(gram_text(text))
    return bigrams(text)


def to_fields(doc: Document, *, file: str, file_hash: str, text_key: str, gram_codes: bool = False) -> dict[str, Any]:
    """The field dict handed to ``writer.add_document``.

    The analyzed fields are given as lists of terms (what their analyzers would
    make of the text, computed here, i.e. in the indexing worker processes),
    with the original text for the stored value (``_stored_<field>``): Whoosh
    indexes a list as the ready tokens, so the writer process never segments.
    ``gram_codes`` gives the bigram field as code points
    (``indexer.engine.fastwrite.GramCodes``, same terms and positions), which only the
    bulk writer reads and which skips making one string per character.
    """
    a, m = doc.article, doc.meta
    title = a.title or ""
    extra = [repaired_text(a.text)] if a.damaged else []
    simp = simplified_variant(title + "\n" + a.text)
    if simp:
        extra.append(simp)  # a text in traditional characters is also found by simplified queries
    repaired = "\n".join(extra)
    fields: dict[str, Any] = {
        "id": doc.id,
        "path": doc.path,
        "file": file,
        "file_hash": file_hash,
        "text_key": text_key,
        "title": index_words(title),
        "_stored_title": title,
        "content": index_words(a.text),
        "_stored_content": a.text,
        "grams": _grams(title + "\n" + a.text + (GRAM_SEPARATOR + repaired if repaired else ""), gram_codes),
        "repaired": index_words(repaired),
        **facet_field_values(m.region, m.year, m.topics, m.doc_type),
        "source": a.source,
        "published": m.published,
        "truncated": bool(a.truncated),
        "damaged": bool(a.damaged),
        "meta": {"region": m.region, "year": m.year, "topics": m.topics, "doc_type": m.doc_type,
                 "heading": a.heading, "undecodable_bytes": a.undecodable_bytes, "extractor": a.extractor,
                 "url": doc.url, "retrieved": doc.retrieved},
        "facets": encode_facet_record(doc),
    }
    if m.year:
        fields["year"] = int(m.year)
    return fields
