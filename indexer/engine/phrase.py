"""An exact-sequence query on the bigram field that checks positions with set arithmetic.

Whoosh's ``Phrase`` builds a ``SpanNear2`` query: for every candidate document
it makes a ``Span`` object per position of every word, sorts them and merges
them pairwise.  For the bigram field, where a phrase of n characters is n-1
bigrams that must sit at consecutive positions, that is the slowest part of a
quoted search.  :class:`GramPhrase` matches exactly the same documents (the
same intersection of the bigrams' postings, then consecutive positions
p, p+1, …) and scores them the same way (the intersection's score, as the span
matcher does), but the position check is one set intersection per bigram.
``tests/equivalence/test_gram_phrase_vs_phrase.py`` compares it with ``Phrase`` on real queries.
"""
from __future__ import annotations

from whoosh import matching
from whoosh import query as Q
from whoosh.matching import binary
from whoosh.query.spans import Span, SpanWrappingMatcher
from whoosh.util import make_binary_tree


class GramPhrase(Q.Phrase):
    """``Phrase`` with slop 1 (consecutive positions), matched by :class:`ConsecutiveMatcher`."""

    def matcher(self, searcher, context=None):
        fieldname = self.fieldname
        if fieldname not in searcher.schema or self.slop != 1:
            return super().matcher(searcher, context)
        field = searcher.schema[fieldname]
        if not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)
        reader = searcher.reader()
        terms = []
        for word in self.words:
            try:
                word = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (fieldname, word) not in reader:
                return matching.NullMatcher()  # one bigram missing: no document has the sequence
            terms.append(Q.Term(fieldname, word))
        ms = [t.matcher(searcher, context) for t in terms]
        m = ConsecutiveMatcher(ms)
        if self.boost != 1.0:
            m = matching.WrappingMatcher(m, boost=self.boost)
        return m


class ConsecutiveMatcher(SpanWrappingMatcher):
    """Documents where word i of the phrase occurs at position p + i for some p."""

    def __init__(self, ms):
        self.ms = ms
        super().__init__(make_binary_tree(binary.IntersectionMatcher, ms))

    def copy(self):
        return self.__class__([m.copy() for m in self.ms])

    def replace(self, minquality=0):
        if not self.is_active():
            return matching.NullMatcher()
        return self

    def _get_spans(self):
        starts = None
        for i, m in enumerate(self.ms):
            cand = {p - i for p in m.value_as("positions")}
            starts = cand if starts is None else starts & cand
            if not starts:
                return []
        n = len(self.ms) - 1
        return [Span(s, s + n) for s in sorted(starts)]
