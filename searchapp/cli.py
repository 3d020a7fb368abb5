"""``reportsearch``: index, serve, search and export from the command line."""
from __future__ import annotations

import argparse
import contextlib
import errno
import html
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from indexer import settings as settings_mod
from indexer.engine import store
from indexer.settings import Settings


class _ProgressOutput:
    """Progress of a run: a tqdm bar (count, rate, time left) on a terminal, plain log lines otherwise."""

    PHASES: ClassVar[dict[str, str]] = {"scanning": "finding changed files (size and times, hashing the others)",
              "preparing": "starting workers, reading the documents that stay",
              "indexing": "reading, cleaning and indexing",
              "grouping": "grouping near-duplicates", "committing": "committing", "swapping": "swapping in the new index"}

    def __init__(self, quiet: bool, tty: bool | None = None):
        self.quiet = quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.bar = None
        self.start = time.monotonic()
        self.last = 0.0

    def phase(self, name: str) -> None:
        if self.quiet:
            return
        if name == "indexing":
            self.start = time.monotonic()
        if self.bar is not None and name != "indexing":
            self.bar.close()
            self.bar = None
        label = self.PHASES.get(name)
        if label and (not self.tty or name != "indexing"):
            print(f"[{time.strftime('%H:%M:%S')}] {label} …", file=sys.stderr, flush=True)

    def progress(self, i: int, total: int, path: str) -> None:
        if self.quiet:
            return
        if self.tty:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="file", desc="indexing", file=sys.stderr, dynamic_ncols=True)
            self.bar.update(i - self.bar.n)
            return
        now = time.monotonic()
        if i == total or now - self.last >= 2.0 or i == 1:
            self.last = now
            rate = i / max(now - self.start, 1e-6)
            left = (total - i) / rate if rate else 0
            print(f"indexing {i}/{total} files, {rate:.1f} files/s, about {left:.0f}s left: {path}",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_summary(summary, index_dir: Path) -> None:
    """Documents and files on lines of their own: one line never mixes the two units."""
    verb = "rebuilt" if summary.mode == "rebuild" else "indexed into"
    print(f"{verb} {index_dir}: {summary.documents} documents in the index ({summary.seconds:.1f}s)"
          + ("" if summary.committed else "; nothing changed, index left as it was"))
    restored = (f" ({summary.restored} back because the original they copied went)"
                if summary.restored else "")
    print(f"  documents: {summary.added} added{restored}, {summary.updated} updated, "
          f"{len(summary.removed_ids)} removed")
    print(f"  files:     {summary.files_added} new, {summary.files_updated} changed, {summary.files_removed} gone, "
          f"{summary.unchanged} unchanged ({summary.files} looked at); workers: {summary.workers}")
    copies = f", {summary.duplicates_skipped} of them exact copies" if summary.duplicates_skipped else ""
    print(f"  skipped:   {len(summary.skipped)} (files, records or parts of them, each with its reason){copies}")
    for s in summary.skipped:
        print(f"  skipped {s.path}: {s.reason}")


def _os_error_line(exc: OSError, index_dir: Path) -> str:
    """What went wrong on disk, and what state the index is in.

    Not "nothing was committed": the sidecars (groups, dedup state, manifest, checksums) are
    written after the commit, so a full disk can stop a run whose documents are already live.
    Either way the index is a complete commit, searchable, and the next run finishes the work.
    """
    why = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
           errno.EACCES: "permission denied", errno.EPERM: "permission denied",
           errno.EDQUOT: "the disk quota is exceeded"}.get(exc.errno or 0, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"cannot write the index in {index_dir}: {why}{where}. The run stopped; the index keeps its last "
            "complete commit and stays searchable (this run's leftovers were removed). Free space or fix "
            "permissions, then run again: it finishes the work.")


def cmd_check(args: argparse.Namespace) -> int:
    """``reportsearch check``: say whether the index is whole, what is wrong and what to do."""
    from indexer.engine.integrity import check_index

    if not store.index_exists(args.index_dir) and not store.current_generation_name(args.index_dir):
        print(f"no index in {args.index_dir}: run `reportsearch index PATH` first", file=sys.stderr)
        return 2
    problems = check_index(args.index_dir, deep=not args.quick)
    if args.json:
        print(json.dumps({"index_dir": str(args.index_dir), "ok": not problems,
                          "problems": [{"where": p.where, "what": p.what, "advice": p.advice} for p in problems]},
                         ensure_ascii=False, indent=2))
    elif not problems:
        print(f"ok: the index in {args.index_dir} is whole ({'quick' if args.quick else 'full'} check)")
    else:
        print(f"the index in {args.index_dir} is damaged:")
        for p in problems:
            print(f"  {p}")
        for advice in dict.fromkeys(p.advice for p in problems):
            print(f"to repair it: {advice}")
    return 1 if problems else 0


