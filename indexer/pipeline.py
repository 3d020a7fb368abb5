"""The indexing run: files → pages → clean articles → metadata → Whoosh documents.

A run is incremental by construction.  Every document remembers the file it came
from and that file's content hash, so a file whose hash is unchanged is not read
again, a changed file has its documents replaced, and a file that has gone from
a folder indexed before has its documents removed.  All changes of a run go
into one Whoosh commit: searchers keep seeing the previous state until it lands.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from whoosh.writing import LockError

from . import store
from .analysis import gram_text
from .clean import clean_page
from .dedup import group_near_duplicates
from .ingest import Skipped, iter_input_files, read_file
from .meta import extract_meta
from .models import Document
from .schema import to_fields

Progress = Callable[[int, int, str], None]


@dataclass
class RunSummary:
    """What a run did, for the CLI, the admin page and ``runs.json``."""

    added: int = 0  # documents added from new files
    updated: int = 0  # documents written for files whose content changed
    removed: int = 0  # documents removed (file gone or changed)
    unchanged: int = 0  # files skipped because their content hash is unchanged
    files: int = 0  # input files looked at
    skipped: list[Skipped] = field(default_factory=list)
    duplicates_skipped: int = 0  # exact copies of a document already indexed
    documents: int = 0  # documents in the index after the run
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "unchanged": self.unchanged, "files": self.files, "documents": self.documents,
            "duplicates_skipped": self.duplicates_skipped, "seconds": round(self.seconds, 3),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
        }


class IndexBusy(RuntimeError):
    """Another indexing run holds the index's write lock."""


def file_hash(path: Path) -> str:
    """Content hash of an input file (what decides "changed")."""
    h = hashlib.sha1()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def doc_id(page_path: str, n: int) -> str:
    """A stable id from where the article is (file, row, position on the page)."""
    return hashlib.sha1(f"{page_path}\x00{n}".encode("utf-8")).hexdigest()[:16]


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
            skipped.append(Skipped(page.path, f"cleaning failed: {type(exc).__name__}: {exc}"))
            continue
        articles = [a for a in articles if a.text and a.text.strip()]
        if not articles:
            skipped.append(Skipped(page.path, "no report text found after cleaning"))
            continue
        for n, article in enumerate(articles):
            try:
                meta = extract_meta(article, page.hints)
            except Exception as exc:
                skipped.append(Skipped(page.path, f"metadata failed: {type(exc).__name__}: {exc}"))
                continue
            docs.append(Document(id=doc_id(page.path, n), path=page.path, article=article, meta=meta))
    return docs, skipped


def _indexed_files(ix) -> dict[str, str]:
    """file → file_hash for every file that has documents in the index."""
    out: dict[str, str] = {}
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            out[fields["file"]] = fields["file_hash"]
    return out


def _existing_texts(ix, exclude_files: set[str]) -> tuple[dict[str, str], dict[str, dict]]:
    """Texts (for near-duplicate grouping) and stored fields of the documents that stay."""
    texts: dict[str, str] = {}
    stored: dict[str, dict] = {}
    with ix.searcher() as s:
        for fields in s.all_stored_fields():
            if fields["file"] in exclude_files:
                continue
            texts[fields["id"]] = fields.get("content", "")
            stored[fields["id"]] = fields
    return texts, stored


def _under(file: str, roots: list[Path]) -> bool:
    try:
        fp = Path(file).resolve()
    except OSError:
        return False
    return any(fp == r or r in fp.parents for r in roots)


def index_paths(paths: Iterable[str | Path], index_dir: str | Path, progress: Progress | None = None) -> RunSummary:
    """Index files and folders incrementally into ``index_dir`` (created if needed)."""
    t0 = time.perf_counter()
    summary = RunSummary()
    ix = store.open_or_create(index_dir)
    try:
        writer = ix.writer(timeout=0.0)
    except LockError as exc:
        raise IndexBusy(f"another indexing run is writing to {index_dir}; try again when it has finished") from exc
    try:
        indexed = _indexed_files(ix)
        paths = [Path(p) for p in paths]
        inputs = list(iter_input_files(paths))
        roots = [p.resolve() for p in paths if p.is_dir()]
        seen_files: set[str] = set()
        new_docs: list[tuple[Document, str, str]] = []  # (doc, file, hash)
        changed_files: set[str] = set()
        total = len(inputs)
        for i, (path, problem) in enumerate(inputs, start=1):
            if progress:
                progress(i, total, str(path))
            if problem:
                summary.skipped.append(Skipped(str(path), problem))
                continue
            summary.files += 1
            key = str(path.resolve())
            seen_files.add(key)
            try:
                h = file_hash(path)
            except OSError as exc:
                summary.skipped.append(Skipped(str(path), f"cannot read: {exc.strerror or exc}"))
                continue
            if indexed.get(key) == h:
                summary.unchanged += 1
                continue
            docs, skipped = documents_from_file(Path(key))
            summary.skipped.extend(skipped)
            if key in indexed:
                changed_files.add(key)
            new_docs.extend((d, key, h) for d in docs)
        gone = {f for f in indexed if f not in seen_files and _under(f, roots) and not Path(f).exists()}
        replaced = changed_files | gone
        for f in replaced:
            summary.removed += writer.delete_by_term("file", f)
        existing_texts, existing_stored = _existing_texts(ix, replaced)
        existing_keys = {fields.get("text_key"): fid for fid, fields in existing_stored.items()}

        # Exact copies across files are indexed once.
        unique: list[tuple[Document, str, str, str]] = []
        for d, f, h in new_docs:
            k = text_key(d.article.text)
            if k in existing_keys:
                summary.duplicates_skipped += 1
                summary.skipped.append(Skipped(d.path, f"exact copy of document {existing_keys[k]}"))
                continue
            existing_keys[k] = d.id
            unique.append((d, f, h, k))

        texts = dict(existing_texts)
        texts.update({d.id: d.article.text for d, _, _, _ in unique})
        groups = group_near_duplicates(texts)
        by_id = {d.id: d for d, _, _, _ in unique}
        _share_years(by_id, groups, existing_stored)
        for d, f, h, k in unique:
            d.duplicates = groups.get(d.id, [])
            writer.add_document(**to_fields(d, file=f, file_hash=h, text_key=k))
            if f in changed_files:
                summary.updated += 1
            else:
                summary.added += 1
        writer.commit()
        store.write_json_atomic(Path(index_dir) / store.GROUPS_FILE, {k: v for k, v in groups.items() if v})
    except BaseException:
        writer.cancel()
        raise
    with ix.searcher() as s:
        summary.documents = s.doc_count()
    summary.seconds = time.perf_counter() - t0
    return summary


def _share_years(new: dict[str, Document], groups: dict[str, list[str]], existing: dict[str, dict]) -> None:
    """A report whose copy states the year (2010年 where it says 20xx年) covers that year too."""
    for did, d in new.items():
        if d.meta.year:
            continue
        years = set()
        for other in groups.get(did, []):
            if other in new and new[other].meta.year:
                years.add(new[other].meta.year)
            elif other in existing and existing[other].get("meta", {}).get("year"):
                years.add(existing[other]["meta"]["year"])
        if len(years) == 1:
            d.meta.year = years.pop()
