"""A deterministic corpus of N work reports assembled from the paragraphs of ../shared/corpora.

Fixed seed; every report gets a region (province, sometimes a prefecture), a year,
a document type and one or two topics, a title that says so, an opening line
naming the issuing body, and body paragraphs drawn from the shared reports with
a realistic length (log-normal, median about 2,300 characters, as scraped
reports are).  Reports are written as JSON Lines files of ``CHUNK`` records
(the product's record format), plus one file holding a single report, which
the update benchmark edits.  Nothing is held in memory but the paragraph pool.
"""
from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
SEED = 20261123
CHUNK = 200
SINGLE = "single.jsonl"

PROVINCES = {
    "广东省": ["广州市", "深圳市", "佛山市"], "浙江省": ["杭州市", "宁波市", "温州市"],
    "江苏省": ["南京市", "苏州市", "无锡市"], "山东省": ["济南市", "青岛市", "烟台市"],
    "河南省": ["郑州市", "洛阳市", "开封市"], "四川省": ["成都市", "绵阳市", "宜宾市"],
    "湖北省": ["武汉市", "宜昌市", "襄阳市"], "湖南省": ["长沙市", "株洲市", "岳阳市"],
    "云南省": ["昆明市", "大理白族自治州", "丽江市"], "安徽省": ["合肥市", "宿州市", "芜湖市"],
    "黑龙江省": ["哈尔滨市", "齐齐哈尔市", "绥化市"], "河北省": ["石家庄市", "保定市", "唐山市"],
    "福建省": ["福州市", "厦门市", "泉州市"], "陕西省": ["西安市", "宝鸡市", "延安市"],
    "江西省": ["南昌市", "赣州市", "九江市"], "贵州省": ["贵阳市", "遵义市", "安顺市"],
}
TOPICS = ["医疗卫生", "教育", "乡村振兴", "安全生产", "生态环境", "科技创新", "社会保障", "党建", "扶贫", "交通"]
DOC_TYPES = [("工作总结", 0.35), ("工作计划", 0.2), ("工作汇报", 0.15), ("经验交流材料", 0.1), ("政府工作报告", 0.2)]
YEARS = list(range(2005, 2026))


@dataclass
class CorpusInfo:
    folder: Path
    docs: int
    files: int
    text_bytes: int  # UTF-8 bytes of title + body of every report


def paragraphs() -> list[str]:
    """Body paragraphs (≥ 20 characters) of every shared report, in a fixed order."""
    out: list[str] = []
    nat = CORPORA / "national-gov-work-reports" / "government_work_reports.jsonl"
    with nat.open(encoding="utf-8") as fh:
        for line in fh:
            out += [p.strip() for p in json.loads(line).get("content", "").split("\n")]
    csv.field_size_limit(1 << 30)
    for f in sorted((CORPORA / "provincial-gov-reports-2026").glob("*.csv")):
        with f.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out += [p.strip() for p in (row.get("full_text") or "").split("\n")]
    return [p for p in out if len(p) >= 20]


def _choose_type(rnd: random.Random) -> str:
    x, acc = rnd.random(), 0.0
    for name, w in DOC_TYPES:
        acc += w
        if x < acc:
            return name
    return DOC_TYPES[-1][0]


def make_report(rnd: random.Random, pool: list[str], n: int) -> dict:
    prov = rnd.choice(sorted(PROVINCES))
    city = rnd.choice(PROVINCES[prov]) if rnd.random() < 0.5 else ""
    place = prov + city
    year = rnd.choice(YEARS)
    dtype = _choose_type(rnd)
    topics = rnd.sample(TOPICS, rnd.choice((1, 1, 2)))
    if dtype == "政府工作报告":
        title = f"{place}{year}年政府工作报告"
    else:
        title = f"{place}{'、'.join(topics)}{year}年{dtype}"
    target = int(min(20000, max(400, rnd.lognormvariate(math.log(2300), 0.5))))
    body = [f"{place}人民政府{year}年{'、'.join(topics)}{dtype}（第{n}号）"]
    size = len(body[0])
    while size < target:
        p = pool[rnd.randrange(len(pool))]
        body.append(p)
        size += len(p)
    return {"title": title, "content": "\n".join(body), "year": str(year), "province": prov}


def build(folder: str | Path, docs: int, seed: int = SEED) -> CorpusInfo:
    """Write ``docs`` reports under ``folder``; the same arguments always give the same files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pool = paragraphs()
    rnd = random.Random(seed)
    total_bytes = 0
    files = 0
    fh = None
    for n in range(docs):
        rec = make_report(rnd, pool, n)
        total_bytes += len((rec["title"] + "\n" + rec["content"]).encode("utf-8"))
        if n == 0:
            (folder / SINGLE).write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
            files += 1
            continue
        if (n - 1) % CHUNK == 0:
            if fh:
                fh.close()
            fh = (folder / f"part-{(n - 1) // CHUNK:05d}.jsonl").open("w", encoding="utf-8")
            files += 1
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    if fh:
        fh.close()
    return CorpusInfo(folder, docs, files, total_bytes)


def iter_reports(folder: str | Path):
    """The reports of a built corpus, one at a time (for the baseline)."""
    for f in sorted(Path(folder).glob("*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                yield f, json.loads(line)


def change_single(folder: str | Path, stamp: int) -> None:
    """Edit the one-report file (a changed sentence), for the update benchmark."""
    p = Path(folder) / SINGLE
    rec = json.loads(p.read_text(encoding="utf-8"))
    rec["content"] += f"\n本报告于第{stamp}次修订，补充了基层医疗卫生服务能力建设的情况。"
    p.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
