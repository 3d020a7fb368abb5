"""The settings object: every REPORTSEARCH_* variable read in one place, parsed, documented, passed down."""
from __future__ import annotations

import re
from pathlib import Path

from indexer import settings as S
from indexer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s.index_dir == Path("index")  # ./index, relative to where the command runs (README)
    assert not s.index_dir.is_absolute()
    assert (s.rehash, s.segment_mb, s.worker_segment_mb, s.runs_per_segment, s.limitmb) == (False, 160, 160.0, 16, 512)
    assert s.segmenter == "fast" and s.admin_password is None and s.secret_key is None and s.test_pause == {}
    assert s.cache_dir == Path.home() / ".cache" / "reportsearch"


def test_every_variable_is_parsed():
    env = {"REPORTSEARCH_INDEX_DIR": "/srv/ix", "REPORTSEARCH_REHASH": "yes", "REPORTSEARCH_SEGMENT_MB": "64",
           "REPORTSEARCH_WORKER_SEGMENT_MB": "0.5", "REPORTSEARCH_RUNS_PER_SEGMENT": "4",
           "REPORTSEARCH_LIMITMB": "256", "REPORTSEARCH_CACHE_DIR": "off", "REPORTSEARCH_SEGMENTER": "jieba",
           "REPORTSEARCH_ADMIN_PASSWORD": "pw", "REPORTSEARCH_SECRET_KEY": "k",
           "REPORTSEARCH_TEST_PAUSE": "in_commit:2,per_file:0.1,bad"}
    s = Settings.from_env(env)
    assert s == Settings(index_dir=Path("/srv/ix"), rehash=True, segment_mb=64, worker_segment_mb=0.5,
                         runs_per_segment=4, limitmb=256, cache_dir=None, segmenter="jieba", admin_password="pw",
                         secret_key="k", test_pause={"in_commit": 2.0, "per_file": 0.1})
    assert {attr for attr, _ in S.VARIABLES.values()} == set(Settings.__dataclass_fields__)


def test_bad_numbers_fall_back_and_bounds_hold():
    s = Settings.from_env({"REPORTSEARCH_SEGMENT_MB": "lots", "REPORTSEARCH_RUNS_PER_SEGMENT": "0",
                           "REPORTSEARCH_LIMITMB": "1", "REPORTSEARCH_REHASH": "0"})
    assert (s.segment_mb, s.runs_per_segment, s.limitmb, s.rehash) == (160, 1, 16, False)


def test_command_line_overrides_the_environment():
    s = Settings.from_env({"REPORTSEARCH_INDEX_DIR": "/a"}, index_dir=Path("/b"), rehash=None)
    assert s.index_dir == Path("/b") and s.rehash is False


def test_current_follows_the_environment_unless_installed(monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "7")
    assert S.current().runs_per_segment == 7
    monkeypatch.setenv("REPORTSEARCH_RUNS_PER_SEGMENT", "9")
    assert S.current().runs_per_segment == 9
    S.install(Settings(runs_per_segment=3))
    try:
        assert S.current().runs_per_segment == 3 and S.is_installed()
    finally:
        S.install(None)
    assert S.current().runs_per_segment == 9


def test_current_sees_every_kind_of_environment_change(monkeypatch):
    """current() compares the variables through os.environ's own dict (it runs per tokenization):
    setting, deleting and plain ``os.environ[...] =`` must all be seen, HOME included."""
    monkeypatch.delenv("REPORTSEARCH_SEGMENTER", raising=False)
    monkeypatch.delenv("REPORTSEARCH_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert S.current().segmenter == "fast"
    monkeypatch.setenv("REPORTSEARCH_SEGMENTER", "jieba")
    assert S.current().segmenter == "jieba"
    monkeypatch.delenv("REPORTSEARCH_SEGMENTER")
    assert S.current().segmenter == "fast"
    monkeypatch.setenv("HOME", "/nonexistent-home-a")
    assert S.current().cache_dir == Path("/nonexistent-home-a/.cache/reportsearch")
    import os
    os.environ["HOME"] = "/nonexistent-home-b"  # monkeypatch restores HOME afterwards
    assert S.current().cache_dir == Path("/nonexistent-home-b/.cache/reportsearch")


def test_no_other_module_reads_the_environment_for_a_setting():
    """One place: no ``REPORTSEARCH_`` variable is read anywhere but indexer/settings.py."""
    bad = []
    for pkg in ("indexer", "searchapp"):
        for path in (ROOT / pkg).rglob("*.py"):
            if path.name == "settings.py" and path.parent.name == "indexer":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"os\.environ|getenv", line) and "REPORTSEARCH" in line:
                    bad.append(f"{path.relative_to(ROOT)}:{n}")
                if re.search(r"""["']REPORTSEARCH_[A-Z_]+["']""", line):
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert bad == []


def test_every_variable_is_documented_in_the_admin_guide():
    doc = (ROOT / "docs" / "admin.md").read_text(encoding="utf-8")
    missing = [S.PREFIX + name for name in S.VARIABLES if f"`{S.PREFIX}{name}`" not in doc]
    assert missing == []
