"""Ingest: find input files, decode them, and turn them into :class:`Page` records.

Scraped Chinese pages come in every common encoding, declared or not, and
sometimes declared wrongly.  Decoding is therefore layered, cheapest and most
trustworthy first: a byte-order mark, then the page's own declaration (with the
GB family widened to GB18030, its superset, because sites that declare gb2312
routinely use GBK/GB18030 characters), then strict UTF-8, then
``charset-normalizer``'s detection restricted to the encodings such pages use.

Nothing here raises on bad input: a file that cannot be read becomes a
:class:`Skipped` entry with a reason a person can act on, and the run goes on.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .models import Article, Page, PageKind
from .settings import PREFIX
from .settings import current as current_settings

PAGE_SUFFIXES = {".html", ".htm", ".shtml", ".xhtml", ".txt"}
RECORD_SUFFIXES = {".jsonl", ".csv"}
SUPPORTED_SUFFIXES = PAGE_SUFFIXES | RECORD_SUFFIXES

# Largest single input file we accept; a scraped page is tens of kilobytes,
# a record file of a whole corpus can be large, so the cap is generous.
MAX_FILE_BYTES = 512 * 1024 * 1024

# Field names seen in record files, mapped to the names the pipeline uses.
_TEXT_KEYS = ("full_text", "content", "text", "body", "正文", "内容")
_HINT_KEYS = {
    "title": ("title", "标题", "name"),
    "year": ("year", "年份"),
    "province": ("province", "省份", "region"),
    "city": ("city", "prefecture", "城市"),
    "county": ("county", "区县"),
    "publish_date": ("publish_date", "published", "date", "pub_date", "发布时间", "发布日期"),
    "url": ("url", "source_url", "link", "链接"),
    "source": ("source", "site", "来源"),
    "retrieved": ("retrieved", "retrieved_at", "retrieval_date", "crawl_time", "crawled_at", "fetched_at",
                  "抓取时间", "采集时间", "获取时间"),
}

_GB_ALIASES = {"gb2312", "gbk", "gb_2312-80", "gb2312-80", "x-gbk", "cp936", "euc-cn", "csgb2312", "gb18030"}
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# UTF-16 is read only with its byte-order mark: without one, any even-length byte string
# "decodes" as UTF-16 (a BOM-less UTF-16 page has NUL bytes and is refused as binary).
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5hkscs"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

MAX_PAGE_CHARS_ENV = PREFIX + "MAX_PAGE_CHARS"  # named in the messages a cut page or a split report gives
MAX_DOC_CHARS_ENV = PREFIX + "MAX_DOC_CHARS"


@dataclass(frozen=True)
class Limits:
    """How much of one page is read, and how long one document may be (docs/admin.md, "Limits")."""

    page_chars: int
    doc_chars: int


def limits() -> Limits:
    """The size limits of the current settings; the page limit is at least the document limit."""
    s = current_settings()
    return Limits(page_chars=max(s.max_page_chars, s.max_doc_chars), doc_chars=s.max_doc_chars)


@dataclass
class Skipped:
    """An input that was not indexed, and why."""

    path: str
    reason: str


class DecodeError(ValueError):
    """The bytes are not text in any encoding we accept."""


def normalise_encoding(name: str) -> str:
    """Map a declared charset to the codec we decode it with (GB family → GB18030)."""
    n = name.strip().lower()
    if n in _GB_ALIASES:
        return "gb18030"
    if n in {"big5", "big-5", "cn-big5", "x-x-big5"}:
        return "big5hkscs"
    try:
        return codecs.lookup(n).name
    except LookupError:
        return ""


def declared_encoding(data: bytes) -> str | None:
    """The charset a page declares in its first few kilobytes, if any."""
    head = data[:4096]
    m = _META_CHARSET.search(head) or _XML_DECL.search(head)
    if not m:
        return None
    return normalise_encoding(m.group(1).decode("ascii", "ignore")) or None


def looks_binary(data: bytes) -> bool:
    """NUL bytes or a high share of control bytes mean this is not a text page."""
    sample = data[:8192]
    if not sample:
        return False
    if b"\x00" in sample and not (sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))):
        return True
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return controls / len(sample) > 0.05


def _plausible(text: str, allowed_bad: int = 0) -> bool:
    """Reject decodings full of replacement or control characters.

    ``allowed_bad`` replacement characters are ones the tolerant decoder itself
    put in for bad bytes it has already counted: they do not count again.
    """
    if not text:
        return True
    sample = text[:20000]
    bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
    bad = max(0, bad - allowed_bad)
    return bad / len(sample) < 0.01


#: A page decodes with replacement characters when its damaged places (runs of invalid byte
#: sequences) are at most this share of its bytes in the best encoding (a browser shows such a
#: page; a few damaged bytes in a scraped 50 KB page are common) — more means the encoding is
#: wrong or the file is not text.  Places, not bytes: one damaged byte in UTF-8 orphans the
#: continuation bytes after it, and in GB18030 it often unpairs the byte after it.
MAX_BAD_BYTE_RATIO = 1 / 1000
#: ... or at most this many damaged places whatever the size (a 7 KB page with 6 bad bytes).
MIN_BAD_BYTES_ALLOWED = 16

_BAD_COUNT = threading.local()


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: put U+FFFD for each invalid byte sequence (as a browser does) and
    count the damaged places: adjacent invalid sequences (one bad byte in UTF-8 orphans the
    continuation bytes after it) are one place."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    if exc.start != getattr(_BAD_COUNT, "end", -1):
        _BAD_COUNT.n = getattr(_BAD_COUNT, "n", 0) + 1
    _BAD_COUNT.end = exc.end
    return "\ufffd", exc.end


codecs.register_error("reportsearch-count", _count_and_replace)


def decode_counting(data: bytes, encoding: str) -> tuple[str, int]:
    """``data`` decoded with ``encoding``; invalid byte sequences become U+FFFD, and the damaged
    places (runs of adjacent invalid sequences) are counted."""
    _BAD_COUNT.n, _BAD_COUNT.end = 0, -1
    text = data.decode(encoding, errors="reportsearch-count")
    return text, _BAD_COUNT.n


def allowed_bad_bytes(size: int) -> int:
    """How many damaged places a page of ``size`` bytes may hold and still be decoded."""
    return max(MIN_BAD_BYTES_ALLOWED, int(size * MAX_BAD_BYTE_RATIO))


def _normalizer_guess(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data, cp_isolation=["utf_8", "gb18030", "big5", "big5hkscs"]).best()
    except Exception:  # noqa: BLE001 - detection is a hint; a failure must not refuse the page
        return None
    if best is None:
        return None
    return normalise_encoding(best.encoding) or best.encoding


def decode_page(data: bytes) -> tuple[str, int]:
    """Decode a page's bytes like a browser; return ``(text, number of damaged places)``.

    Candidates, most trustworthy first: a byte-order mark, the page's declaration
    (GB family widened to GB18030), UTF-8, charset-normalizer's guess, GB18030, Big5.
    The first that decodes cleanly (and plausibly) wins.  When none does, the
    candidate with the fewest damaged places wins (ties: the more trustworthy), and
    its invalid bytes become U+FFFD, provided they are rare (``allowed_bad_bytes``).
    Raises :class:`DecodeError` only for binary files and mostly-undecodable bytes.
    """
    for bom, enc in ((codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16")):
        if data.startswith(bom):
            text, bad = decode_counting(data, enc)
            if bad <= allowed_bad_bytes(len(data)):
                return text, bad
            break
    if looks_binary(data):
        raise DecodeError("binary file (not a text page)")
    order: list[str] = []
    declared = declared_encoding(data)
    for first in (declared, "utf_8"):
        if first and first not in order:
            order.append(first)
    for enc in order:  # the cheap, common case: a declared or UTF-8 page without damage
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        if _plausible(text):
            return text, 0
    guess = _normalizer_guess(data)
    for candidate in [guess, *_CANDIDATE_ENCODINGS]:
        if candidate and candidate not in order:
            order.append(candidate)
    best: tuple[int, str, str] | None = None  # (bad bytes, encoding, its text): only the best is kept
    for enc in order:
        try:
            text, bad = decode_counting(data, enc)
        except LookupError:
            continue
        if not _plausible(text, text.count("\ufffd") if bad else 0):  # the damage is judged by ``bad``
            continue
        if bad == 0:
            return text, 0
        if best is None or bad < best[0]:  # ties: the earlier (more trustworthy) stays
            best = (bad, enc, text)
    if best is not None and best[0] <= allowed_bad_bytes(len(data)):
        return best[2], best[0]
    if best is not None:
        raise DecodeError(
            f"undecodable: {best[0]} places with invalid bytes in {len(data)} bytes, even in the best-fitting encoding ({best[1]})"
        )
    raise DecodeError("undecodable: not UTF-8, GB18030/GBK/GB2312 or Big5 text")


def decode_bytes(data: bytes) -> str:
    """Decode a page's bytes to text (see :func:`decode_page`); raise :class:`DecodeError` when nothing fits."""
    return decode_page(data)[0]


