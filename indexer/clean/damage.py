"""Synonym-substitution damage (伪原创) detection and term repair.

Some sites run reports through a "rewriter" that swaps words for near-synonyms
(效劳 for 服务, 根底 for 基础, 原那么 for 原则, 开展 for 发展 …).  The damaged text is
kept as published (we never rewrite stored text); ``is_damaged`` flags it and
``repair_terms`` gives the corrected wording for an extra index field, so a
search for 服务 also finds 效劳 documents.

The phrase list is data, reviewable by a person: ``indexer/data/damage_phrases.toml``
(damaged = "correct", tiers [strong] and [context]).  Scoring counts DISTINCT
phrases: a clean report that says 开展 or 根本 legitimately matches no entry (only
collocations like 经济社会开展 are listed), and one stray strong word (为人民效劳 in
a 1950s speech) is not enough.  Matching is one compiled alternation of
literals: linear in the text.
"""
from __future__ import annotations

import re
import tomllib
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path

#: A page is damaged at this many distinct strong phrases …
MIN_DISTINCT_STRONG = 3
#: … or at this weighted score (strong phrase = 2, context collocation = 1).
MIN_SCORE = 6


@lru_cache(maxsize=1)
def load_phrases() -> tuple[dict[str, str], dict[str, str]]:
    """(strong, context) maps damaged → correct, from the shipped TOML file."""
    try:
        data = resources.files("indexer").joinpath("data/damage_phrases.toml").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError, OSError):
        data = (Path(__file__).resolve().parents[1] / "data" / "damage_phrases.toml").read_bytes()
    table = tomllib.loads(data.decode("utf-8"))
    strong = {k: str(v) for k, v in table.get("strong", {}).items() if k and k != v}
    context = {k: str(v) for k, v in table.get("context", {}).items() if k and k != v}
    return strong, context


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    strong, context = load_phrases()
    keys = sorted(set(strong) | set(context), key=len, reverse=True)  # longest first
    return re.compile("|".join(map(re.escape, keys)))


def damage_hits(text: str) -> dict[str, int]:
    """Damaged phrases found in ``text`` with their counts."""
    if not text:
        return {}
    return dict(Counter(_pattern().findall(text)))  # (first-seen order, as a loop over finditer)


def damage_score(text: str) -> tuple[int, int]:
    """(distinct strong phrases, weighted score) for ``text``."""
    strong, _ = load_phrases()
    hits = damage_hits(text)
    n_strong = sum(1 for k in hits if k in strong)
    score = sum(2 if k in strong else 1 for k in hits)
    return n_strong, score


def is_damaged(text: str) -> bool:
    """True when the text shows machine synonym substitution."""
    n_strong, score = damage_score(text)
    return n_strong >= MIN_DISTINCT_STRONG or score >= MIN_SCORE


def repair_terms(text: str) -> str:
    """Return ``text`` with every listed damaged phrase replaced by its correct wording.

    For indexing alongside the stored text (the lead indexes it as an extra
    field); apply it to damaged articles: on clean text it may 'repair' a rare
    legitimate use.
    """
    if not text:
        return text
    strong, context = load_phrases()
    table = {**context, **strong}
    return _pattern().sub(lambda m: table[m.group(0)], text)
