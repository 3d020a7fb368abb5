"""Issue 22 items 5-8: records and pages that used to be lost, misread or read from outside the folder.

5. JSONL records holding a raw U+2028 / U+0085 (valid JSON) are kept, and line numbers stay right.
6. A CSV with an unclosed quote loses no row and names the right row, line and reason;
   HTML nested 5,000 levels deep keeps its text.
7. Oversized pages and records are cut at a documented limit with a message, the documents
   flagged, and long reports split into numbered parts.
8. Symbolic links in an input folder are not followed out of it (``--follow-links`` for links inside).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reportgen import page_text, paragraphs

from indexer.clean import clean_page
from indexer.engine import store
from indexer.ingest import iter_input_files, read_file, read_records
from indexer.models import Article, Page
from indexer.pipeline import documents_from_file, index_paths


def contents(index_dir: Path) -> list[str]:
    ix = store.open_index(index_dir)
    with ix.searcher() as s:
        return [f.get("content", "") for f in s.all_stored_fields()]


# -- 5. JSONL -------------------------------------------------------------------------------------

def test_jsonl_records_with_unicode_line_separators_are_kept(tmp_path):
    recs = [{"title": f"报告{i}", "content": page_text(i)} for i in range(4)]
    recs[1]["content"] = recs[1]["content"].replace("各位代表", "各位\u2028代表")  # raw, as json.dumps(ensure_ascii=False)
    recs[2]["content"] = recs[2]["content"].replace("现在", "现\u0085在")
    lines = [json.dumps(r, ensure_ascii=False) for r in recs]
    lines.insert(3, "{broken")  # line 4
    f = tmp_path / "r.jsonl"
    f.write_text("\r\n".join(lines) + "\n", encoding="utf-8")  # Windows line ends are fine too
    pages, skipped = read_file(f)
    assert [p.path.rsplit("#", 1)[1] for p in pages] == ["1", "2", "3", "5"]
    assert "\u2028" in pages[1].raw and "\u0085" in pages[2].raw
    assert len(skipped) == 1 and skipped[0].path.endswith("#4") and "line 4" in skipped[0].reason


# -- 6. CSV with broken quoting, deep HTML --------------------------------------------------------

def _csv(rows: list[str]) -> str:
    return "title,year,full_text\n" + "".join(r + "\n" for r in rows)


def test_csv_unclosed_quote_loses_no_row_and_says_why(tmp_path):
    bodies = [page_text(i, paras=1).replace("\n", " ") for i in range(7)]
    rows = [f"报告{i},{2010 + i},{b}" for i, b in enumerate(bodies)]
    rows[2] = f'报告2,2012,"{bodies[2]}'  # a quote opened and never closed
    pages, skipped = read_records(Path("p.csv"), _csv(rows))
    assert len(pages) == 7  # was 5: rows 3-7 were swallowed into one field
    assert [p.path for p in pages] == [f"p.csv#{n}" for n in range(2, 9)]
    assert pages[3].raw == bodies[3] and pages[2].raw.endswith(bodies[2])
    assert len(skipped) == 1 and skipped[0].path == "p.csv#4"
    assert "row 4 (line 4)" in skipped[0].reason and "quot" in skipped[0].reason
    assert "no report text" not in skipped[0].reason


def test_csv_quote_closed_by_a_later_row_and_multiline_fields(tmp_path):
    good = page_text(1, paras=2)  # a quoted field over several lines, with "" inside: standard CSV
    rows = [f'报告1,2011,"{good.replace(chr(10), chr(10))}附""注""。"',
            '报告2,2012,正文里有"一个引号',  # a literal quote inside an unquoted field is fine
            '报告3,2013,"' + page_text(3, paras=1).replace("\n", " ") + '"多余的文字',  # text after a closing quote
            '报告4,2014,' + page_text(4, paras=1).replace("\n", " ")]
    f = tmp_path / "q.csv"
    f.write_text(_csv(rows), encoding="utf-8")
    pages, skipped = read_file(f)
    assert len(pages) == 4
    assert pages[0].raw.endswith('附"注"。') and "\n" in pages[0].raw
    assert pages[1].raw == "正文里有\"一个引号"
    first_line_of_row4 = 1 + (good.count("\n") + 1) + 1 + 1
    assert [s.path.rsplit("#", 1)[1] for s in skipped] == ["4"]
    assert f"row 4 (line {first_line_of_row4})" in skipped[0].reason


def _nested(depth: int, body: str) -> str:
    return ("<html><head><title>某市2019年政府工作报告</title></head><body>" + "<div><span>" * depth
            + "<p>" + body + "</p>" + "</span></div>" * depth + "<div class='footer'>版权所有</div></body></html>")


@pytest.mark.parametrize("depth", [300, 5000])
def test_deeply_nested_html_keeps_its_text(depth):
    body = page_text(5).replace("\n\n", "</p><p>")
    arts = clean_page(Page(path="deep.html", raw=_nested(depth, body), kind="html"))
    assert arts and "本文编号标记q00005x" in arts[0].text  # was: "no report text found after cleaning"


def test_deep_html_file_is_indexed(tmp_path):
    f = tmp_path / "deep.html"
    f.write_text(_nested(5000, page_text(6).replace("\n\n", "</p><p>")), encoding="utf-8")
    docs, skipped = documents_from_file(f.resolve())
    assert len(docs) == 1 and not skipped


# -- 7. size limits -------------------------------------------------------------------------------

def test_oversized_page_is_cut_with_a_message_and_flagged(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_MAX_PAGE_CHARS", "20000")
    monkeypatch.setenv("REPORTSEARCH_MAX_DOC_CHARS", "4000")
    paras = "".join(f"<p>{p}</p>\n" for p in (paragraphs() * 3)[:150])  # one long report
    f = tmp_path / "big.html"
    f.write_text(f"<html><head><title>某市政府工作报告</title></head><body><div>{paras}</div></body></html>",
                 encoding="utf-8")
    docs, skipped = documents_from_file(f.resolve())
    reasons = " | ".join(s.reason for s in skipped)
    assert "too large" in reasons and "REPORTSEARCH_MAX_PAGE_CHARS=20,000" in reasons
    assert "parts" in reasons and "REPORTSEARCH_MAX_DOC_CHARS=4,000" in reasons
    assert len(docs) >= 4 and all(len(d.article.text) <= 4000 for d in docs)
    assert all(d.article.truncated for d in docs)  # the text is incomplete: flagged on every part
    assert len({d.id for d in docs}) == len(docs)
    assert docs[1].article.title.startswith("某市政府工作报告（第2部分，共")
    assert sum(len(d.article.text) for d in docs) > 15000  # the read part is kept whole


def test_oversized_jsonl_record_is_cut_and_indexed(tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTSEARCH_MAX_PAGE_CHARS", "30000")
    monkeypatch.setenv("REPORTSEARCH_MAX_DOC_CHARS", "10000")
    big = "\n".join(page_text(i, paras=2) for i in range(200))
    src = tmp_path / "in"
    src.mkdir()
    (src / "big.jsonl").write_text(json.dumps({"title": "超长记录", "content": big}, ensure_ascii=False) + "\n"
                                   + json.dumps({"title": "普通", "content": page_text(999)}, ensure_ascii=False)
                                   + "\n", encoding="utf-8")
    s = index_paths([src], tmp_path / "ix", workers=1)
    texts = contents(tmp_path / "ix")
    assert s.documents == len(texts) >= 4 and max(len(t) for t in texts) <= 10000
    assert any("标记q00999x" in t for t in texts)  # the next record is untouched
    assert any("too large" in sk.reason and sk.path.endswith("big.jsonl#1") for sk in s.skipped)


def test_split_article_cuts_at_line_breaks():
    from indexer.ingest import split_article

    text = "\n".join(f"第{i}段" + "字" * 50 for i in range(100))
    parts = split_article(Article(title="题", text=text), 1000)
    assert len(parts) > 5 and all(len(p.text) <= 1000 for p in parts)
    assert "\n".join(p.text for p in parts) == text
    assert split_article(Article(title="题", text="短"), 1000)[0].title == "题"


# -- 8. symlinks ----------------------------------------------------------------------------------

def test_symlinks_out_of_the_folder_are_not_followed(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(page_text(7, tag="secretword"), encoding="utf-8")
    (root / "r.txt").write_text(page_text(8), encoding="utf-8")
    os.symlink(secret, root / "sub" / "leak.txt")
    os.symlink(outside, root / "outdir")
    os.symlink(root / "r.txt", root / "inside.txt")  # stays inside
    os.symlink(tmp_path / "nowhere.txt", root / "dangling.txt")

    found = dict(iter_input_files([root]))
    assert found[root / "r.txt"] is None
    assert "outside the indexed folder" in found[root / "sub" / "leak.txt"]
    assert "outside the indexed folder" in found[root / "outdir"]
    assert "--follow-links" in found[root / "inside.txt"]
    assert "broken" in found[root / "dangling.txt"]
    followed = dict(iter_input_files([root], follow_links=True))
    assert followed[root / "inside.txt"] is None and "outside" in followed[root / "sub" / "leak.txt"]

    ix = tmp_path / "ix"
    s = index_paths([root], ix, workers=1)
    assert s.documents == 1 and not any("secretword" in t for t in contents(ix))
    assert any(sk.path.endswith("leak.txt") and "not followed" in sk.reason for sk in s.skipped)
    s = index_paths([root], ix, workers=1, follow_links=True)
    assert s.documents == 1  # the inside link is the same file as r.txt: indexed once


def test_link_target_indexed_by_an_older_version_is_removed(tmp_path):
    """An index built when links were followed: the outside file leaves the index on the next run."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "r.txt").write_text(page_text(8), encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text(page_text(7, tag="secretword"), encoding="utf-8")
    ix = tmp_path / "ix"
    index_paths([root, secret], ix, workers=1)  # as if followed: the target's path is what the index keeps
    assert any("secretword" in t for t in contents(ix))
    os.symlink(secret, root / "leak.txt")
    store.save_roots(store.live_dir(ix), [str(root.resolve())])  # the old run's root was the folder only
    s = index_paths([root], ix, workers=1)
    assert not any("secretword" in t for t in contents(ix)) and s.documents == 1
