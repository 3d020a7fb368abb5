"""Saving pages uploaded through the web admin: type checks, size limits, safe names, zips.

Rules (enforced here, tested in ``tests/web/test_admin.py``):

* only ``.html .htm .txt .jsonl .csv`` pages, or a ``.zip`` of them, are accepted;
  the content must look like what the name says (text, or a real zip);
* a name is kept readable (Chinese included) but reduced to CJK characters,
  letters, digits and ``._-``; a name with a path separator, ``.``/``..`` or a NUL
  is refused; nothing can land outside the upload folder (every final path is
  checked to resolve inside it);
* a zip is checked as a whole before anything is written: a member that would
  escape the folder (zip-slip: ``../x``, ``/etc/x``, ``C:\\x``), a symbolic link,
  an encrypted member, too many members or too many uncompressed bytes (zip
  bombs; sizes are counted while extracting, not trusted from the header)
  refuse the whole zip; members of other types (``__MACOSX/``, images…) are
  ignored and reported;
* files are written under a hidden temporary name and renamed into place, so
  an indexing run never reads half a file (it skips hidden names); a zip is
  placed all or nothing (a name that would be both a file and a folder refuses
  it before anything is written, and a failure while moving puts back what was there);
* names are cut to :data:`MAX_NAME_BYTES` UTF-8 bytes (file systems count bytes).
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from indexer.ingest import looks_binary

PAGE_EXTENSIONS = {".html", ".htm", ".txt", ".jsonl", ".csv"}
ZIP_EXTENSION = ".zip"
ALLOWED_EXTENSIONS = PAGE_EXTENSIONS | {ZIP_EXTENSION}
MAX_NAME_CHARS = 100
#: File systems limit a name to 255 *bytes*; 84 Chinese characters are 252.  Names are cut
#: to this many UTF-8 bytes (keeping the extension), leaving room for the rename's temp names.
MAX_NAME_BYTES = 180
MAX_DEPTH = 8
_CHUNK = 1 << 16

_UNSAFE_CHARS = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007._-]+")
_BINARY_MAGIC = (b"PK\x03\x04", b"%PDF", b"\x7fELF", b"MZ", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b",
                 b"Rar!", b"7z\xbc\xaf", b"\xd0\xcf\x11\xe0")


class UploadRejected(ValueError):
    """An upload (or one file of it) that was refused, with a reason for the admin."""


@dataclass
class Limits:
    max_file_bytes: int = 20 * 1024 * 1024  # one page file, or one zip member, uncompressed
    max_zip_bytes: int = 64 * 1024 * 1024  # one uploaded zip, compressed
    max_zip_members: int = 2000
    max_zip_total_bytes: int = 256 * 1024 * 1024  # all members of one zip, uncompressed

    @classmethod
    def from_config(cls, cfg) -> Limits:
        return cls(max_file_bytes=int(cfg.get("ADMIN_MAX_FILE_BYTES", cls.max_file_bytes)),
                   max_zip_bytes=int(cfg.get("ADMIN_MAX_ZIP_BYTES", cls.max_zip_bytes)),
                   max_zip_members=int(cfg.get("ADMIN_MAX_ZIP_MEMBERS", cls.max_zip_members)),
                   max_zip_total_bytes=int(cfg.get("ADMIN_MAX_ZIP_TOTAL_BYTES", cls.max_zip_total_bytes)))


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)  # paths relative to the upload folder
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (name, reason): zip members not taken
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (name, reason): files refused


def safe_component(name: str) -> str | None:
    """A safe, readable file or folder name (Chinese kept), or None when the name must be refused.

    Unlike ``werkzeug.utils.secure_filename`` this keeps CJK characters, so
    ``2019年海伦市卫生工作总结.html`` stays readable.
    """
    if not isinstance(name, str):
        return None
    name = unicodedata.normalize("NFKC", name).strip()
    if not name or "\x00" in name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    if re.match(r"^[A-Za-z]:", name):  # a Windows drive
        return None
    original = name
    name = re.sub(r"_+", "_", _UNSAFE_CHARS.sub("_", name))
    stem = name.rpartition(".")[0] if "." in name.lstrip(".") else name
    name = name.lstrip("._-").rstrip(". ")  # no hidden names, no trailing dots
    if not name or not stem.strip("._-"):
        # Nothing readable left (emoji, symbols): a stable stand-in name, keeping the extension.
        ext = re.sub(r"[^0-9A-Za-z]", "", original.rpartition(".")[2])[:10] if "." in original else ""
        name = "file-" + hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name += f".{ext.lower()}" if ext else ""
    if len(name) > MAX_NAME_CHARS or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        if not (dot and len(ext) <= 10):
            stem, ext = name, ""
        tail = "." + ext if ext else ""
        stem = stem[: MAX_NAME_CHARS - len(tail)]
        while len((stem + tail).encode("utf-8")) > MAX_NAME_BYTES:
            stem = stem[:-1]
        # The cut must not leave what the cleaning above removed: a trailing dot or space
        # (``报告..html``, a name Windows can't hold) or a stem with nothing readable in it.
        stem = stem.rstrip(". ")
        if not stem.strip("._-"):
            stem = "file-" + hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        name = stem + tail
    return name


def safe_relative_path(raw: str) -> PurePosixPath | None:
    """A zip member name as a safe relative path, or None (absolute, drive, ``..``, backslash, too deep)."""
    if not raw or "\x00" in raw or "\\" in raw or raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        return None
    parts = [p for p in raw.split("/") if p != ""]
    if not parts or len(parts) > MAX_DEPTH or any(p in (".", "..") for p in parts):
        return None
    out = []
    for p in parts:
        s = safe_component(p)
        if s is None:
            return None
        out.append(s)
    return PurePosixPath(*out)


def _inside(root: Path, target: Path) -> bool:
    root = root.resolve()
    try:
        target.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _check_text(head: bytes, name: str) -> None:
    if any(head.startswith(m) for m in _BINARY_MAGIC) or looks_binary(head):
        raise UploadRejected(f"{name}：内容不是文本网页（可能是二进制文件）")


def _copy_limited(src: BinaryIO, dst: BinaryIO, limit: int, name: str) -> int:
    n = 0
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            return n
        n += len(chunk)
        if n > limit:
            raise UploadRejected(f"{name}：文件过大（上限 {limit // (1024 * 1024)} MB）")
        dst.write(chunk)


def _tmp_path(folder: Path) -> Path:
    return folder / f".upload-{secrets.token_hex(8)}.part"


def _place(tmp: Path, root: Path, rel: PurePosixPath) -> str:
    """Rename a finished temporary file to ``root/rel`` after checking it stays inside ``root``."""
    final = root.joinpath(*rel.parts)
    if not _inside(root, final):
        raise UploadRejected(f"{rel}：路径不安全")
    final.parent.mkdir(parents=True, exist_ok=True)
    if not _inside(root, final) or final.is_dir() or final.is_symlink():
        raise UploadRejected(f"{rel}：路径不安全")
    os.replace(tmp, final)
    return str(rel)


def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """Member name, with GBK names from Chinese Windows zips (no UTF-8 flag) decoded properly."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return name


