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
_CANDIDATE_ENCODINGS = ["utf_8", "gb18030", "big5", "big5hkscs", "utf_16"]

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


def _plausible(text: str) -> bool:
    """Reject decodings full of replacement or control characters."""
    if not text:
        return True
    sample = text[:20000]
    bad = sum(1 for ch in sample if ch == "\ufffd" or (ord(ch) < 32 and ch not in "\t\n\r\f"))
    return bad / len(sample) < 0.01


def decode_bytes(data: bytes) -> str:
    """Decode a page's bytes to text; raise :class:`DecodeError` when nothing fits."""
    for bom, enc in ((codecs.BOM_UTF8, "utf_8_sig"), (codecs.BOM_UTF16_LE, "utf_16"), (codecs.BOM_UTF16_BE, "utf_16")):
        if data.startswith(bom):
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                break
    if looks_binary(data):
        raise DecodeError("binary file (not a text page)")
    tried: list[str] = []
    declared = declared_encoding(data)
    if declared:
        tried.append(declared)
        try:
            text = data.decode(declared)
            if _plausible(text):
                return text
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf_8")
    except UnicodeDecodeError:
        tried.append("utf_8")
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data, cp_isolation=["utf_8", "gb18030", "big5", "big5hkscs", "utf_16"]).best()
        if best is not None:
            enc = normalise_encoding(best.encoding) or best.encoding
            text = data.decode(enc, errors="strict")
            if _plausible(text):
                return text
    except (UnicodeDecodeError, LookupError, ImportError):
        pass
    for enc in _CANDIDATE_ENCODINGS:
        if enc in tried:
            continue
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text
    raise DecodeError("undecodable: not UTF-8, GB18030/GBK/GB2312 or Big5 text")


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
        text = decode_bytes(data)
    except DecodeError as exc:
        return [], [Skipped(str(path), str(exc))]
    if not text.strip():
        return [], [Skipped(str(path), "empty file")]
    suffix = path.suffix.lower()
    if suffix in RECORD_SUFFIXES:
        return read_records(path, text)
    kind = "html" if suffix != ".txt" or looks_like_html(text) else "text"
    return [Page(path=str(path), raw=text, kind=kind)], []
