"""Topic facet from the reviewable taxonomy in ``indexer/data/topics.toml``.

A topic's score is the weighted count of its terms (one Aho–Corasick pass over the
text, leftmost-longest so 基本公共卫生服务 does not also count as 公共卫生).  A document
gets the topics it is *substantially* about: the score must pass an absolute floor, a
density floor (per 1,000 characters, so a 20,000-character government report that
mentions 中医药 twice does not get 中医药) and a distinct-terms floor (one repeated
slogan is not a topic).  At most ``max_topics``, best first.  The taxonomy lives in a
data file so that domain reviewers can change it without touching code.
"""
from __future__ import annotations

import threading
import tomllib
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .textutil import normalize

try:  # pragma: no cover
    import ahocorasick  # type: ignore
except Exception:  # pragma: no cover
    ahocorasick = None  # type: ignore

TAXONOMY_PATH = Path(__file__).resolve().parent.parent / "data" / "topics.toml"


@dataclass
class Taxonomy:
    names: list[str]
    # term -> list of (topic index, weight)
    terms: dict[str, list[tuple[int, float]]]
    min_score: float = 6.0
    min_density: float = 1.0
    min_distinct: int = 2
    max_topics: int = 6
    short_doc_floor: int = 1500
    section_size: int = 300
    section_min: float = 12.0
    automaton: object = field(default=None, repr=False)


def load_taxonomy(path: Path | str = TAXONOMY_PATH) -> Taxonomy:
    """Parse and validate the TOML taxonomy (raises ``ValueError`` on a malformed file)."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    sc = data.get("scoring", {})
    names: list[str] = []
    terms: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, t in enumerate(data.get("topic", [])):
        name = t.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"topic #{i} has no name")
        if name in names:
            raise ValueError(f"duplicate topic {name}")
        tt = t.get("terms") or {}
        if not isinstance(tt, dict) or not tt:
            raise ValueError(f"topic {name} has no terms")
        names.append(name)
        for term, w in tt.items():
            term = normalize(term)
            if not term or not isinstance(w, (int, float)) or w <= 0:
                raise ValueError(f"topic {name}: bad term {term!r}={w!r}")
            terms[term].append((len(names) - 1, float(w)))
    tax = Taxonomy(
        names=names,
        terms=dict(terms),
        min_score=float(sc.get("min_score", 6.0)),
        min_density=float(sc.get("min_density", 1.0)),
        min_distinct=int(sc.get("min_distinct", 2)),
        max_topics=int(sc.get("max_topics", 6)),
        short_doc_floor=int(sc.get("short_doc_floor", 1500)),
        section_size=int(sc.get("section_size", 300)),
        section_min=float(sc.get("section_min", 12.0)),
    )
    if ahocorasick is not None:
        A = ahocorasick.Automaton()
        for term in tax.terms:
            A.add_word(term, term)
        A.make_automaton()
        tax.automaton = A
    return tax


_TAX: Taxonomy | None = None
_LOCK = threading.Lock()


def taxonomy() -> Taxonomy:
    """The shipped taxonomy, loaded once per process."""
    global _TAX
    if _TAX is None:
        with _LOCK:
            if _TAX is None:
                try:
                    _TAX = load_taxonomy()
                except Exception as exc:  # pragma: no cover - broken data file
                    warnings.warn(f"topic taxonomy failed to load: {exc!r}", RuntimeWarning, stacklevel=2)
                    _TAX = Taxonomy(names=[], terms={})
    return _TAX


def topic_scores(text: str, tax: Taxonomy | None = None) -> dict[str, tuple[float, int]]:
    """topic → (weighted count, distinct terms) for a text; the building block of ``extract_topics``."""
    tax = tax or taxonomy()
    scores: dict[int, float] = defaultdict(float)
    distinct: dict[int, set[str]] = defaultdict(set)
    if not text or not tax.terms:
        return {}
    if tax.automaton is not None:
        matches = (key for _end, key in tax.automaton.iter_long(text))  # type: ignore[attr-defined]
    else:  # pragma: no cover - slow fallback without pyahocorasick
        matches = (t for t in tax.terms for _ in range(text.count(t)))
    for key in matches:
        for ti, w in tax.terms[key]:
            scores[ti] += w
            distinct[ti].add(key)
    return {tax.names[i]: (s, len(distinct[i])) for i, s in scores.items()}


def _chunks(text: str, size: int) -> list[str]:
    """Paragraphs merged up to about ``size`` characters: the unit a report spends on one task."""
    out: list[str] = []
    cur = ""
    for para in text.split("\n"):
        cur += para
        if len(cur) >= size:
            out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    return out


def _owned_sections(text: str, tax: Taxonomy) -> dict[str, float]:
    """Topics that own at least one section outright (best score ≥ section_min and twice the runner-up).

    Work reports are organised by task: a topic with a section of its own is part of
    what the report is about even when the report is long and the section short.
    Returns topic → best owned section score.
    """
    owned: dict[str, float] = {}
    if len(text) < tax.section_size:
        return owned
    for chunk in _chunks(text, tax.section_size):
        sc = topic_scores(chunk, tax)
        if not sc:
            continue
        ranked = sorted(sc.items(), key=lambda kv: -kv[1][0])
        top, (s, d) = ranked[0]
        second = ranked[1][1][0] if len(ranked) > 1 else 0.0
        if s >= tax.section_min and d >= tax.min_distinct and s >= 2 * second:
            owned[top] = max(owned.get(top, 0.0), s)
    return owned


def extract_topics(title: str | None, text: str | None, tax: Taxonomy | None = None) -> list[str]:
    """The topics a report is substantially about, best first (at most ``max_topics``). Never raises."""
    try:
        tax = tax or taxonomy()
        title_n = normalize(title)
        body = normalize(text)
        scores = topic_scores(body, tax)
        # the title names the subject: its terms count as a strong paragraph
        for name, (s, _d) in topic_scores(title_n, tax).items():
            base, d = scores.get(name, (0.0, 0))
            scores[name] = (base + 3.0 * s, d + 1)
        length = max(len(body), tax.short_doc_floor)
        owned = _owned_sections(body, tax)
        picked = []
        for name, (s, d) in scores.items():
            density = s * 1000.0 / length
            whole = s >= tax.min_score and density >= tax.min_density and d >= tax.min_distinct
            if whole or name in owned:
                picked.append((density + owned.get(name, 0.0) / 10.0, name))
        picked.sort(reverse=True)
        return [n for _d, n in picked[: tax.max_topics]]
    except Exception:
        return []
