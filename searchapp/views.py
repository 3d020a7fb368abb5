"""HTML pages: report search with facets, example sentences, the document page, exports.

All state lives in the URL (query, filters, sort, page), so any result page can
be bookmarked or shared.
"""
from __future__ import annotations

import csv
import io
import json
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, render_template, request

from .engine import DEFAULT_PER_PAGE, EXPORT_CAP, SORTS
from .facets import FACET_LABELS, FACET_NAMES, MAX_VALUES_PER_FACET, Filters, ordered, year_chart_svg
from .sentences import paragraphs_with_sentences
from .highlight import highlight

bp = Blueprint("ui", __name__)


def _engine():
    from .engine import engine_of

    return engine_of(current_app)


def url_with(path: str = "/", add: dict[str, str] | None = None, remove: tuple[str, str] | None = None,
             drop: tuple[str, ...] = (), add_many: list[tuple[str, str]] | None = None,
             set_: dict[str, str] | None = None) -> str:
    """The current URL's arguments with changes applied (the page always resets)."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if v != "" and k != "page"]
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
def search_url(path: str = "/", add=None, remove=None, drop=(), add_many=None, set=None) -> str:  # noqa: A002
    """Template helper around :func:`url_with`."""
    return url_with(path, add=add, remove=remove, drop=tuple(drop or ()), add_many=add_many, set_=set)


@bp.app_template_global()
def region_url(path: str, regions: list[str]) -> str:
    """The current URL with the region filter set to ``regions`` (a breadcrumb step)."""
    return url_with(path, drop=("region",), add_many=[("region", r) for r in regions])


@bp.app_template_global()
def page_url(n: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page" and v != ""]
    pairs.append(("page", str(n)))
    return request.path + "?" + urlencode(pairs)


def _facet_context(res) -> dict:
    return {
        "facet_lists": {name: ordered(res.facets.get(name, {}), name)[:MAX_VALUES_PER_FACET] for name in FACET_NAMES},
        "year_chart": year_chart_svg(res.facets.get("year", {}), res.filters,
                                     lambda y: url_with(request.path, add={"year": y})),
        "labels": FACET_LABELS, "facet_names": FACET_NAMES,
    }


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
    return render_template("sentences.html", res=res, q=q, base_path="/sentences", mode="sentences",
                           **_facet_context(res))


@bp.get("/export")
def export():
    """The current result set (all pages, up to EXPORT_CAP reports) as CSV or JSON."""
    eng = _engine()
    if not eng.available():
        abort(404)
    fmt = request.args.get("format", "csv")
    res = eng.all_hits(request.args.get("q", ""), Filters.from_args(request.args),
                       request.args.get("sort", "relevance"), EXPORT_CAP)
    base = request.host_url.rstrip("/")
    rows = []
    for h in res.hits:
        d = h.as_json()
        d.pop("snippet", None)
        d["url"] = f"{base}/doc/{h.id}"
        rows.append(d)
    note = f"共 {res.total} 篇，导出前 {min(res.total, EXPORT_CAP)} 篇（上限 {EXPORT_CAP}）"
    if fmt == "json":
        body = json.dumps({"query": res.query, "filters": dict(res.filters.pairs()), "total": res.total,
                           "exported": len(rows), "cap": EXPORT_CAP, "note": note, "hits": rows},
                          ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json",
                        headers={"Content-Disposition": "attachment; filename=reports.json"})
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "title", "region", "year", "topics", "doc_type", "source", "published", "duplicates", "url"])
    for d in rows:
        w.writerow([d["id"], d["title"], " › ".join(d["region"]), d["year"] or "", "、".join(d["topics"]),
                    d["doc_type"], d["source"] or "", d["published"] or "", " ".join(d["duplicates"]), d["url"]])
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=reports.csv"})


@bp.get("/doc/<doc_id>")
def document(doc_id: str):
    eng = _engine()
    if doc_id.endswith(".txt"):
        return download(doc_id[:-4])
    q = request.args.get("q", "")
    doc = eng.document(doc_id, q) if eng.available() else None
    if doc is None:
        abort(404)
    needles = doc.pop("needles", [])
    paras = [[(n, highlight(s, needles)) for n, s in para] for para in paragraphs_with_sentences(doc["text"])]
    dup_titles = eng.titles(doc["duplicates"]) if doc["duplicates"] else {}
    return render_template("doc.html", doc=doc, q=q, dup_titles=dup_titles, paragraphs=paras,
                           similar=eng.similar(doc_id))


def download(doc_id: str):
    """The clean text as a UTF-8 text file."""
    eng = _engine()
    doc = eng.document(doc_id) if eng.available() else None
    if doc is None:
        abort(404)
    head = [doc["display_title"],
            f"地区：{' › '.join(doc['region']) or '未知'}　年份：{doc['year'] or '未知'}　类型：{doc['doc_type']}",
            f"来源：{doc['source'] or '未知'}　文档编号：{doc['id']}", ""]
    body = "\n".join(head) + doc["text"] + "\n"
    return Response(body, mimetype="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename={doc['id']}.txt"})
