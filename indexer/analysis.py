"""Text analysis for the index, as Whoosh tokenizer | filter pipelines.

Two analyzers, each used for BOTH indexing and query parsing so that a query is
always cut the way the documents were:

* ``word_analyzer``: jieba in *search* mode (a long word also yields its
  dictionary sub-words: 公共卫生服务 → 公共, 卫生, 公共卫生, 服务 …), lower-cased,
  punctuation dropped.  It drives relevance ranking.
* ``gram_analyzer``: overlapping character bigrams of the normalised text with
  white space removed.  A phrase query over bigrams matches exactly the
  character sequence, so recall does not depend on how jieba happened to cut a
  document (卫生服务 inside 公共卫生服务中心).

Segmentation speed: :func:`search_tokens` gives exactly jieba's
``tokenize(mode="search")`` output, computed with jieba-rs (``rjieba``, ~10×
faster) for the plain cut, then jieba's own search-mode sub-word rule over
jieba's dictionary.  The few tokens where jieba-rs and jieba disagree (runs of
digits/Latin such as ``2011-2020``, characters outside jieba's Han range) are
re-cut with jieba itself.  ``tests/equivalence/test_rjieba_vs_jieba.py`` checks token-for-token
equality on ../shared.  Without rjieba it falls back to jieba.

At index time the fields are handed to Whoosh pre-tokenized (lists of terms,
see :func:`index_words` / :func:`bigrams`, computed in the indexing
worker processes by ``schema.to_fields``), so the single Whoosh writer does no
segmentation at all.
"""
from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator

import numpy as np
from whoosh.analysis import CompositeAnalyzer, LowercaseFilter, Token, Tokenizer

from .segdict import _import_jieba
from .segdict import tokenizer as _jieba_tokenizer
from .settings import current as current_settings
from .textnorm import nfkc

log = logging.getLogger(__name__)

jieba = _import_jieba()  # (without its slow pkg_resources import; logs at WARNING)

try:  # jieba-rs: same dictionary and algorithm as jieba, in Rust
    import rjieba as _rjieba
except ImportError:  # pragma: no cover - optional speed-up
    _rjieba = None



def fast_segmenter() -> bool:
    """Whether jieba-rs cuts (``$REPORTSEARCH_SEGMENTER`` is not ``jieba`` and rjieba is installed)."""
    return _rjieba is not None and current_settings().segmenter != "jieba"

_HAN_ONLY = re.compile("[\u4E00-\u9FD5]+\\Z")


def _jieba_dt():
    """``jieba.dt``, initialized: its dictionary loaded once per process, shared with the region
    facet's word-boundary checks, from the cache of :mod:`indexer.segdict`."""
    dt = jieba.dt
    if not dt.initialized:
        dt = _jieba_tokenizer()
    return dt


def cut(text: str) -> list[str]:
    """``jieba.lcut(text)`` (accurate mode, HMM on), computed with jieba-rs where it agrees."""
    if not fast_segmenter():
        _jieba_dt()
        return jieba.lcut(text)
    dt = _jieba_dt()
    out: list[str] = []
    for w in _rjieba.cut(text):
        if len(w) > 1 and not _HAN_ONLY.match(w):
            # digits/Latin runs and characters outside jieba's Han range: jieba's own rules
            out.extend(dt.cut(w))
        else:
            out.append(w)
    return out


def search_tokens(text: str) -> list[tuple[str, int, int]]:
    """Exactly ``list(jieba.tokenize(text, mode="search"))``: (word, start, end), sub-words first."""
    if not fast_segmenter():
        _jieba_dt()
        return list(jieba.tokenize(text, mode="search"))
    freq = _jieba_dt().FREQ
    out: list[tuple[str, int, int]] = []
    start = 0
    for w in cut(text):
        width = len(w)
        if width > 2:
            for i in range(width - 1):
                g = w[i:i + 2]
                if freq.get(g):
                    out.append((g, start + i, start + i + 2))
            if width > 3:
                for i in range(width - 2):
                    g = w[i:i + 3]
                    if freq.get(g):
                        out.append((g, start + i, start + i + 3))
        out.append((w, start, start + width))
        start += width
    return out


def index_words(text: str) -> list[str]:
    """The terms :func:`word_analyzer` makes of ``text``, in order (for pre-tokenized indexing).

    Same as ``[w.lower() for w, _, _ in search_tokens(text) if _WORDY.search(w)]``, but
    without the per-token Python work: everything :func:`search_tokens` does to a token of
    jieba-rs's cut (re-cut by jieba, search-mode sub-words, the punctuation filter, lower
    case) depends on that token alone, so it is done once per distinct token
    (:data:`_TERMS`) and a document is just the concatenation of its tokens' terms.
    """
    if not fast_segmenter():
        search = _WORDY.search
        return [w.lower() for w, _s, _e in search_tokens(text) if search(w)]
    if not text:
        return []
    if len(_TERMS) > _TERMS_MAX:
        _TERMS.clear()
    out: list[str] = []
    extend = out.extend
    # (measured faster than list(chain.from_iterable(...)); the terms are the cache's own
    # string objects, which also makes the documents' term lists pickle to half the size)
    for terms in map(_TERMS.__getitem__, _rjieba.cut(text)):
        extend(terms)
    return out


def bigrams(text: str) -> list[str]:
    """The character bigrams of ``text`` as the bigram field indexes and queries them, in order.

    The one bigram function of the project: :func:`gram_text` (normalised, no white
    space), then :func:`character_bigrams`; what :func:`gram_analyzer` yields, so
    the indexing workers hand Whoosh the same terms its analyzer would make.
    """
    return character_bigrams(gram_text(text))


