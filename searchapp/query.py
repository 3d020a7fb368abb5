"""The user's query language, parsed forgivingly, and turned into Whoosh queries.

Syntax: words are ANDed; ``"…"`` (or “…”, 「…」) is an exact phrase; ``OR`` or
``|`` between two items makes them alternatives; ``-word`` or ``NOT word``
excludes.  Anything malformed degrades instead of failing: an unclosed quote
runs to the end, a lone ``AND``/``OR``, stray parentheses or operators are
dropped, an over-long query is cut (and the caller is told).

Matching: an item is found either by its jieba words (ranked, title boosted)
or, whatever the segmentation, by the exact character sequence through the
bigram field; a quoted phrase only by the exact sequence.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from whoosh import query as Q

from indexer.analysis import bigrams, gram_text, words

MAX_QUERY_CHARS = 256
_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"'})
_TOKEN = re.compile(r'"([^"]*)(?:"|$)|(\S+)')
_STRAY = re.compile(r"^[()（）\[\]{}+*~^!:：,，;；]+|[()（）\[\]{}+*~^!:：,，;；]+$")


@dataclass
class Item:
    text: str
    phrase: bool = False


@dataclass
class ParsedQuery:
    """AND of groups; each group is an OR of items; ``exclude`` items must not match."""

    groups: list[list[Item]] = field(default_factory=list)
    exclude: list[Item] = field(default_factory=list)
    truncated: bool = False
    original: str = ""

    @property
    def empty(self) -> bool:
        return not self.groups

    def positive_items(self) -> list[Item]:
        return [it for g in self.groups for it in g]


def parse(text: str | None) -> ParsedQuery:
    """Parse a raw query string; never raises."""
    raw = text or ""
    pq = ParsedQuery(original=raw)
    s = unicodedata.normalize("NFKC", raw).translate(_QUOTES)
    s = s.replace("\u3000", " ")
    if len(s) > MAX_QUERY_CHARS:
        s = s[:MAX_QUERY_CHARS]
        pq.truncated = True
    pending_or = False
    negate = False
    for m in _TOKEN.finditer(s):
        if m.group(1) is not None:
            item = Item(m.group(1).strip(), phrase=True)
        else:
            tok = m.group(2)
            if tok in ("AND", "&&", "&"):
                continue
            if tok in ("OR", "||", "|"):
                pending_or = bool(pq.groups)
                continue
            if tok == "NOT":
                negate = True
                continue
            if tok.startswith("-") and len(tok) > 1:
                negate, tok = True, tok[1:]
            tok = _STRAY.sub("", tok)
            item = Item(tok)
        if not item.text or not re.search(r"\w", item.text):
            continue
        if negate:
            pq.exclude.append(item)
            negate = False
            continue
        if pending_or and pq.groups:
            pq.groups[-1].append(item)
        else:
            pq.groups.append([item])
        pending_or = False
    return pq


def _exact(text: str) -> Q.Query | None:
    grams = bigrams(text)
    if not grams:
        return None
    if len(grams) == 1:
        return Q.Term("grams", grams[0])
    return Q.Phrase("grams", grams)


def _words(text: str) -> Q.Query | None:
    ws = list(dict.fromkeys(words(text)))
    if not ws:
        return None
    return Q.And([Q.Or([Q.Term("title", w), Q.Term("content", w)]) for w in ws])


def item_query(item: Item) -> Q.Query | None:
    """One item: exact sequence (always) or its words (unless quoted)."""
    if len(gram_text(item.text)) < 2:  # one character: no bigram can hold it
        return _words(item.text)
    exact = _exact(item.text)
    if item.phrase:
        if exact is None:
            return None
        ws = list(dict.fromkeys(words(item.text)))
        boost = Q.Or([Q.Term(f, w) for w in ws for f in ("title", "content")]) if ws else None
        return Q.AndMaybe(exact, boost) if boost is not None else exact
    wq = _words(item.text)
    parts = [p for p in (wq, exact) if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.Or(parts)


def to_whoosh(pq: ParsedQuery) -> Q.Query:
    """The Whoosh query for a parsed query; ``Every()`` when it has no positive item."""
    groups = []
    for g in pq.groups:
        alts = [q for q in (item_query(it) for it in g) if q is not None]
        if alts:
            groups.append(alts[0] if len(alts) == 1 else Q.Or(alts))
    base: Q.Query = Q.And(groups) if len(groups) > 1 else (groups[0] if groups else Q.Every())
    excl = [q for q in (item_query(Item(it.text, True)) for it in pq.exclude) if q is not None]
    if excl:
        base = Q.AndNot(base, Q.Or(excl) if len(excl) > 1 else excl[0])
    return base


def highlight_needles(pq: ParsedQuery) -> list[str]:
    """Strings to mark in snippets and documents: each item, and the words of unquoted items."""
    out: list[str] = []
    for it in pq.positive_items():
        out.append(it.text)
        if not it.phrase:
            out.extend(w for w in words(it.text) if len(w) >= 2)
    return list(dict.fromkeys(n for n in out if n.strip()))
