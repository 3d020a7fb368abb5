"""The cleaning evaluation: gold F1 per method, pages lost, mid-sentence breaks, CI floors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indexer.cleaneval import ALL_METHODS, bigram_f1, count_breaks, count_lost, load_pairs, score_gold

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "tests" / "data" / "gold"
SHARED = ROOT.parent / "shared"
PARAS = [f"第{i}项：县卫生局认真落实基本公共卫生服务项目，全年为辖区居民建立健康档案{i}万份，慢病随访率达到百分之九十。" for i in range(1, 9)]


def _write_pair(folder: Path) -> None:
    html = "<html><head><title>县卫生局工作总结</title></head><body><div class='nav'><a href='/'>首页</a> <a href='/a'>新闻</a></div>"
    html += "<div class='article'><h1>县卫生局工作总结</h1>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</div>"
    html += "<div class='footer'>版权所有 某某县卫生局 备案号</div></body></html>"
    (folder / "a.html").write_text(html, encoding="utf-8")
    (folder / "a.txt").write_text("县卫生局工作总结\n\n" + "\n".join(PARAS) + "\n", encoding="utf-8")


def test_bigram_f1() -> None:
    assert bigram_f1("卫生工作总结", "卫生工作总结") == 1.0
    assert bigram_f1("卫生工作总结", "") == 0.0
    assert 0.0 < bigram_f1("卫生工作总结。", "卫生工作总结 首页 新闻 版权所有") < 1.0
    assert bigram_f1("卫生 工作，总结", "卫生工作总结") == 1.0  # white space and punctuation ignored


def test_score_gold_on_a_folder_of_pairs(tmp_path: Path) -> None:
    _write_pair(tmp_path)
    pairs = load_pairs(tmp_path)
    assert len(pairs) == 1
    lines: list[str] = []
    res = score_gold(pairs, out=lines.append)
    scores = res.per_page["a.html"] if "a.html" in res.per_page else next(iter(res.per_page.values()))
    assert set(scores) == set(ALL_METHODS)
    assert scores["ours"] > 0.95 and scores["combined"] > 0.95
    assert any(line.strip().startswith("MEAN") for line in lines)


def test_lost_pages_and_breaks_are_counted(tmp_path: Path) -> None:
    _write_pair(tmp_path)  # a.html, and its gold a.txt (also a text page)
    (tmp_path / "empty.html").write_text("<html><body><div><a href='/'>首页</a></div></body></html>", encoding="utf-8")
    n, lost = count_lost([tmp_path], out=lambda s: None)
    assert n == 3 and len(lost) == 1 and "empty.html" in lost[0]
    wrapped = "过去五年，我们坚持稳中求进工作总基调，全面深化改革，扩大对外开放，经济社会发展取得新成就，交出一份人\n民满意、世界瞩目、可以载入史册的答卷。\n"
    (tmp_path / "b.txt").write_text("政府工作报告\n\n" + wrapped + "\n".join(PARAS), encoding="utf-8")
    docs, before, after = count_breaks([tmp_path / "b.txt"], out=lambda s: None)
    assert docs == 1 and before == 1 and after == 0


def test_gold_index_lists_pages_of_many_sites_with_a_held_out_part() -> None:
    data = json.loads((GOLD / "index.json").read_text(encoding="utf-8"))
    pages = data["pages"]
    sites = {p["page"].split("/")[2] for p in pages}
    assert len(pages) >= 20 and len(sites) >= 20
    assert {p["split"] for p in pages} == {"dev", "heldout"}
    for p in pages:
        gold = (GOLD / p["gold"]).read_text(encoding="utf-8")
        assert gold.split("\n")[1] == "" and len(gold) > 100  # title, blank line, body


@pytest.mark.skipif(not (SHARED / "pages-dev").exists(), reason="../shared not present")
def test_cli_floor_fails_the_run(tmp_path: Path) -> None:
    _write_pair(tmp_path)
    cmd = [sys.executable, "-m", "indexer.evaluate", "--gold", str(tmp_path)]
    ok = subprocess.run(cmd + ["--min-f1", "0.5"], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run(cmd + ["--min-f1", "1.01"], cwd=ROOT, check=False, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "FAIL gold" in bad.stdout
