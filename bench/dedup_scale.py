"""``python -m bench.dedup_scale --docs 100000``: cost of the dedup step of a one-document update at scale.

Building a real 100,000-report Whoosh index takes hours on two cores, so this
measures the part of an update that used to be O(corpus) on its own: load the
``dedup.npz`` sidecar of N documents (signatures of real report texts, 10% of
them near-duplicate copies), replace one document (remove its file, add the
new version, regroup), build the exact-copy table, and save the sidecar.
Prints one JSON object with seconds per step.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from indexer.dedup import DedupState, signature

    from .corpus import paragraphs

    ap = argparse.ArgumentParser(prog="python -m bench.dedup_scale")
    ap.add_argument("--docs", type=int, default=100_000)
    args = ap.parse_args(argv)
    rnd = random.Random(1)
    paras = [p for p in paragraphs() if len(p) >= 20]
    # a pool of distinct signatures, reused with per-document perturbation (cheaper than N texts)
    base = [signature("\n".join(rnd.sample(paras, 8))) for _ in range(2000)]
    sigs = np.empty((args.docs, base[0].size), dtype=np.uint32)
    for k in range(args.docs):
        s = base[k % len(base)].copy()
        if k >= len(base) and rnd.random() > 0.1:  # 90% unrelated: scramble; 10% near copies
            s = np.random.default_rng(k).integers(0, 2**32 - 1, size=s.size, dtype=np.uint32)
        sigs[k] = s
    rows = [(f"{k:016x}", f"/data/f{k // 50:06d}.jsonl", f"{k:040x}", 2000 + k % 25, sigs[k]) for k in range(args.docs)]
    t = time.perf_counter()
    st = DedupState.empty()
    st.add(rows)
    build_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "dedup.npz"
        st.save(path, 1)
        out = {"docs": args.docs, "from_scratch_group_s": round(build_s, 2), "sidecar_mb": round(path.stat().st_size / 1e6, 1)}
        t0 = time.perf_counter()
        st = DedupState.load(path, 1)
        t1 = time.perf_counter()
        split = st.remove_files({"/data/f000001.jsonl"})
        keys = st.text_keys()
        new = signature("\n".join(rnd.sample(paras, 8)))
        st.add([("new", "/data/f000001.jsonl", "k-new", 2020, new)], split=split)
        groups = st.groups()
        t2 = time.perf_counter()
        st.save(path, 2)
        t3 = time.perf_counter()
        out.update({"load_s": round(t1 - t0, 3), "update_s": round(t2 - t1, 3), "save_s": round(t3 - t2, 3),
                    "total_s": round(t3 - t0, 3), "groups": len(groups), "keys": len(keys)})
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
