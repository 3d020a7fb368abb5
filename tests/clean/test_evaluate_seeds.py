"""The seed evaluation command."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.evaluate import evaluate, match_articles
from indexer.models import Article

ROOT = Path(__file__).resolve().parents[2]
LABELS = ROOT.parent / "shared" / "labels" / "seeds.json"


@pytest.mark.skipif(not LABELS.exists(), reason="../shared not present")
def test_cli_passes_on_seeds() -> None:
    proc = subprocess.run([sys.executable, "-m", "indexer.evaluate", str(LABELS)], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "TOTAL must_keep 14/14" in proc.stdout and "article counts 5/5" in proc.stdout
    assert "000-d:" in proc.stdout and "RESULT PASS" in proc.stdout


@pytest.mark.skipif(not LABELS.exists(), reason="../shared not present")
def test_failing_label_gives_nonzero(tmp_path: Path) -> None:
    data = json.loads(LABELS.read_text(encoding="utf-8"))
    data["articles"][0]["must_keep"].append("这句话不在任何页面上")
    (tmp_path / "labels").mkdir()
    (tmp_path / "seeds").symlink_to(LABELS.parent.parent / "seeds")
    bad = tmp_path / "labels" / "seeds.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    lines: list[str] = []
    assert evaluate(bad, out=lines.append) is False
    assert lines[-1] == "RESULT FAIL"
    proc = subprocess.run([sys.executable, "-m", "indexer.evaluate", str(bad)], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1


def test_match_by_title_then_order() -> None:
    got = [Article("乙县总结", "b"), Article("甲县总结", "a"), Article(None, "c")]
    labels = [{"title": "甲县总结"}, {"title": "乙县总结"}, {"title": None}]
    m = match_articles(labels, got)
    assert [a.text if a else None for a in m] == ["a", "b", "c"]
    assert match_articles([{"title": "x"}, {"title": "y"}], [Article("x", "1")])[1] is None
