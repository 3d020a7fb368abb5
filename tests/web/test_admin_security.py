"""Admin and web security under several server processes: rate limit, sessions, cookies, uploads, headers.

Each test reproduces one failure of issue 22 (items 12-16, 18) and the data-folder layout of
issue 21 (item 7).  Two ``create_app`` calls on one index stand for two gunicorn workers:
they share nothing but the files on disk, as worker processes do.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from adminkit import PASSWORD, login, upload, zip_bytes
from adminkit import token as csrf
from reportgen import make_pages

from indexer.engine import store
from indexer.pipeline import index_paths
from searchapp import create_app
from searchapp.uploads import MAX_NAME_BYTES, safe_component

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def ix(tmp_path, monkeypatch):
    for var in ("REPORTSEARCH_ADMIN_PASSWORD", "REPORTSEARCH_SECRET_KEY", "REPORTSEARCH_DATA_DIR",
                "REPORTSEARCH_COOKIE_SECURE"):
        monkeypatch.delenv(var, raising=False)
    src = tmp_path / "pages"
    make_pages(src, 3)
    index_paths([src], tmp_path / "ix", workers=1)
    return tmp_path / "ix"


def worker(ix: Path, **cfg):
    """One server process's app, configured as gunicorn's would be (password from the environment)."""
    return create_app({"INDEX_DIR": str(ix), "TESTING": True, **cfg})


@pytest.fixture()
def two_workers(ix, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_ADMIN_PASSWORD", PASSWORD)
    return worker(ix), worker(ix)


def test_state_lives_in_the_data_folder_beside_the_index(two_workers, ix):
    a, _ = two_workers
    data = ix.parent / "ix-data"
    assert Path(a.config["DATA_DIR"]) == data == store.data_dir(ix)
    assert Path(a.config["UPLOAD_DIR"]) == data / "uploads"
    assert (data / "secret_key").is_file() and (data / "admin.sqlite3").is_file()
    assert (data / "runs.json").is_file()  # the indexing run of the fixture wrote its summary there
    assert not (ix / "runs.json").exists()


def test_data_dir_from_the_environment(ix, monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTSEARCH_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("REPORTSEARCH_ADMIN_PASSWORD", PASSWORD)
    app = worker(ix)
    assert app.config["UPLOAD_DIR"] == str(tmp_path / "state" / "uploads")
    assert (tmp_path / "state" / "secret_key").is_file()


def test_sessions_hold_across_workers_and_restarts(two_workers, ix):
    a, b = two_workers
    ca = a.test_client()
    login(ca)
    cookie = ca.get_cookie("session").value
    for app in (b, worker(ix)):  # the other worker, and a restarted server
        c = app.test_client()
        c.set_cookie("session", cookie)
        assert c.get("/admin/").status_code == 200
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"]


def test_logout_ends_the_session_everywhere(two_workers):
    a, b = two_workers
    ca = a.test_client()
    login(ca)
    saved = ca.get_cookie("session").value
    tok = csrf(ca, "/admin/")
    assert ca.post("/admin/logout", data={"csrf_token": tok}).status_code == 303
    for app in (a, b):
        c = app.test_client()
        c.set_cookie("session", saved)
        assert c.get("/admin/").status_code == 401


def test_rate_limit_cannot_be_raced(two_workers):
    """40 parallel wrong passwords spread over two workers: at most 5 reach the password check."""
    apps = two_workers
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        c = apps[i % 2].test_client()
        r = c.post("/admin/login", data={"password": f"guess-{i}", "csrf_token": csrf(c)})
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(statuses) == 40
    assert statuses.count(401) <= 5 and statuses.count(429) >= 35, statuses


def test_cookie_samesite_and_secure(ix, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_ADMIN_PASSWORD", PASSWORD)
    c = worker(ix).test_client()
    c.get("/admin/login")
    r = c.post("/admin/login", data={"password": PASSWORD, "csrf_token": csrf(c)})
    set_cookie = r.headers["Set-Cookie"]
    assert "SameSite=Lax" in set_cookie and "HttpOnly" in set_cookie and "Secure" not in set_cookie
    # over HTTPS the cookie is Secure without any setting
    hc = worker(ix).test_client()
    r = hc.get("/admin/login", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]
    monkeypatch.setenv("REPORTSEARCH_COOKIE_SECURE", "1")  # behind a TLS-terminating proxy
    r = worker(ix).test_client().get("/admin/login")
    assert "Secure" in r.headers["Set-Cookie"]


def _upload(client, *files):
    return upload(client, csrf(client, "/admin/"), *files)


def test_long_chinese_upload_name_is_cut_to_bytes(two_workers):
    a, _ = two_workers
    c = a.test_client()
    login(c)
    name = "卫生" * 45 + "工作总结.txt"  # 94 characters, 284 bytes
    r = _upload(c, (name, "某县卫生健康局2020年工作总结\n\n全年完成各项任务。\n".encode()))
    assert r.status_code == 303
    saved = [p.name for p in Path(a.config["UPLOAD_DIR"]).iterdir()]
    assert len(saved) == 1 and saved[0].endswith(".txt") and len(saved[0].encode()) <= MAX_NAME_BYTES
    assert len(safe_component("报" * 300).encode()) <= MAX_NAME_BYTES


def test_zip_with_a_file_and_a_folder_of_one_name_writes_nothing(two_workers):
    a, _ = two_workers
    c = a.test_client()
    login(c)
    page = "<html><body><p>卫生工作总结</p></body></html>".encode()
    r = _upload(c, ("x.zip", zip_bytes({"a.html": page, "a.html/b.html": page, "c.html": page})))
    assert r.status_code == 400 and "既是文件又是文件夹" in r.get_data(as_text=True)
    up = Path(a.config["UPLOAD_DIR"])
    assert not [p for p in up.rglob("*") if not p.name.startswith(".")]
    # against what the folder already holds: a file where the zip needs a folder
    assert _upload(c, ("d.html", page)).status_code == 303
    r = _upload(c, ("y.zip", zip_bytes({"d.html/e.html": page, "f.html": page})))
    assert r.status_code == 400
    assert sorted(p.name for p in up.iterdir() if not p.name.startswith(".")) == ["d.html"]


def test_security_headers_on_public_pages(ix):
    c = worker(ix).test_client()
    for path in ("/", "/?q=卫生", "/sentences?q=卫生", "/api/search?q=卫生", "/nope"):
        h = c.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert h["X-Frame-Options"] == "DENY" and h["X-Content-Type-Options"] == "nosniff"


def test_templates_have_no_inline_script():
    """The CSP forbids inline scripts, so no template may rely on one."""
    for tpl in (ROOT / "templates").glob("*.html"):
        html = tpl.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), tpl.name
        assert not re.search(r"\son[a-z]+\s*=", html), tpl.name


def test_admin_off_wrong_method_is_404(ix):
    c = worker(ix).test_client()
    for method, path in (("put", "/admin/login"), ("delete", "/admin/"), ("get", "/admin/upload"),
                         ("post", "/admin/api/progress")):
        assert getattr(c, method)(path).status_code == 404, (method, path)


def test_nothing_is_written_inside_the_checkout(tmp_path):
    """Indexing, serving with admin on and uploading from another folder leave the checkout untouched."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")

    def status() -> str:
        return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    before = status()
    code = f"""
import io, re
from indexer.pipeline import index_paths
from searchapp import create_app
index_paths([{str(ROOT / 'corpus')!r}], {str(tmp_path / 'ix')!r}, workers=1)
app = create_app({{"INDEX_DIR": {str(tmp_path / 'ix')!r}, "ADMIN_PASSWORD": "pw-123456"}})
c = app.test_client()
tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/admin/login").get_data(as_text=True)).group(1)
assert c.post("/admin/login", data={{"password": "pw-123456", "csrf_token": tok}}).status_code == 303
tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/admin/").get_data(as_text=True)).group(1)
r = c.post("/admin/upload", data={{"csrf_token": tok, "files": [(io.BytesIO("某县2020年卫生工作总结\\n\\n全年完成。\\n".encode()), "a.txt")]}},
           content_type="multipart/form-data")
assert r.status_code == 303, r.status_code
"""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("REPORTSEARCH_")}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=300)
    assert (tmp_path / "ix-data" / "uploads" / "a.txt").is_file()
    assert status() == before


