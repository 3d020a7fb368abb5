"""Ingest: encodings, record files, and bad input that is skipped and reported."""
from __future__ import annotations

import json

import pytest

from indexer.ingest import DecodeError, decode_bytes, iter_input_files, read_file

TEXT = "县卫生健康局2020年卫生健康工作总结：累计完成居民电子健康档案人数248089人。"


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "gbk", "big5"])
def test_undeclared_encodings_decode(encoding):
    text = TEXT if encoding != "big5" else "縣衛生健康局工作總結，累計完成居民電子健康檔案人數248089人。" * 3
    assert decode_bytes(text.encode(encoding)) == text


def test_gb2312_declaration_is_decoded_as_gb18030():
    # 镕 is outside GB2312 but sites that declare gb2312 use it anyway.
    html = '<html><head><meta charset="gb2312"></head><body><p>朱镕基同志作政府工作报告</p></body></html>'
    assert "朱镕基" in decode_bytes(html.encode("gb18030"))


def test_binary_and_garbage_are_rejected():
    with pytest.raises(DecodeError):
        decode_bytes(bytes(range(256)) * 40)


def test_read_file_reports_empty_binary_and_unsupported(tmp_path):
    (tmp_path / "empty.html").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("   \n\n", encoding="utf-8")
    (tmp_path / "bin.htm").write_bytes(b"\x00\x01\x02" * 1000)
    (tmp_path / "image.png").write_bytes(b"\x89PNG....")
    found = {p.name: problem for p, problem in iter_input_files([tmp_path])}
    assert found["image.png"].startswith("unsupported file type")
    for name in ("empty.html", "blank.txt", "bin.htm"):
        pages, skipped = read_file(tmp_path / name)
        assert pages == [] and len(skipped) == 1, name
    assert "empty" in read_file(tmp_path / "empty.html")[1][0].reason
    assert "binary" in read_file(tmp_path / "bin.htm")[1][0].reason


def test_jsonl_records_map_fields_and_bad_lines_are_reported(tmp_path):
    p = tmp_path / "r.jsonl"
    lines = [
        json.dumps({"title": "甲", "content": "正文一", "year": 2020, "url": "http://x"}, ensure_ascii=False),
        "{not json",
        json.dumps({"title": "乙"}, ensure_ascii=False),
        json.dumps({"title": "丙", "full_text": "正文三", "province": "安徽省", "publish_date": "2026-02-11"},
                   ensure_ascii=False),
    ]
    p.write_text("\n".join(lines), encoding="utf-8")
    pages, skipped = read_file(p)
    assert [pg.raw for pg in pages] == ["正文一", "正文三"]
    assert pages[0].hints == {"title": "甲", "year": 2020, "url": "http://x"}
    assert pages[1].hints["province"] == "安徽省" and pages[1].hints["publish_date"] == "2026-02-11"
    assert len(skipped) == 2 and "invalid JSON" in skipped[0].reason


def test_csv_records_like_the_provincial_corpus(shared):
    path = next((shared / "corpora" / "provincial-gov-reports-2026").glob("*.csv"))
    pages, skipped = read_file(path)
    assert len(pages) == 1 and not skipped
    assert pages[0].hints["province"] in path.name and pages[0].hints["year"] == 2026
    assert "各位代表" in pages[0].raw
