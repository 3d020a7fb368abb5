"""The numpy evaluator falls back to Whoosh only for query shapes it declares unsupported.

Any other exception in the fast path is a bug: it must surface (here, and in every test
that searches), not be hidden behind a slower answer and a log line.
"""
from __future__ import annotations

import pytest

from indexer.engine import Unsupported
from searchapp import engine as engine_mod


def test_unsupported_uses_whoosh_with_the_same_answer(full_index, monkeypatch):
    fast = engine_mod.SearchEngine(full_index)
    slow = engine_mod.SearchEngine(full_index)
    try:
        want = fast.search("卫生 教育", per_page=20)

        def unsupported(self, q):
            raise Unsupported("test: a shape the evaluator does not implement")

        monkeypatch.setattr(engine_mod.Evaluator, "evaluate", unsupported)
        got = slow.search("卫生 教育", per_page=20)
        assert got.total == want.total > 0
        assert [h.id for h in got.hits] == [h.id for h in want.hits]
    finally:
        fast.close()
        slow.close()


def test_any_other_exception_surfaces(full_index, monkeypatch):
    eng = engine_mod.SearchEngine(full_index)
    try:
        def broken(self, q):
            raise RuntimeError("a bug in the evaluator")

        monkeypatch.setattr(engine_mod.Evaluator, "evaluate", broken)
        with pytest.raises(RuntimeError, match="a bug in the evaluator"):
            eng.search("基本药物 制度", per_page=10)
    finally:
        eng.close()
