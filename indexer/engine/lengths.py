"""Per-document field lengths, decoded one way for the writer, the evaluator and the scorer.

Whoosh keeps a field's lengths as one byte per document (``length_to_byte``) in a
column of the segment's per-document files.  BM25F uses the length the byte stands
for (``byte_to_length``); reading it per document (``doc_field_length``) is a seek
and a read each time, so every fast path reads the whole column at once here and
maps it through :data:`.format.BYTE_LENGTHS`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader

from .format import BYTE_LENGTHS


def perdoc_field_lengths(perdoc: Any, fieldname: str, ndocs: int, missing: float = 1.0) -> np.ndarray:
    """The lengths of ``fieldname`` for documents ``0 .. ndocs-1`` of one segment, as float64.

    ``perdoc`` is the segment's per-document reader; ``missing`` is what a field
    without a lengths column has (``doc_field_length``'s default: the reader asks
    with 1, Whoosh's posting writer with 0).  A per-document reader of another
    codec is asked document by document.
    """
    if not isinstance(perdoc, W3PerDocReader):
        return np.array([perdoc.doc_field_length(d, fieldname, missing) or 0 for d in range(ndocs)],
                        dtype=np.float64)
    col = perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
    if col is None:
        return np.full(ndocs, missing, dtype=np.float64)
    raw: Any = None
    try:
        raw = col._dbfile.get(col._basepos, col._count)
    except AttributeError:
        raw = None
    if raw is not None and getattr(col, "_fixedlen", 1) == 1:
        b = np.zeros(ndocs, dtype=np.uint8)
        got = np.frombuffer(raw, dtype=np.uint8)[:ndocs]
        b[:len(got)] = got
    else:
        b = np.array([col[i] for i in range(ndocs)], dtype=np.uint8)
    return BYTE_LENGTHS[b]


def field_lengths(reader: Any, fieldname: str) -> np.ndarray:
    """Every document's length in ``fieldname`` in one segment reader, as BM25F sees it (byte-quantised)."""
    n = reader.doc_count_all()
    perdoc = getattr(reader, "_perdoc", None)
    if not isinstance(perdoc, W3PerDocReader):
        return np.array([reader.doc_field_length(d, fieldname, 1) or 0 for d in range(n)], dtype=np.float64)
    return perdoc_field_lengths(perdoc, fieldname, n)
