"""Web admin: off without a password, login/logout, CSRF, rate limit, uploads (zip-slip…), indexing, stats."""
from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path

import pytest
from adminkit import PASSWORD, login, token, upload, zip_bytes
from reportgen import make_pages
from werkzeug.security import generate_password_hash

from indexer.engine import store
from indexer.pipeline import index_paths
from searchapp import create_app
from searchapp.admin import bar_chart, load_or_create_secret
from searchapp.adminstate import AdminState
from searchapp.uploads import safe_component, safe_relative_path

PAGE = ("浙江省东阳市卫生局2019年工作总结\n\n今年以来，全市卫生系统以创建卫生强市为目标，"
        "推进基本公共卫生服务均等化，独一无二标记词玄鸟瓷砖已全面落实。\n\n家庭医生签约服务稳步推进。\n")


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.delenv("REPORTSEARCH_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("REPORTSEARCH_SECRET_KEY", raising=False)
    src = tmp_path / "pages"
    make_pages(src, 3)
    ix = tmp_path / "ix"
    index_paths([src], ix, workers=1)
    return tmp_path, ix


def make_app(tmp_path: Path, ix: Path, **cfg):
    base = {"INDEX_DIR": str(ix), "TESTING": True, "SECRET_KEY": "s" * 64, "ADMIN_PASSWORD_HASH": None,
            "UPLOAD_DIR": str(tmp_path / "uploads"), "INDEX_WORKERS": 1}
    base.update(cfg)
    return create_app(base)


@pytest.fixture()
def app(env):
    tmp_path, ix = env
    return make_app(tmp_path, ix, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD))


@pytest.fixture()
def client(app):
    return app.test_client()


# -- off / auth ---------------------------------------------------------------------------------

def test_admin_is_off_without_a_password(env):
    tmp_path, ix = env
    c = make_app(tmp_path, ix).test_client()
    for path in ("/admin/", "/admin/login", "/admin/api/progress", "/admin/api/stats"):
        r = c.get(path)
        assert r.status_code == 404, path
    assert "管理功能未启用" in c.get("/admin/").get_data(as_text=True)
    assert "disabled" in c.get("/admin/api/stats").get_json()["error"]
    assert c.post("/admin/upload", data={"files": (io.BytesIO(b"x"), "a.txt")}).status_code == 404
    assert c.post("/admin/index").status_code == 404
    assert not (tmp_path / "uploads").exists()
    assert c.get("/").status_code == 200  # readers are unaffected


def test_environment_password_turns_admin_on(env, monkeypatch):
    tmp_path, ix = env
    monkeypatch.setenv("REPORTSEARCH_ADMIN_PASSWORD", PASSWORD)
    c = make_app(tmp_path, ix).test_client()
    assert c.get("/admin/").status_code == 401
    login(c)
    assert c.get("/admin/").status_code == 200