def looks_like_html(text: str) -> bool:
    """Whether a text (a .txt dump or a record field) is really HTML markup."""
    head = text[:3000].lower()
    return bool(re.search(r"<(html|body|div|p|table|article|span|br|head)\b", head))


def iter_input_files(paths: Iterable[str | Path], follow_links: bool = False) -> Iterator[tuple[Path, str | None]]:
    """Walk files and folders (recursively, sorted for a stable order).

    Yields ``(path, problem)``; ``problem`` is None for a supported file and a
    reason otherwise, so that the caller can report every skipped input.

    Symbolic links inside a folder are not followed: a link to ``/etc/passwd``
    dropped into a scraped folder must not make that file searchable.  With
    ``follow_links`` a link to a file that stays inside the folder given (after
    resolving every link) is indexed; one leading outside it never is.  Links to
    folders are never walked (their files, when inside the folder, are reached
    through their real path).  A file or folder named as an argument is used
    as given, link or not: naming it is the choice.
    """
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            yield p, "broken symbolic link" if p.is_symlink() else "not found"
            continue
        if p.is_dir():
            root = p.resolve()
            for child in sorted(p.rglob("*")):
                if any(part.startswith(".") for part in child.relative_to(p).parts):
                    continue
                if child.is_symlink() or _through_link(child, p):
                    problem = _link_problem(child, root, follow_links)
                    if problem:
                        yield child, problem
                        continue
                if child.is_dir():
                    continue
                if child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child, None
                else:
                    yield child, f"unsupported file type {child.suffix or '(none)'}"
        elif p.suffix.lower() in SUPPORTED_SUFFIXES:
            yield p, None
        else:
            yield p, f"unsupported file type {p.suffix or '(none)'}"


