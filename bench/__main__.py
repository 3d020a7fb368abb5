"""``python -m bench --docs N [--skip-baseline] [--workers W] [--work-dir DIR] [--keep]``: one JSON object."""
from __future__ import annotations

import argparse
import json
import sys

from .run import run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--docs", type=int, default=2000, help="reports in the generated corpus")
    ap.add_argument("--skip-baseline", action="store_true", help="do not run the textbook baseline")
    ap.add_argument("--workers", type=int, default=None, help="indexing worker processes (default: cores)")
    ap.add_argument("--work-dir", default=None, help="where corpus and indexes go (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    out = run(args.docs, skip_baseline=args.skip_baseline, workers=args.workers, work_dir=args.work_dir,
              keep=args.keep)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
