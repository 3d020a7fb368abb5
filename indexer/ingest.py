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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .models import Page

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
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_\-]+)""", re.I)
# UTF-16 is read only with its byte-order mark: without one, any even-length byte string
# "decodes" as UTF-16 (a BOM-less UTF-16 page has NUL bytes and is refused as binary).
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5hkscs"]

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


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
    if b"\x00" in sample and not (sample.startswith(codecs.BOM_UTF16_LE) or sample.startswith(codecs.BOM_UTF16_BE)):
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
    best: tuple[int, int, str] | None = None  # (bad bytes, rank, text)
    results: dict[int, str] = {}
    for rank, enc in enumerate(order):
        try:
            text, bad = decode_counting(data, enc)
        except LookupError:
            continue
        if not _plausible(text, text.count("\ufffd") if bad else 0):  # the damage is judged by ``bad``
            continue
        results[rank] = text
        if bad == 0:
            return text, 0
        if best is None or bad < best[0]:
            best = (bad, rank, enc)
    if best is not None and best[0] <= allowed_bad_bytes(len(data)):
        return results[best[1]], best[0]
    if best is not None:
        raise DecodeError(
            f"undecodable: {best[0]} places with invalid bytes in {len(data)} bytes, even in the best-fitting encoding ({best[2]})"
        )
    raise DecodeError("undecodable: not UTF-8, GB18030/GBK/GB2312 or Big5 text")


def decode_bytes(data: bytes) -> str:
    """Decode a page's bytes to text (see :func:`decode_page`); raise :class:`DecodeError` when nothing fits."""
    return decode_page(data)[0]


def looks_like_html(text: str) -> bool:
    """Whether a text (a .txt dump or a record field) is really HTML markup."""
    head = text[:3000].lower()
    return bool(re.search(r"<(html|body|div|p|table|article|span|br|head)\b", head))


def iter_input_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """Walk files and folders (recursively, sorted for a stable order).

    Yields ``(path, problem)``; ``problem`` is None for a supported file and a
    reason otherwise, so that the caller can report every skipped input.
    """
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            yield p, "not found"
            continue
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_dir() or any(part.startswith(".") for part in child.relative_to(p).parts):
                    continue
                if child.suffix.lower() in SUPPORTED_SUFFIXES:
                    yield child, None
                else:
                    yield child, f"unsupported file type {child.suffix or '(none)'}"
        elif p.suffix.lower() in SUPPORTED_SUFFIXES:
            yield p, None
        else:
            yield p, f"unsupported file type {p.suffix or '(none)'}"


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
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
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
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            for n, row in enumerate(reader, start=2):  # row 1 is the header
                page = record_to_page(f"{path}#{n}", row)
                if page is None:
                    skipped.append(Skipped(f"{path}#{n}", f"row {n} has no text column ({'/'.join(_TEXT_KEYS)})"))
                else:
                    pages.append(page)
        except csv.Error as exc:
            skipped.append(Skipped(str(path), f"malformed CSV: {exc}"))
    return pages, skipped


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
    if suffix in RECORD_SUFFIXES:
        pages, skipped = read_records(path, text)
        for page in pages:  # where in a record file the bad bytes were is not tracked: flag every row
            page.undecodable_bytes = bad_bytes
        return pages, skipped
    kind = "html" if suffix != ".txt" or looks_like_html(text) else "text"
    return [Page(path=str(path), raw=text, kind=kind, undecodable_bytes=bad_bytes)], []
