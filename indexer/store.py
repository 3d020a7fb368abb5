"""Where the index lives on disk, and the small sidecar files beside it.

The Whoosh index directory also holds ``groups.json`` (near-duplicate groups,
recomputed over the whole collection after each run) and ``runs.json`` (the
summaries of the last indexing runs).  Sidecars are written to a temporary file
and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.index import Index

from .schema import build_schema

INDEX_ENV = "REPORTSEARCH_INDEX_DIR"
GROUPS_FILE = "groups.json"
RUNS_FILE = "runs.json"


def project_root() -> Path:
    """The checkout this package runs from (holds ``corpus/`` and ``templates/``)."""
    return Path(__file__).resolve().parent.parent


def default_index_dir() -> Path:
    """``$REPORTSEARCH_INDEX_DIR`` if set, else ``index/`` in the project folder."""
    env = os.environ.get(INDEX_ENV)
    return Path(env) if env else project_root() / "index"


def index_exists(index_dir: str | Path) -> bool:
    """Whether a committed Whoosh index is in ``index_dir``."""
    p = Path(index_dir)
    return p.is_dir() and whoosh_index.exists_in(str(p))


def open_index(index_dir: str | Path) -> Index:
    """Open an existing index (raises ``whoosh.index.EmptyIndexError`` if there is none)."""
    return whoosh_index.open_dir(str(index_dir))


def open_or_create(index_dir: str | Path) -> Index:
    """Open the index, creating the folder and an empty index on first use."""
    p = Path(index_dir)
    p.mkdir(parents=True, exist_ok=True)
    if whoosh_index.exists_in(str(p)):
        return whoosh_index.open_dir(str(p))
    return whoosh_index.create_in(str(p), build_schema())


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json(path: Path, default: Any) -> Any:
    """A sidecar's content, or ``default`` when it is missing or unreadable."""
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return default


def load_groups(index_dir: str | Path) -> dict[str, list[str]]:
    """Near-duplicate groups: doc id → ids of its other copies."""
    data = read_json(Path(index_dir) / GROUPS_FILE, {})
    return data if isinstance(data, dict) else {}
