"""Web admin at ``/admin``: log in, upload pages, run incremental indexing, watch it, see statistics.

Security model (``docs/admin.md``):

* off unless a password is configured: ``REPORTSEARCH_ADMIN_PASSWORD`` in the
  environment, or ``ADMIN_PASSWORD_HASH`` (``reportsearch hash-password``) in
  ``instance/config.py``; when off, every ``/admin`` URL answers 404 saying so;
* a logged-in admin is a signed Flask session cookie (HttpOnly, SameSite=Lax,
  Secure over HTTPS or with ``REPORTSEARCH_COOKIE_SECURE=1``, 8 hours) naming a
  server-side session (:mod:`searchapp.adminstate`), bound to the password:
  changing it logs every session out, logout ends that session in every process;
* without a valid session every page answers 401 (the login form, no redirect)
  and every ``/admin/api/*`` call 401 JSON;
* every POST (login included) must carry the session's CSRF token, as the form
  field ``csrf_token`` or the ``X-CSRF-Token`` header, else 403.  The token is
  written here (``secrets`` + ``hmac.compare_digest``, a dozen lines) rather
  than with Flask-WTF: no new dependency and no form library for four forms;
* login attempts are counted per client address, checked and recorded in one
  SQLite transaction before the password hash runs: after 5 in 5 minutes the
  login answers 429 until the window has passed (shared by all server processes);
* uploads: see :mod:`searchapp.uploads`.
"""
from __future__ import annotations

import fcntl
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    get_flashed_messages,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup, escape
from werkzeug.security import check_password_hash, generate_password_hash

from indexer.engine import store

from .adminstate import STATE_FILE, AdminState
from .facets import REGION, YEAR, FacetTable
from .uploads import ALLOWED_EXTENSIONS, Limits, save_uploads

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")

SECRET_FILE = "secret_key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_PUBLIC_ENDPOINTS = {"admin.login", "admin.login_post"}
PHASE_LABELS = {"starting": "准备中", "scanning": "检查文件变化", "preparing": "启动工作进程",
                "indexing": "读取、清洗并写入索引",
                "grouping": "近似重复分组", "committing": "提交索引", "swapping": "切换到新索引",
                "done": "完成", "failed": "失败"}


# -- configuration -----------------------------------------------------------------------------