# -- across real processes (gunicorn workers are processes, not threads) -------------------------

def _reserve_in_process(args: tuple[str, int]) -> list[int]:
    path, n = args
    from searchapp.adminstate import AdminState

    state = AdminState(Path(path), attempts=5, window=300)
    return [state.reserve_attempt("203.0.113.9") for _ in range(n)]


def _secret_in_process(folder: str) -> str:
    from searchapp.admin import load_or_create_secret

    return load_or_create_secret(Path(folder))


def test_rate_limit_holds_across_processes(tmp_path):
    """8 processes opening a fresh state file at once, 64 attempts: exactly 5 are granted."""
    import multiprocessing

    path = tmp_path / "data" / "admin.sqlite3"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        waits = [w for ws in pool.map(_reserve_in_process, [(str(path), 8)] * 8) for w in ws]
    assert waits.count(0) == 5 and all(w > 0 for w in waits if w)


def test_admin_state_file_is_private_and_not_wal(tmp_path):
    """The file holds live session ids (owner-only), and uses the rollback journal that works on any file system."""
    import sqlite3
    import stat

    from searchapp.adminstate import AdminState

    path = tmp_path / "admin.sqlite3"
    AdminState(path).new_session("fp")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not Path(str(path) + "-wal").exists()


@pytest.mark.parametrize("existing", [None, "short\n", "\xff\xfe"])
def test_secret_key_created_once_by_processes_starting_together(tmp_path, existing):
    """12 processes at once, with no key, a too-short one or a garbled one: all end with the one key on disk."""
    import multiprocessing

    folder = tmp_path / "data"
    if existing is not None:
        folder.mkdir()
        (folder / "secret_key").write_bytes(existing.encode("latin-1"))
    with multiprocessing.get_context("fork").Pool(12) as pool:
        keys = pool.map(_secret_in_process, [str(folder)] * 24)
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert (folder / "secret_key").read_text(encoding="ascii").strip() == keys[0]
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_cut_names_keep_no_trailing_dot_or_empty_stem():
    """Cutting a long name must not bring back what the cleaning removed (a trailing dot or space)."""
    for raw in ("a" * 99 + ".." + "b" * 20, "报" * 58 + " . .html", "x" * 98 + " ." + "y" * 30):
        name = safe_component(raw)
        assert name and not name.endswith((".", " ")) and not name.startswith(".")
        assert len(name.encode()) <= MAX_NAME_BYTES and ".." not in name


