"""Issue 22 item 4 and issue 21 item 8: records skipped as exact copies are never lost in incremental runs.

The property: after any sequence of incremental runs, the index holds the same
texts as a fresh build of the folder as it is now.  A record (JSONL/CSV row) or a
whole page that was skipped as an exact copy of another document comes back when
that original's file is deleted or changed; an edited copy is reported as
updated, not added; the run record lists which documents each run added,
updated and removed.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import NATIONAL
from reportgen import page_text

from indexer.engine import store
from indexer.pipeline import index_paths


def national_lines(first: int, last: int) -> list[str]:
    """Lines first..last (1-based, inclusive) of the national reports file, as the issue's ``sed -n``."""
    if not NATIONAL.exists():
        pytest.skip("../shared is not beside the checkout")
    lines = NATIONAL.read_bytes().split(b"\n")
    return [ln.decode("utf-8") + "\n" for ln in lines[first - 1:last]]


def contents(index_dir: Path) -> list[str]:
    """Every stored document's text, sorted: what a fresh build must equal."""
    ix = store.open_index(index_dir)
    with ix.searcher() as s:
        return sorted(f.get("content", "") for f in s.all_stored_fields())


def fresh(src: Path, tmp: Path) -> list[str]:
    out = tmp / "fresh-ix"
    shutil.rmtree(out, ignore_errors=True)
    index_paths([src], out, workers=1)
    return contents(out)


def test_jsonl_copy_returns_when_original_is_deleted(tmp_path):
    """The issue's reproduction: a.jsonl lines 1-2, b.jsonl lines 2-3; delete a.jsonl."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.jsonl").write_text("".join(national_lines(1, 2)), encoding="utf-8")
    (d / "b.jsonl").write_text("".join(national_lines(2, 3)), encoding="utf-8")
    ix = tmp_path / "i"
    s1 = index_paths([d], ix, workers=1)
    assert s1.documents == 3 and s1.duplicates_skipped == 1
    (d / "a.jsonl").unlink()
    s2 = index_paths([d], ix, workers=1)
    assert s2.documents == 2  # was 1: b.jsonl's first record was never indexed again
    assert s2.restored == 1 and s2.added == 1 and len(s2.removed_ids) == 2
    assert contents(ix) == fresh(d, tmp_path)
    s3 = index_paths([d], ix, workers=1)  # and it stays: nothing to do
    assert not s3.committed and s3.documents == 2


def test_csv_copy_returns_when_original_changes(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    header = "title,year,full_text\n"
    rows = [f'报告{i},20{10 + i},"{page_text(i, paras=2)}"\n' for i in range(4)]
    (d / "a.csv").write_text(header + rows[0] + rows[1], encoding="utf-8")
    (d / "b.csv").write_text(header + rows[1] + rows[2], encoding="utf-8")
    (d / "c.csv").write_text(header + rows[1] + rows[3], encoding="utf-8")  # a second copy of the same row
    ix = tmp_path / "i"
    s1 = index_paths([d], ix, workers=1)
    assert s1.documents == 4 and s1.duplicates_skipped == 2
    (d / "a.csv").write_text(header + rows[0], encoding="utf-8")  # the original row is edited away
    s2 = index_paths([d], ix, workers=1)
    assert contents(ix) == fresh(d, tmp_path)
    assert s2.documents == 4  # row 1 once (from b.csv, as a fresh build), rows 0, 2, 3
    assert s2.duplicates_skipped == 1  # c.csv's copy is now a copy of b.csv's
    # c.csv depends on b.csv now: deleting b brings c's copy back
    (d / "b.csv").unlink()
    index_paths([d], ix, workers=1)
    assert contents(ix) == fresh(d, tmp_path)


def test_changed_original_that_keeps_the_record_keeps_one_copy(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    lines = national_lines(1, 4)
    (d / "a.jsonl").write_text(lines[0] + lines[1], encoding="utf-8")
    (d / "b.jsonl").write_text(lines[1] + lines[2], encoding="utf-8")
    ix = tmp_path / "i"
    index_paths([d], ix, workers=1)
    (d / "a.jsonl").write_text(lines[0] + lines[1] + lines[3], encoding="utf-8")  # a line appended
    index_paths([d], ix, workers=1)
    assert contents(ix) == fresh(d, tmp_path)
    assert len(contents(ix)) == 4


def test_page_copy_returns_and_is_not_read_every_run(tmp_path):
    """Whole HTML / text files that are exact copies: remembered, so not re-read; back when the original goes."""
    d = tmp_path / "d"
    d.mkdir()
    text = page_text(1)
    (d / "a.txt").write_text(text, encoding="utf-8")
    (d / "b.txt").write_text(text, encoding="utf-8")
    html = f"<html><head><title>报告</title></head><body><div>{page_text(2).replace(chr(10), '<br>')}</div></body></html>"
    (d / "c.html").write_text(html, encoding="utf-8")
    (d / "e.html").write_text(html, encoding="utf-8")
    ix = tmp_path / "i"
    s1 = index_paths([d], ix, workers=1)
    assert s1.documents == 2 and s1.duplicates_skipped == 2
    s2 = index_paths([d], ix, workers=1)
    assert not s2.committed and s2.unchanged == 4  # the copies are not read (and skipped) again every run
    (d / "a.txt").unlink()
    (d / "c.html").write_text(html.replace("</div>", "<p>另加一段不同的文字，使它不再是副本。</p></div>"), encoding="utf-8")
    s3 = index_paths([d], ix, workers=1)
    assert contents(ix) == fresh(d, tmp_path)
    assert s3.documents == 3 and s3.restored == 2


def test_edited_copy_is_reported_as_updated(tmp_path):
    """Issue 21: an edited file that had been skipped as an exact copy becomes its own document: "updated"."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.txt").write_text(page_text(1), encoding="utf-8")
    (d / "b.txt").write_text(page_text(1), encoding="utf-8")
    ix = tmp_path / "i"
    index_paths([d], ix, workers=1)
    (d / "b.txt").write_text(page_text(1, tag="q00001edited"), encoding="utf-8")
    s = index_paths([d], ix, workers=1)
    assert (s.added, s.updated, s.files_added, s.files_updated) == (0, 1, 0, 1)
    assert s.removed_ids == [] and len(s.updated_ids) == 1


