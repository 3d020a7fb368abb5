"""Flask front end: an application factory with a UI blueprint and a JSON API blueprint.

``create_app`` follows Flask's tutorial layout.  Templates live in the
project's top-level ``templates/`` folder; everything the pages need is served
from this package (no CDN), so the product works offline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template, request, send_from_directory

from indexer.engine import store
from indexer.engine.integrity import IndexDamaged, IndexHealth, Problem
from indexer.settings import Settings
from indexer.settings import current as current_settings

from . import understand
from .engine import SearchEngine, engine_of

__all__ = ["create_app", "engine_of"]

TEMPLATES = store.project_root() / "templates"

#: Sent with every response (the admin blueprint sets its own stricter ones first).  Scripts
#: come only from /static (no inline script or handler anywhere: tests/web check the
#: templates); inline ``style`` attributes are allowed for the server-drawn bar widths.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                                "form-action 'self'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(test_config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app; ``INDEX_DIR`` defaults to ``settings.index_dir`` (``$REPORTSEARCH_INDEX_DIR`` or ``./index``).

    ``settings`` default to :func:`indexer.settings.current`; the admin reads its password
    and secret key from them (``app.extensions["settings"]``).
    """
    settings = settings or current_settings()
    app = Flask(__name__, template_folder=str(TEMPLATES), instance_relative_config=True)
    app.extensions["settings"] = settings
    app.config.from_mapping(
        INDEX_DIR=str(settings.index_dir),
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["engine"] = SearchEngine(Path(app.config["INDEX_DIR"]))
    understand.warm()  # the gazetteer and pypinyin load here, not inside the first request's deadline

    from . import admin, api, views

    # Web admin (/admin): off unless ADMIN_PASSWORD_HASH (instance config) or
    # $REPORTSEARCH_ADMIN_PASSWORD is set; also reads SECRET_KEY / $REPORTSEARCH_SECRET_KEY,
    # UPLOAD_DIR, ADMIN_MAX_* upload limits, INDEX_WORKERS (see docs/admin.md).
    admin.configure(app)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)

    @app.get("/favicon.ico")
    def favicon():
        """Browsers ask for /favicon.ico whatever the page links; the icon is served locally."""
        return send_from_directory(app.static_folder or "static", "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=86400)

    @app.errorhandler(404)
    def not_found(err: Exception) -> tuple[Any, int]:
        if request.path.startswith("/api/"):
            return jsonify({"error": "not found", "path": request.path}), 404
        return render_template("error.html", code=404, message="没有找到这个页面或文档。"), 404

    @app.errorhandler(405)
    def wrong_method(err):
        if request.path.startswith("/admin") and not app.config.get("ADMIN_PASSWORD_HASH"):
            return not_found(err)  # admin off: no URL under /admin exists, whatever the method
        if request.path.startswith("/api/"):
            return jsonify({"error": "method not allowed"}), 405
        return render_template("error.html", code=405, message="不支持这种请求方式。"), 405

    @app.after_request
    def security_headers(resp):
        """Every page: no framing, no MIME sniffing, scripts only from our own static files."""
        for name, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(name, value)
        return resp

    health = IndexHealth(Path(app.config["INDEX_DIR"]))
    logged: list[list[Problem]] = [[]]  # the findings last logged: one log line per finding, not per request

    def unavailable(problems: list[Problem]):
        """A damaged index: say so, and what the admin should do, instead of "internal error" or wrong counts."""
        if problems != logged[0]:
            logged[0] = problems
            app.logger.error("index damaged: %s", "; ".join(map(str, problems)))
        if request.path.startswith("/api/"):
            return jsonify({"error": "index unavailable", "reason": "the index is damaged",
                            "advice": problems[0].advice}), 503, {"Retry-After": "300"}
        return render_template("error.html", code=503,
                               message="索引文件已损坏，暂时无法检索。管理员请运行 reportsearch check 查看详情，"
                                       "并用 reportsearch index --rebuild 重建索引。"), 503, {"Retry-After": "300"}

    @app.before_request
    def index_is_whole():
        if request.endpoint == "static" or request.path.startswith("/admin"):
            return None  # the admin pages stay usable to see and repair it
        problems = health.problems()
        return unavailable(problems) if problems else None

    @app.errorhandler(500)
    def server_error(err):
        original = getattr(err, "original_exception", None)
        problems = original.problems if isinstance(original, IndexDamaged) else health.problems(recheck=True)
        if problems:
            return unavailable(problems)
        if request.path.startswith("/api/"):
            return jsonify({"error": "internal error"}), 500
        return render_template("error.html", code=500, message="服务器出错了，请稍后再试。"), 500

    return app
