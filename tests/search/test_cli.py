"""The command line: index (with skipped files reported), search, export."""
from __future__ import annotations

import json
import shutil

from conftest import ROOT

from searchapp.cli import main


def test_index_search_export(tmp_path, capsys):
    src = tmp_path / "pages"
    src.mkdir()
    for p in (ROOT / "corpus").glob("*.txt"):
        shutil.copy(p, src / p.name)
    (src / "empty.html").write_bytes(b"")
    (src / "broken.htm").write_bytes(b"\x00\xff\x00" * 500)
    ix = tmp_path / "ix"
    assert main(["index", str(src), "--index-dir", str(ix), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "empty.html" in out and "broken.htm" in out
    assert main(["search", "基本药物", "--index-dir", str(ix)]) == 0
    out = capsys.readouterr().out
    first = next(line for line in out.splitlines() if line.strip().startswith("1."))
    assert "海伦市" in first
    target = tmp_path / "out.jsonl"
    assert main(["export", "--index-dir", str(ix), "-o", str(target)]) == 0
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(lines) >= 7
    for line in lines:
        assert {"id", "title", "text", "region", "year", "topics", "doc_type", "source", "path",
                "duplicates", "truncated", "damaged"} <= set(line)


def test_index_dir_from_environment(tmp_path, monkeypatch, capsys):
    ix = tmp_path / "env_ix"
    monkeypatch.setenv("REPORTSEARCH_INDEX_DIR", str(ix))
    page = tmp_path / "one.txt"
    page.write_text("县卫生局2019年工作总结\n\n今年全县免疫规划疫苗接种率达到98%，家庭医生签约服务稳步推进。\n",
                    encoding="utf-8")
    from searchapp.cli import parse_args

    args = parse_args(["index", str(page), "-q"])
    assert args.index_dir == ix
    assert args.func(args) == 0
    assert (ix / "groups.json").exists()