def test_run_record_lists_documents(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    for i in range(3):
        (d / f"r{i}.txt").write_text(page_text(i), encoding="utf-8")
    ix = tmp_path / "i"
    s1 = index_paths([d], ix, workers=1)
    assert len(s1.added_ids) == 3
    (d / "r0.txt").unlink()
    (d / "r1.txt").write_text(page_text(1, tag="q00001changed"), encoding="utf-8")
    s2 = index_paths([d], ix, workers=1)
    runs = store.load_runs(ix)
    last = runs[-1]
    assert last["added_ids"] == [] and last["updated_ids"] == s2.updated_ids and len(s2.updated_ids) == 1
    assert len(last["removed_ids"]) == 1 and last["removed_ids"][0] in s1.added_ids
    assert last["removed_ids"][0] not in s2.updated_ids
    json.dumps(runs)  # plain JSON


def test_copy_returns_with_worker_processes(tmp_path):
    """The same with worker processes: the restored file's kept documents are dropped from the worker's segment."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.jsonl").write_text("".join(national_lines(1, 2)), encoding="utf-8")
    (d / "b.jsonl").write_text("".join(national_lines(2, 4)), encoding="utf-8")
    ix = tmp_path / "i"
    index_paths([d], ix, workers=2)
    (d / "a.jsonl").unlink()
    (d / "c.jsonl").write_text("".join(national_lines(5, 6)), encoding="utf-8")  # two jobs: two workers
    s = index_paths([d], ix, workers=2)
    assert s.workers == 2 and s.restored == 1 and s.documents == 5
    assert contents(ix) == fresh(d, tmp_path)
    assert len(contents(ix)) == len(set(contents(ix))) == 5
