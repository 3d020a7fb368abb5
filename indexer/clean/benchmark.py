"""Compare HTML main-content extractors on the Chinese fixture pages.

    python -m indexer.clean.benchmark [fixtures_dir]

For each page of ``tests/fixtures/clean/expected.json`` it counts the must_keep
strings an extractor keeps and the must_drop strings it drops, and times it.
Extractors: this package (``clean_page``), trafilatura, readability-lxml and
justext (each only if installed; they are optional, used for this measurement).
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _ours(html: str) -> str:
    from ..models import Page
    from . import clean_page

    return "\n".join(a.text for a in clean_page(Page("bench", html, "html", {})))


def _trafilatura(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html, include_comments=False, favor_precision=False) or ""


def _readability(html: str) -> str:
    from lxml import html as lh
    from readability import Document

    summary = Document(html).summary(html_partial=True)
    return lh.fromstring(summary).text_content() if summary.strip() else ""


def _justext(html: str) -> str:
    import justext

    # justext has no Chinese stoplist; an empty one makes it rely on length/link density only
    paras = justext.justext(html.encode("utf-8"), frozenset(), encoding="utf-8", length_low=10, length_high=40)
    return "\n".join(p.text for p in paras if not p.is_boilerplate)


def _trafilatura_rules(html: str) -> str:
    """trafilatura's block selection followed by this package's line rules."""
    from . import clean_text
    from .normalize import normalize_text, split_lines

    return "\n".join(a.text for a in clean_text(split_lines(normalize_text(_trafilatura(html)))))


def _readability_rules(html: str) -> str:
    from . import clean_text
    from .normalize import normalize_text, split_lines

    return "\n".join(a.text for a in clean_text(split_lines(normalize_text(_readability(html)))))


EXTRACTORS: dict[str, Callable[[str], str]] = {
    "reportsearch.clean": _ours,
    "trafilatura": _trafilatura,
    "readability-lxml": _readability,
    "justext": _justext,
    "trafilatura+rules": _trafilatura_rules,
    "readability+rules": _readability_rules,
}


def run(fixtures: Path) -> dict[str, dict[str, float]]:
    expected = json.loads((fixtures / "expected.json").read_text(encoding="utf-8"))["pages"]
    results: dict[str, dict[str, float]] = {}
    for name, fn in EXTRACTORS.items():
        keep = keep_n = drop = drop_n = 0
        elapsed = 0.0
        try:
            for page, exp in expected.items():
                html = (fixtures / page).read_text(encoding="utf-8")
                t0 = time.perf_counter()
                text = fn(html)
                elapsed += time.perf_counter() - t0
                keep += sum(s in text for s in exp["must_keep"])
                keep_n += len(exp["must_keep"])
                drop += sum(s not in text for s in exp["must_drop"])
                drop_n += len(exp["must_drop"])
        except ImportError:
            continue
        results[name] = {
            "must_keep": keep, "must_keep_of": keep_n, "must_drop": drop, "must_drop_of": drop_n,
            "ms_per_page": 1000 * elapsed / max(1, len(expected)),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "clean"
    for name, r in run(root).items():
        print(f"{name:20s} must_keep {r['must_keep']}/{r['must_keep_of']}  must_drop {r['must_drop']}/{r['must_drop_of']}"
              f"  {r['ms_per_page']:.1f} ms/page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
