"""JSON API: the UI's twin.  Same parameters, same counts, JSON out."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request

from .engine import DEFAULT_PER_PAGE
from .facets import Filters, ListingOptions, listings
from .views import is_admin, reader_document

bp = Blueprint("api", __name__, url_prefix="/api")


def _engine():
    from .engine import engine_of

    return engine_of(current_app)


@bp.get("/search")
def search():
    """``GET /api/search?q=&region=&year=&topic=&doc_type=&sort=&page=&per_page=``.

    Facet paging (README, "JSON API"): ``facet_limit``, ``facet_offset``, ``facet_sort``,
    ``facet_prefix``, each also per facet as ``facet_limit.region=…``.  ``facets`` holds
    the window of each facet's values; ``facet_info`` says where the window lies
    (``total_values``, ``has_more``), which selected values fall outside it, and the
    region's "本级" row.
    """
    eng = _engine()
    if not eng.available():
        return jsonify({"error": "no index yet: run `reportsearch index PATH`", "total": 0, "hits": [],
                        "facets": {}}), 503
    res = eng.search(
        request.args.get("q", ""), Filters.from_args(request.args), request.args.get("sort", "relevance"),
        request.args.get("page", 1), request.args.get("per_page", DEFAULT_PER_PAGE),
    )
    return jsonify(_with_facet_pages(res.as_json(), res))


def _with_facet_pages(data: dict, res) -> dict:
    """Replace each facet's counts by the requested window and add ``facet_info`` (ordered rows)."""
    lists = listings(res, ListingOptions.from_args(request.args, None))
    data["facets"] = {name: {i.value: i.count for i in fl.items} for name, fl in lists.items()}
    data["facet_info"] = {name: fl.as_json() for name, fl in lists.items()}
    data["filters"] = res.filters.as_dict()
    return data


@bp.get("/docs/<doc_id>")
def document(doc_id: str):
    """One document with its clean text and metadata; 404 JSON for an unknown id."""
    eng = _engine()
    doc = eng.document(doc_id) if eng.available() else None
    if doc is None:
        abort(404)
    doc = reader_document(doc, is_admin())  # the server path only for a logged-in administrator
    doc.pop("display_title", None)
    return jsonify(doc)


@bp.get("/sentences")
def sentences():
    """``GET /api/sentences?q=&region=&year=&topic=&doc_type=&page=`` → example sentences.

    Each sentence comes with its context (``before``/``after``), the heading it
    stands under when a heading matched, its permalink and its citation text.
    """
    eng = _engine()
    if not eng.available():
        return jsonify({"error": "no index yet", "total": 0, "sentences": []}), 503
    res = eng.sentences(request.args.get("q", ""), Filters.from_args(request.args), request.args.get("page", 1),
                        request.args.get("per_page", 20))
    return jsonify(_with_facet_pages(res.as_json(request.host_url.rstrip("/")), res))


@bp.get("/suggest")
def suggest():
    """``GET /api/suggest?q=`` → completions from indexed titles and frequent words."""
    eng = _engine()
    if not eng.available():
        return jsonify({"suggestions": []})
    return jsonify({"suggestions": eng.suggest(request.args.get("q", ""))})


@bp.get("/docs/<doc_id>/similar")
def similar(doc_id: str):
    """Reports like this one (its own copies excluded)."""
    eng = _engine()
    if not eng.available() or eng.document(doc_id) is None:
        abort(404)
    return jsonify({"similar": [{"id": i, "title": t} for i, t in eng.similar(doc_id)]})
