"""Snippets and highlights computed from the stored text, without re-segmenting it.

Page text is data, never markup: every piece of text is escaped and only the
``<mark>`` tags this module adds are markup.
"""
from __future__ import annotations

from markupsafe import Markup, escape

from . import query as qmod

MAX_MATCHES = 2000


def find_spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans where any needle occurs (case-insensitive), longest first."""
    if not text or not needles:
        return []
    low = text.lower()
    taken = bytearray(len(text))
    spans: list[tuple[int, int]] = []
    for needle in sorted({n.lower() for n in needles if n}, key=len, reverse=True):
        start = 0
        while len(spans) < MAX_MATCHES:
            i = low.find(needle, start)
            if i < 0:
                break
            j = i + len(needle)
            if not any(taken[i:j]):
                spans.append((i, j))
                taken[i:j] = b"\x01" * (j - i)
            start = i + 1
    spans.sort()
    return spans


def mark(text: str, spans: list[tuple[int, int]], offset: int = 0) -> Markup:
    """Escape ``text`` and wrap the spans (relative to ``offset``) in ``<mark>``."""
    out: list[str] = []
    pos = 0
    for s, e in spans:
        s, e = s - offset, e - offset
        if e <= 0 or s >= len(text):
            continue
        s, e = max(s, 0), min(e, len(text))
        out.append(str(escape(text[pos:s])))
        out.append("<mark>" + str(escape(text[s:e])) + "</mark>")
        pos = e
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def highlight(text: str, needles: list[str]) -> Markup:
    """The whole text, escaped, with every occurrence of the needles marked (whole phrases first)."""
    return mark(text, find_spans(text, phrase_needles(text, needles)))


def snippet(text: str, needles: list[str], width: int = 160) -> Markup:
    """A window of about ``width`` characters where the most (and longest) needles occur, marked.

    Without matches (browsing, or a match only in the title) it is the start of
    the text.
    """
    flat = " ".join(text.split())
    spans = find_spans(flat, needles)
    if not spans:
        cut = flat[:width]
        return Markup(str(escape(cut)) + ("…" if len(flat) > width else ""))
    lowered = {n.lower() for n in needles}
    best, best_score = spans[0][0], -1
    for anchor, _ in spans[:200]:
        lo = max(0, anchor - width // 4)
        window = flat[lo:lo + width].lower()
        # a needle weighs its length squared: the whole phrase (卫生监督) outweighs its words
        # (卫生, 监督) scattered over the window
        score = sum(len(n) ** 2 for n in lowered if n in window)
        if score > best_score:
            best, best_score = anchor, score
    lo = max(0, best - width // 4)
    hi = min(len(flat), lo + width)
    inside = [(s, e) for s, e in spans if s < hi and e > lo]
    body = mark(flat[lo:hi], inside, offset=lo)
    return Markup(("…" if lo > 0 else "") + str(body) + ("…" if hi < len(flat) else ""))


def phrase_needles(text: str, needles: list[str]) -> list[str]:
    """The needles worth marking in ``text``: a part of a longer needle only where the whole is absent.

    The query 签约医生 gives the needles 签约医生, 签约 and 医生.  When the text
    holds 签约医生, marking 签约 and 医生 elsewhere would scatter the reader's eye
    over loose words, so only the phrase is marked; when the phrase never occurs,
    its parts are all there is to show.
    """
    low = (text or "").lower()
    present = [n for n in dict.fromkeys(needles) if n and n.lower() in low]
    return [n for n in present
            if not any(m != n and n.lower() in m.lower() for m in present)]


def item_needles(pq: qmod.ParsedQuery) -> list[tuple[tuple[str, ...], list[str]]]:
    """Per query item, what :func:`needles_in` looks for: the item as written (and as typed), and
    the needles to fall back on (its synonym forms, then its words).  Independent of any text,
    so a search computes it once for all its hits (the words come from jieba)."""
    out: list[tuple[tuple[str, ...], list[str]]] = []
    for it in pq.positive_items():
        single = qmod.ParsedQuery(groups=[[it]], use_synonyms=pq.use_synonyms)
        out.append((tuple(t for t in (it.text, it.typed) if t), qmod.highlight_needles(single)))
    return out


def needles_in(text: str, items: list[tuple[tuple[str, ...], list[str]]]) -> list[str]:
    """What to mark in ``text``: per query item (:func:`item_needles`), the item itself where the
    text has it.

    Only when the text lacks the item as typed are its synonym forms and, failing
    those, its words marked (:func:`phrase_needles`), so 家庭医生签约 is not
    joined by 家医 inside 22家医疗机构, nor 签约医生 by every 医生.
    """
    low = (text or "").lower()
    out: list[str] = []
    for forms, fallback in items:
        own = [t for t in forms if t.lower() in low]
        out += own if own else phrase_needles(text, fallback)
    return list(dict.fromkeys(out))


def page_needles(text: str, pq: qmod.ParsedQuery) -> list[str]:
    """What to mark on a document page for a query (:func:`needles_in` of :func:`item_needles`)."""
    return needles_in(text, item_needles(pq))


def mark_matches(pieces: list[str], needles: list[str]) -> tuple[list[Markup], int]:
    """The pieces of one page (its sentences, in reading order) with the matches marked and numbered.

    Every ``<mark id="mK">`` (K = 1, 2 … over the whole page) carries links to the
    previous and the next match, which the style sheet shows on the match the
    address points to (``:target``): the document page jumps from match to match
    through anchors alone, and a script only adds floating previous/next buttons.
    Returns the marked pieces and the number of matches.
    """
    wanted = phrase_needles("\n".join(pieces), needles)
    spans = [find_spans(p, wanted) for p in pieces]
    total = sum(len(sp) for sp in spans)
    k = 0
    out: list[Markup] = []
    for piece, sp in zip(pieces, spans):
        parts: list[str] = []
        pos = 0
        for s, e in sp:
            k += 1
            prev = f'<a class="mnav prev" href="#m{k - 1}" aria-label="上一处匹配">‹</a>' if k > 1 else ""
            nxt = f'<a class="mnav next" href="#m{k + 1}" aria-label="下一处匹配">›</a>' if k < total else ""
            parts.append(str(escape(piece[pos:s])))
            parts.append(f'<mark id="m{k}">{prev}{escape(piece[s:e])}{nxt}</mark>')
            pos = e
        parts.append(str(escape(piece[pos:])))
        out.append(Markup("".join(parts)))
    return out, total
