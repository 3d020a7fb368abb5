"""Is the index on disk whole?  Checksums recorded at commit, and checks that say what is wrong.

A damaged index used to surface as a traceback on every page and a silent success of the
next ``index`` run; a garbled facet column gave wrong counts with no error at all.  This
module lets every entry point ask first:

* :func:`record_checksums` runs after each commit and writes ``checksums.json`` in the live
  folder: the TOC generation and, for every file of that generation (the TOC and each
  segment's files), its size and CRC-32.  Files already recorded keep their entry (Whoosh
  never rewrites a file), so a one-document update hashes only its new segment.
* :func:`check_index` compares the folder with that record (``quick``: sizes, and checksums
  of the small files: TOC and columns; ``deep``: every checksum), opens every segment, checks
  the facet column against the postings of the facet fields (what the facet counts and what a
  filter finds must agree, document by document) and reads the sidecars.
* :class:`IndexDamaged` carries the problems and the advice (rebuild) to the CLI and web.

The facet-column check compares the packed record with the *postings* of the ID/KEYWORD
facet fields (written from the same metadata, see :mod:`indexer.schema`), so it needs no
stored document to be read and stays cheap on a large index.
"""
from __future__ import annotations

import json
import os
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index

from . import store
from .schema import UNKNOWN, FacetRecord, decode_facet_record, facet_field_values

CHECKSUMS_FILE = store.CHECKSUMS_FILE
_CHUNK = 1 << 20
_EMPTY_RECORD = FacetRecord("", [], None, [], UNKNOWN, "")  # a document written without one
#: Columns and the TOC are checksummed even in a quick check: small, and a garbled one
#: gives wrong answers rather than errors.  Stored documents and postings only in a deep check.
_SMALL_SUFFIXES = (".toc", ".col")
_BIG_COLUMNS = ("_stored.col",)
REBUILD_ADVICE = "run `reportsearch index --rebuild` (it rebuilds from the indexed files and swaps the result in)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the index: where, what, and what to do."""

    where: str
    what: str
    advice: str = REBUILD_ADVICE

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class IndexDamaged(RuntimeError):
    """The index on disk is damaged; ``problems`` says where, the message what to do."""

    def __init__(self, index_dir: str | Path, problems: list[Problem]):
        self.index_dir = Path(index_dir)
        self.problems = problems
        first = "; ".join(str(p) for p in problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3 else "")
        super().__init__(f"the index at {index_dir} is damaged: {first}. To repair it, {problems[0].advice}; "
                         f"`reportsearch check` lists everything it finds")


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def _generation_files(folder: Path) -> tuple[int, list[str]]:
    """The live TOC generation and the names of its files (TOC + every segment's files)."""
    ix = whoosh_index.open_dir(str(folder))
    gen = ix.latest_generation()
    toc = ix._read_toc()  # Whoosh exposes the TOC only this way
    segids = {s.segment_id() for s in toc.segments}
    names = [f"_{store.INDEXNAME}_{gen}.toc"]
    for child in sorted(folder.iterdir()):
        m = store.SEGMENT_FILE_RE.match(child.name)
        if m and m.group(1) in segids:
            names.append(child.name)
    return gen, names


def record_checksums(folder: str | Path) -> None:
    """Write ``checksums.json`` for the committed generation in ``folder`` (after a commit)."""
    folder = Path(folder)
    gen, names = _generation_files(folder)
    old = store.read_json(folder / CHECKSUMS_FILE, {})
    old_files = old.get("files", {}) if isinstance(old, dict) else {}
    files: dict[str, list[int]] = {}
    for name in names:
        prev = old_files.get(name)
        if isinstance(prev, list) and len(prev) == 3:
            # Whoosh never rewrites a file once written (segment ids and TOC generations are not
            # reused), so a recorded name keeps its record.  Hashing it again because its size or
            # time changed would record damage as good: a .pst or stored column overwritten in
            # place (same size, which the quick check before a run does not hash) would pass every
            # later check.
            files[name] = prev
        else:
            st = (folder / name).stat()
            files[name] = [st.st_size, _crc32(folder / name), st.st_mtime_ns]
    store.write_json_atomic(folder / CHECKSUMS_FILE, {"generation": gen, "files": files})


