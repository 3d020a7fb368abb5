"""BM25F as Whoosh computes it, with each segment's field lengths read once instead of per document.

Whoosh's ``BM25FScorer`` asks the per-document reader for the field length of
every document it scores: a seek and a read in the length column each time,
about a fifth of a query's time on a few thousand reports.  The lengths of a
segment are a small byte column; :class:`CachedBM25F` decodes it once per leaf
searcher into a list (:func:`.lengths.field_lengths`: ``byte_to_length`` of each
byte, exactly as ``W3PerDocReader.doc_field_length`` does), and the scorer indexes
that list.  Scores are unchanged (``tests/equivalence/test_cached_bm25f_vs_bm25f.py``).
"""
from __future__ import annotations

from whoosh import scoring
from whoosh.codec.whoosh3 import W3PerDocReader

from .lengths import field_lengths

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
    reader = searcher.reader()
    if isinstance(getattr(reader, "_perdoc", None), W3PerDocReader):
        out = field_lengths(reader, fieldname).tolist()  # the column decoded as the evaluator decodes it
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
