"""The per-document speed-ups give exactly what the plain code they replace gives.

Each fast path (indexer/textnorm.py, indexer/meta/acmatch.py, the per-token term cache
and numpy bigrams of indexer/analysis.py, the MinHash shortcuts of indexer/dedup.py,
the regex and str.replace rewrites in clean/ and meta/) is compared with the
straightforward version, on the shared corpora and on random strings chosen to hit
the edge cases (combining marks, compatibility characters, private-use stand-ins).
"""
from __future__ import annotations

import random
import re
import unicodedata

import numpy as np
import pytest
from conftest import shared_texts
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import analysis, dedup
from indexer.clean import normalize as clean_normalize
from indexer.clean.damage import _pattern as damage_pattern
from indexer.clean.damage import damage_hits
from indexer.meta import regions, textutil
from indexer.meta.acmatch import NEVER, NO_WORD, LongestMatcher
from indexer.textnorm import nfkc

ahocorasick = pytest.importorskip("ahocorasick")


# Characters that make normalisation interesting: full-width forms, compatibility
# characters, combining marks (composing and not), Hangul jamo, half-width katakana with
# its voiced mark, CJK and its compatibility ideographs, lone surrogates.
_TRICKY = ("，；：（）％！？１２ＡＢａｂ\u3000\xa0…①⑵ⅡⅢ²ﬁ㍻㈱\uf900\uf9dc\u2f00e\u0301\u0323\u0308a\u030a"
           "\u1100\u1161\u11a8가ｶﾞﾟ\uff9e\u00a8\u0344\u0f73\u2126Å中文國務院 \n\t\ud800\udfffxyz09")


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=st.sampled_from(_TRICKY), max_size=40))
def test_nfkc_equals_unicodedata_on_tricky_strings(s: str) -> None:
    assert nfkc(s) == unicodedata.normalize("NFKC", s)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_nfkc_equals_unicodedata_on_any_strings(s: str) -> None:
    assert nfkc(s) == unicodedata.normalize("NFKC", s)


def test_text_normalisers_equal_plain_versions_on_shared_corpora(shared) -> None:
    search = analysis._WORDY.search
    for text in shared_texts(shared):
        assert nfkc(text) == unicodedata.normalize("NFKC", text)
        g = analysis.gram_text(text)
        assert g == re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())
        assert analysis.bigrams(text) == ([g] if len(g) == 1 else [g[i:i + 2] for i in range(len(g) - 1)])
        expected = [w.lower() for w, _s, _e in analysis.search_tokens(text) if search(w)]
        assert analysis.index_words(text) == expected
        assert clean_normalize.cjk_count(text) == sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def test_index_words_on_tricky_inputs() -> None:
    search = analysis._WORDY.search
    for text in ["2011-2020年PM2.5浓度下降3.5%", "ＡＢＣ全角与半角混排abc", "C++与C#，GDP增长6.5％", "㐀㐁罕用字与〇",
                 "  空格\t制表\r\n换行  ", "", "a", "公共卫生服务中心", "中华人民共和国国务院总理", "İstanbul ΣΑΣ"]:
        for _ in range(2):  # first from an empty term cache, then from a filled one
            assert analysis.index_words(text) == [w.lower() for w, _s, _e in analysis.search_tokens(text) if search(w)]


def test_bigrams_edge_cases() -> None:
    for text in ["ab", "a b", "\ud83d\ude00x", "\ud800", "x\udfffy z", "😀好", "Ａ１ ２", "字", "", "  ", "ab\n"]:
        g = analysis.gram_text(text)
        assert analysis.bigrams(text) == ([g] if len(g) == 1 else [g[i:i + 2] for i in range(len(g) - 1)])


def test_han_range_has_no_case_and_is_all_word_characters() -> None:
    """What the fast path of analysis._TokenTerms relies on."""
    for cp in range(0x4E00, 0x9FD6):
        c = chr(cp)
        assert c.lower() == c and analysis._WORDY.search(c)


def _plain_shingle_signature(text: str) -> np.ndarray | None:
    """dedup.signature as first written: np.unique, then the full (a·x + b) >> 32 matrix."""
    norm = dedup.normalize_for_dedup(text)
    if len(norm) < dedup.SHINGLE:
        return None
    cps = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    k = min(dedup.SHINGLE, len(cps))
    n = len(cps) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    for i in range(k):
        h = (h * np.uint64(1_000_003) + cps[i : i + n]) & np.uint64(0xFFFFFFFFFFFF)
    h ^= h >> np.uint64(17)
    hv = np.unique((h * np.uint64(0x9E3779B1)) & dedup._MAX_HASH)
    sig = np.full(dedup.NUM_PERM, dedup._MAX_HASH, dtype=np.uint64)
    if hv.size > dedup.SAMPLE_ABOVE:
        sampled = hv[(hv & np.uint64(3)) == 0]
        if sampled.size:
            hv = sampled
    for start in range(0, hv.size, 4096):
        ph = (np.outer(hv[start : start + 4096], dedup._A) + dedup._B) >> np.uint64(32)
        sig = np.minimum(sig, ph.min(axis=0))
    return sig.astype(np.uint32)


def test_signature_equals_plain_computation(shared) -> None:
    texts = shared_texts(shared)
    texts += [t[: n] for t in texts[:20] for n in (3, 5, 6, 40, 9000)]  # short, sampled and multi-chunk cases
    texts.append("".join(texts[:3]) * 2)
    for text in texts:
        a, b = dedup.signature(text), _plain_shingle_signature(text)
        assert (a is None and b is None) or (a.dtype == b.dtype and np.array_equal(a, b))
        assert dedup.normalize_for_dedup(text) == dedup._DIGITS.sub(
            "0", dedup._DROP.sub("", unicodedata.normalize("NFKC", text).lower()))