def configure(app: Flask) -> None:
    """Admin config: password, secret key, data folder, upload folder and limits (called by ``create_app``).

    Runtime state goes to the data folder (``DATA_DIR``: ``$REPORTSEARCH_DATA_DIR`` or
    ``<index>-data`` beside the index, :func:`indexer.engine.store.data_dir`), never into the
    source checkout.
    """
    cfg = app.config
    if not cfg.get("DATA_DIR"):
        cfg["DATA_DIR"] = str(store.data_dir(cfg["INDEX_DIR"], app.extensions["settings"].data_dir))
    data = Path(cfg["DATA_DIR"])
    cfg.setdefault("UPLOAD_DIR", str(data / "uploads"))
    cfg.setdefault("ADMIN_LOGIN_ATTEMPTS", 5)
    cfg.setdefault("ADMIN_LOGIN_WINDOW", 300)
    cfg.setdefault("ADMIN_SESSION_SECONDS", 8 * 3600)
    cfg.setdefault("INDEX_WORKERS", None)
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    if not cfg.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None: set it, don't setdefault
        cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    settings = app.extensions["settings"]
    if settings.cookie_secure:
        cfg["SESSION_COOKIE_SECURE"] = True
    app.session_interface = _SessionInterface()
    pw = settings.admin_password
    if not pw and cfg.get("ADMIN_PASSWORD"):  # a plain password in a test config
        pw = cfg["ADMIN_PASSWORD"]
    cfg.pop("ADMIN_PASSWORD", None)
    if pw:
        cfg["ADMIN_PASSWORD_HASH"] = generate_password_hash(pw)
    if not cfg.get("SECRET_KEY"):
        if settings.secret_key:
            cfg["SECRET_KEY"] = settings.secret_key
        elif cfg.get("ADMIN_PASSWORD_HASH"):
            cfg["SECRET_KEY"] = load_or_create_secret(data)
    if pw:
        # The hash above is salted afresh in every process; the session fingerprint must be the
        # same in every gunicorn worker and after a restart, so it is keyed by the stable secret.
        stable = hmac.new(str(cfg.get("SECRET_KEY") or "").encode(), b"admin-password\x00" + pw.encode(),
                          "sha256").hexdigest()[:32]
        cfg["_ADMIN_PASSWORD_ID"] = (cfg["ADMIN_PASSWORD_HASH"], stable)
    state_path = data / STATE_FILE if cfg.get("ADMIN_PASSWORD_HASH") else None
    app.extensions["admin_state"] = AdminState(
        state_path, int(cfg["ADMIN_LOGIN_ATTEMPTS"]), float(cfg["ADMIN_LOGIN_WINDOW"]),
        float(cfg["ADMIN_SESSION_SECONDS"]))
    app.extensions["admin_indexer"] = BackgroundIndexer()
    app.extensions["admin_stats"] = {}


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` also set when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or bool(has_request_context() and request.is_secure)


def load_or_create_secret(folder: Path) -> str:
    """The session signing key kept in ``<data>/secret_key`` (created 0600 on first use).

    Several server processes may start at once (gunicorn workers): reading and creating
    the key happen under an exclusive ``flock`` on ``secret_key.lock``, so exactly one
    process writes a key (to a private temporary file renamed into place) and every
    other one reads that key, also when an existing file is unreadable or too short and
    has to be replaced.  Plain ``link``/``rename`` without the lock can't cover the
    replace case: two processes would each install, and keep, their own key.
    """
    path = folder / SECRET_FILE
    folder.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(str(folder / (SECRET_FILE + ".lock")), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (ENOLCK): one server process starting is still fine
            pass
        try:
            key = path.read_text(encoding="ascii").strip()
            if len(key) >= 32:
                return key
        except (OSError, UnicodeDecodeError):
            pass
        key = secrets.token_hex(32)
        tmp = folder / f".{SECRET_FILE}.{secrets.token_hex(4)}.tmp"
        fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(key + "\n")
                fh.flush()
                os.fsync(fh.fileno())  # a crash must not leave an empty key behind the rename
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return key
    finally:
        os.close(lock_fd)  # releases the flock


def enabled() -> bool:
    return bool(current_app.config.get("ADMIN_PASSWORD_HASH"))


def _state() -> AdminState:
    return current_app.extensions["admin_state"]


# -- session, CSRF -----------------------------------------------------------------------------

def _fingerprint() -> str:
    """Ties a session to the configured password: a new password ends old sessions.

    Stable across processes: derived from the configured hash, or, for a password given
    in the environment, from the password keyed by the server secret.
    """
    h = current_app.config.get("ADMIN_PASSWORD_HASH") or ""
    stable = current_app.config.get("_ADMIN_PASSWORD_ID")
    if isinstance(stable, tuple) and stable[0] == h:
        return stable[1]
    return hashlib.sha256(("reportsearch-admin\x00" + h).encode()).hexdigest()[:32]


def csrf_token() -> str:
    tok = session.get("csrf")
    if not isinstance(tok, str) or len(tok) < 32:
        tok = secrets.token_urlsafe(32)
        session["csrf"] = tok
    return tok


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return isinstance(expected, str) and bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def logged_in() -> bool:
    """A signed cookie naming a live server-side session bound to the current password."""
    info = session.get("admin")
    if not isinstance(info, dict):
        return False
    fp, sid, t = info.get("fp"), info.get("sid"), info.get("t")
    if not isinstance(fp, str) or not hmac.compare_digest(fp.encode(), _fingerprint().encode()):
        return False
    if not isinstance(t, (int, float)) or not 0 <= time.time() - t <= float(current_app.config["ADMIN_SESSION_SECONDS"]):
        return False
    return isinstance(sid, str) and _state().session_live(sid, fp)


def _client() -> str:
    return request.remote_addr or "unknown"


def _is_api() -> bool:
    return request.path.startswith("/admin/api/")


@bp.app_template_global("admin_csrf_token")
def _csrf_global() -> str:
    return csrf_token()


@bp.before_request
def guard():
    if not enabled():
        msg = "管理功能未启用：没有配置管理员密码（环境变量 REPORTSEARCH_ADMIN_PASSWORD，或 instance/config.py 中的 ADMIN_PASSWORD_HASH）。"
        if _is_api():
            return jsonify({"error": "admin is disabled: no admin password is configured"}), 404
        return render_template("error.html", code=404, message=msg), 404
    if request.endpoint not in _PUBLIC_ENDPOINTS and not logged_in():
        if _is_api():
            return jsonify({"error": "login required"}), 401
        return _login_page("请先登录。", 401)
    if request.method == "POST" and not _csrf_ok():
        if _is_api():
            return jsonify({"error": "missing or wrong CSRF token"}), 403
        return render_template("error.html", code=403,
                               message="请求缺少有效的 CSRF 令牌（页面可能已过期），请刷新后重试。"), 403
    return None


@bp.after_request
def headers(resp):
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    return resp


@bp.errorhandler(413)
def too_large(err):
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    msg = f"上传内容过大（单次请求上限 {limit // (1024 * 1024)} MB）。"
    if _is_api():
        return jsonify({"error": "request too large"}), 413
    return render_template("error.html", code=413, message=msg), 413


# -- login / logout ----------------------------------------------------------------------------

def _login_page(message: str | None = None, status: int = 200):
    return render_template("admin_login.html", message=message), status


@bp.get("/login")
def login():
    if logged_in():
        return redirect(url_for("admin.dashboard"), 303)
    return _login_page()


@bp.post("/login")
def login_post():
    state = _state()
    who = _client()
    # Check and record in one step before the slow hash: parallel guesses can't slip past the limit.
    wait = state.reserve_attempt(who)
    if wait:
        resp, _ = _login_page(f"密码错误次数过多，请 {wait} 秒后再试。", 429)
        return resp, 429, {"Retry-After": str(wait)}
    pw = request.form.get("password", "")
    if not pw or not check_password_hash(current_app.config["ADMIN_PASSWORD_HASH"], pw):
        current_app.logger.warning("admin: wrong password from %s", who)
        return _login_page("密码不正确。", 401)
    state.clear_attempts(who)
    session.clear()  # a fresh session (and CSRF token) after login
    fp = _fingerprint()
    session["admin"] = {"t": time.time(), "fp": fp, "sid": state.new_session(fp)}
    csrf_token()
    return redirect(url_for("admin.dashboard"), 303)


@bp.post("/logout")
def logout():
    info = session.get("admin")
    if isinstance(info, dict) and isinstance(info.get("sid"), str):
        _state().end_session(info["sid"])  # the cookie, wherever it was copied, opens nothing now
    session.clear()
    return redirect(url_for("admin.login"), 303)


# -- background indexing -----------------------------------------------------------------------

class BackgroundIndexer:
    """One incremental indexing run at a time, in a thread of the web process."""

    def __init__(self):
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.error: str | None = None
        self.summary: dict | None = None
        self.started: float | None = None

    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, paths: list[str], index_dir: Path, workers: int | None, on_done=None) -> bool:
        """Start a run; False when one is already running in this process."""
        with self._lock:
            if self.running():
                return False
            self.error, self.summary, self.started = None, None, time.time()
            self.thread = threading.Thread(target=self._run, args=(paths, index_dir, workers, on_done),
                                           name="reportsearch-admin-index", daemon=True)
            self.thread.start()
            return True

    def _run(self, paths: list[str], index_dir: Path, workers: int | None, on_done) -> None:
        from indexer.pipeline import IndexBusy, index_paths

        try:
            summary = index_paths(paths, index_dir, workers=workers)
            self.summary = summary.as_dict()
        except IndexBusy as exc:
            self.error = f"另一个索引任务正在运行：{exc}"
        except Exception as exc:  # noqa: BLE001 - background thread: any failure is reported on the page; the index is left as it was
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            if on_done:
                try:
                    on_done()
                except Exception:
                    log.debug("admin index job: on_done callback failed", exc_info=True)

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)


def _index_dir() -> Path:
    return Path(current_app.config["INDEX_DIR"])


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def index_targets() -> list[str]:
    """What the button indexes: the upload folder plus every file and folder earlier runs indexed."""
    out = [str(_upload_dir().resolve())]
    for r in store.load_roots(_index_dir()):
        if r not in out and Path(r).exists():
            out.append(r)
    return out


def progress_state() -> dict[str, Any]:
    """The run in progress (this process's thread or a ``reportsearch index`` elsewhere), or the last one."""
    ix_dir = _index_dir()
    bg: BackgroundIndexer = current_app.extensions["admin_indexer"]
    p = store.read_progress(ix_dir)
    locked = store.is_locked(ix_dir)
    running = bool(locked or bg.running())
    state: dict[str, Any] = {
        "running": running, "phase": p.get("phase") or ("starting" if running else None),
        "done": int(p.get("done") or 0), "total": int(p.get("total") or 0), "rate": p.get("rate"),
        "eta": p.get("eta"), "file": Path(p.get("path") or "").name, "started": p.get("started"),
        "updated": p.get("updated"), "interrupted": False, "error": None, "summary": p.get("summary"),
    }
    if running and not locked:  # our thread is starting: progress.json still describes the last run
        state.update(phase="starting", done=0, total=0, rate=None, eta=None, file="", summary=None)
    if not running and p.get("running"):
        state["interrupted"] = True  # the run that wrote it died without finishing (kill -9, crash)
        state["phase"] = "failed"
    if not running and bg.error:
        state["error"] = bg.error
    elif not running and p.get("error"):
        state["error"] = p.get("error")
    state["phase_label"] = PHASE_LABELS.get(state["phase"] or "", state["phase"] or "")
    state["percent"] = round(100.0 * state["done"] / state["total"], 1) if state["total"] else None
    return state


# -- statistics --------------------------------------------------------------------------------

def index_stats() -> dict[str, Any]:
    """Documents, per-year and per-province counts, size on disk and last update of the live index."""
    ix_dir = _index_dir()
    if not store.index_exists(ix_dir):
        return {"available": False, "documents": 0, "years": [], "provinces": [], "size_bytes": 0,
                "last_update": None, "roots": []}
    ix = store.open_index(ix_dir)
    key = (str(ix.storage.folder), ix.latest_generation())
    cache: dict = current_app.extensions["admin_stats"]
    if cache.get("key") == key:
        stats = dict(cache["stats"])
    else:
        with ix.searcher() as s:
            docs = s.doc_count()
            # Counted per document (no near-duplicate grouping), by the same facet classes the search uses.
            table = FacetTable.load(s, {})
            live = table.live_docs()
            years = table.count_facet(live, YEAR.name)
            provinces = table.count_facet(live, REGION.name, 0)
        stats = {"available": True, "documents": docs,
                 "years": YEAR.chronological(years),
                 "provinces": REGION.ordered(provinces, "count"),
                 "generation": key[1], "layout": "pointer" if store.current_generation_name(ix_dir) else "plain"}
        cache.clear()
        cache.update(key=key, stats=stats)
        stats = dict(stats)
    stats["size_bytes"] = store.index_size_bytes(ix_dir)
    stats["last_update"] = store.last_update(ix_dir)
    stats["roots"] = store.load_roots(ix_dir)
    return stats


def bar_chart(items: list[tuple[str, int]], *, label: str, vertical: bool = False) -> Markup:
    """A server-rendered SVG bar chart (no script, no external asset); every label is escaped."""
    if not items:
        return Markup('<p class="muted">暂无数据。</p>')
    top = max(c for _, c in items) or 1
    parts: list[str] = []
    if vertical:
        n = len(items)
        bw = max(6, min(28, 600 // max(n, 1)))
        width, height, base = max(640, n * bw + 40), 200, 180
        every = 1 if n <= 24 else (2 if n <= 48 else 5)
        for i, (name, c) in enumerate(items):
            h = int(150 * c / top)
            x = 30 + i * bw
            parts.append(f'<g><title>{escape(name)}：{c}</title>'
                         f'<rect class="bar" x="{x}" y="{base - h}" width="{bw - 2}" height="{h}"/></g>')
            if i % every == 0 or i == n - 1:
                parts.append(f'<text class="axis" x="{x + (bw - 2) / 2:.1f}" y="{base + 14}" '
                             f'text-anchor="middle">{escape(name[-2:] if len(name) == 4 and name.isdigit() and n > 24 else name)}</text>')
        parts.append(f'<text class="axis" x="2" y="{base - 150 + 4}">{top}</text>')
        parts.append(f'<line class="base" x1="28" y1="{base}" x2="{width - 8}" y2="{base}"/>')
    else:
        row = 22
        width, height = 640, row * len(items) + 10
        for i, (name, c) in enumerate(items):
            y = 5 + i * row
            w = max(1, int(440 * c / top))
            parts.append(f'<g><title>{escape(name)}：{c}</title>'
                         f'<text class="label" x="110" y="{y + 15}" text-anchor="end">{escape(name[:8])}</text>'
                         f'<rect class="bar" x="118" y="{y + 3}" width="{w}" height="{row - 6}"/>'
                         f'<text class="value" x="{118 + w + 6}" y="{y + 15}">{c}</text></g>')
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
                  f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def _human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "—"


# -- pages -------------------------------------------------------------------------------------

def _dashboard(status: int = 200):
    stats = index_stats()
    runs = list(reversed(store.load_runs(_index_dir())))
    return render_template(
        "admin.html", stats=stats, runs=runs, progress=progress_state(),
        year_chart=bar_chart(stats["years"], label="各年份文档数", vertical=True),
        province_chart=bar_chart(stats["provinces"], label="各省份文档数"),
        size=_human_size(stats["size_bytes"]), last_update=_fmt_time(stats["last_update"]),
        fmt_time=_fmt_time, upload_dir=str(_upload_dir()), targets=index_targets(),
        allowed=" ".join(sorted(ALLOWED_EXTENSIONS)), limits=Limits.from_config(current_app.config),
        max_request=current_app.config.get("MAX_CONTENT_LENGTH"), phase_labels=PHASE_LABELS,
    ), status


@bp.get("/")
def dashboard():
    return _dashboard()


@bp.post("/upload")
def upload():
    files = request.files.getlist("files")
    if not any(f.filename for f in files):
        flash("请选择要上传的文件。", "error")
        return _dashboard(400)
    result = save_uploads(files, _upload_dir(), Limits.from_config(current_app.config))
    if result.saved:
        shown = "、".join(result.saved[:10]) + (f" 等 {len(result.saved)} 个文件" if len(result.saved) > 10 else "")
        flash(f"已保存 {len(result.saved)} 个文件：{shown}。点击“开始增量索引”使其可被检索。", "ok")
    for name, reason in result.ignored[:20]:
        flash(f"已忽略 {name}：{reason}", "warn")
    for name, reason in result.rejected:
        flash(f"已拒绝：{reason}", "error")
    current_app.logger.info("admin upload: %d saved, %d ignored, %d rejected", len(result.saved),
                            len(result.ignored), len(result.rejected))
    if result.rejected:
        return _dashboard(400)
    return redirect(url_for("admin.dashboard"), 303)


@bp.post("/index")
def start_index():
    bg: BackgroundIndexer = current_app.extensions["admin_indexer"]
    if store.is_locked(_index_dir()) or bg.running():
        flash("已有索引任务在运行，请等它完成。", "error")
        return redirect(url_for("admin.dashboard"), 303) if not _wants_json() else (
            jsonify({"started": False, "error": "an indexing run is already running"}), 409)
    _upload_dir().mkdir(parents=True, exist_ok=True)
    workers = current_app.config.get("INDEX_WORKERS")
    started = bg.start(index_targets(), _index_dir(), int(workers) if workers else None)
    if _wants_json():
        return jsonify({"started": started}), 202 if started else 409
    flash("已开始增量索引。" if started else "已有索引任务在运行。", "ok" if started else "error")
    return redirect(url_for("admin.dashboard"), 303)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/api/progress")
def api_progress():
    return jsonify(progress_state())


@bp.get("/api/stats")
def api_stats():
    return jsonify(index_stats())


@bp.get("/api/runs")
def api_runs():
    return jsonify({"runs": list(reversed(store.load_runs(_index_dir())))})


@bp.app_template_global("admin_messages")
def _messages():
    return get_flashed_messages(with_categories=True)
