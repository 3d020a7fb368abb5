"""BM25F as Whoosh computes it, with each segment's field lengths read once instead of per document.

Whoosh's ``BM25FScorer`` asks the per-document reader for the field length of
every document it scores: a seek and a read in the length column each time,
about a fifth of a query's time on a few thousand reports.  The lengths of a
segment are a small byte column; :class:`CachedBM25F` decodes it once per leaf
searcher into a list (``byte_to_length`` of each byte, exactly as
``W3PerDocReader.doc_field_length`` does), and the scorer indexes that list.
Scores are unchanged (``tests/test_scoring.py``).
"""
from __future__ import annotations

from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader
from whoosh.util.numeric import byte_to_length

_ATTR = "_reportsearch_lengths"


def _segment_lengths(searcher, fieldname: str) -> list | None:
    """A leaf searcher's field lengths, by docnum; None when they cannot be read in one piece."""
    cache = getattr(searcher, _ATTR, None)
    if cache is None:
        cache = {}
        try:
            setattr(searcher, _ATTR, cache)
        except AttributeError:
            return None
    if fieldname in cache:
        return cache[fieldname]
    out = None
    perdoc = getattr(searcher.reader(), "_perdoc", None)
    if isinstance(perdoc, W3PerDocReader):
        col = perdoc._cached_reader("_%s_len" % fieldname, LENGTHS_COLUMN)
        if col is None:
            out = [1] * perdoc.doc_count_all()  # doc_field_length's default (1) for a missing column
        else:
            out = [byte_to_length(b) if b else None for b in (col[i] for i in range(perdoc.doc_count_all()))]
    cache[fieldname] = out
    return out


class CachedBM25F(scoring.BM25F):
    """``BM25F`` whose scorers look field lengths up in a per-segment list."""

    def scorer(self, searcher, fieldname, text, qf=1):
        sc = super().scorer(searcher, fieldname, text, qf=qf)
        if isinstance(sc, scoring.BM25FScorer):
            lengths = _segment_lengths(searcher, fieldname)
            if lengths is not None:
                sc.dfl = lengths.__getitem__
        return sc