def _through_link(child: Path, top: Path) -> bool:
    """Whether a folder between ``top`` and ``child`` is a symbolic link (rglob does not enter them; be sure)."""
    parent = child.parent
    while parent != top and top in parent.parents:
        if parent.is_symlink():
            return True
        parent = parent.parent
    return False


def _link_problem(link: Path, root: Path, follow_links: bool) -> str | None:
    """Why a symbolic link in a walked folder is not indexed, or None when it may be."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, or a loop
        return "broken symbolic link (not followed)"
    inside = target == root or root in target.parents
    if target.is_dir():
        if inside:
            return None if follow_links else "symbolic link to a folder (not followed)"
        return "symbolic link to a folder outside the indexed folder (not followed)"
    if not inside:
        return "symbolic link to a file outside the indexed folder (not followed)"
    if not follow_links:
        return "symbolic link (not followed; --follow-links indexes links that stay inside the folder)"
    return None


def _pick(record: dict[str, Any], keys: Iterable[str]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    for k in keys:
        v = lowered.get(k.lower())
        if v not in (None, ""):
            return v
    return None


def record_to_page(path: str, record: dict[str, Any]) -> Page | None:
    """Map one record (a JSON object or CSV row) to a Page; None if it has no text."""
    text = _pick(record, _TEXT_KEYS)
    if not isinstance(text, str) or not text.strip():
        return None
    hints: dict[str, Any] = {}
    for name, keys in _HINT_KEYS.items():
        v = _pick(record, keys)
        if v is None:
            continue
        if name == "year":
            try:
                v = int(str(v).strip()[:4])
            except ValueError:
                continue
        elif not isinstance(v, (str, int, float)):
            continue
        hints[name] = v if name == "year" else str(v).strip()
    return Page(path=path, raw=text, kind="html" if looks_like_html(text) else "text", hints=hints)


def read_records(path: Path, text: str) -> tuple[list[Page], list[Skipped]]:
    """Pages from a ``.jsonl`` or ``.csv`` record file; bad rows are reported, not fatal."""
    pages: list[Page] = []
    skipped: list[Skipped] = []
    if path.suffix.lower() == ".jsonl":
        # Records end at "\n" only: str.splitlines() also breaks at U+2028, U+0085, \x1c… which
        # JSON strings may hold raw, so valid records were cut apart and line numbers shifted.
        for n, line in enumerate(text.split("\n"), start=1):
            if not line.strip(" \t\r"):
                continue
            try:
                obj = json.loads(line, strict=False)  # raw control characters in strings are kept, not fatal
            except json.JSONDecodeError as exc:
                skipped.append(Skipped(f"{path}#{n}", f"invalid JSON on line {n}: {exc.msg}"))
                continue
            if not isinstance(obj, dict):
                skipped.append(Skipped(f"{path}#{n}", f"line {n} is not a JSON object"))
                continue
            page = record_to_page(f"{path}#{n}", obj)
            if page is None:
                skipped.append(Skipped(f"{path}#{n}", f"line {n} has no text field ({'/'.join(_TEXT_KEYS)})"))
            else:
                pages.append(page)
    else:
        header: list[str] | None = None
        n = 1
        for first_line, fields, problem in _csv_rows(text):
            if header is None:
                header = [h.strip() for h in fields]
                continue
            if not fields:  # an empty line is no record (as csv.DictReader, so row numbers stay as they were)
                continue
            n += 1  # row 1 is the header: row numbers count records, lines count lines
            where = f"row {n} (line {first_line})"
            if problem:
                skipped.append(Skipped(f"{path}#{n}", f"{where}: {problem}"))
            if len(fields) > len(header):  # extra fields: the text column held unquoted commas
                fields = fields[:len(header) - 1] + [",".join(fields[len(header) - 1:])]
            row = dict(zip(header, fields))
            page = record_to_page(f"{path}#{n}", row)
            if page is None:
                has_column = bool({h.lower() for h in header} & {k.lower() for k in _TEXT_KEYS})
                reason = "its text column is empty" if has_column else f"no text column ({'/'.join(_TEXT_KEYS)})"
                skipped.append(Skipped(f"{path}#{n}", f"{where}: {reason}"))
            else:
                pages.append(page)
        if header is None:
            skipped.append(Skipped(str(path), "malformed CSV: no header row"))
    return pages, skipped


def _csv_rows(text: str) -> Iterator[tuple[int, list[str], str | None]]:
    """``(first line, fields, problem)`` of each CSV record, reading past broken quoting.

    The csv module in strict mode raises where quoting is broken (an unclosed
    quote runs to the end of the file, or closes at some later quote followed by
    text); lenient mode instead swallows every following row into one field, so
    rows vanished and the rest were misnumbered.  Here a record that fails
    strictly is read again from its first line with quotes taken literally, up
    to the end of that line (``problem`` says so), and strict reading resumes
    on the next line.  Records that parse are exactly what the csv module gives.
    """
    lines = io.StringIO(text, newline="").readlines()  # the line breaks the csv module itself uses
    start = 0
    while start < len(lines):
        reader = csv.reader(lines[start:], strict=True)
        consumed = 0
        try:
            for fields in reader:
                yield start + consumed + 1, fields, None
                consumed = reader.line_num
            return
        except csv.Error as exc:
            bad = start + consumed  # the failing record's first line (0-based)
            fields = next(csv.reader([lines[bad]], quoting=csv.QUOTE_NONE, strict=False), [])
            yield bad + 1, fields, f"broken quoting ({exc}): this line was read with its quotes as plain text"
            start = bad + 1


def read_file(path: Path) -> tuple[list[Page], list[Skipped]]:
    """All pages in one input file, with whatever had to be skipped."""
    try:
        size = path.stat().st_size
        if size == 0:
            return [], [Skipped(str(path), "empty file")]
        if size > MAX_FILE_BYTES:
            return [], [Skipped(str(path), f"file too large ({size} bytes)")]
        data = path.read_bytes()
    except OSError as exc:
        return [], [Skipped(str(path), f"cannot read: {exc.strerror or exc}")]
    if not data.strip():
        return [], [Skipped(str(path), "empty file")]
    try:
        text, bad_bytes = decode_page(data)
    except DecodeError as exc:
        return [], [Skipped(str(path), str(exc))]
    if not text.strip():
        return [], [Skipped(str(path), "empty file")]
    suffix = path.suffix.lower()
    lim = limits()
    if suffix in RECORD_SUFFIXES:
        pages, skipped = read_records(path, text)
        for page in pages:  # where in a record file the bad bytes were is not tracked: flag every row
            page.undecodable_bytes = bad_bytes
    else:
        kind: PageKind = "html" if suffix != ".txt" or looks_like_html(text) else "text"
        pages, skipped = [Page(path=str(path), raw=text, kind=kind, undecodable_bytes=bad_bytes)], []
    del text
    for page in pages:
        note = cap_page(page, lim.page_chars)
        if note:
            skipped.append(note)
    return pages, skipped


def cap_page(page: Page, max_chars: int) -> Skipped | None:
    """Cut a page (or record text) longer than ``max_chars`` characters; the note to report, or None.

    The cut falls at the last tag start (HTML) or line break (text) before the
    limit, so no tag or line is read half.  The page is marked ``cut``: its
    documents are flagged as truncated, and the note says how much was not read.
    """
    n = len(page.raw)
    if n <= max_chars:
        return None
    at = page.raw.rfind("<" if page.kind == "html" else "\n", max_chars // 2, max_chars)
    at = at if at > 0 else max_chars
    page.raw = page.raw[:at]
    page.cut = True
    return Skipped(page.path, f"too large: {n:,} characters; the first {at:,} were read, the rest was not indexed "
                              f"(limit {MAX_PAGE_CHARS_ENV}={max_chars:,})")


def split_article(article: Article, max_chars: int) -> list[Article]:
    """An article longer than ``max_chars`` as numbered parts of at most that many characters.

    Why: one document of millions of characters costs its whole postings in
    memory at once and a page that takes seconds to serve; parts stay findable
    and each reads like a chapter.  Cuts fall at paragraph (line) breaks when
    there is one in the second half of a part; a part title reads
    "标题（第k部分，共n部分）".  A shorter article is returned as it is.
    """
    text = article.text
    if len(text) <= max_chars:
        return [article]
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + max_chars)
        if end < len(text):
            nl = text.rfind("\n", start + max_chars // 2, end)
            end = nl + 1 if nl > 0 else end
        chunks.append(text[start:end].strip("\n"))
        start = end
    chunks = [c for c in chunks if c.strip()]
    total = len(chunks)
    base = article.title or ""
    return [replace(article, text=c, title=f"{base}（第{k}部分，共{total}部分）" if base else f"第{k}部分，共{total}部分")
            for k, c in enumerate(chunks, start=1)]
