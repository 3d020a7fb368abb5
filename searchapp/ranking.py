"""Relevance ranking: which matches come first, decided in one place after matching.

Matching (``searchapp.query`` → Whoosh query → ``indexer.engine.fastquery`` or Whoosh)
gives every matching report and its BM25F score.  BM25F alone does not know
what users mean, so the order is decided here, in tiers, each tier broken by
the next:

1. **Places and years typed in the query** (``searchapp.understand``): a report
   *of* that place or year comes first.  Such an item matches a report by its
   metadata as well as by its text, so ``贵州 健康扶贫`` finds the county report
   from 贵州 that never writes 贵州 in its text.
2. **Phrases**: a report holding an item (or one of its synonym forms) as one
   contiguous string ranks above one where jieba's words of the item are
   scattered; holding the whole query as one string counts once more.
3. **Score**: BM25F, normalised to [0, 1], plus a **proximity** bonus for the
   best few: the smaller the span of text holding one of every item (or, for an
   item not found whole, every word of it), the higher.

The tiers are exact (a report in a higher tier always ranks above), which is
what a reader expects of a phrase or a place.  Both evaluators give the same
matches and scores, and this step runs after either, so it keeps them equal.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as Q

from indexer.analysis import words

from . import query as qmod
from .facets import FacetTable
from .understand import Place, Understanding, YearSpan, analyse, place_mask, year_mask

Match = Callable[[Q.Query], tuple[np.ndarray, np.ndarray]]
PROXIMITY_DOCS = 20  # the best matches whose text is read for the proximity bonus
PROXIMITY_WEIGHT = 0.5
TIER = 10.0  # one phrase tier outweighs any score (normalised to at most 1 + the proximity bonus)
PLACE_TIER = 100.0  # one place or year outweighs every phrase tier


@dataclass
class Ranked:
    docs: np.ndarray  # ascending document numbers of every match (filters not applied)
    scores: np.ndarray  # their ranking scores (higher first)
    understanding: Understanding
    verbatim: list[tuple[qmod.Item, int]] = field(default_factory=list)  # multi-word items: reports holding them whole
    expansion_added: int = 0  # matches only the synonym expansions found
    meta_counts: list[int] = field(default_factory=list)  # per place/year: matches of it by metadata


def _dense(size: int, docs: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(size, dtype=np.float64)
    out[docs] = 1.0 if values is None else values
    return out


def _constraint_parts(c: Place | YearSpan, table: FacetTable, match: Match, use_synonyms: bool
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(score of the item's text match, 1 where the metadata matches), dense over all documents."""
    meta = place_mask(table, c) if isinstance(c, Place) else year_mask(table, c)
    wq = qmod.item_query(c.item, use_synonyms)
    text = np.zeros(table.size, dtype=np.float64)
    if wq is not None:
        d, s = match(wq)
        text[d] = s
    return text, meta.astype(np.float64)


def _multiword(item: qmod.Item) -> bool:
    """An unquoted item whose words could be scattered (a quoted item is matched whole anyway)."""
    return not item.phrase and len(set(words(item.text))) > 1


