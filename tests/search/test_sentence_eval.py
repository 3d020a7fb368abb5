"""The 例句 rules on hand-labelled corpus lines (tests/data/sentence_units.json), with a floor a regression breaks."""
from __future__ import annotations

from searchapp.sentence_eval import evaluate, main


def test_heading_and_line_break_rules_hold_their_floor(capsys):
    s = evaluate()
    assert s["heading"].n >= 60 and s["join"].n >= 60
    # headings: measured 0.950 accuracy, precision 1.000 (no real sentence lost), recall 0.909
    assert s["heading"].accuracy >= 0.9 and s["heading"].precision >= 0.95
    assert s["heading"].accuracy > s["heading_before"].accuracy + 0.3
    # breaks: measured 0.894 accuracy, precision 1.000 (never glues two sentences), recall 0.650
    assert s["join"].precision >= 0.95 and s["join"].accuracy >= 0.85
    assert s["join"].accuracy > s["join_before"].accuracy + 0.1
    assert main([]) == 0 and "break inside a sentence" in capsys.readouterr().out
