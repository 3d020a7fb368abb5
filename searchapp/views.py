"""HTML pages: report search with facets, example sentences, the document page, exports.

All state lives in the URL (query, filters, sort, page), so any result page can
be bookmarked or shared.
"""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from urllib.parse import quote, unquote, urlencode

from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup

from indexer.provenance import site_of

from . import query as qmod
from .csvcell import safe_row
from .engine import DEFAULT_PER_PAGE, EXPORT_CAP, SORTS
from .facets import (
    FACET_LABELS,
    FACET_NAMES,
    FACET_PAGE_SIZE,
    FACETS,
    MAX_VALUES_PER_FACET,
    Filters,
    ListingOptions,
    listings,
    year_chart_svg,
)
from .highlight import highlight, mark_matches
from .sentences import paragraphs

bp = Blueprint("ui", __name__)


def _engine():
    from .engine import engine_of

    return engine_of(current_app)


def url_with(path: str = "/", add: dict[str, str] | None = None, remove: tuple[str, str] | None = None,
             drop: tuple[str, ...] = (), add_many: list[tuple[str, str]] | None = None,
             set_: dict[str, str] | None = None) -> str:
    """The current URL's arguments with changes applied (the page always resets).

    A facet list's own paging (``facet_*``, on ``/facet/<name>``) never carries over
    into a results URL.
    """
    pairs = [(k, v) for k, v in request.args.items(multi=True)
             if v != "" and k != "page" and not k.startswith("facet_")]
    pairs = [(k, v) for k, v in pairs if k not in drop]
    if set_:
        pairs = [(k, v) for k, v in pairs if k not in set_] + [(k, v) for k, v in set_.items()]
    if remove:
        pairs = [(k, v) for k, v in pairs if (k, v) != remove]
    for k, v in list((add or {}).items()) + list(add_many or []):
        if (k, v) not in pairs:
            pairs.append((k, v))
    return path + ("?" + urlencode(pairs) if pairs else "")


@bp.app_template_global()
def search_url(path: str = "/", add=None, remove=None, drop=(), add_many=None, set=None) -> str:
    """Template helper around :func:`url_with`."""
    return url_with(path, add=add, remove=remove, drop=tuple(drop or ()), add_many=add_many, set_=set)


@bp.app_template_global()
def region_url(path: str, regions: list[str]) -> str:
    """The current URL with the region filter set to ``regions`` (a breadcrumb step; "本级" is dropped)."""
    return url_with(path, drop=("region", "region_exact"), add_many=[("region", r) for r in regions])


@bp.app_template_global()
def facet_page_url(name: str, base_path: str, regions: list[str] | None = None, **changes: str) -> str:
    """The full list of one facet (``/facet/<name>``) for the current results, with paging ``changes``.

    ``regions`` sets the region path (a breadcrumb step; "本级" and the offset are dropped).
    """
    path = ("/sentences" if base_path == "/sentences" else "") + f"/facet/{name}"
    drop = set(changes) | ({"region", "region_exact", "facet_offset"} if regions is not None else set())
    pairs = [(k, v) for k, v in request.args.items(multi=True) if v != "" and k != "page" and k not in drop]
    pairs += [("region", r) for r in regions or []]
    pairs += [(k, v) for k, v in changes.items() if v not in ("", None)]
    return path + ("?" + urlencode(pairs) if pairs else "")


@bp.app_template_global()
def mark_query(text: str, needles: list[str]):
    """Template helper: ``text`` escaped with the query's matches marked."""
    return highlight(text, needles)