def save_zip(path: Path, root: Path, limits: Limits, display: str, result: UploadResult) -> None:
    """Extract a verified zip into ``root``; all-or-nothing for the files it would write."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadRejected(f"{display}：不是有效的 zip 文件（{exc}）") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_members:
            raise UploadRejected(f"{display}：zip 成员过多（{len(infos)}，上限 {limits.max_zip_members}）")
        plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        declared = 0
        for info in infos:
            name = _zip_member_name(info)
            rel = safe_relative_path(name)
            if rel is None:
                raise UploadRejected(f"{display}：成员路径不安全（{name!r}），整个 zip 被拒绝")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadRejected(f"{display}：含符号链接（{name}），整个 zip 被拒绝")
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise UploadRejected(f"{display}：含加密成员（{name}）")
            if name.startswith("__MACOSX/") or any(p.startswith(".") for p in name.split("/")):
                result.ignored.append((name, "系统或隐藏文件"))
                continue
            if rel.suffix.lower() not in PAGE_EXTENSIONS:
                result.ignored.append((name, f"不支持的文件类型 {rel.suffix or '（无扩展名）'}"))
                continue
            if info.file_size > limits.max_file_bytes:
                raise UploadRejected(f"{display}：成员 {name} 过大")
            declared += info.file_size
            if declared > limits.max_zip_total_bytes:
                raise UploadRejected(f"{display}：解压后总大小超过上限（可能是 zip 炸弹）")
            plan.append((info, rel))
        if len({str(rel).lower() for _, rel in plan}) != len(plan):
            raise UploadRejected(f"{display}：含重名成员")
        _check_layout(root, [rel for _, rel in plan], display)
        staging = root / f".staging-{secrets.token_hex(8)}"
        staging.mkdir()
        try:
            total = 0
            staged: list[tuple[Path, PurePosixPath]] = []
            for n, (info, rel) in enumerate(plan):
                tmp = staging / f"{n}.part"
                with zf.open(info) as src, tmp.open("wb") as dst:
                    try:
                        got = _copy_limited(src, dst, limits.max_file_bytes, f"{display}:{rel}")
                    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC errors, truncated data
                        raise UploadRejected(f"{display}：成员 {rel} 已损坏（{exc}）") from None
                total += got
                if total > limits.max_zip_total_bytes:
                    raise UploadRejected(f"{display}：解压后总大小超过上限（可能是 zip 炸弹）")
                with tmp.open("rb") as fh:
                    _check_text(fh.read(8192), f"{display}:{rel}")
                staged.append((tmp, rel))
            _place_all(staged, root, display, result)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _check_layout(root: Path, rels: list[PurePosixPath], display: str) -> None:
    """Refuse a zip whose files can't all be placed: a name used as both file and folder
    (``a.html`` and ``a.html/b.html``), in the zip or against what the upload folder holds."""
    files = {str(r).lower() for r in rels}
    for rel in rels:
        for parent in list(rel.parents)[:-1]:
            if str(parent).lower() in files:
                raise UploadRejected(f"{display}：{parent} 既是文件又是文件夹，整个 zip 被拒绝")
            on_disk = root.joinpath(*parent.parts)
            if on_disk.is_symlink() or (on_disk.exists() and not on_disk.is_dir()):
                raise UploadRejected(f"{display}：上传文件夹中已有文件 {parent}，与 zip 中的文件夹同名，整个 zip 被拒绝")
        target = root.joinpath(*rel.parts)
        if target.is_symlink() or target.is_dir():
            raise UploadRejected(f"{display}：上传文件夹中已有文件夹 {rel}，与 zip 中的文件同名，整个 zip 被拒绝")


def _place_all(staged: list[tuple[Path, PurePosixPath]], root: Path, display: str, result: UploadResult) -> None:
    """Move every verified member into place, or none: a failure part-way puts back what was there."""
    done: list[tuple[Path, Path | None]] = []  # (final path, backup of the file it replaced)
    made: list[Path] = []
    try:
        for tmp, rel in staged:
            final = root.joinpath(*rel.parts)
            for parent in reversed(list(final.relative_to(root).parents)[:-1]):
                d = root / parent
                if not d.exists():
                    d.mkdir()
                    made.append(d)
            backup = None
            if final.exists():
                backup = final.with_name(f".{final.name}.{secrets.token_hex(4)}.bak")
                os.replace(final, backup)
            done.append((final, backup))
            _place(tmp, root, rel)
    except (OSError, UploadRejected) as exc:
        for final, backup in reversed(done):
            final.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, final)
        for d in reversed(made):
            try:
                d.rmdir()
            except OSError:
                pass
        raise UploadRejected(f"{display}：无法写入上传文件夹（{exc}），没有保存任何文件") from None
    for final, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)
    result.saved.extend(str(rel) for _, rel in staged)


def save_uploads(files: Iterable, root: Path, limits: Limits) -> UploadResult:
    """Save werkzeug ``FileStorage`` objects into ``root``; each file is accepted or refused on its own."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    result = UploadResult()
    for fs in files:
        raw = getattr(fs, "filename", "") or ""
        if not raw:
            continue
        name = safe_component(raw)
        try:
            if name is None:
                raise UploadRejected(f"{raw!r}：文件名不安全（含路径分隔符或 ..）")
            ext = Path(name).suffix.lower()
            if ext not in ALLOWED_EXTENSIONS:
                raise UploadRejected(f"{raw}：不支持的文件类型 {ext or '（无扩展名）'}；"
                                     f"只接受 {'、'.join(sorted(ALLOWED_EXTENSIONS))}")
            tmp = _tmp_path(root)
            try:
                limit = limits.max_zip_bytes if ext == ZIP_EXTENSION else limits.max_file_bytes
                with tmp.open("wb") as dst:
                    size = _copy_limited(fs.stream, dst, limit, raw)
                if size == 0:
                    raise UploadRejected(f"{raw}：空文件")
                if ext == ZIP_EXTENSION:
                    if not zipfile.is_zipfile(tmp):
                        raise UploadRejected(f"{raw}：不是有效的 zip 文件")
                    save_zip(tmp, root, limits, raw, result)
                else:
                    with tmp.open("rb") as fh:
                        _check_text(fh.read(8192), raw)
                    result.saved.append(_place(tmp, root, PurePosixPath(name)))
            finally:
                if tmp.exists():
                    tmp.unlink()
        except UploadRejected as exc:
            result.rejected.append((raw, str(exc)))
        except OSError as exc:  # full disk, read-only or missing folder: this file refused, never a 500
            result.rejected.append((raw, f"{raw}：无法写入上传文件夹（{exc.strerror or exc}），没有保存"))
    return result