def _check_files(folder: Path, deep: bool) -> tuple[list[Problem], bool]:
    """Files against ``checksums.json``; returns the problems and whether a record applied."""
    rec = store.read_json(folder / CHECKSUMS_FILE, None)
    if not isinstance(rec, dict) or not isinstance(rec.get("files"), dict):
        return [], False
    try:
        gen = whoosh_index.open_dir(str(folder)).latest_generation()
    except Exception as exc:  # noqa: BLE001 - any failure to read the TOC is the finding
        return [Problem(f"_{store.INDEXNAME}_*.toc", f"the table of contents cannot be read ({type(exc).__name__}: {exc})")], True
    if rec.get("generation") != gen:
        return [], False  # recorded for another generation (a run died before its sidecars): not applicable
    problems: list[Problem] = []
    for name, entry in rec["files"].items():
        path = folder / name
        if not (isinstance(entry, list) and len(entry) == 3):
            continue
        size, crc, _ = entry
        try:
            actual = path.stat().st_size
            small = name.endswith(_SMALL_SUFFIXES) and not name.endswith(_BIG_COLUMNS)
            same = actual != size or not (deep or small) or _crc32(path) == crc
        except FileNotFoundError:
            problems.append(Problem(name, "missing"))
            continue
        except OSError as exc:  # unreadable: say so (check_index looks again if a commit moved it)
            problems.append(Problem(name, f"cannot be read ({exc.strerror or exc})"))
            continue
        if actual != size:
            problems.append(Problem(name, f"size {actual} bytes, {size} recorded at commit (truncated or overwritten)"))
        elif not same:
            problems.append(Problem(name, "content differs from the checksum recorded at commit"))
    return problems, True


def _facet_terms(rec: FacetRecord) -> dict[str, set[str]]:
    """The facet-field terms a document with this facet record was indexed under."""
    values = facet_field_values([str(v) for v in rec.region], rec.year, [str(v) for v in rec.topics], rec.doc_type)
    return {field: set(v.split(",")) for field, v in values.items()}


def _check_segments(folder: Path, facets: bool) -> list[Problem]:
    """Open every segment; with ``facets``, the facet column must agree with the facet fields' postings."""
    problems: list[Problem] = []
    try:
        ix = whoosh_index.open_dir(str(folder))
        searcher = ix.searcher()
    except Exception as exc:  # noqa: BLE001
        return [Problem(f"_{store.INDEXNAME}_*.toc", f"the index cannot be opened ({type(exc).__name__}: {exc})")]
    with searcher as s:
        reader = s.reader()
        try:
            n = reader.doc_count_all()
            if not facets:
                return problems
            live = [d for d in range(n) if not reader.is_deleted(d)]
            if not reader.has_column("facets"):
                return [Problem("facets column", "missing")] if live else []
            col = reader.column_reader("facets")
            records: dict[int, FacetRecord] = {}
            for d in live:
                raw = col[d]
                rec = decode_facet_record(raw) if raw else _EMPTY_RECORD
                if rec is None:
                    problems.append(Problem("facets column", f"document {d}: the facet record is not readable"))
                    continue
                records[d] = rec
            # What each document's record says, against which documents each term's postings hold.
            wanted: dict[tuple[str, str], set[int]] = {}
            for d, rec in records.items():
                for field, terms in _facet_terms(rec).items():
                    for t in terms:
                        wanted.setdefault((field, t), set()).add(d)
            ids = {d: rec.id for d, rec in records.items()}
            bad: set[int] = set()
            for field in ("region", "topics", "year_key", "doc_type"):
                for term in reader.lexicon(field):
                    t = term.decode("utf-8") if isinstance(term, bytes) else term
                    posted = {d for d in reader.postings(field, term).all_ids() if d in records}
                    bad |= posted ^ wanted.pop((field, t), set())
            for docs in wanted.values():  # a record naming a term no posting has
                bad |= docs
            for term in reader.lexicon("id"):
                t = term.decode("utf-8") if isinstance(term, bytes) else term
                for d in reader.postings("id", term).all_ids():
                    if d in records and ids.get(d) != t:
                        bad.add(d)
            if bad:
                problems.append(Problem("facets column", f"{len(bad)} of {len(records)} documents' facet records "
                                        "disagree with the indexed facet fields (facet counts would be wrong)"))
        except Exception as exc:  # noqa: BLE001 - any read failure of a segment is the finding
            problems.append(Problem("segment files", f"reading the index failed ({type(exc).__name__}: {exc})"))
    return problems


