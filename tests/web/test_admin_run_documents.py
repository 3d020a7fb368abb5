"""Issue 21 item 8: the admin's run history lists the documents each run added, updated and removed."""
from __future__ import annotations

from adminkit import login
from reportgen import make_pages, page_text
from werkzeug.security import generate_password_hash

from indexer.engine import store
from indexer.pipeline import index_paths
from searchapp import create_app

PASSWORD = "运行记录-horse-battery-7"


def test_run_history_links_the_documents_of_each_run(tmp_path, monkeypatch):
    monkeypatch.delenv("REPORTSEARCH_ADMIN_PASSWORD", raising=False)
    src = tmp_path / "pages"
    make_pages(src, 3)
    ix = tmp_path / "ix"
    first = index_paths([src], ix, workers=1)
    (src / "r00000.txt").unlink()
    (src / "r00001.txt").write_text(page_text(1, tag="q00001changed"), encoding="utf-8")
    make_pages(src, 1, start=7)
    second = index_paths([src], ix, workers=1)
    assert len(second.added_ids) == 1 and len(second.updated_ids) == 1 and len(second.removed_ids) == 1

    app = create_app({"INDEX_DIR": str(ix), "TESTING": True, "SECRET_KEY": "k" * 64,
                      "ADMIN_PASSWORD_HASH": generate_password_hash(PASSWORD),
                      "UPLOAD_DIR": str(tmp_path / "uploads"), "INDEX_WORKERS": 1})
    client = app.test_client()
    login(client, PASSWORD)
    page = client.get("/admin/").get_data(as_text=True)
    assert "变动的文档" in page and "新增文档" in page and "删除文档" in page
    for doc_id in second.added_ids + second.updated_ids + first.added_ids[2:]:
        assert f'href="/doc/{doc_id}"' in page
    removed = second.removed_ids[0]
    # listed as removed without a link (it has no page any more); the link is the first run's "added"
    assert f"<code>{removed}</code>" in page and page.count(f'href="/doc/{removed}"') == 1
    assert client.get(f"/doc/{second.updated_ids[0]}").status_code == 200
    runs = client.get("/admin/api/runs").get_json()["runs"]
    assert runs[0]["updated_ids"] == second.updated_ids and runs[0]["documents_removed"] == 1
    assert store.load_runs(ix)[-1]["removed_ids"] == second.removed_ids
