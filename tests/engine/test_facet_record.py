"""The facet record codec: what the pipeline writes in the ``facets`` column is what facets and admin read."""
from __future__ import annotations

from indexer.engine.schema import UNKNOWN, FacetRecord, decode_facet_record, encode_facet_record
from indexer.models import Article, Document, Meta


def _doc(**meta) -> Document:
    return Document(id="d1", path="p", article=Article(title="某县2020年工作总结", text="正文"), meta=Meta(**meta))


def test_round_trip_keeps_every_facet():
    doc = _doc(region=["安徽省", "宿州市", "灵璧县"], year=2020, topics=["卫生健康", "教育"], doc_type="工作总结")
    rec = decode_facet_record(encode_facet_record(doc))
    assert rec == FacetRecord("d1", ["安徽省", "宿州市", "灵璧县"], 2020, ["卫生健康", "教育"], "工作总结",
                              "某县2020年工作总结")


def test_unknown_values_and_bad_records():
    rec = decode_facet_record(encode_facet_record(_doc(doc_type="")))
    assert rec is not None and rec.region == [] and rec.year is None and rec.topics == [] and rec.doc_type == UNKNOWN
    assert decode_facet_record(None) is None
    assert decode_facet_record(b"") is None
    assert decode_facet_record(b"{not json") is None
    assert decode_facet_record(b"[1, 2]") is None
    assert decode_facet_record(b"{}") == FacetRecord("", [], None, [], UNKNOWN, "")
