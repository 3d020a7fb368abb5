"""HTML pages: the search page with facets, and the document page.

All state lives in the URL (query, filters, sort, page), so any result page can
be bookmarked or shared.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, render_template, request

from .engine import DEFAULT_PER_PAGE, SORTS
from .facets import FACET_LABELS, FACET_NAMES, Filters, MAX_VALUES_PER_FACET, ordered

bp = Blueprint("ui", __name__)


def _engine():
    from . import engine_of

    return engine_of(current_app)


def url_with(add: dict[str, str] | None = None, remove: tuple[str, str] | None = None,
             drop: tuple[str, ...] = (), reset_page: bool = True) -> str:
    """The current search URL with one filter added or removed (and the page reset)."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if v != ""]
    if reset_page:
        pairs = [(k, v) for k, v in pairs if k != "page"]
    pairs = [(k, v) for k, v in pairs if k not in drop]
    if remove:
        pairs = [(k, v) for k, v in pairs if (k, v) != remove]
    if add:
        for k, v in add.items():
            if (k, v) not in pairs:
                pairs.append((k, v))
    return "/?" + urlencode(pairs) if pairs else "/"


@bp.app_template_global()
def search_url(**kwargs: str) -> str:
    """Template helper: ``search_url(add_key=value)``-style URL builder."""
    add = kwargs.pop("add", None)
    remove = kwargs.pop("remove", None)
    drop = tuple(kwargs.pop("drop", ()) or ())
    return url_with(add=add, remove=remove, drop=drop)


@bp.app_template_global()
def page_url(n: int) -> str:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page" and v != ""]
    pairs.append(("page", str(n)))
    return "/?" + urlencode(pairs)


@bp.get("/")
def index():
    eng = _engine()
    if not eng.available():
        return render_template("search.html", res=None, no_index=True, q="", sorts=SORTS,
                               facet_names=FACET_NAMES, labels=FACET_LABELS)
    q = request.args.get("q", "")
    filters = Filters.from_args(request.args)
    res = eng.search(q, filters, request.args.get("sort", "relevance"), request.args.get("page", 1),
                     request.args.get("per_page", DEFAULT_PER_PAGE))
    facet_lists = {name: ordered(res.facets.get(name, {}), name)[:MAX_VALUES_PER_FACET] for name in FACET_NAMES}
    dup_ids = sorted({d for h in res.hits for d in h.duplicates})
    dup_titles = eng.titles(dup_ids) if dup_ids else {}
    return render_template("search.html", res=res, q=q, no_index=False, sorts=SORTS, facet_names=FACET_NAMES,
                           labels=FACET_LABELS, facet_lists=facet_lists, dup_titles=dup_titles)


@bp.get("/doc/<doc_id>")
def document(doc_id: str):
    eng = _engine()
    doc = eng.document(doc_id, request.args.get("q")) if eng.available() else None
    if doc is None:
        abort(404)
    dup_titles = eng.titles(doc["duplicates"]) if doc["duplicates"] else {}
    return render_template("doc.html", doc=doc, q=request.args.get("q", ""), dup_titles=dup_titles)