def _check_sidecars(folder: Path) -> list[Problem]:
    problems: list[Problem] = []
    for name, kind in ((store.GROUPS_FILE, dict), (store.MANIFEST_FILE, dict), (store.ROOTS_FILE, list)):
        path = folder / name
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(name, f"not readable ({exc})", advice="run `reportsearch index` (it rewrites "
                                    "this sidecar from the index)" if name != store.ROOTS_FILE else REBUILD_ADVICE))
            continue
        if not isinstance(data, kind):
            problems.append(Problem(name, f"not a JSON {kind.__name__}"))
    return problems


def check_index(index_dir: str | Path, *, deep: bool = False) -> list[Problem]:
    """Everything found wrong with the live index (empty: healthy, or no index yet).

    ``deep`` also checksums the postings and stored documents and compares the facet column
    with the postings (reads the whole index); the quick check (sizes, TOC and column
    checksums) is what ``index`` runs before it adds to an index and what the web app runs
    when a request fails.
    """
    index_dir = Path(index_dir)
    for _ in range(3):
        before = _live_state(index_dir)
        problems = _check_once(index_dir, deep)
        # A run may commit while we look: Whoosh deletes the files of merged segments right after
        # its commit, which would read as "missing" or an unreadable segment.  Damage stays put,
        # a commit moves the live TOC (or CURRENT): look again at the new generation.
        if not problems or _live_state(index_dir) == before:
            return problems
    return problems


def _live_state(index_dir: Path) -> tuple[str | None, tuple[str, ...]]:
    """Which generation folder is live and which TOCs it holds (changes with every commit or swap)."""
    try:
        folder = store.live_dir(index_dir)
        return str(folder), tuple(sorted(e.name for e in os.scandir(folder) if e.name.endswith(".toc")))
    except OSError:
        return None, ()


def _check_once(index_dir: Path, deep: bool) -> list[Problem]:
    try:
        folder = store.live_dir(index_dir)
        tocs = sorted(folder.glob(f"_{store.INDEXNAME}_*.toc")) if folder.is_dir() else []
    except OSError as exc:
        return [Problem(str(index_dir), f"cannot be read ({exc})", advice="check the folder's permissions")]
    if not tocs:
        cur = store.current_generation_name(index_dir)
        return [Problem(store.CURRENT_FILE, f"points to {cur}, which holds no index")] if cur else []
    problems, _recorded = _check_files(folder, deep)
    if problems:
        return problems
    problems += _check_segments(folder, facets=deep)
    if deep:  # a run rebuilds an unreadable sidecar itself; the quick check stays cheap at 100,000 reports
        problems += _check_sidecars(folder)
    return problems


class IndexHealth:
    """The quick check's verdict on the live index, redone only when a commit changed it.

    Servers ask on every request; the state key (the live folder's TOC and checksum record,
    by name, size and mtime) costs one directory listing, the check itself runs once per
    generation (plus after an unexpected error, ``recheck``, at most every
    :data:`RECHECK_INTERVAL` seconds while the index is unchanged).
    """

    #: Seconds between two checks asked for by errors while the index has not changed: a flood of
    #: failing requests must not turn into a flood of checks (each reads the TOC and columns).
    RECHECK_INTERVAL = 30.0

    def __init__(self, index_dir: Path):
        self.index_dir = index_dir
        self._key: tuple[Any, ...] | None = None
        self._checked = 0.0  # time.monotonic() of the last check
        self._problems: list[Problem] = []
        self._lock = threading.Lock()

    def _state_key(self) -> tuple[Any, ...]:
        try:
            folder = store.live_dir(self.index_dir)
            wanted = [e for e in os.scandir(folder) if e.name.endswith(".toc") or e.name == CHECKSUMS_FILE]
            return tuple(sorted((e.name, st.st_size, st.st_mtime_ns) for e in wanted for st in (e.stat(),)))
        except OSError:
            return ()

    def problems(self, recheck: bool = False) -> list[Problem]:
        key = self._state_key()
        with self._lock:
            now = time.monotonic()
            if key != self._key or (recheck and now - self._checked >= self.RECHECK_INTERVAL):
                self._problems = check_index(self.index_dir)
                self._key = key
                self._checked = now
            return self._problems


def ensure_healthy(index_dir: str | Path) -> None:
    """Raise :class:`IndexDamaged` when the quick check finds a problem."""
    problems = check_index(index_dir)
    if problems:
        raise IndexDamaged(index_dir, problems)