def test_readers_are_never_admins(client):
    for path in ("/admin/", "/admin/api/progress", "/admin/api/stats", "/admin/api/runs"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert "Location" not in r.headers  # no redirect loop
    assert client.get("/admin/api/stats").get_json() == {"error": "login required"}
    assert "管理员登录" in client.get("/admin/").get_data(as_text=True)
    tok = token(client)  # a CSRF token alone is no session
    for path in ("/admin/upload", "/admin/index", "/admin/logout"):
        assert client.post(path, data={"csrf_token": tok}).status_code in (401, 303), path
    assert client.post("/admin/upload", data={"csrf_token": tok}).status_code == 401
    assert client.post("/admin/index", data={"csrf_token": tok}).status_code == 401
    # a forged session cookie signed with another key is ignored
    other = create_app({"INDEX_DIR": client.application.config["INDEX_DIR"], "SECRET_KEY": "x" * 64,
                        "ADMIN_PASSWORD_HASH": "pbkdf2:sha256:1$a$b"}).test_client()
    with other.session_transaction() as sess:
        sess["admin"] = {"t": 9e18, "fp": "x"}
    cookie = other.get_cookie("session")
    client.set_cookie("session", cookie.value)
    assert client.get("/admin/").status_code == 401


def test_login_wrong_password_csrf_and_logout(client):
    tok = token(client)
    assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 403  # no CSRF token
    assert client.post("/admin/login", data={"password": PASSWORD, "csrf_token": "forged"}).status_code == 403
    r = client.post("/admin/login", data={"password": "wrong", "csrf_token": tok})
    assert r.status_code == 401 and "密码不正确" in r.get_data(as_text=True)
    assert client.get("/admin/").status_code == 401
    tok = login(client)
    page = client.get("/admin/")
    assert page.status_code == 200 and "管理后台" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert client.post("/admin/index").status_code == 403  # CSRF missing
    assert client.post("/admin/index", headers={"X-CSRF-Token": "nope"}).status_code == 403
    assert client.post("/admin/upload", data={"files": (io.BytesIO(PAGE.encode()), "a.txt")}).status_code == 403
    assert client.post("/admin/logout").status_code == 403
    assert client.post("/admin/logout", data={"csrf_token": tok}).status_code == 303
    assert client.get("/admin/").status_code == 401
    assert client.get("/admin/api/progress").status_code == 401


def test_changing_the_password_ends_sessions(app, client):
    login(client)
    assert client.get("/admin/api/stats").status_code == 200
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash("another password")
    assert client.get("/admin/api/stats").status_code == 401


def test_wrong_passwords_are_rate_limited(client):
    tok = token(client)
    for _ in range(5):
        assert client.post("/admin/login", data={"password": "guess", "csrf_token": tok}).status_code == 401
    r = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": tok})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # another address is not blocked
    r = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": tok},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 303


@pytest.mark.parametrize("where", ["memory", "file"])
def test_login_limiter_window(where, tmp_path):
    lim = AdminState(None if where == "memory" else tmp_path / "admin.sqlite3", attempts=2, window=1.0)  # wide enough that a stalled CI machine stays inside it
    assert lim.reserve_attempt("a") == 0
    assert lim.retry_after("a") == 0
    assert lim.reserve_attempt("a") == 0
    assert lim.retry_after("a") > 0 and lim.retry_after("b") == 0
    assert lim.reserve_attempt("a") > 0  # refused, and not recorded
    import time

    time.sleep(1.05)
    assert lim.retry_after("a") == 0 and lim.reserve_attempt("a") == 0
    lim.clear_attempts("a")
    assert lim.reserve_attempt("a") == 0 and lim.reserve_attempt("a") == 0


def test_secret_key_file_is_private_and_stable(tmp_path):
    k1 = load_or_create_secret(tmp_path / "instance")
    k2 = load_or_create_secret(tmp_path / "instance")
    assert k1 == k2 and len(k1) >= 32
    assert stat.S_IMODE((tmp_path / "instance" / "secret_key").stat().st_mode) == 0o600


# -- uploads ------------------------------------------------------------------------------------

def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_upload_pages_keeps_chinese_names(app, client, tmp_path):
    tok = login(client)
    r = upload(client, tok, ("2019年东阳市卫生工作总结.txt", PAGE.encode()), ("b.html", b"<html><body><p>x</p></body></html>"))
    assert r.status_code == 303
    up = Path(app.config["UPLOAD_DIR"])
    assert all_files(up) == ["2019年东阳市卫生工作总结.txt", "b.html"]
    assert "已保存 2 个文件" in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("name,data,why", [
    ("evil.exe", b"MZ\x90\x00", "不支持的文件类型"),
    ("report.pdf", b"%PDF-1.4", "不支持的文件类型"),
    ("fake.html", b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "不是文本"),
    ("../../escape.txt", PAGE.encode(), "文件名不安全"),
    ("sub/dir.txt", PAGE.encode(), "文件名不安全"),
    ("..", PAGE.encode(), "文件名不安全"),
    ("fake.zip", b"not a zip at all", "不是有效的 zip"),
])
def test_bad_uploads_are_rejected(app, client, tmp_path, name, data, why):
    tok = login(client)
    r = upload(client, tok, (name, data))
    assert r.status_code == 400 and why in r.get_data(as_text=True)
    up = Path(app.config["UPLOAD_DIR"])
    assert all_files(up) == [] if up.exists() else True
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path.parent / "escape.txt").exists()


