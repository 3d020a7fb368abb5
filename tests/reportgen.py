"""Generated report pages for the indexing tests: paragraphs of ../shared/corpora, a few hundred short files.

Each page is a small work report: a title naming a province and a year, a
unique marker word (``标记<tag>``, searchable) and a few paragraphs drawn from
the national reports.  Nothing is committed: pages are written into a
temporary folder by the test that needs them.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NATIONAL = SHARED / "corpora" / "national-gov-work-reports" / "government_work_reports.jsonl"
PROVINCES = ["北京市", "上海市", "浙江省", "江苏省", "广东省", "四川省", "云南省", "吉林省", "湖南省", "山东省"]

_PARAS: list[str] | None = None


def paragraphs() -> list[str]:
    global _PARAS
    if _PARAS is None:
        out: list[str] = []
        with NATIONAL.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                for p in rec.get("content", "").split("\n"):
                    p = p.strip()
                    if 60 <= len(p) <= 220 and "。" in p:
                        out.append(p)
        _PARAS = out
    return _PARAS


def page_text(n: int, tag: str | None = None, seed: int = 0, paras: int = 3) -> str:
    rnd = random.Random(n * 7919 + seed)
    prov = PROVINCES[n % len(PROVINCES)]
    year = 2010 + n % 12
    tag = tag or f"q{n:05d}x"
    body = rnd.sample(paragraphs(), paras)
    return (f"{prov}{year}年政府工作报告（第{n}号）\n\n"
            f"各位代表：现在，我代表{prov}人民政府向大会报告工作。本文编号标记{tag}。\n\n"
            + "\n\n".join(body) + "\n")


def make_pages(folder: Path, count: int, start: int = 0, seed: int = 0) -> list[Path]:
    """Write ``count`` report pages ``r00000.txt``… into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(start, start + count):
        p = folder / f"r{n:05d}.txt"
        p.write_text(page_text(n, seed=seed), encoding="utf-8")
        out.append(p)
    return out


def index_records(root: Path, records: list[dict]) -> Path:
    """Index hand-written records (title, content, year …) as one JSONL file under ``root``;
    returns the index folder (``root/ix``).  For tests that build a few reports to a purpose."""
    from indexer.pipeline import index_paths

    src = root / "src"
    src.mkdir()
    (src / "r.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    index_paths([src], root / "ix")
    return root / "ix"
