"""A page with a few undecodable bytes is indexed, and the document says so (issue 19 item 1,
issue 22): in the API, in the export and on the document page."""
from __future__ import annotations

import json
from pathlib import Path


def test_damaged_page_is_searchable_and_flagged(tmp_path: Path) -> None:
    from indexer.pipeline import index_paths
    from searchapp import create_app
    from searchapp.cli import main

    paras = "".join(
        f"<p>第{i}项：全县新建村卫生室{i}所，基本公共卫生服务项目全面落实，家庭医生签约服务稳步推进。</p>" for i in range(1, 30)
    )
    html = f"<html><head><meta charset=gbk><title>县卫生局工作总结</title></head><body><h1>县卫生局工作总结</h1>{paras}</body></html>"
    data = bytearray(html.encode("gbk"))
    for at in range(300, len(data) - 200, (len(data) - 500) // 6)[:6]:  # six damaged bytes in the body
        data[at] = 0xFF
    page = tmp_path / "damaged.html"
    page.write_bytes(bytes(data))
    ix = tmp_path / "ix"
    index_paths([page], ix)
    client = create_app({"INDEX_DIR": str(ix), "TESTING": True}).test_client()
    hits = client.get("/api/search?q=家庭医生").get_json()["hits"]
    assert len(hits) == 1
    doc = client.get(f"/api/docs/{hits[0]['id']}").get_json()
    assert doc["undecodable_bytes"] >= 6
    html_page = client.get(f"/doc/{hits[0]['id']}").get_data(as_text=True)
    assert 'id="flag-undecodable"' in html_page and "无法解码" in html_page
    target = tmp_path / "out.jsonl"
    assert main(["export", "--index-dir", str(ix), "-o", str(target)]) == 0
    line = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    assert line["undecodable_bytes"] == doc["undecodable_bytes"]
