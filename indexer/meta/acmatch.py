"""Longest non-overlapping matches of a fixed word list in a text, fast.

:class:`LongestMatcher` gives the leftmost-longest matches: scanning left to right,
the longest word starting at the leftmost position where any word starts, then on
after its end.  With ``ahocorasick-rs`` (the Rust ``aho-corasick`` crate, installed
as a dependency) it asks that automaton in ``LeftmostLongest`` mode: about five times
faster than pyahocorasick's ``iter_long`` on the region gazetteer (0.06 vs 0.29 s for
400 reports).  pyahocorasick's ``iter_long`` gives the same matches on real text
(``tests/equivalence/test_text_fast_paths.py`` compares them on every shared corpus), but it drops a
short word that follows a partial longer one (words ``ab``/``b``/``abb``, text
``xab``: no match), which leftmost-longest finds.  Without ``ahocorasick-rs`` the
pyahocorasick path below is used.

Why the pyahocorasick path is arranged as it is: pyahocorasick finds a trie node's child by a linear scan of its children, in
insertion order.  The root of an automaton over many words has one child per
distinct first character (2,500 for the region gazetteer), and the walk is back at
the root for most characters of ordinary text, so almost all of the matching time
went into scanning the root's list, often in vain.

What :class:`LongestMatcher` changes (none of it changes the matches):

* words are inserted in order of their first character's frequency (``char_freq``),
  so a common character is found near the start of the root's list;
* each character that occurs in the words but never first gets a root child too,
  through a never-matching word ``c + NEVER``;
* every character that occurs in no word is replaced by ``NO_WORD`` (one character
  for one, so offsets stay) before matching, and ``NO_WORD`` is the root's first
  child, again through a never-matching word.

Why the matches stay the same: ``NEVER`` never occurs in the text handed to the
automaton (it is in no word, so it is replaced by ``NO_WORD``).  An added root child
therefore leads nowhere: from it the walk falls back to the root exactly where the
plain automaton would have stayed at the root, and it never holds a pending match.
The failure links it can gain (root → the added child, for nodes with no other
proper suffix in the trie) lead nowhere either, and it does not end a word, so
``iter_long``'s "fail over to a shorter word" rule never fires on it.  A character
in no word resets the walk to the root (after reporting any pending match) whatever
it is, so replacing one such character by another changes nothing.
``tests/equivalence/test_text_fast_paths.py`` compares the matches with a plain automaton.

When it pays: for a long word list whose characters cover most of the text (the
region gazetteer: 3,000 characters, 80 % of a report's).  For a short list (the
topic terms) most characters would be replaced, and the substitution would cost
more than the scans it saves.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

try:
    import ahocorasick  # type: ignore
except ImportError:  # pragma: no cover
    ahocorasick = None  # type: ignore
try:
    import ahocorasick_rs  # type: ignore
except ImportError:  # pragma: no cover
    ahocorasick_rs = None  # type: ignore

# Private-use characters, in none of the project's word lists.
NO_WORD = "\ue000"  # replaces every character that occurs in no word
NEVER = "\ue001"  # never in the text handed to the automaton: ends the never-matching words


class LongestMatcher:
    """Leftmost-longest matches of ``words`` (word → value): ``ahocorasick-rs``, else pyahocorasick."""

    def __init__(self, words: Iterable[tuple[str, Any]], char_freq: dict[str, float] | None = None,
                 plain: bool = False) -> None:
        """``plain``: on the pyahocorasick path, a plain automaton (right for a short word list,
        whose characters are a small part of the text; see the module docstring)."""
        items = [(w, v) for w, v in words if w]
        self._words = [w for w, _v in items]
        self._values = [v for _w, v in items]
        self._rs = None
        if ahocorasick_rs is not None:
            self._build_rs()
            return
        if ahocorasick is None:  # pragma: no cover
            raise RuntimeError("neither ahocorasick-rs nor pyahocorasick is installed")
        alphabet = {c for w, _v in items for c in w}
        self._not_in_words: re.Pattern[str] | None = None
        A = ahocorasick.Automaton()
        if plain or not alphabet or NO_WORD in alphabet or NEVER in alphabet:  # a plain automaton
            for w, v in items:
                A.add_word(w, v)
        else:
            freq = char_freq or {}
            first = {w[0] for w, _v in items}
            ordered: list[tuple[str, Any]] = items + [(c + NEVER, None) for c in sorted(alphabet - first)]
            ordered.sort(key=lambda wv: -freq.get(wv[0][0], 0))  # stable: ties keep their order
            A.add_word(NO_WORD + NEVER, None)  # first: the root's first child
            for w, v in ordered:
                A.add_word(w, v)
            self._not_in_words = re.compile("[^" + "".join(re.escape(c) for c in sorted(alphabet)) + "]")
        A.make_automaton()
        self.automaton = A

    def _build_rs(self) -> None:
        self._not_in_words = None
        self.automaton = None
        if self._words:
            self._rs = ahocorasick_rs.AhoCorasick(self._words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)

    def __getstate__(self) -> dict:
        # the Rust automaton does not pickle: the words do, and it is built again when loaded
        # (0.35 s for the 114,000 names of the region gazetteer)
        state = dict(self.__dict__)
        state["_rs"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.automaton is None and self._words:
            if ahocorasick_rs is not None:
                self._build_rs()
            else:  # pragma: no cover - cached where ahocorasick-rs was installed, loaded where it is not
                self.__init__(zip(self._words, self._values))

    def iter_long(self, text: str) -> Iterator[tuple[int, Any]]:
        """``(end index, value)`` of the leftmost-longest non-overlapping matches."""
        if self._rs is not None:
            values = self._values
            return iter([(e - 1, values[i]) for i, _s, e in self._rs.find_matches_as_indexes(text)])
        if not self._words:
            return iter(())
        if self._not_in_words is not None:
            text = self._not_in_words.sub(NO_WORD, text)
        return self.automaton.iter_long(text)
