"""Issue 20 item 4: the hand-judged relevance set and its evaluation command."""
from __future__ import annotations

from searchapp import evaluate_relevance as ev


def test_relevance_set_is_large_judged_and_split():
    queries = ev.load()
    assert len(queries) >= 40
    splits = {q["split"] for q in queries}
    assert splits == {"tune", "heldout"}
    held = sum(1 for q in queries if q["split"] == "heldout")
    assert len(queries) // 4 <= held <= len(queries) // 2
    assert all(q["grades"] and set(q["grades"].values()) <= {1, 2} for q in queries)


def test_metrics():
    a, b, c = ("a", 1, ""), ("b", 1, ""), ("c", 1, "")
    grades = {a: 2, b: 1}
    assert ev.ndcg_at([a, b, c], grades) == 1.0
    assert ev.ndcg_at([c, b, a], grades) < ev.ndcg_at([a, c, b], grades) < 1.0
    assert ev.precision_at([c, a, b], grades) == 2 / 5
    assert ev.reciprocal_rank([c, a], grades) == 0.5 and ev.reciprocal_rank([c], grades) == 0.0


def test_every_judged_report_is_in_the_index_and_the_product_beats_a_floor(engine, full_index):
    have = set()
    for stored, _dups in engine.iter_documents():
        meta = stored.get("meta") or {}
        have.add(ev.report_key(stored.get("title") or "", meta.get("year"), "/".join(meta.get("region") or [])))
    for q in ev.load():
        missing = set(q["grades"]) - have
        assert not missing, (q["q"], missing)
    result = ev.run(index_dir=full_index, with_baseline=False)
    s = result["ours"]["all"]
    assert s["p5"] >= 0.58 and s["ndcg10"] >= 0.90 and s["mrr"] >= 0.95, s  # the floors .ci/run uses
    assert "| all (45) | this product |" in ev.table(result)