def test_zip_placement_failing_part_way_puts_everything_back(tmp_path, monkeypatch):
    """A write error on the second member: the first member's replaced file comes back, no folder or backup is left."""
    from searchapp import uploads

    root = tmp_path / "uploads"
    root.mkdir()
    (root / "a.html").write_text("旧的内容", encoding="utf-8")
    zpath = tmp_path / "x.zip"
    zpath.write_bytes(zip_bytes({"a.html": "<p>某县2020年卫生工作总结，新的内容。</p>".encode(),
                            "sub/b.html": "<p>某县2021年教育工作总结。</p>".encode()}))
    real_place, calls = uploads._place, []

    def place(tmp, root_, rel):
        calls.append(rel)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_place(tmp, root_, rel)

    monkeypatch.setattr(uploads, "_place", place)
    result = uploads.UploadResult()
    with pytest.raises(uploads.UploadRejected, match="没有保存任何文件"):
        uploads.save_zip(zpath, root, uploads.Limits(), "x.zip", result)
    assert sorted(p.name for p in root.iterdir()) == ["a.html"]
    assert (root / "a.html").read_text(encoding="utf-8") == "旧的内容" and result.saved == []


def test_a_write_error_refuses_the_file_instead_of_a_500(tmp_path, monkeypatch):
    from werkzeug.datastructures import FileStorage

    from searchapp import uploads

    def full(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "_place", full)
    fs = FileStorage(io.BytesIO("某县2020年卫生工作总结\n\n全年完成。\n".encode()), filename="a.txt")
    result = uploads.save_uploads([fs], tmp_path / "up", uploads.Limits())
    assert result.saved == [] and "无法写入" in result.rejected[0][1]
    assert list((tmp_path / "up").iterdir()) == []


def test_state_file_removed_while_serving_is_recreated(tmp_path):
    """Clearing the data folder under a running server logs admins out; it does not break the login."""
    from searchapp.adminstate import AdminState

    path = tmp_path / "admin.sqlite3"
    state = AdminState(path)
    sid = state.new_session("fp")
    path.unlink()
    assert not state.session_live(sid, "fp")
    assert state.reserve_attempt("198.51.100.7") == 0 and state.session_live(state.new_session("fp"), "fp")
