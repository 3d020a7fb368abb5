"""Where a page came from: its source URL and, when something records it, the date it was retrieved.

Readers of a report want to check it at its source, so the document page shows
the original address and site instead of the file it was indexed from (a server
path means nothing to a reader and tells strangers how the server is laid out).

The evidence, strongest first:

* a record file's own columns (``url`` / ``source_url`` … and ``retrieved`` /
  ``crawl_time`` …, mapped in ``indexer.ingest``);
* what a saved page says about itself: the marks browsers and archivers leave
  (``<!-- saved from url=(0042)https://… -->``, SingleFile's ``url:`` and
  ``saved date:`` header, HTTrack's ``Mirrored from … by HTTrack …, <date>``),
  then the page's canonical address (``<link rel="canonical">``,
  ``<meta property="og:url">``);
* in a text dump, a line that states the page's address (``本文地址：http…``).

Nothing is guessed: without evidence the fields stay ``None`` (a file's
modification time is when it was copied, not when it was retrieved).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from .models import Page

_HEAD_CHARS = 20000  # the marks and <head> tags sit at the start of a page
_URL = r"(https?://[^\s\"'<>]{3,2000})"
_SAVED_FROM = re.compile(r"<!--\s*saved from url=\(\d+\)" + _URL, re.IGNORECASE)
_SINGLEFILE = re.compile(r"<!--\s*Page saved with SingleFile\s*(.*?)-->", re.IGNORECASE | re.DOTALL)
_HTTRACK = re.compile(r"<!--\s*Mirrored from\s+(\S+)\s+by HTTrack[^,]*,\s*([^>]*?)\s*-->", re.IGNORECASE)
_CANONICAL = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
_OG_URL = re.compile(r"<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref\s*=\s*[\"']?" + _URL, re.IGNORECASE)
_CONTENT = re.compile(r"\bcontent\s*=\s*[\"']?" + _URL, re.IGNORECASE)
_TEXT_URL_LINE = re.compile(r"^\s*(?:(?:本文|原文|文章|网页|来源)(?:地址|链接|网址)|网址)\s*[:：]\s*" + _URL, re.MULTILINE)
_ISO_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})")


@dataclass
class Provenance:
    """A page's source address and retrieval date (ISO ``YYYY-MM-DD``), each ``None`` when unknown."""

    url: str | None = None
    retrieved: str | None = None


def clean_url(value: object) -> str | None:
    """An absolute http(s) URL, or None: a relative or scripted address is no provenance."""
    if not isinstance(value, str):
        return None
    v = value.strip().strip("\"'")
    try:
        parts = urlsplit(v)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(v) > 2000:
        return None
    if any(ch.isspace() for ch in v):
        return None
    return v


def site_of(url: str | None) -> str | None:
    """The host name of a URL (``zh.wikisource.org``), for a site label when the page names none."""
    u = clean_url(url)
    if not u:
        return None
    host = (urlsplit(u).hostname or "").lower()
    return host or None


def iso_date(value: object) -> str | None:
    """A date written as 2024-01-31, 2024/1/31, 2024年1月31日 or an RFC 2822 date, as ISO; else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    m = _ISO_DATE.search(s)
    if m:
        y, mo, d = (int(x) for x in m.groups())
        try:
            return datetime(y, mo, d).date().isoformat() if 1990 <= y <= 2100 else None
        except ValueError:
            return None
    try:
        dt = parsedate_to_datetime(s)
    except (TypeError, ValueError, IndexError):
        dt = None
    if dt is None:
        # SingleFile writes JavaScript's Date.toString(): "Thu Dec 01 2022 10:00:00 GMT+0800 (…)"
        m2 = re.match(r"^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{4})", s)
        if not m2:
            return None
        try:
            dt = datetime.strptime(" ".join(m2.groups()), "%b %d %Y")
        except ValueError:
            return None
    return dt.date().isoformat() if 1990 <= dt.year <= 2100 else None


def _html_provenance(head: str) -> Provenance:
    out = Provenance()
    if m := _SINGLEFILE.search(head):
        block = m.group(1)
        if u := re.search(r"^\s*url:\s*(\S+)", block, re.MULTILINE):
            out.url = clean_url(u.group(1))
        if d := re.search(r"^\s*saved date:\s*(.+)$", block, re.MULTILINE):
            out.retrieved = iso_date(d.group(1))
    if m := _HTTRACK.search(head):
        target = m.group(1)
        out.url = out.url or clean_url(target if "://" in target else "http://" + target)
        out.retrieved = out.retrieved or iso_date(m.group(2))
    if not out.url and (m := _SAVED_FROM.search(head)):
        out.url = clean_url(m.group(1))
    if not out.url:
        for tag_re, attr in ((_CANONICAL, _HREF), (_OG_URL, _CONTENT)):
            if (t := tag_re.search(head)) and (u := attr.search(t.group(0))):
                out.url = clean_url(u.group(1))
                if out.url:
                    break
    return out


def page_provenance(page: Page) -> Provenance:
    """The source URL and retrieval date of one page (a record's own fields win)."""
    hints = page.hints if isinstance(page.hints, dict) else {}
    out = Provenance(url=clean_url(hints.get("url")), retrieved=iso_date(hints.get("retrieved")))
    raw = page.raw if isinstance(page.raw, str) else ""
    head = raw[:_HEAD_CHARS]
    if page.kind == "html":
        found = _html_provenance(head)
    else:
        m = _TEXT_URL_LINE.search(head) or _TEXT_URL_LINE.search(raw[-4000:])
        found = Provenance(url=clean_url(m.group(1)) if m else None)
    out.url = out.url or found.url
    out.retrieved = out.retrieved or found.retrieved
    return out
