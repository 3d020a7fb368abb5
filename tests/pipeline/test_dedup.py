"""Near-duplicate grouping and the exact-copy key."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from indexer.clean import clean_page
from indexer.dedup import exact_key, group_near_duplicates
from indexer.models import Page

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SEED000 = SHARED / "seeds" / "000_fe7e8a9d8dea42e3.txt"
PROVINCIAL = sorted((SHARED / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))


@pytest.mark.skipif(not SEED000.exists(), reason="../shared not present")
def test_seed_000_third_and_fourth_group_only() -> None:
    arts = clean_page(Page(str(SEED000), SEED000.read_text(encoding="utf-8"), "text", {}))
    assert len(arts) == 4
    texts = {f"a{i}": a.text for i, a in enumerate(arts)}
    g = group_near_duplicates(texts)
    assert g == {"a0": [], "a1": [], "a2": ["a3"], "a3": ["a2"]}


@pytest.mark.skipif(not PROVINCIAL, reason="provincial corpus missing")
def test_provincial_reports_do_not_group() -> None:
    texts = {}
    for f in PROVINCIAL:
        with f.open(encoding="utf-8-sig", newline="") as fh:
            row = next(csv.DictReader(fh))
        texts[row["province"]] = row["full_text"]
    g = group_near_duplicates(texts)
    assert all(v == [] for v in g.values())
    # a copy of one of them with a changed year and quotes does group with it
    any_id = next(iter(texts))
    texts["copy"] = texts[any_id].replace("2026", "20xx").replace("“", "\"").replace("”", "\"")
    g = group_near_duplicates(texts)
    assert g["copy"] == [any_id] and g[any_id] == ["copy"]


def test_threshold_and_edge_cases() -> None:
    assert group_near_duplicates({}) == {}
    assert group_near_duplicates({"x": "只有一篇"}) == {"x": []}
    base = "全县卫生健康工作取得新成效，基层医疗服务能力明显提升。" * 20
    other = "我市教育事业稳步发展，新建改扩建中小学十所，新增学位一万个。" * 20
    half = base[: len(base) // 2] + other[: len(other) // 2]
    g = group_near_duplicates({"a": base, "b": base + "。", "c": other, "d": half, "e": ""})
    assert g["a"] == ["b"] and g["c"] == [] and g["d"] == [] and g["e"] == []


def test_exact_key() -> None:
    assert exact_key("卫生 工作\n总结") == exact_key("卫生工作总结")
    assert exact_key("ＡＢＣ卫生") == exact_key("ABC卫生")  # width variants
    assert exact_key("卫生工作总结") != exact_key("卫生工作计划")


# -- the vectorised LSH and the incremental state ------------------------------------------------

def _datasketch_groups(texts: dict[str, str], threshold: float = 0.8) -> dict[str, list[str]]:
    """The grouping as it was written with datasketch's MinHashLSH: the reference semantics."""
    from datasketch import MinHashLSH

    from indexer.dedup import NUM_PERM, SHINGLE, minhash, normalize_for_dedup

    ids = list(texts)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    sigs = {}
    for i in ids:
        if len(normalize_for_dedup(texts[i])) < SHINGLE:
            continue
        sigs[i] = minhash(texts[i])
        lsh.insert(i, sigs[i])
    parent = {i: i for i in ids}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i, m in sigs.items():
        for j in lsh.query(m):
            if j != i and m.jaccard(sigs[j]) >= threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
    comps: dict[str, list[str]] = {}
    for i in ids:
        comps.setdefault(find(i), []).append(i)
    return {i: [j for j in ms if j != i] for ms in comps.values() for i in ms}


def _variants(n: int, seed: int = 7) -> dict[str, str]:
    """Texts with copies, chains of edited copies (A~B~C, A not ~C) and near misses."""
    import random

    from reportgen import paragraphs

    rnd = random.Random(seed)
    paras = paragraphs()
    texts: dict[str, str] = {}
    for k in range(n):
        kind = rnd.random()
        if texts and kind < 0.45:
            src = texts[rnd.choice(list(texts))]
            words = list(src)
            for _ in range(rnd.choice([1, 3, 10, 40, 120])):  # small to large edits
                p = rnd.randrange(len(words))
                words[p] = rnd.choice("的一是在不了有和人这中大为上个国")
            texts[f"d{k:04d}"] = "".join(words)
        elif kind < 0.5:
            texts[f"d{k:04d}"] = "短"  # too short to compare
        else:
            texts[f"d{k:04d}"] = "\n".join(rnd.sample(paras, rnd.randint(2, 6)))
    return texts


def _as_sets(g: dict[str, list[str]]) -> dict[str, set[str]]:
    return {k: set(v) for k, v in g.items() if v}


def test_vectorised_lsh_equals_datasketch() -> None:
    texts = _variants(400)
    ours = group_near_duplicates(texts)
    ref = _datasketch_groups(texts)
    assert _as_sets(ours) == _as_sets(ref)
    assert sum(1 for v in ours.values() if v) > 50  # the sample really has groups


def _random_edit(rnd, files: dict[str, dict[str, str]], pool: dict[str, str], names: list[str], step: int,
                 max_docs: int) -> tuple[set[str], list[tuple]]:
    """One random run's change to ``files`` (file → {id: text}): delete a file, add one, or change
    one (same ids, other texts).  Returns the files whose old rows go, and the new rows."""
    from indexer.dedup import signature

    op = rnd.random()
    touched: set[str] = set()
    if files and op < 0.3:  # delete a file
        touched = {rnd.choice(sorted(files))}
        del files[next(iter(touched))]
        return touched, []
    f = rnd.choice(sorted(files)) if files and op < 0.6 else f"f{step:03d}"
    if f in files:
        touched = {f}
    docs = {f"{f}#{k}": pool[rnd.choice(names)] for k in range(rnd.randint(1, max_docs))}
    files[f] = docs
    return touched, [(i, f, f"key-{i}", None, signature(t)) for i, t in docs.items()]


def test_incremental_groups_equal_from_scratch_after_add_change_delete(tmp_path) -> None:
    import random

    from indexer.dedup import DedupState

    rnd = random.Random(3)
    pool = _variants(600, seed=11)
    names = list(pool)
    files: dict[str, dict[str, str]] = {}  # file → {id: text}
    state = DedupState.empty()
    for step in range(40):
        touched, new_rows = _random_edit(rnd, files, pool, names, step, max_docs=12)
        split = state.remove_files(touched)
        state.add(new_rows, split=split)
        if step % 10 == 9:  # round-trip through the sidecar now and then
            state.save(tmp_path / "dedup.npz", generation=step)
            assert DedupState.load(tmp_path / "dedup.npz", generation=step + 1) is None  # stale tag
            state = DedupState.load(tmp_path / "dedup.npz", generation=step)
        all_texts = {i: t for docs in files.values() for i, t in docs.items()}
        assert sorted(state.ids) == sorted(all_texts)
        assert _as_sets(state.groups()) == _as_sets(group_near_duplicates(all_texts)), step
    assert any(state.groups().values())
