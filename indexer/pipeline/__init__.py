"""The indexing pipeline: input files → documents → index, one run at a time.

Modules, in the order a run uses them:

* :mod:`.documents`: one input file → its documents (ingest, clean, describe);
* :mod:`.workers`: processes that prepare (and write) the documents of many files in parallel;
* :mod:`.run`: one run, a function per phase (inventory, prepare, decide, write, commit).

Only the names below are the package's interface; the CLI and the web admin use them.
"""
from __future__ import annotations

from .documents import documents_from_file, file_hash, text_key
from .run import IndexBusy, RunSummary, index_paths, indexed_files_from_postings

__all__ = [
    "IndexBusy",
    "RunSummary",
    "documents_from_file",
    "file_hash",
    "index_paths",
    "indexed_files_from_postings",
    "text_key",
]