def cmd_index(args: argparse.Namespace) -> int:
    from indexer.engine.integrity import IndexDamaged
    from indexer.pipeline import IndexBusy, index_paths

    out = _ProgressOutput(args.quiet)
    try:
        summary = index_paths(args.paths, args.index_dir, progress=out.progress, phase=out.phase,
                              rebuild=args.rebuild, workers=args.workers, wait=args.wait,
                              rehash=True if args.rehash else None, settings=args.settings,
                              follow_links=args.follow_links)
    except IndexBusy as exc:
        out.close()
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except IndexDamaged as exc:
        out.close()
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except OSError as exc:  # disk full, read-only folder, permissions: one clear line, no traceback
        out.close()
        print(f"error: {_os_error_line(exc, args.index_dir)}", file=sys.stderr)
        return 1
    except ValueError as exc:
        out.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out.close()
        print("interrupted: nothing was committed; the index is as it was before this run", file=sys.stderr)
        return 130
    out.close()
    if args.json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        return 0
    _print_summary(summary, args.index_dir)
    return 0


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print an ``ADMIN_PASSWORD_HASH`` line for ``instance/config.py``."""
    import getpass

    from werkzeug.security import generate_password_hash

    if sys.stdin.isatty():
        pw = getpass.getpass("admin password: ")
        if pw != getpass.getpass("again: "):
            print("error: the passwords differ", file=sys.stderr)
            return 2
    else:
        pw = sys.stdin.readline().rstrip("\n")
    if len(pw) < 8:
        print("error: use at least 8 characters", file=sys.stderr)
        return 2
    print(f"ADMIN_PASSWORD_HASH = {generate_password_hash(pw)!r}")
    return 0


def ensure_index(index_dir: Path, settings: Settings | None = None) -> None:
    """Build the index from the shipped ``corpus/`` when there is none yet."""
    if store.index_exists(index_dir):
        return
    from indexer.pipeline import IndexBusy, index_paths

    corpus = store.project_root() / "corpus"
    print(f"no index in {index_dir}: indexing the shipped corpus {corpus} first …", file=sys.stderr)
    try:
        summary = index_paths([corpus], index_dir, wait=600, settings=settings)
    except IndexBusy as exc:
        print(f"warning: {exc}; serving without waiting for it", file=sys.stderr)
        return
    print(f"indexed {summary.documents} documents", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    ensure_index(args.index_dir, args.settings)
    from searchapp import create_app

    app = create_app({"INDEX_DIR": str(args.index_dir)}, settings=args.settings)
    print(f"serving on http://{args.host}:{args.port}/", file=sys.stderr)
    app.run(host=args.host, port=args.port, debug=False, threaded=True)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from searchapp.engine import SearchEngine
    from searchapp.facets import Filters

    eng = SearchEngine(args.index_dir)
    filters = Filters(region=args.region or [], year=args.year or [], topic=args.topic or [],
                      doc_type=args.doc_type or [])
    res = eng.search(" ".join(args.query), filters, args.sort, 1, args.limit)
    if args.json:
        print(json.dumps(res.as_json(), ensure_ascii=False, indent=2))
        return 0
    for m in res.messages:
        print(m)
    if res.suggestion:
        print(f"您是不是要找：{res.suggestion}")
    for r in res.refine:  # places and years read in the query, with the option that narrows to them
        opts = " ".join(f"--{k} {v}" for k, v in r["params"].items() if k in ("region", "year"))
        print(r["label"] + (f"（{opts}）" if opts else ""))
    print(f"{res.total} reports")
    for n, h in enumerate(res.hits, start=1):
        region = " › ".join(h.region) or "未知"
        print(f"{n:>3}. {h.title}  [{region} | {h.year or '未知'} | {h.doc_type}]  id={h.id}")
        plain = str(h.snippet).replace("<mark>", "【").replace("</mark>", "】")
        print(f"     {html.unescape(plain)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from searchapp.engine import SearchEngine

    eng = SearchEngine(args.index_dir)
    with open(args.output, "w", encoding="utf-8") if args.output else contextlib.nullcontext(sys.stdout) as out:
        n = 0
        for stored, dups in eng.iter_documents():
            meta = stored.get("meta") or {}
            line = {
                "id": stored["id"], "title": stored.get("title") or None, "text": stored.get("content", ""),
                "region": meta.get("region") or [], "year": meta.get("year"), "topics": meta.get("topics") or [],
                "doc_type": meta.get("doc_type"), "source": stored.get("source"), "path": stored.get("path"),
                "published": stored.get("published"), "url": meta.get("url"), "retrieved": meta.get("retrieved"),
                "duplicates": dups, "truncated": bool(stored.get("truncated")), "damaged": bool(stored.get("damaged")),
                "undecodable_bytes": int(meta.get("undecodable_bytes") or 0),
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    if args.output:
        print(f"exported {n} documents to {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="reportsearch", description="工作报告检索: index and search scraped work reports.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, default=None,
                        help="index folder (default: $REPORTSEARCH_INDEX_DIR or ./index)")
    sub = p.add_subparsers(dest="cmd", required=True)

    pi = sub.add_parser("index", parents=[common], help="index files and folders (incremental)")
    pi.add_argument("paths", nargs="*",
                    help="files or folders (walked recursively); none: the ones earlier runs indexed")
    pi.add_argument("--rebuild", action="store_true",
                    help="build a new index from scratch in a fresh folder and swap it in atomically")
    pi.add_argument("--workers", type=int, default=None, metavar="N",
                    help="processes that read, clean and index files into segments of their own (default: one per core; 1: in-process)")
    pi.add_argument("--rehash", action="store_true",
                    help="read and hash every file, even one whose size and times match the last run's record "
                         "(also: REPORTSEARCH_REHASH=1)")
    pi.add_argument("--follow-links", action="store_true",
                    help="index symbolic links in the folders that point inside the same folder "
                         "(links leading out of it are never followed)")
    pi.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                    help="if another run is indexing, wait up to this long instead of exiting (status 3)")
    pi.add_argument("--json", action="store_true", help="print the summary as JSON")
    pi.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    pi.set_defaults(func=cmd_index)

    ph = sub.add_parser("hash-password", help="print ADMIN_PASSWORD_HASH for instance/config.py (reads stdin)")
    ph.set_defaults(func=cmd_hash_password)

    ps = sub.add_parser("serve", parents=[common], help="run the web UI (indexes corpus/ first if needed)")
    ps.add_argument("--host", default="127.0.0.1")
    ps.add_argument("--port", type=int, default=5000)
    ps.set_defaults(func=cmd_serve)

    pq = sub.add_parser("search", parents=[common], help="print the top hits for a query")
    pq.add_argument("query", nargs="*", default=[])
    pq.add_argument("--region", action="append")
    pq.add_argument("--year", action="append")
    pq.add_argument("--topic", action="append")
    pq.add_argument("--doc-type", action="append")
    pq.add_argument("--sort", default="relevance", choices=["relevance", "year", "year_asc"])
    pq.add_argument("--limit", type=int, default=10)
    pq.add_argument("--json", action="store_true")
    pq.set_defaults(func=cmd_search)

    pc = sub.add_parser("check", parents=[common],
                        help="check the index: checksums recorded at commit, every segment, facets against postings, sidecars")
    pc.add_argument("--quick", action="store_true", help="sizes and small files only (what `index` checks first)")
    pc.add_argument("--json", action="store_true", help="print the findings as JSON")
    pc.set_defaults(func=cmd_check)

    pe = sub.add_parser("export", parents=[common], help="export every document as JSON Lines")
    pe.add_argument("-o", "--output", help="write to this file instead of standard output")
    pe.set_defaults(func=cmd_export)
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, with ``args.settings``: the environment's settings and the options, built here once."""
    args = build_parser().parse_args(argv)
    args.settings = Settings.from_env(index_dir=getattr(args, "index_dir", None),
                                      rehash=True if getattr(args, "rehash", False) else None)
    if hasattr(args, "index_dir"):
        args.index_dir = args.settings.index_dir
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command with the settings of the environment and the command line.

    A missing or damaged index never gives a traceback: ``search`` and ``export`` check first, and any
    other failure is looked at again with the quick integrity check, which names the damage.
    """
    from indexer.engine.integrity import IndexDamaged, check_index, ensure_healthy

    args = parse_args(argv)
    previous = settings_mod.current() if settings_mod.is_installed() else None
    settings_mod.install(args.settings)  # for what sits below an entry point (cache folder, segmenter)
    try:
        if args.cmd in ("search", "export"):  # both read an index: there must be one, and whole
            if not store.index_exists(args.index_dir):
                print(f"error: no index in {args.index_dir}; run `reportsearch index PATH` first", file=sys.stderr)
                return 2
            ensure_healthy(args.index_dir)  # never answer from a damaged index as if it were whole
        return int(args.func(args) or 0)
    except IndexDamaged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except Exception:
        index_dir = getattr(args, "index_dir", None)
        problems = check_index(index_dir) if index_dir is not None else []
        if not problems:
            raise
        print(f"error: {IndexDamaged(index_dir, problems)}", file=sys.stderr)
        return 4
    finally:
        settings_mod.install(previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
