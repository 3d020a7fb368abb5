"""How well the 例句 rules tell headings from sentences and join line breaks inside a sentence.

``python -m searchapp.sentence_eval [tests/data/sentence_units.json]`` scores
:func:`searchapp.sentences.heading_level` and the line-joining rule on lines
from the corpora judged by hand, next to the rules before them (every line a
sentence, no break joined), and prints the table.  CI runs it through
``tests/search/test_sentence_eval.py`` with a floor.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .sentences import continues_sentence, heading_level

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "sentence_units.json"


@dataclass
class Score:
    """Binary decisions against labels: counts and the usual ratios."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, said: bool, truth: bool) -> None:
        if said and truth:
            self.tp += 1
        elif said:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def evaluate(path: Path = DEFAULT) -> dict[str, Score]:
    """Scores of the current rules and of the old ones on the labelled file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {k: Score() for k in ("heading", "heading_before", "join", "join_before")}
    for h in data["headings"]:
        out["heading"].add(heading_level(h["text"], h["alone"]) is not None, h["heading"])
        out["heading_before"].add(False, h["heading"])
    for b in data["breaks"]:
        out["join"].add(continues_sentence(b["prev"], b["next"]), b["join"])
        out["join_before"].add(False, b["join"])
    return out


def table(scores: dict[str, Score]) -> str:
    rows = [("decision", "rules", "n", "accuracy", "precision", "recall")]
    for key, what, rules in (("heading_before", "heading, not a sentence", "before (none)"),
                             ("heading", "heading, not a sentence", "now"),
                             ("join_before", "break inside a sentence", "before (never join)"),
                             ("join", "break inside a sentence", "now")):
        s = scores[key]
        rows.append((what, rules, str(s.n), f"{s.accuracy:.3f}", f"{s.precision:.3f}", f"{s.recall:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print(table(evaluate(Path(args[0]) if args else DEFAULT)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