def _random_words(rng: random.Random, alphabet: str) -> list[str]:
    words = list({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 25))})
    rng.shuffle(words)
    return words


def _leftmost_longest(words: list[str], text: str) -> list[tuple[int, str]]:
    """The definition, slowly: the longest word at the leftmost position any word starts, then on after it."""
    out, i = [], 0
    longest = max(map(len, words), default=0)
    while i < len(text):
        hit = next((text[i:i + n] for n in range(min(longest, len(text) - i), 0, -1) if text[i:i + n] in words), None)
        if hit:
            out.append((i + len(hit) - 1, hit))
            i += len(hit)
        else:
            i += 1
    return out


def test_longest_matcher_is_leftmost_longest_on_random_word_lists() -> None:
    from indexer.meta import acmatch

    assert acmatch.ahocorasick_rs is not None, "ahocorasick-rs is a dependency"
    rng = random.Random(1)
    for _ in range(1500):
        alphabet = "abcdefg"[: rng.randint(2, 7)]
        words = _random_words(rng, alphabet)
        freq = {c: rng.random() for c in "abcdefgh"} if rng.random() < 0.8 else None
        fast = LongestMatcher(((w, w) for w in words), freq)
        for _ in range(20):
            text = "".join(rng.choice(alphabet + "xyz" + NO_WORD + NEVER) for _ in range(rng.randint(0, 40)))
            assert list(fast.iter_long(text)) == _leftmost_longest(words, text), (words, text)


def test_longest_matcher_survives_pickling_and_agrees_with_pyahocorasick_on_its_own_path() -> None:
    """The gazetteer's matcher is cached pickled (the Rust automaton is rebuilt on load); the
    pyahocorasick fallback gives pyahocorasick's ``iter_long`` (its only difference: see acmatch)."""
    import pickle

    from indexer.meta import acmatch

    rng = random.Random(2)
    for _ in range(300):
        alphabet = "abcdefg"[: rng.randint(2, 7)]
        words = _random_words(rng, alphabet)
        fast = LongestMatcher(((w, w.upper()) for w in words), {c: rng.random() for c in alphabet})
        again = pickle.loads(pickle.dumps(fast))
        plain = ahocorasick.Automaton()
        for w in words:
            plain.add_word(w, w.upper())
        plain.make_automaton()
        rs = acmatch.ahocorasick_rs
        try:
            acmatch.ahocorasick_rs = None
            py = LongestMatcher(((w, w.upper()) for w in words), {c: rng.random() for c in alphabet})
        finally:
            acmatch.ahocorasick_rs = rs
        for _ in range(10):
            text = "".join(rng.choice(alphabet + "xyz") for _ in range(rng.randint(0, 40)))
            assert list(again.iter_long(text)) == list(fast.iter_long(text))
            assert list(py.iter_long(text)) == list(plain.iter_long(text))


def test_region_matches_equal_plain_automaton_on_shared_corpora(shared) -> None:
    g = regions.gazetteer()
    if g.automaton is None:
        pytest.skip("gazetteer unavailable")
    plain = ahocorasick.Automaton()
    for key in g.aliases:
        plain.add_word(key, key)
    plain.make_automaton()
    for text in shared_texts(shared):
        assert list(g.automaton.iter_long(text)) == list(plain.iter_long(text))


_OLD_LEVEL_PATTERNS = [
    re.compile(r"[我本]省|全省|省委|省政府|省人民政府|自治区人民政府|自治区党委|自治区政府|[我本全]自治区|代表自治区"),
    re.compile(r"[我本]市|全市|市委|市政府|市人民政府"),
    re.compile(r"[我本全]州|州委|州政府|[我本全]盟|盟委"),
    re.compile(r"[我本全]县|县委|县政府|县人民政府|[我本全]旗|旗委"),
    re.compile(r"[我本]区|全区|区委|区政府|区人民政府"),
]
_OLD_LOCAL_SELF = re.compile(r"[我本全](?:省|市|县|区|州|旗)|自治区人民政府")


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from("我本全省市州盟县旗区自治委政府人民代表党 x"), max_size=30))
def test_rewritten_level_patterns_match_the_same(s: str) -> None:
    for old, (_lvl, new) in zip(_OLD_LEVEL_PATTERNS, regions._LEVEL_PATTERNS):
        assert new.findall(s) == old.findall(s)
    assert regions._LOCAL_SELF.findall(s) == _OLD_LOCAL_SELF.findall(s)


_REPLACED = "".join(clean_normalize._TRANSLATE_STR) + "".join(textutil._TABLE_STR) + "ab 中文，\n\t\r"


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(_REPLACED), max_size=30))
def test_replace_loops_equal_translate(s: str) -> None:
    t = s.replace("\r\n", "\n").replace("\r", "\n")
    assert clean_normalize.normalize_text(s) == (clean_normalize._SURROGATES.sub("", t.translate(clean_normalize._TRANSLATE)) if s else "")
    assert textutil.fold_width(s) == (s.translate(textutil._TABLE) if s else "")


def test_damage_hits_count_in_first_seen_order(shared) -> None:
    for text in shared_texts(shared)[:40] + ["效劳根底效劳原那么经济社会开展效劳"]:
        hits: dict[str, int] = {}
        for m in damage_pattern().finditer(text):
            hits[m.group(0)] = hits.get(m.group(0), 0) + 1
        got = damage_hits(text)
        assert got == hits and list(got) == list(hits)