@bp.app_template_global()
def page_url(n: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page" and v != ""]
    pairs.append(("page", str(n)))
    return request.path + "?" + urlencode(pairs)


def _facet_context(res) -> dict:
    return {
        "facet_lists": listings(res, ListingOptions.top(MAX_VALUES_PER_FACET)),
        "year_chart": year_chart_svg(res.facets.get("year", {}), res.filters,
                                     lambda y: url_with(request.path, add={"year": y})),
        "labels": FACET_LABELS, "facet_names": FACET_NAMES,
    }


@bp.get("/facet/<name>")
@bp.get("/sentences/facet/<name>")
def facet_page(name: str):
    """Every value of one facet for the current query and filters: filter box, sort, pages (no script needed).

    The counts are the result page's own (the example-sentence view counts reports
    the same way), so each row gives the total its click gives.
    """
    eng = _engine()
    if name not in FACETS or not eng.available():
        abort(404)
    base_path = "/sentences" if request.path.startswith("/sentences/") else "/"
    q = request.args.get("q", "")
    # the result page's own search (same page size, so the cached result answers; only its
    # facets and total are used here)
    res = eng.search(q, Filters.from_args(request.args), request.args.get("sort", "relevance"), 1,
                     request.args.get("per_page", DEFAULT_PER_PAGE))
    opts = ListingOptions.from_args(request.args, FACET_PAGE_SIZE)
    fl = listings(res, opts)[name]
    return render_template("facet.html", res=res, q=q, fl=fl, name=name, base_path=base_path,
                           labels=FACET_LABELS, mode="sentences" if base_path == "/sentences" else "reports",
                           page_size=opts.limits[name] or FACET_PAGE_SIZE)


@bp.get("/")
def index():
    eng = _engine()
    if not eng.available():
        return render_template("search.html", res=None, no_index=True, q="", mode="reports")
    q = request.args.get("q", "")
    res = eng.search(q, Filters.from_args(request.args), request.args.get("sort", "relevance"),
                     request.args.get("page", 1), request.args.get("per_page", DEFAULT_PER_PAGE))
    dup_ids = sorted({d for h in res.hits for d in h.duplicates})
    return render_template("search.html", res=res, q=q, no_index=False, sorts=SORTS, mode="reports",
                           dup_titles=eng.titles(dup_ids) if dup_ids else {}, base_path="/",
                           export_cap=EXPORT_CAP, **_facet_context(res))


@bp.get("/sentences")
def sentences():
    eng = _engine()
    if not eng.available():
        return render_template("search.html", res=None, no_index=True, q="", mode="sentences")
    q = request.args.get("q", "")
    res = eng.sentences(q, Filters.from_args(request.args), request.args.get("page", 1),
                        request.args.get("per_page", 20))
    base = request.host_url.rstrip("/")
    return render_template("sentences.html", res=res, q=q, base_path="/sentences", mode="sentences",
                           base_url=base, export_cap=SENTENCE_EXPORT_CAP, **_facet_context(res))


SENTENCE_EXPORT_CAP = 2000
SENTENCE_CSV_COLUMNS = ["sentence", "heading", "title", "region", "year", "reports", "doc_id", "url", "citation"]


def attachment(name: str, ext: str, ascii_name: str | None = None) -> str:
    """A Content-Disposition value for a download named after what it holds: the UTF-8 name
    (RFC 6266 / RFC 5987) and an ASCII name for old clients (``ascii_name``, else the name with
    every other character replaced)."""
    fallback = ascii_name or "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in name)
    return f"attachment; filename=\"{fallback}.{ext}\"; filename*=UTF-8''{quote(name)}.{ext}"


@bp.get("/sentences/export")
def sentences_export():
    """The example sentences of the current query and filters (all pages) as CSV or JSON.

    Each row is a sentence with its citation and a link to it inside its report;
    CSV cells are formula-safe (``searchapp.csvcell``).
    """
    eng = _engine()
    if not eng.available():
        abort(404)
    q = request.args.get("q", "")
    res = eng.sentences(q, Filters.from_args(request.args), 1, SENTENCE_EXPORT_CAP,
                        _max_per_page=SENTENCE_EXPORT_CAP)
    base = request.host_url.rstrip("/")
    name = f"例句_{q.strip()[:40] or '全部'}_{date.today().isoformat()}"
    if request.args.get("format") == "json":
        body = json.dumps({"query": res.query, "filters": [list(p) for p in res.filters.pairs()],
                           "total": res.total, "exported": len(res.sentences), "cap": SENTENCE_EXPORT_CAP,
                           "reports": res.reports, "no_sentences_reason": res.why_none or None,
                           "sentences": [e.as_json(base) for e in res.sentences]},
                          ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json", headers={"Content-Disposition": attachment(name, "json")})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(SENTENCE_CSV_COLUMNS)
    for e in res.sentences:
        w.writerow(safe_row([e.text, e.heading or "", e.title, "".join(e.region), e.year or "", e.count,
                             e.doc_id, e.permalink(base), e.copy_text(base)]))
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": attachment(name, "csv")})


EXPORT_FIELDS = ("id", "title", "region", "year", "topics", "doc_type", "site", "source_url", "published",
                 "snippet", "duplicates", "permalink")


def export_filename(q: str, filters: Filters, ext: str, now: datetime | None = None) -> str:
    """A file name that says what the file holds: query, filters, date (``报告_卫生_云南省_20261206.csv``)."""
    parts = ["报告"]
    if q.strip():
        parts.append(q.strip())
    parts += [d.split("：", 1)[1] for d in filters.describe()]
    parts.append((now or datetime.now(UTC)).strftime("%Y%m%d"))
    name = "_".join(p.replace(" › ", "-") for p in parts)
    name = re.sub(r'[\\/:*?"<>|\s\x00-\x1f]+', "-", name)
    name = re.sub(r"-{2,}", "-", name).replace("-_", "_").replace("_-", "_")
    if len(name) > 120:  # the date stays at the end
        name = name[:110].rstrip("-_") + "等_" + parts[-1]
    return f"{name}.{ext}"


def _disposition(filename: str) -> str:
    """:func:`attachment` for an export file name (``报告_…_20261206.csv``): ``reports_20261206.csv``
    for old clients."""
    stem, _, ext = filename.rpartition(".")
    stamp = re.search(r"(\d{8})$", stem)
    return attachment(stem, ext, f"reports_{stamp.group(1)}" if stamp else "reports")


@bp.get("/export")
def export():
    """The current result set (all pages, up to EXPORT_CAP reports) as CSV or JSON.

    Each record carries its source address and site, the snippet and a permalink;
    the JSON records the query and every active filter, and the file name says both.
    """
    eng = _engine()
    if not eng.available():
        abort(404)
    fmt = "json" if request.args.get("format") == "json" else "csv"
    q = request.args.get("q", "")
    res = eng.all_hits(q, Filters.from_args(request.args), request.args.get("sort", "relevance"), EXPORT_CAP)
    base = request.host_url.rstrip("/")
    rows = []
    for h in res.hits:
        rows.append({"id": h.id, "title": h.title, "region": h.region, "year": h.year, "topics": h.topics,
                     "doc_type": h.doc_type, "site": h.source or site_of(h.url) or "", "source_url": h.url or "",
                     "published": h.published, "snippet": Markup(h.snippet).striptags(),
                     "duplicates": h.duplicates, "permalink": f"{base}/doc/{h.id}"})
    note = f"共 {res.total} 篇，导出前 {min(res.total, EXPORT_CAP)} 篇（上限 {EXPORT_CAP}）"
    filename = export_filename(q, res.filters, fmt)
    if fmt == "json":
        body = json.dumps({"query": res.query, "filters": res.filters.as_dict(),
                           "filters_text": res.filters.describe(), "sort": res.sort,
                           "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
                           "total": res.total, "exported": len(rows), "cap": EXPORT_CAP, "note": note,
                           "hits": rows}, ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": _disposition(filename)})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(EXPORT_FIELDS)
    for d in rows:
        w.writerow(safe_row([d["id"], d["title"], " › ".join(d["region"]), d["year"] or "", "、".join(d["topics"]),
                             d["doc_type"], d["site"], d["source_url"], d["published"] or "", d["snippet"],
                             " ".join(d["duplicates"]), d["permalink"]]))
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": _disposition(filename)})


def is_admin() -> bool:
    """Whether the request comes from a logged-in administrator (who may see server paths)."""
    from . import admin

    return admin.enabled() and admin.logged_in()


def reader_document(doc: dict, admin: bool) -> dict:
    """A document as readers get it: provenance (URL, site, dates), never the server's file path.

    ``path`` (where the file lies on the server) is for administrators only:
    it means nothing to a reader and tells strangers how the server is laid out.
    """
    out = dict(doc)
    out.pop("needles", None)
    if out.get("url"):
        out["url_text"] = unquote(out["url"])  # 中文 as the reader typed it, not %E4%B8%AD…
    path = out.pop("path", None)
    if admin:
        out["path"] = path
    return out


@bp.get("/doc/<doc_id>")
def document(doc_id: str):
    eng = _engine()
    if doc_id.endswith(".txt"):
        return download(doc_id[:-4])
    q = request.args.get("q", "")
    doc = eng.document(doc_id, q) if eng.available() else None
    if doc is None:
        abort(404)
    needles = doc.get("needles", [])
    doc = reader_document(doc, is_admin())
    paras = paragraphs(doc["text"])
    marked, matches = mark_matches([s.text for para in paras for s in para], needles)
    it = iter(marked)
    rows = [[(s, next(it)) for s in para] for para in paras]
    dup_titles = eng.titles(doc["duplicates"]) if doc["duplicates"] else {}
    # the match bar only for a query that has something to find (not for "-疫情" alone)
    return render_template("doc.html", doc=doc, q=q, dup_titles=dup_titles, paragraphs=rows,
                           matches=matches, show_matches=bool(qmod.parse(q).positive_items()) if q else False,
                           similar=eng.similar(doc_id))


def download(doc_id: str):
    """The clean text as a UTF-8 text file, headed by its metadata and where it came from."""
    eng = _engine()
    doc = eng.document(doc_id) if eng.available() else None
    if doc is None:
        abort(404)
    head = [doc["display_title"],
            f"地区：{' › '.join(doc['region']) or '未知'}　年份：{doc['year'] or '未知'}　类型：{doc['doc_type']}",
            f"来源：{doc['site'] or '未知'}　文档编号：{doc['id']}"]
    if doc.get("url"):
        head.append(f"原文网址：{doc['url']}")
    body = "\n".join(head + [""]) + doc["text"] + "\n"
    # mimetype without a charset: Flask adds "; charset=utf-8" to text/* itself (one charset, not two)
    return Response(body, mimetype="text/plain",
                    headers={"Content-Disposition": attachment(doc["id"], "txt")})
