"""Query expansion: synonyms/abbreviations from a reviewable file, and traditional → simplified.

Expansion only ever *adds* alternatives to what the user typed, and every
expansion applied is reported back so the UI can say what it did.
"""
from __future__ import annotations

import functools
import tomllib
from pathlib import Path

SYNONYMS_FILE = Path(__file__).resolve().parent.parent / "indexer" / "data" / "synonyms.toml"


@functools.lru_cache(maxsize=4)
def load_groups(path: str = str(SYNONYMS_FILE)) -> tuple[tuple[str, ...], ...]:
    """Synonym groups from the TOML file; an unreadable file means no synonyms, not a crash."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return ()
    groups = []
    for g in data.get("group", []):
        forms = tuple(dict.fromkeys(str(f).strip() for f in g.get("forms", []) if str(f).strip()))
        if len(forms) >= 2:
            groups.append(forms)
    return tuple(groups)


def expand(text: str, path: str = str(SYNONYMS_FILE)) -> list[tuple[str, str, str]]:
    """Alternatives for one query item: ``[(alternative text, form found, form used)]``.

    The longest form contained in the item is replaced by each other form of its group.
    """
    best: tuple[str, tuple[str, ...]] | None = None
    for forms in load_groups(path):
        for f in forms:
            if " " not in f and f in text and (best is None or len(f) > len(best[0])):
                best = (f, forms)
    if best is None:
        # an item that is exactly a multi-word form ("宫颈癌 乳腺癌" typed in quotes)
        for forms in load_groups(path):
            if text in forms:
                best = (text, forms)
                break
    if best is None:
        return []
    found, forms = best
    out = []
    for other in forms:
        if other == found:
            continue
        # a multi-word form stays separate words: 两癌筛查 → 宫颈癌 乳腺癌 筛查
        alt = text.replace(found, f" {other} " if " " in other else other, 1)
        out.append((" ".join(alt.split()), found, other))
    return out