def rank(pq: qmod.ParsedQuery, table: FacetTable, match: Match, text_of: Callable[[int], str],
         proximity_docs: int = PROXIMITY_DOCS) -> Ranked:
    """Every match of ``pq`` with its ranking score (see the module docstring)."""
    u = analyse(pq, table)
    core = u.core
    docs, base = match(qmod.to_whoosh(core))
    size = table.size
    keep = docs < size
    docs, base = docs[keep], base[keep]
    text_score = np.zeros(len(docs))
    meta_hits = np.zeros(len(docs))
    metas = []
    for c in u.constraints:
        text, meta = _constraint_parts(c, table, match, pq.use_synonyms)
        ok = (text[docs] > 0) | (meta[docs] > 0)
        docs, base, text_score, meta_hits = docs[ok], base[ok], text_score[ok], meta_hits[ok]
        # a report of the place or year is answered by its metadata: how often its text names
        # the place (云南 in every paragraph of a 云南 report) says nothing more about the topic
        text_score += np.where(meta[docs] > 0, 0.0, text[docs])
        meta_hits += meta[docs]
        metas.append(meta)
    score = base + text_score if core.groups else text_score
    out = Ranked(docs=docs, scores=score, understanding=u,
                 meta_counts=[int(np.count_nonzero(m[docs])) for m in metas])
    if not len(docs):
        return out
    # phrase tiers: each AND group held whole, and the whole query held as one string
    contiguous = np.zeros(len(docs))
    whole: dict[int, np.ndarray] = {}
    for g in core.groups:
        if not any(_multiword(it) for it in g):
            contiguous += 1  # a single word (or a quoted phrase) is matched whole
            continue
        alts = [q for q in (qmod.exact_query(it, pq.use_synonyms) for it in g) if q is not None]
        if not alts:
            continue
        ed, _es = match(alts[0] if len(alts) == 1 else Q.Or(alts))
        held = _dense(size, ed)[docs] > 0
        whole[id(g)] = held
        contiguous += held
        for it in g:
            if _multiword(it):
                out.verbatim.append((it, len(ed)))
    singles = [g[0] for g in core.groups if len(g) == 1 and not g[0].phrase]
    joined_held = np.zeros(len(docs), dtype=bool)
    if len(core.groups) > 1 and len(singles) == len(core.groups):
        joined = "".join(it.text for it in singles)
        eq = qmod.exact_query(qmod.Item(joined), False)
        if eq is not None:
            ed, _es = match(eq)
            joined_held = _dense(size, ed)[docs] > 0
            contiguous += joined_held
    top = float(score.max()) if len(score) else 0.0
    norm = score / top if top > 0 else np.zeros(len(score))
    final = PLACE_TIER * meta_hits + TIER * contiguous + norm
    # proximity over the best few
    units_of = _proximity_units(core, pq.use_synonyms)
    if units_of is not None and proximity_docs > 0:
        best = np.argsort(-final, kind="stable")[:proximity_docs]
        for i in best.tolist():
            if joined_held[i]:  # the whole query as one string: nothing can be closer
                final[i] += PROXIMITY_WEIGHT
                continue
            whole_here = {gid: bool(v[i]) for gid, v in whole.items()}
            span = min_span(text_of(int(docs[i])), units_of(whole_here))
            if span is not None:
                final[i] += PROXIMITY_WEIGHT / (1.0 + span / 50.0)
    out.scores = final
    if pq.expansions and core.groups:
        lit, _ls = match(qmod.to_whoosh(core.literal()))
        out.expansion_added = int(np.count_nonzero(~np.isin(docs, lit)))
    return out


def _proximity_units(core: qmod.ParsedQuery, use_synonyms: bool):
    """A function giving, for one report, the needle lists that must all occur near each other
    (one list per unit: an AND group held whole, or one word of a scattered item); None when the
    query has a single unit whatever the report (nothing to bring close)."""
    if not core.groups or (len(core.groups) == 1 and not any(_multiword(it) for it in core.groups[0])):
        return None

    def units(held: dict[int, bool]) -> list[list[str]]:
        out: list[list[str]] = []
        for g in core.groups:
            if held.get(id(g), True) or len(g) > 1:
                out.append([w for it in g for f in qmod.forms(it, use_synonyms) for w in f.split()])
            else:
                out += [[w] for w in dict.fromkeys(words(g[0].text)) if len(w) > 1 or len(g[0].text) == 1]
        return [u for u in out if u]
    return units


def min_span(text: str, units: list[list[str]], cap: int = 400) -> int | None:
    """The shortest stretch of ``text`` holding one needle of every unit (its length minus the needles'),
    None when some unit is missing.  Occurrences per needle are capped to keep this linear."""
    if len(units) < 2 or not text:
        return None
    events: list[tuple[int, int, int]] = []  # (start, end, unit)
    for u, needles in enumerate(units):
        found = False
        for nd in needles:
            start = text.find(nd)
            k = 0
            while start >= 0 and k < cap:
                events.append((start, start + len(nd), u))
                found = True
                k += 1
                start = text.find(nd, start + 1)
        if not found:
            return None
    events.sort()
    need = len(units)
    have: dict[int, int] = {}
    best: int | None = None
    lo = 0
    for hi in range(len(events)):
        have[events[hi][2]] = have.get(events[hi][2], 0) + 1
        while len(have) == need:
            s, e0, u = events[lo]
            width = max(events[hi][1], e0) - s
            best = width if best is None else min(best, width)
            have[u] -= 1
            if not have[u]:
                del have[u]
            lo += 1
    if best is None:
        return None
    shortest = sum(min(len(n) for n in u) for u in units)
    return max(0, best - shortest)
