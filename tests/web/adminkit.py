"""The admin pages as a person uses them, for the web tests: the CSRF token of a form, logging in,
uploading files, a zip archive to upload.  One copy, so a change to the login form is mended once."""
from __future__ import annotations

import io
import re
import stat
import zipfile

PASSWORD = "正确的密码-horse-42"


def token(client, path: str = "/admin/login") -> str:
    """The CSRF token of the form on ``path``."""
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, password: str = PASSWORD) -> str:
    """Log in through the form; returns the dashboard's CSRF token (a new one after login)."""
    r = client.post("/admin/login", data={"password": password, "csrf_token": token(client)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/admin/"), r.get_data(as_text=True)[:300]
    return token(client, "/admin/")


def upload(client, tok: str, *files: tuple[str, bytes]):
    """Post ``(name, bytes)`` files to the admin's upload form."""
    data = {"csrf_token": tok, "files": [(io.BytesIO(b), n) for n, b in files]}
    return client.post("/admin/upload", data=data, content_type="multipart/form-data")


def zip_bytes(members: dict[str, bytes], symlink: str | None = None) -> bytes:
    """A zip archive of ``members`` (name → bytes), with a symbolic link named ``symlink`` if given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()
