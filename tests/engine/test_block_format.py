"""The block writer's compact pickles: what Whoosh unpickles, and what the numpy decoder reads.

``indexer.engine.B._encode_blocks`` writes ids and positions with the narrowest
integer opcode a block needs and weights as memo references; Whoosh's reader
(``pickle.loads``, ``Positions.decode_positions``) must see the same tuples it
would have written, and ``indexer.engine.postings`` must decode them *without*
falling back to unpickling.  Random blocks cover every width (1-, 2- and 4-byte
ids and positions), every weight form and values longer than 255 bytes.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from whoosh import formats

from indexer.engine import blocks as B
from indexer.engine import fastwrite as fw
from indexer.engine import postings as P
from indexer.engine.format import BLOCK_POSTINGS

FMT = formats.Positions(field_boost=0.5)


def _blocks(rng, nblk: int, id_span: int, pos_span: int, weights: str):
    """nblk blocks of one term: (ids, weights, position lists) per block."""
    out = []
    doc = 0
    for _ in range(nblk):
        n = int(rng.integers(1, BLOCK_POSTINGS + 1))
        ids = (doc + np.cumsum(rng.integers(1, id_span, size=n))).tolist()
        doc = ids[-1]
        plists = []
        for _ in range(n):
            c = int(rng.choice([1, 1, 2, 3, int(rng.integers(1, 120))]))
            plists.append(np.cumsum(rng.integers(0 if not plists else 1, pos_span, size=c)).tolist())
        counts = np.array([len(p) for p in plists])
        if weights == "counts":
            w = counts * 0.5
        elif weights == "ones":
            w = np.ones(n)
        elif weights == "same":
            w = np.full(n, 2.5)
        else:  # every weight different
            w = rng.random(n).astype(np.float32).astype(np.float64) + 1
        out.append((ids, w, plists))
    return out


def _encode(blocks):
    nblk = len(blocks)
    n = np.array([len(b[0]) for b in blocks], dtype=np.int64)
    bs = np.zeros(nblk, dtype=np.int64)
    np.cumsum(n[:-1], out=bs[1:])
    be = bs + n
    ids = np.concatenate([np.asarray(b[0], dtype=np.int64) for b in blocks])
    gaps = ids.copy()
    gaps[1:] -= ids[:-1]
    gaps[bs] = ids[bs]
    w32 = np.concatenate([b[1] for b in blocks]).astype(np.float32).astype(np.float64)
    wmin, wmax = np.minimum.reduceat(w32, bs), np.maximum.reduceat(w32, bs)
    kinds = np.where((wmin == 1.0) & (wmax == 1.0), 0, np.where(wmin == wmax, 1, 2))
    plists = [p for b in blocks for p in b[2]]
    gaps_v, counts = fw._gap_lists(plists)
    g = np.frombuffer(gaps_v, dtype="<u4")
    counts = np.asarray(counts, dtype=np.int64)
    gstart = np.cumsum(counts) - counts
    pmax = np.maximum.reduceat(g, gstart).astype(np.int64)
    width = np.repeat(B._int_width(np.maximum.reduceat(pmax, bs)), n)
    vsrc, voff = B._position_values(g, gstart, counts, width)
    first = np.zeros(nblk, dtype=bool)
    first[0] = True
    last = np.zeros(nblk, dtype=bool)
    last[-1] = True
    info = B._info_records(n, ids[be - 1], np.maximum.reduceat(w32, bs), np.zeros(nblk), np.zeros(nblk))
    data, _s, _e = B._encode_blocks(bs, be, first, last, kinds, w32[bs], gaps, w32, info, None, vsrc, voff)
    return data, ids, w32, plists


@pytest.mark.parametrize("id_span,pos_span", [(3, 4), (200, 300), (3000, 600), (90000, 5000), (5, 70000)])
@pytest.mark.parametrize("weights", ["counts", "ones", "same", "distinct"])
def test_compact_blocks_unpickle_to_whooshs_tuples_and_decode_in_bulk(id_span, pos_span, weights):
    rng = np.random.default_rng(id_span * 7 + pos_span + len(weights))
    blocks = _blocks(rng, 6, id_span, pos_span, weights)
    raw, ids, w32, plists = _encode(blocks)
    # what Whoosh's W3LeafMatcher unpickles, block by block
    got_ids, got_w, got_p = [], [], []
    for b_ids, b_w, b_vals in _unpickled(raw):
        got_ids += np.cumsum(b_ids).tolist()
        assert b_w is None or isinstance(b_w, (float, tuple))
        got_w += [1.0] * len(b_ids) if b_w is None else [b_w] * len(b_ids) if isinstance(b_w, float) else list(b_w)
        got_p += [FMT.decode_positions(v) for v in b_vals]
        assert [FMT.decode_frequency(v) for v in b_vals] == [len(p) for p in got_p[-len(b_vals):]]
    assert got_ids == ids.tolist() and got_w == w32.tolist() and got_p == plists
    # what the numpy decoder reads: the fast path, not the unpickling fallback
    ext = P._block_extents(raw)
    assert ext is not None
    buf = np.frombuffer(raw, dtype=np.uint8)
    fmt = FMT if weights == "counts" else formats.Positions(field_boost=1.0)
    got = P._fast_decode(buf, *ext, fmt=fmt, with_positions=weights == "counts")
    assert got is not None
    d_ids, d_w, voff, vcount, vwidth = got
    assert d_ids.tolist() == ids.tolist() and d_w.tolist() == w32.tolist()
    if weights == "counts":
        tp = P.TermPostings(d_ids, d_w, buf, voff, vcount, vwidth)
        owner, pos = tp.positions(np.arange(len(tp)))
        back = [[] for _ in plists]
        for o, p in zip(owner.tolist(), pos.tolist()):
            back[o].append(p)
        assert back == plists


def _unpickled(raw: bytes):
    import io

    f = io.BytesIO(raw)
    assert f.read(4) == b"W3Bl"
    while True:
        blen = int.from_bytes(f.read(4), "big", signed=True)
        end = f.tell() + abs(blen)
        info = pickle.load(f)
        assert info[3] == 0  # not compressed
        yield pickle.loads(raw[f.tell():end])
        if blen < 0:
            return
        f.seek(end)


def test_compact_layout_is_smaller_than_whooshs_pickles():
    """The point of the layout: fewer bytes than ``pickle.dumps`` of the same tuples (protocol 2)."""
    rng = np.random.default_rng(3)
    blocks = _blocks(rng, 20, 40, 300, "counts")
    raw, *_ = _encode(blocks)
    plain = 0
    for b_ids, b_w, b_vals in _unpickled(raw):
        vals = tuple(fw.pack_uint(FMT.decode_frequency(v)) + pickle.dumps(list(pickle.loads(v[4:] + b".")), 2)
                     for v in b_vals)
        plain += len(pickle.dumps((b_ids, b_w, vals), 2))
    assert len(raw) < 0.9 * plain


def test_block_writer_segments_are_read_without_unpickling(shared, tmp_path, monkeypatch):
    """Every term of a block-writer segment takes the numpy path, and gives Whoosh's postings."""
    from whoosh import index as whoosh_index

    from indexer.engine.schema import build_schema, to_fields
    from indexer.pipeline import documents_from_file, text_key

    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    bw = fw.BulkWriter(ix)
    for f in sorted((shared / "corpora").rglob("*.csv"))[:3]:
        docs, _ = documents_from_file(f)
        for d in docs:
            bw.add_document(**to_fields(d, file=str(f), file_hash="h", text_key=text_key(d.article.text),
                                        gram_codes=True))
    bw.commit()

    def refuse(*a, **k):
        raise AssertionError("unpickled a block-writer block")

    monkeypatch.setattr(P, "_slow_only", refuse)
    monkeypatch.setattr(P, "_generic_decode", refuse)
    checked = 0
    with ix.searcher() as s:
        r = s.reader()
        for fieldname in ("content", "title", "grams"):
            fmt = ix.schema[fieldname].format
            for tbytes in list(r.lexicon(fieldname))[::7]:
                tp = P.read_term(r, fieldname, tbytes, with_positions=fieldname == "grams")
                m = r.postings(fieldname, tbytes)
                ids, ws, ps = [], [], []
                while m.is_active():
                    ids.append(m.id())
                    ws.append(m.weight())
                    if fieldname == "grams":
                        ps.append(fmt.decode_positions(m.value()))
                    m.next()
                assert tp.ids.tolist() == ids and tp.weights.tolist() == ws
                if ps:
                    owner, pos = tp.positions(np.arange(len(tp)))
                    back = [[] for _ in ids]
                    for o, p in zip(owner.tolist(), pos.tolist()):
                        back[o].append(p)
                    assert back == ps
                checked += 1
    assert checked > 500