def character_bigrams(g: str) -> list[str]:
    """The overlapping two-character strings of ``g`` (a text already in gram form, without white
    space); a one-character text is its own only term, an empty one has none."""
    if len(g) <= 1:
        return [g] if g else []
    # The bigrams are cut out of one string "c0c1 c1c2 c2c3 …" built with numpy, by one
    # str.split: a single allocation per bigram and no Python-level loop (2.5× faster than
    # slicing in a list comprehension).  gram_text has removed all white space, so " " can
    # only be the separator.
    u = np.frombuffer(g.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    pairs = np.empty((len(u) - 1, 3), dtype=np.uint32)
    pairs[:, 0] = u[:-1]
    pairs[:, 1] = u[1:]
    pairs[:, 2] = 0x20
    return pairs.tobytes()[:-4].decode("utf-32-le", "surrogatepass").split(" ")


class _TokenTerms(dict):
    """jieba-rs token → the index terms it yields (a tuple); filled on first sight of a token.

    The dictionaries (jieba's FREQ, jieba-rs's) are fixed for the life of a process, as
    :func:`cut` already assumes, so a token's terms never change.
    """

    def __missing__(self, tok: str) -> tuple[str, ...]:
        # exactly what cut() and search_tokens() do with this one token, offsets aside
        if _HAN_ONLY.match(tok):
            # the common case, kept short: jieba keeps a Han-only token whole, and Han
            # characters are word characters without case (tests/equivalence/test_text_fast_paths.py checks both)
            out = (tok,) if len(tok) <= 2 else tuple(_sub_words(tok, _jieba_dt().FREQ)) + (tok,)
        else:
            dt = _jieba_dt()
            terms: list[str] = []
            for w in (dt.cut(tok) if len(tok) > 1 else (tok,)):
                terms += _sub_words(w, dt.FREQ)
                terms.append(w)
            out = tuple(t.lower() for t in terms if _WORDY.search(t))
        self[tok] = out
        return out


def _sub_words(w: str, freq: dict[str, int]) -> list[str]:
    """jieba's search-mode extra words of ``w``: its dictionary 2-grams, then 3-grams."""
    width = len(w)
    if width <= 2:
        return []
    out = [g for g in (w[i:i + 2] for i in range(width - 1)) if freq.get(g)]
    if width > 3:
        out += [g for g in (w[i:i + 3] for i in range(width - 2)) if freq.get(g)]
    return out


_TERMS = _TokenTerms()
_TERMS_MAX = 100_000  # distinct tokens (~150 B each with their terms): cleared, not grown, beyond this

_WORDY = re.compile(r"\w", re.UNICODE)
_SPACE = re.compile(r"\s+")


@functools.lru_cache(maxsize=1)
def _t2s():
    try:
        import opencc

        return opencc.OpenCC("t2s")
    except Exception as exc:  # noqa: BLE001 - OpenCC missing or its data unreadable: no conversion rather than a failure
        log.debug("OpenCC unavailable, no traditional→simplified conversion: %r", exc)
        return None


def to_simplified(text: str) -> str:
    """Traditional characters → simplified (OpenCC t2s); unchanged when OpenCC is unavailable."""
    conv = _t2s()
    if conv is None or not text:
        return text
    try:
        return conv.convert(text)
    except Exception as exc:  # noqa: BLE001 - conversion is best-effort: the text unchanged beats a failed page
        log.debug("OpenCC conversion failed: %r", exc)
        return text


def simplified_variant(text: str) -> str | None:
    """The simplified form of a text written in traditional characters, else None (cheap for most texts)."""
    probe = text[:4000]
    if to_simplified(probe) == probe:
        return None
    simp = to_simplified(text)
    return simp if simp != text else None


def matching_form(text: str) -> str:
    """NFKC (full-width letters/digits → ASCII) and lower case: the form both sides are matched in."""
    return nfkc(text).lower()


def gram_text(text: str) -> str:
    """The normalised text with white space removed, as the bigram field sees it."""
    return _SPACE.sub("", matching_form(text))


class JiebaTokenizer(Tokenizer):
    """jieba search-mode words with character offsets; punctuation-only tokens are dropped."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JiebaTokenizer)

    def __hash__(self) -> int:  # pragma: no cover - Whoosh compares, never hashes
        return hash(type(self))

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs: object) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        pos = start_pos
        for word, start, end in search_tokens(value):
            if not _WORDY.search(word):
                continue
            t.text = word
            t.boost = 1.0
            if keeporiginal:
                t.original = word
            t.stopped = False
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class BigramTokenizer(Tokenizer):
    """Overlapping character bigrams of :func:`gram_text`; a one-character text yields itself."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BigramTokenizer)

    def __hash__(self) -> int:  # pragma: no cover
        return hash(type(self))

    def __call__(self, value: str, positions: bool = False, chars: bool = False, keeporiginal: bool = False,
                 removestops: bool = True, start_pos: int = 0, start_char: int = 0, tokenize: bool = True,
                 mode: str = "", **kwargs: object) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        text = gram_text(value) if tokenize else value
        for i, g in enumerate(character_bigrams(text)):
            t.text = g
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = g
            if positions:
                t.pos = start_pos + i
            if chars:  # offsets are in the normalised text; highlights never use them
                t.startchar = start_char + i
                t.endchar = start_char + i + len(g)
            yield t


def word_analyzer() -> CompositeAnalyzer:
    """jieba words, lower-cased: the ranking analyzer for title and content."""
    return JiebaTokenizer() | LowercaseFilter()


def gram_analyzer() -> BigramTokenizer:
    """Character bigrams: the recall analyzer."""
    return BigramTokenizer()


def words(text: str) -> list[str]:
    """The words :func:`word_analyzer` makes of a query string (for highlighting and term queries)."""
    return [t.text for t in word_analyzer()(text)]