def test_zip_slip_is_rejected_and_nothing_is_written(app, client, tmp_path):
    tok = login(client)
    up = Path(app.config["UPLOAD_DIR"])
    for members, symlink in (({"ok.txt": PAGE.encode(), "../../evil.txt": b"pwned"}, None),
                             ({"ok.txt": PAGE.encode(), "/tmp/evil-abs.txt": b"pwned"}, None),
                             ({"ok.txt": PAGE.encode(), "a/../../evil.txt": b"pwned"}, None),
                             ({"ok.txt": PAGE.encode(), "C:\\evil.txt": b"pwned"}, None),
                             ({"ok.txt": PAGE.encode()}, "link.txt")):
        r = upload(client, tok, ("batch.zip", zip_bytes(members, symlink)))
        assert r.status_code == 400, members
        assert "整个 zip 被拒绝" in r.get_data(as_text=True)
        assert all_files(up) == []  # not even the good member
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    assert not Path("/tmp/evil-abs.txt").exists()


def test_zip_with_folders_gbk_names_and_junk(app, client):
    tok = login(client)
    buf = io.BytesIO()
    gbk_name = "第一批/旧系统.txt".encode("gb18030")  # a Chinese Windows zip: GBK names, no UTF-8 flag
    placeholder = b"G" * (len(gbk_name) - 4) + b".txt"
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("第一批/2019年报告.txt", PAGE.encode())
        zf.writestr(placeholder.decode(), PAGE.encode())
        zf.writestr("__MACOSX/._x.txt", b"junk")
        zf.writestr("图片.png", b"\x89PNG....")
        zf.writestr("rows.jsonl", '{"title": "x", "content": "正文"}\n'.encode())
    data = buf.getvalue().replace(placeholder, gbk_name)
    assert not zipfile.ZipFile(io.BytesIO(data)).getinfo(gbk_name.decode("cp437")).flag_bits & 0x800
    r = upload(client, tok, ("批次.zip", data))
    assert r.status_code == 303
    up = Path(app.config["UPLOAD_DIR"])
    assert all_files(up) == ["rows.jsonl", "第一批/2019年报告.txt", "第一批/旧系统.txt"]
    assert "已忽略 图片.png" in client.get("/admin/").get_data(as_text=True)


def test_size_limits_and_zip_bombs(env):
    tmp_path, ix = env
    app = make_app(tmp_path, ix, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD), ADMIN_MAX_FILE_BYTES=1000,
                   ADMIN_MAX_ZIP_MEMBERS=5, ADMIN_MAX_ZIP_TOTAL_BYTES=3000, MAX_CONTENT_LENGTH=200_000)
    c = app.test_client()
    tok = login(c)
    up = Path(app.config["UPLOAD_DIR"])
    assert upload(c, tok, ("big.txt", b"a" * 1001)).status_code == 400
    assert upload(c, tok, ("many.zip", zip_bytes({f"{i}.txt": b"x" for i in range(6)}))).status_code == 400
    bomb = zip_bytes({f"{i}.txt": b"0" * 900 for i in range(4)})  # 3600 bytes once inflated
    r = upload(c, tok, ("bomb.zip", bomb))
    assert r.status_code == 400 and "zip 炸弹" in r.get_data(as_text=True)
    big_member = zip_bytes({"a.txt": b"0" * 5000})
    assert upload(c, tok, ("one.zip", big_member)).status_code == 400
    assert all_files(up) == []
    assert upload(c, tok, ("huge.txt", b"a" * 300_000)).status_code == 413
    assert upload(c, tok, ("fine.txt", PAGE.encode()[:900])).status_code == 303


