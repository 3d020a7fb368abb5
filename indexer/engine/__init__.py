"""The storage engine: a Whoosh-format index written and read by numpy fast paths.

* :mod:`.format`: the on-disk layout constants both directions share;
* :mod:`.schema`: the schema, a document's fields and the facet record codec;
* writer: :mod:`.fastwrite` (prepared postings, the bulk segment writer) and
  :mod:`.runs` (spilled buffers merged into one segment);
* reader: :mod:`.postings` (posting lists and field lengths), :mod:`.fastquery`
  (the numpy evaluator), :mod:`.scoring` (BM25F with cached lengths),
  :mod:`.phrase` (bigram phrases);
* :mod:`.store`: the index folder (generations, run lock, atomic writes, sidecars).

Nothing here knows about Flask or the pipeline; both import from here.
"""
from __future__ import annotations

from .fastquery import Evaluator, PostingCache, Unsupported, top_order
from .fastwrite import BulkWriter, prepare
from .phrase import GramPhrase
from .schema import UNKNOWN, build_schema, to_fields
from .scoring import CachedBM25F

__all__ = [
    "UNKNOWN",
    "BulkWriter",
    "CachedBM25F",
    "Evaluator",
    "GramPhrase",
    "PostingCache",
    "Unsupported",
    "build_schema",
    "prepare",
    "to_fields",
    "top_order",
]
