"""The one check of a cleaned fixture page against its expected.json entry (shared by the fixture tests)."""
from __future__ import annotations

from indexer.models import Article


def assert_matches_expected(arts: list[Article], exp: dict) -> None:
    """Article count, titles, must_keep/must_drop, truncation, publish date, source, no damage."""
    assert len(arts) == exp["articles"]
    assert [a.title for a in arts] == exp["titles"]
    everything = "\n".join(a.text for a in arts)
    for s in exp["must_keep"]:
        assert s in everything, s
    for s in exp["must_drop"]:
        assert s not in everything, s
    for a in arts:
        assert a.truncated == exp["truncated"]
        if "published" in exp:
            assert a.published == exp["published"]
        if "source" in exp:
            assert a.source == exp["source"]
        assert not a.damaged