def test_safe_names():
    assert safe_component("2019年 海伦市（卫生）总结.html") == "2019年_海伦市_卫生_总结.html"
    assert safe_component(".hidden.txt") == "hidden.txt"
    assert re.fullmatch(r"file-[0-9a-f]{10}\.txt", safe_component("★★.txt"))
    for bad in ("../x.txt", "a/b.txt", "a\\b.txt", "..", ".", "", "x\x00.txt", "C:evil.txt"):
        assert safe_component(bad) is None, bad
    assert str(safe_relative_path("目录/子目录/页.htm")) == "目录/子目录/页.htm"
    for bad in ("../a.txt", "/etc/passwd", "a/../../b.txt", "a\\..\\b.txt", "C:/x.txt", "a/./b.txt"):
        assert safe_relative_path(bad) is None, bad


# -- indexing from the web, progress, statistics ------------------------------------------------

def test_upload_then_index_makes_the_report_findable(app, client):
    tok = login(client)
    assert client.get("/api/search?q=玄鸟瓷砖").get_json()["total"] == 0
    assert upload(client, tok, ("东阳市2019年卫生工作总结.txt", PAGE.encode())).status_code == 303
    r = client.post("/admin/index", data={"csrf_token": tok})
    assert r.status_code == 303
    bg = app.extensions["admin_indexer"]
    bg.join(120)
    assert bg.error is None and bg.summary["added"] == 1 and bg.summary["status"] == "ok"
    assert client.get("/api/search?q=玄鸟瓷砖").get_json()["total"] == 1
    p = client.get("/admin/api/progress").get_json()
    assert p["running"] is False and p["phase"] == "done" and p["summary"]["added"] == 1
    runs = client.get("/admin/api/runs").get_json()["runs"]
    assert runs[0]["added"] == 1 and runs[0]["documents"] == 4
    page = client.get("/admin/").get_data(as_text=True)
    assert "最近的索引记录" in page and "已提交" in page

    # The same file changed and re-uploaded is re-indexed as an update.
    upload(client, tok, ("东阳市2019年卫生工作总结.txt", PAGE.replace("玄鸟瓷砖", "青龙砚台").encode()))
    assert client.post("/admin/index", data={"csrf_token": tok}, headers={"Accept": "application/json"}).status_code == 202
    bg.join(120)
    assert bg.summary["updated"] == 1 and bg.summary["removed"] == 1
    assert client.get("/api/search?q=玄鸟瓷砖").get_json()["total"] == 0
    assert client.get("/api/search?q=青龙砚台").get_json()["total"] == 1


def test_index_button_refuses_while_a_run_holds_the_lock(app, client):
    tok = login(client)
    lock = store.RunLock(app.config["INDEX_DIR"]).acquire()
    try:
        r = client.post("/admin/index", data={"csrf_token": tok}, headers={"Accept": "application/json"})
        assert r.status_code == 409
        assert client.get("/admin/api/progress").get_json()["running"] is True
    finally:
        lock.release()


def test_interrupted_run_is_reported(app, client):
    login(client)
    store.write_progress(app.config["INDEX_DIR"], {"running": True, "phase": "indexing", "done": 3, "total": 9,
                                                   "pid": 999999})
    p = client.get("/admin/api/progress").get_json()
    assert p["running"] is False and p["interrupted"] is True
    assert "被中断" in client.get("/admin/").get_data(as_text=True)


def test_statistics_and_charts(app, client):
    login(client)
    s = client.get("/admin/api/stats").get_json()
    assert s["available"] and s["documents"] == 3 and s["size_bytes"] > 0 and s["last_update"]
    assert sum(c for _, c in s["years"]) == 3 and sum(c for _, c in s["provinces"]) == 3
    page = client.get("/admin/").get_data(as_text=True)
    assert page.count("<svg") == 2 and "各省份文档数" in page and "admin.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    svg = str(bar_chart([("<script>alert(1)</script>", 3), ("浙江省", 1)], label="x"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
