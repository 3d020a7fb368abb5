"""The user's query language, parsed forgivingly, and turned into Whoosh queries.

Syntax: words are ANDed; ``"…"`` (or “…”, 「…」) is an exact phrase; ``OR`` or
``|`` between two items makes them alternatives; ``-word`` or ``NOT word``
excludes.  Anything malformed degrades instead of failing: an unclosed quote
runs to the end, a lone ``AND``/``OR``, stray parentheses or operators are
dropped, an over-long query is cut (and the caller is told).

Matching: an item is found either by its jieba words (ranked, title boosted)
or, whatever the segmentation, by the exact character sequence through the
bigram field; a quoted phrase only by the exact sequence.  Traditional
characters are converted to simplified, and synonyms/abbreviations from
``indexer/data/synonyms.toml`` add alternatives, each as an exact phrase (医共体
also finds 医疗共同体, never 医疗 and 共同体 apart).  A quoted item is exact: it is
never expanded, and the notes say so.  How matches are ranked (phrases,
proximity, places and years in the query) is ``searchapp.ranking``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from whoosh import query as Q

from indexer.analysis import bigrams, gram_text, to_simplified, words
from indexer.engine.phrase import GramPhrase

from .synonyms import expand

MAX_QUERY_CHARS = 256
_QUOTES = str.maketrans({"“": '"', "”": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"'})
# A quote mark inside a word ends the word: text pasted from a report ('得“中国环流三') is
# the word before the quote and the quoted part after it, not one token with a quote in it
# (which no indexed text holds: quotes are normalised to '"' here, not in the index).
_TOKEN = re.compile(r'"([^"]*)(?:"|$)|([^\s"]+)')
_STRAY = re.compile(r"^[()（）\[\]{}+*~^!:：,，;；]+|[()（）\[\]{}+*~^!:：,，;；]+$")


@dataclass
class Item:
    text: str
    phrase: bool = False
    typed: str | None = None  # the text as typed, when conversion to simplified changed it


@dataclass
class ParsedQuery:
    """AND of groups; each group is an OR of items; ``exclude`` items must not match."""

    groups: list[list[Item]] = field(default_factory=list)
    exclude: list[Item] = field(default_factory=list)
    truncated: bool = False
    original: str = ""
    simplified: str | None = None  # the query after traditional → simplified, when that changed it
    expansions: list[tuple[str, str]] = field(default_factory=list)  # (form typed, form added)
    unexpanded: list[tuple[str, str]] = field(default_factory=list)  # quoted: (form typed, form NOT added)
    use_synonyms: bool = True

    @property
    def empty(self) -> bool:
        return not self.groups

    def positive_items(self) -> list[Item]:
        return [it for g in self.groups for it in g]

    def notes(self) -> list[str]:
        """What the parser did to the query, in words for the UI.

        The expansion notice is not among them: it is shown only when the
        expansion changed the results (``expansion_note``, decided by the engine).
        """
        out = []
        if self.simplified:
            out.append(f"已将繁体字转换为简体检索：{self.simplified}")
        quoted = [it.text for it in self.positive_items() if it.phrase]
        if quoted:
            note = "引号内按原文精确检索：" + "、".join(f"“{t}”" for t in dict.fromkeys(quoted))
            if self.unexpanded:
                note += "（未扩展同义词/简称：" + "；".join(f"{a} → {b}" for a, b in self.unexpanded) + "）"
            out.append(note)
        return out

    def expansion_note(self, added: int | None = None) -> str | None:
        """The notice for the expansions applied; ``added``: reports they found that the typed form did not."""
        if not self.expansions:
            return None
        note = "已扩展同义词/简称：" + "；".join(f"{a} → {b}" for a, b in self.expansions)
        return note + (f"（多找到 {added} 篇）" if added else "")

    def literal(self) -> ParsedQuery:
        """The same query without synonym expansion (to see what the expansions added)."""
        return ParsedQuery(groups=self.groups, exclude=self.exclude, truncated=self.truncated,
                           original=self.original, simplified=self.simplified, use_synonyms=False)

    def with_groups(self, groups: list[list[Item]]) -> ParsedQuery:
        """The same query with other AND groups (places and years taken out, read as filters)."""
        return ParsedQuery(groups=groups, exclude=self.exclude, truncated=self.truncated, original=self.original,
                           simplified=self.simplified, expansions=self.expansions, use_synonyms=self.use_synonyms)


def parse(text: str | None, use_synonyms: bool = True) -> ParsedQuery:
    """Parse a raw query string; never raises."""
    raw = text or ""
    pq = ParsedQuery(original=raw, use_synonyms=use_synonyms)
    s = unicodedata.normalize("NFKC", raw).translate(_QUOTES).replace("\u3000", " ")
    if len(s) > MAX_QUERY_CHARS:
        s = s[:MAX_QUERY_CHARS]
        pq.truncated = True
    simp = to_simplified(s)
    typed_items: list[str] | None = None
    if simp != s:
        pq.simplified = simp
        typed_items = [m.group(1) if m.group(1) is not None else m.group(2) for m in _TOKEN.finditer(s)]
        s = simp
    pending_or = False
    negate = False
    tokens = list(_TOKEN.finditer(s))
    for k, m in enumerate(tokens):
        typed = None
        if typed_items is not None and len(typed_items) == len(tokens):
            typed = typed_items[k].strip()
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
            if typed is not None:
                typed = _STRAY.sub("", typed.lstrip("-"))
        if typed and typed != item.text:
            item.typed = typed
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
    if use_synonyms:
        for it in pq.positive_items():
            for _alt, found, other in expand(it.text):
                (pq.unexpanded if it.phrase else pq.expansions).append((found, other))
    return pq


def forms(item: Item, use_synonyms: bool = True) -> list[str]:
    """Every form of an item that counts as the item itself: as typed, simplified, and (unquoted) its
    synonym forms; a multi-word form ("宫颈癌 乳腺癌") keeps its spaces."""
    out = [item.text] + ([item.typed] if item.typed else [])
    if use_synonyms and not item.phrase:
        out += [alt for alt, _found, _other in expand(item.text)]
    return list(dict.fromkeys(t for t in out if t.strip()))


def _exact(text: str) -> Q.Query | None:
    """Exactly this character sequence (white space ignored), whatever the word boundaries."""
    g = gram_text(text)
    if not g:
        return None
    if len(g) == 1:  # every occurrence of a character starts a bigram (but at the very end of a text)
        return Q.Prefix("grams", g)
    grams = bigrams(text)
    return Q.Term("grams", grams[0]) if len(grams) == 1 else GramPhrase("grams", grams)


def _words(text: str) -> Q.Query | None:
    ws = list(dict.fromkeys(words(text)))
    if not ws:
        return None
    return Q.And([Q.Or([Q.Term("title", w), Q.Term("content", w), Q.Term("repaired", w)]) for w in ws])


def _single(text: str, phrase: bool) -> Q.Query | None:
    """One literal item (no synonyms): exact sequence, or (unquoted) its words too."""
    exact = _exact(text)
    ws = list(dict.fromkeys(words(text)))
    if phrase:
        if exact is None:
            return None
        boost = Q.Or([Q.Term(f, w) for w in ws for f in ("title", "content")]) if ws else None
        return Q.AndMaybe(exact, boost) if boost is not None else exact
    parts = [p for p in (_words(text), exact) if p is not None]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Q.Or(parts)


def item_query(item: Item, use_synonyms: bool = True) -> Q.Query | None:
    """An item, or any of its synonym forms, each form an exact phrase (a form with spaces needs all
    its parts, each a phrase).  A quoted item is never expanded."""
    base = _single(item.text, item.phrase)
    if item.typed:  # the characters as typed (a traditional text is matched verbatim too)
        typed = _single(item.typed, item.phrase)
        if typed is not None:
            base = typed if base is None else Q.Or([base, typed])
    if not use_synonyms or item.phrase:
        return base
    alts: list[Q.Query] = [base] if base is not None else []
    for alt, _found, _other in expand(item.text):
        parts = [q for q in (_single(w, True) for w in alt.split()) if q is not None]
        if parts:
            alts.append(parts[0] if len(parts) == 1 else Q.And(parts))
    if not alts:
        return None
    return alts[0] if len(alts) == 1 else Q.Or(alts)


def to_whoosh(pq: ParsedQuery) -> Q.Query:
    """The Whoosh query for a parsed query; ``Every()`` when it has no positive item."""
    groups = []
    for g in pq.groups:
        alts = [q for q in (item_query(it, pq.use_synonyms) for it in g) if q is not None]
        if alts:
            groups.append(alts[0] if len(alts) == 1 else Q.Or(alts))
    base: Q.Query = Q.And(groups) if len(groups) > 1 else (groups[0] if groups else Q.Every())
    excl = [q for q in (_single(it.text, True) for it in pq.exclude) if q is not None]
    if excl:
        base = Q.AndNot(base, Q.Or(excl) if len(excl) > 1 else excl[0])
    return base


def exact_query(item: Item, use_synonyms: bool = True) -> Q.Query | None:
    """Documents holding the item, or one of its forms, as one contiguous string (for ranking)."""
    alts = []
    for form in forms(item, use_synonyms):
        parts = [q for q in (_exact(w) for w in form.split()) if q is not None]
        if parts and len(parts) == len(form.split()):
            alts.append(parts[0] if len(parts) == 1 else Q.And(parts))
    if not alts:
        return None
    return alts[0] if len(alts) == 1 else Q.Or(alts)


def highlight_needles(pq: ParsedQuery) -> list[str]:
    """Strings to mark: each item and its synonym forms whole, then the words of unquoted items as typed
    (marking prefers the longest, so a whole phrase is marked as one)."""
    out: list[str] = []
    for it in pq.positive_items():
        texts = forms(it, pq.use_synonyms)
        out += [w for t in texts for w in t.split()]
        if not it.phrase:
            for t in [it.text] + ([it.typed] if it.typed else []):
                out.extend(w for w in words(t) if len(w) >= 2)
    return list(dict.fromkeys(n for n in out if n.strip()))


def sentence_needles(pq: ParsedQuery) -> list[list[str]]:
    """For example sentences: one list of acceptable strings per AND group (its items and synonym forms)."""
    out: list[list[str]] = []
    for g in pq.groups:
        alts: list[str] = []
        for it in g:
            alts.append(gram_text(it.text))
            if it.typed:
                alts.append(gram_text(it.typed))
            if pq.use_synonyms and not it.phrase:
                alts += [gram_text(alt) for alt, _f, _o in expand(it.text) if " " not in alt]
        out.append([a for a in dict.fromkeys(alts) if a])
    return out


def replace_item(pq: ParsedQuery, item: Item, new_text: str) -> str:
    """The query string with one item's text replaced (for "did you mean")."""
    parts = []
    for g in pq.groups:
        alts = []
        for it in g:
            t = new_text if it is item else it.text
            alts.append(f'"{t}"' if it.phrase else t)
        parts.append(" OR ".join(alts))
    parts += [f"-{it.text}" for it in pq.exclude]
    return " ".join(parts)


def normalize_prefix(text: str | None) -> str:
    """What a suggestion prefix is matched as: NFKC, simplified, lower case, trimmed."""
    s = unicodedata.normalize("NFKC", text or "").strip().lower()[:40]
    return to_simplified(s)
