"""A term's postings in one segment as numpy arrays, read straight from Whoosh's posting file.

Whoosh's matchers hand out one posting at a time (``id()``, ``weight()``,
``next()``), so a query that matches most of a 100,000-report archive spends
seconds in Python method calls.  :func:`read_term` decodes all of a term's
posting blocks at once instead:

* blocks written by ``indexer.engine.fastwrite`` have a known layout (a 39-byte
  protocol-3 info pickle; ids as integer opcodes of one width per block; weights
  as one BINFLOAT or memo references to the block's distinct BINFLOATs; position
  lists as integer opcodes of one width per block), so ids, weights and
  positions are gathered for every block with numpy; each block's layout is
  *checked* before it is trusted (the earlier all-BININT layout is read too);
* any other block (Whoosh's own writer: merged segments, an index built in
  exactness mode, compressed blocks) is decoded exactly as
  ``W3LeafMatcher`` does (``pickle.loads``), so every index Whoosh can read
  is read the same way here.

``tests/equivalence/test_evaluator_vs_whoosh.py`` compares the ids, weights and positions with
Whoosh's matchers on fast-written and Whoosh-written segments.
"""
from __future__ import annotations

import io
import os
import pickle
import zlib
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import W3TermInfo
from whoosh.reading import TermNotFound

from .format import BLOCK_LENGTH, BLOCK_MAGIC, HASH_SLOT, INFO_HEAD, INFO_LEN, INFO_TAIL, INFO_TAIL_AT, RECORD_LENGTHS

_J, _G, _N, _C, _B = ord("J"), ord("G"), ord("N"), ord("C"), ord("B")
_K, _M, _H, _Q, _POP = ord("K"), ord("M"), ord("h"), ord("q"), ord("0")
_LPAREN, _T = ord("("), ord("t")
# integer opcode → its size with the operand: BININT1, BININT2, BININT (0: not an integer opcode)
_WIDTH = np.zeros(256, dtype=np.int64)
_WIDTH[_K], _WIDTH[_M], _WIDTH[_J] = 2, 3, 5


@dataclass
class TermPostings:
    """One term's postings (document numbers ascending), over one or several segments."""

    ids: np.ndarray  # int64
    weights: np.ndarray  # float64 (the stored float32 weights, exactly)
    _buf: np.ndarray | None = None  # posting bytes, for positions
    _voff: np.ndarray | None = None  # offset in _buf of each posting's first position opcode
    _vcount: np.ndarray | None = None  # positions per posting
    _vwidth: np.ndarray | None = None  # bytes per position opcode, per posting (2, 3 or 5)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def nbytes(self) -> int:
        n = self.ids.nbytes + self.weights.nbytes + 200
        for a in (self._buf, self._voff, self._vcount, self._vwidth):
            if a is not None:
                n += a.nbytes
        return n

    def position_count(self) -> int:
        return int(self._vcount.sum()) if self._vcount is not None else 0

    def positions(self, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the postings ``sel`` (indices, ascending): (index into ``sel`` per position, position).

        A phrase of common bigrams decodes millions of positions at 100,000
        reports, so this makes as few passes over them as it can: each list's
        opcode offsets are one ``repeat`` of its start plus a running count, and
        where all selected lists share one opcode width (the usual case) the
        operands are one gather.
        """
        if self._voff is None or self._buf is None or self._vcount is None or self._vwidth is None or not len(sel):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        counts = self._vcount[sel]
        total = int(counts.sum())
        if not total:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(sel), dtype=np.int64), counts)
        ends = np.cumsum(counts)
        starts = ends - counts  # each list's first index in the output
        widths = self._vwidth[sel]
        w0 = int(widths[0])
        if (widths == w0).all():
            # opcode k of list l sits at voff[l] + w0 * (k - starts[l]): one repeat, one ramp
            offs = np.repeat(self._voff[sel] - w0 * starts, counts)
            offs += np.arange(0, w0 * total, w0, dtype=np.int64)
            gaps = _read_ints(self._buf, offs, w0)
        else:
            width = np.repeat(widths, counts)
            j = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
            gaps = _read_ints(self._buf, np.repeat(self._voff[sel], counts) + width * j, width)
        cs = np.cumsum(gaps, dtype=np.int64)  # a list's gaps start from 0, so subtract the sum before it
        before = np.zeros(len(sel), dtype=np.int64)
        if len(sel) > 1:
            prior = ends[:-1]
            before[1:] = np.where(prior > 0, cs[np.maximum(prior - 1, 0)], 0)
        cs -= np.repeat(before, counts)
        return owner, cs


EMPTY = TermPostings(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))


def read_term(reader: Any, fieldname: str, tbytes: bytes, with_positions: bool = False) -> TermPostings:
    """All postings of ``fieldname:tbytes`` in one segment reader (deleted documents included)."""
    return read_terms([(reader, 0)], fieldname, tbytes, with_positions)


def read_terms(leaves: list[tuple[Any, int]], fieldname: str, tbytes: bytes,
               with_positions: bool = False, infos: dict[tuple[int, str, bytes], Any] | None = None) -> TermPostings:
    """A term's postings in every segment, numbered globally (each segment's by its ``offset``).

    The fast-layout blocks of all segments are decoded in one batch (the cost of
    a query is then per posting, not per segment); other blocks are unpickled
    segment by segment and their position lists re-laid in the same layout, so
    one representation serves every index.  ``infos``: term lookups already
    made (:func:`prefetch`'s result), used instead of looking up again.
    """
    raws: list[bytes] = []
    at_raw: list[tuple[int, int]] = []  # (leaf, offset) of each raw posting list
    slow: list[tuple[int, list[int], list[float], list[list[int]]]] = []  # (leaf, ids, weights, position lists)
    fmt = None
    for li, (reader, offset) in enumerate(leaves):
        terms = reader._terms
        known: Any = infos.get((li, fieldname, tbytes), False) if infos else False
        if known is None:
            continue  # settled: not in this segment
        if known is not False:
            ti = known
        else:
            try:
                ti = terms.term_info(fieldname, tbytes)
            except TermNotFound:  # not in this segment
                continue
        fmt = reader.schema[fieldname].format
        if ti.is_inlined():
            ids, weights, values = ti.inlined_postings()
            slow.append((li, [i + offset for i in ids], _weights_list(weights, len(ids)),
                         _decode_values(fmt, values, len(ids)) if with_positions else []))
            continue
        raws.append(_raw_list(reader, ti))
        at_raw.append((li, offset))
    joined = b"".join(raws)
    fast: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, int]] = []  # (leaf, ds, de, n, offset)
    pos = 0
    if raws:
        lens = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
        lstart = np.cumsum(lens) - lens
        ok, owner, ds_all, de_all, n_all = _all_block_extents(np.frombuffer(joined, dtype=np.uint8), lstart, lstart + lens)
        cut = np.searchsorted(owner, np.arange(len(raws) + 1))
        for k, (li, offset) in enumerate(at_raw):
            if ok[k]:
                sl = slice(cut[k], cut[k + 1])
                fast.append((li, ds_all[sl], de_all[sl], n_all[sl], offset))
            else:
                ids, weights, values = _generic_decode(raws[k], with_positions)
                slow.append((li, [i + offset for i in ids], weights,
                             _decode_values(fmt, values, len(ids)) if with_positions else []))
        pos = len(joined)
    if not fast and not slow:
        return EMPTY
    # position lists of unpickled blocks, laid out as the fast writer lays them (count, header, J gaps)
    synth: list[bytes] = []
    slow_voff: list[list[int]] = []
    if with_positions:
        at = pos
        for _li, _ids, _w, plists in slow:
            recs, offs, at = _relayout(plists, at)
            synth.extend(recs)
            slow_voff.append(offs)
    buf = np.frombuffer(joined + b"".join(synth) if synth else joined, dtype=np.uint8)
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]] = []
    if fast:
        ds = np.concatenate([f[1] for f in fast])
        de = np.concatenate([f[2] for f in fast])
        n = np.concatenate([f[3] for f in fast])
        got = None
        try:
            got = _fast_decode(buf, ds, de, n, fmt=fmt, with_positions=with_positions)
        except (IndexError, ValueError):  # a layout that only looked like the fast one
            got = None
        if got is None:
            return _per_segment(leaves, fieldname, tbytes, with_positions)
        ids, weights, voff, vcount, vwidth = got
        k = 0
        for li, _ds, _de, bn, offset in fast:
            m = int(bn.sum())
            sl = slice(k, k + m)
            parts.append((li, ids[sl] + offset, weights[sl], voff[sl] if voff is not None else None,
                          vcount[sl] if vcount is not None else None, vwidth[sl] if vwidth is not None else None))
            k += m
    for j, (li, ids_l, w_l, plists) in enumerate(slow):
        voff = np.asarray(slow_voff[j], dtype=np.int64) if with_positions else None
        vcount = np.asarray([len(p) for p in plists], dtype=np.int64) if with_positions else None
        vwidth = np.full(len(plists), 5, dtype=np.int64) if with_positions else None  # _relayout's BININTs
        parts.append((li, np.asarray(ids_l, dtype=np.int64), np.asarray(w_l, dtype=np.float64), voff, vcount,
                      vwidth))
    parts.sort(key=lambda p: p[0])
    out = TermPostings(np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]))
    if with_positions:
        out._buf = buf
        out._voff = np.concatenate([p[3] for p in parts])
        out._vcount = np.concatenate([p[4] for p in parts])
        out._vwidth = np.concatenate([p[5] for p in parts])
    return out


def _raw_list(reader: Any, ti: Any) -> bytes:
    """The bytes of a term's (not inlined) posting list in a segment, read in one call."""
    off, length = ti.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps struct.unpack's tuple
        length = length[0]
    raw = _pread(reader._terms._postfile, off, length)
    if raw[:4] != BLOCK_MAGIC:
        raise ValueError("not a Whoosh 3 posting list")
    return raw


def read_many(leaves: list[tuple[Any, int]], fieldname: str, terms: list[bytes],
              infos: dict[tuple[int, str, bytes], Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The postings (no positions) of many terms of one field at once: ids (global), weights,
    and the index in ``terms`` each posting belongs to.

    Why: a single character searched as every bigram starting with it is a union of
    hundreds to thousands of short lists; read one by one, Python's per-list work
    (about 0.7 ms) made one character cost a second.  Here all lists of all
    segments are joined and their blocks walked and decoded in one batch, as
    :func:`read_terms` does for one term's segments.  ``infos``: the term records,
    ``(leaf, field, term) → TermInfo`` or None where a segment lacks the term.
    """
    raws: list[bytes] = []
    owners: list[tuple[int, int]] = []  # (term index, document offset) per raw list
    s_ids: list[int] = []
    s_w: list[float] = []
    s_t: list[int] = []
    fmt = None
    for t, tb in enumerate(terms):
        for li, (reader, offset) in enumerate(leaves):
            ti = infos.get((li, fieldname, tb))
            if ti is None:
                continue
            if ti.is_inlined():
                ids, weights, _values = ti.inlined_postings()
                s_ids += [i + offset for i in ids]
                s_w += _weights_list(weights, len(ids))
                s_t += [t] * len(ids)
                continue
            fmt = reader.schema[fieldname].format
            raws.append(_raw_list(reader, ti))
            owners.append((t, offset))
    out_ids = [np.asarray(s_ids, dtype=np.int64)]
    out_w = [np.asarray(s_w, dtype=np.float64)]
    out_t = [np.asarray(s_t, dtype=np.int64)]
    if raws:
        joined = b"".join(raws)
        buf = np.frombuffer(joined, dtype=np.uint8)
        lens = np.fromiter(map(len, raws), dtype=np.int64, count=len(raws))
        lstart = np.cumsum(lens) - lens
        ok, owner, ds, de, n = _all_block_extents(buf, lstart, lstart + lens)
        got = None
        if len(n):
            try:
                got = _fast_decode(buf, ds, de, n, fmt=fmt, with_positions=False)
            except (IndexError, ValueError):  # a layout that only looked like the fast one
                got = None
        slow = [k for k in range(len(raws)) if not ok[k]]
        if got is None and len(n):
            slow = list(range(len(raws)))  # decode every list the general way
        elif got is not None:
            post_owner = np.repeat(owner, n)
            t_of = np.asarray([o[0] for o in owners], dtype=np.int64)
            off_of = np.asarray([o[1] for o in owners], dtype=np.int64)
            out_ids.append(got[0] + off_of[post_owner])
            out_w.append(np.asarray(got[1], dtype=np.float64))
            out_t.append(t_of[post_owner])
        for k in slow:
            ids, weights, _v = _generic_decode(raws[k], False)
            t, offset = owners[k]
            out_ids.append(np.asarray(ids, dtype=np.int64) + offset)
            out_w.append(np.asarray(weights, dtype=np.float64))
            out_t.append(np.full(len(ids), t, dtype=np.int64))
    return np.concatenate(out_ids), np.concatenate(out_w), np.concatenate(out_t)


def _per_segment(leaves: list[tuple[Any, int]], fieldname: str, tbytes: bytes, with_positions: bool) -> TermPostings:
    """The batch failed a layout check: decode every segment alone (each falls back as needed)."""
    parts = []
    for reader, offset in leaves:
        tp = _one_segment(reader, fieldname, tbytes, with_positions)
        if len(tp):
            parts.append((tp, offset))
    if not parts:
        return EMPTY
    if len(parts) == 1:
        tp, offset = parts[0]
        return TermPostings(tp.ids + offset, tp.weights, tp._buf, tp._voff, tp._vcount, tp._vwidth)
    bufs, voffs, at = [], [], 0
    for tp, _o in parts:
        if with_positions:
            assert tp._buf is not None and tp._voff is not None  # read with positions
            bufs.append(tp._buf.tobytes())
            voffs.append(tp._voff + at)
            at += len(bufs[-1])
    out = TermPostings(np.concatenate([tp.ids + o for tp, o in parts]), np.concatenate([tp.weights for tp, _o in parts]))
    if with_positions:
        out._buf = np.frombuffer(b"".join(bufs), dtype=np.uint8)
        out._voff = np.concatenate(voffs)
        out._vcount = np.concatenate([tp._vcount for tp, _o in parts])
        out._vwidth = np.concatenate([tp._vwidth for tp, _o in parts])
    return out


def _one_segment(reader: Any, fieldname: str, tbytes: bytes, with_positions: bool) -> TermPostings:
    terms = reader._terms
    try:
        ti = terms.term_info(fieldname, tbytes)
    except TermNotFound:
        return EMPTY
    if not ti.is_inlined():
        off, length = ti.extent()
        if isinstance(length, tuple):
            length = length[0]
        raw = terms._postfile.get(off, length)
        ext = _block_extents(raw)
        if ext is not None:
            buf = np.frombuffer(raw, dtype=np.uint8)
            try:
                got = _fast_decode(buf, *ext, fmt=reader.schema[fieldname].format, with_positions=with_positions)
            except (IndexError, ValueError):
                got = None
            if got is not None:
                ids, weights, voff, vcount, vwidth = got
                return TermPostings(ids, weights, buf if with_positions else None, voff, vcount, vwidth)
    # unpickled: reuse the batch path's re-layout with this segment alone, forced down the slow route
    return _slow_only(reader, fieldname, tbytes, with_positions)


def _slow_only(reader: Any, fieldname: str, tbytes: bytes, with_positions: bool) -> TermPostings:
    terms = reader._terms
    ti = terms.term_info(fieldname, tbytes)
    fmt = reader.schema[fieldname].format
    if ti.is_inlined():
        ids, weights, values = ti.inlined_postings()
        weights = _weights_list(weights, len(ids))
    else:
        off, length = ti.extent()
        if isinstance(length, tuple):
            length = length[0]
        ids, weights, values = _generic_decode(terms._postfile.get(off, length), with_positions)
    plists = _decode_values(fmt, values, len(ids)) if with_positions else []
    out = TermPostings(np.asarray(list(ids), dtype=np.int64), np.asarray(weights, dtype=np.float64))
    if with_positions:
        recs, offs, _end = _relayout(plists, 0)
        out._buf = np.frombuffer(b"".join(recs), dtype=np.uint8)
        out._voff = np.asarray(offs, dtype=np.int64)
        out._vcount = np.asarray([len(p) for p in plists], dtype=np.int64)
        out._vwidth = np.full(len(plists), 5, dtype=np.int64)
    return out


def _relayout(plists: list[list[int]], at: int) -> tuple[list[bytes], list[int], int]:
    """Position lists in the block writer's earlier value layout (count, pickle header, one BININT
    per gap: width 5), starting at byte ``at``: the records, each record's first-gap offset, and the
    end.  Unpickled blocks are re-laid this way so one representation serves every index."""
    recs: list[bytes] = []
    offs: list[int] = []
    for pl in plists:
        gaps = [pl[0]] + [b - a for a, b in pairwise(pl)] if pl else []
        rec = len(gaps).to_bytes(4, "big") + b"\x80\x03](" + b"".join(
            b"J" + g.to_bytes(4, "little", signed=True) for g in gaps) + b"e."
        offs.append(at + 8)
        recs.append(rec)
        at += len(rec)
    return recs, offs, at


def _weights_list(weights: Any, count: int) -> list[float]:
    if weights is None:
        return [1.0] * count
    if isinstance(weights, float):
        return [weights] * count
    return list(weights)


def _decode_values(fmt: Any, values: Any, count: int) -> list[list[int]]:
    if values is None:
        return [[] for _ in range(count)]
    return [fmt.decode_positions(v) if v else [] for v in values]


def _block_extents(raw: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(data start, data end, postings) per block when every block has the fast writer's info record."""
    return _walk_list(raw, 4, len(raw))


def _all_block_extents(buf: np.ndarray, lstart: np.ndarray, lend: np.ndarray) -> Any:
    """:func:`_block_extents` of many posting lists at once (list k is ``buf[lstart[k]:lend[k]]``).

    Why: a query term is read from every segment, and walking each list's block
    headers in Python cost about 25 µs a list, most of a cold query's time per
    segment after the reads themselves.  Here every list advances by one block
    per step, so the Python work is one step per block of the *longest* list.

    Returns (ok per list, then per block of the ok lists, ordered by list and
    position: owning list, data start, data end, postings).  A list is not ok
    where :func:`_block_extents` would return None.
    """
    nl = len(lstart)
    ok = np.ones(nl, dtype=bool)
    posn = lstart + 4  # after the magic
    active = np.ones(nl, dtype=bool)
    i4 = _at(buf, ">i4")
    l4 = _at(buf, "<i4")
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    while active.any():
        a = np.flatnonzero(active)
        if len(a) <= _WALK_ALONE:
            # few lists left (a term in a few big segments, or the longest lists' tails): a
            # step of the vectorised walk costs as much as ~20 blocks walked one at a time
            for k in a.tolist():
                got = _walk_list(buf, int(posn[k]), int(lend[k]))
                if got is None:
                    ok[k] = False
                else:
                    out.append((np.full(len(got[0]), k, dtype=np.int64), *got))
            break
        p = posn[a]
        end = lend[a]
        short = p + 4 + INFO_LEN > end
        if short.any():
            ok[a[short]] = False
            active[a[short]] = False
            a, p, end = a[~short], p[~short], end[~short]
            if not len(a):
                break
        blen = i4[p].astype(np.int64)
        last = blen < 0
        blen = np.abs(blen)
        info = p + 4
        good = ((buf[info] == 0x80) & (buf[info + 1] == 3) & (buf[info + 2] == _LPAREN) & (buf[info + 38] == 46)
                & (buf[info + 3] == _J) & (buf[info + 22] == _J) & (l4[info + 23] == 0))
        nxt = info + blen
        good &= last | (nxt < end)  # a list that runs out without its last block is not ok
        if not good.all():
            ok[a[~good]] = False
            active[a[~good]] = False
            a, info, nxt, last = a[good], info[good], nxt[good], last[good]
        out.append((a, info + INFO_LEN, nxt, l4[info + 4].astype(np.int64)))
        posn[a] = nxt
        active[a[last]] = False
    if not out:
        z = np.zeros(0, dtype=np.int64)
        return ok, z, z, z, z
    owner = np.concatenate([o[0] for o in out])
    keep = ok[owner]
    order = np.argsort(owner[keep], kind="stable")  # by list; steps are in block order already
    return (ok, owner[keep][order], np.concatenate([o[1] for o in out])[keep][order],
            np.concatenate([o[2] for o in out])[keep][order], np.concatenate([o[3] for o in out])[keep][order])


_WALK_ALONE = 12  # lists still walking at which the rest is walked list by list


def _walk_list(buf: Any, pos: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The blocks of one posting list in ``buf`` (bytes or a uint8 array) from ``pos`` (a block's
    length) to ``end``, one at a time: (data starts, data ends, postings) as arrays, or None
    when a block is not the fast writer's (another info record, a compressed block) or the
    list runs out without its last block."""
    ds: list[int] = []
    de: list[int] = []
    ns: list[int] = []
    blen_at, head_at, tail_at = BLOCK_LENGTH.unpack_from, INFO_HEAD.unpack_from, INFO_TAIL.unpack_from
    while True:
        if pos + 4 + INFO_LEN > end:
            return None
        blen, = blen_at(buf, pos)
        info = pos + 4
        proto, ver, mark, j1, n = head_at(buf, info)
        j2, comp, stop = tail_at(buf, info + INFO_TAIL_AT)
        if proto != 0x80 or ver != 3 or mark != _LPAREN or j1 != _J or j2 != _J or comp or stop != 46:
            return None
        nxt = info + (-blen if blen < 0 else blen)
        ns.append(n)
        ds.append(info + INFO_LEN)
        de.append(nxt)
        if blen < 0:
            break
        if nxt >= end:
            return None
        pos = nxt
    return np.asarray(ds, dtype=np.int64), np.asarray(de, dtype=np.int64), np.asarray(ns, dtype=np.int64)


def _at(buf: np.ndarray, dtype: str) -> np.ndarray:
    """``buf`` read as ``dtype`` starting at *every* byte: element k is the value whose first byte is k.

    An unaligned, overlapping view (stride 1), so gathering values that sit at
    arbitrary offsets is one fancy-index, not one per byte.
    """
    size = np.dtype(dtype).itemsize
    if len(buf) < size:
        return np.zeros(0, dtype=dtype)
    return np.ndarray((len(buf) - size + 1,), dtype=dtype, buffer=buf, strides=(1,))


# an integer opcode's size → the bits of a 4-byte little-endian read that are its operand
_OPERAND_MASK = np.zeros(6, dtype=np.int64)
_OPERAND_MASK[2], _OPERAND_MASK[3], _OPERAND_MASK[5] = 0xFF, 0xFFFF, -1


def _read_ints(buf: np.ndarray, offs: np.ndarray, width: np.ndarray | int) -> np.ndarray:
    """The operands of the integer opcodes at ``offs`` (``width``: 2, 3 or 5 bytes with the opcode,
    per opcode or one for all).

    Every operand is read as four bytes and masked to its width (one gather, one
    ``&``) rather than one masked gather per width; near the end of ``buf``,
    where four bytes may not be there, each width is read on its own.
    """
    if len(offs) and int(offs.max()) + 5 <= len(buf):
        ints: np.ndarray = _at(buf, "<i4")[offs + 1].astype(np.int64) & _OPERAND_MASK[width]
        return ints
    width = np.broadcast_to(width, offs.shape)
    out = np.zeros(len(offs), dtype=np.int64)
    for w, dt in ((2, "u1"), (3, "<u2"), (5, "<i4")):
        m = width == w
        if m.any():
            out[m] = _at(buf, dt)[offs[m] + 1]
    return out


def _fast_decode(buf: np.ndarray, ds: np.ndarray, de: np.ndarray, n: np.ndarray, *, fmt: Any,
                 with_positions: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None,
                                                np.ndarray | None] | None:
    """Ids, weights (and position offsets, counts and widths) of fast-layout blocks; None if a check fails.

    Block data is ``80 03 (`` + one integer opcode per id gap (``K``/``M``/``J``,
    the same for every id of a block) + ``t``, then the weights (``N``; ``G`` + one
    big-endian double; memo-referenced doubles: ``G`` double ``q`` index ``0`` per
    distinct weight, then ``(`` + ``h`` index per posting + ``t``; or, in the
    earlier layout, ``(`` + ``G`` double per posting + ``t``), then the values.
    """
    if (n <= 0).any():
        return None
    nb = len(n)
    if not ((buf[ds] == 0x80) & (buf[ds + 1] == 3) & (buf[ds + 2] == _LPAREN)).all():
        return None
    total = int(n.sum())
    blk = np.repeat(np.arange(nb), n)
    bstart = np.zeros(nb, dtype=np.int64)
    np.cumsum(n[:-1], out=bstart[1:])
    j = np.arange(total, dtype=np.int64) - bstart[blk]
    op = buf[ds + 3]
    idw = _WIDTH[op]
    if not idw.all():
        return None
    joff = ds[blk] + 3 + idw[blk] * j
    if not (buf[joff] == op[blk]).all() or not (buf[ds + 3 + idw * n] == _T).all():
        return None
    cs = np.cumsum(_read_ints(buf, joff, idw[blk]), dtype=np.int64)
    before = np.where(bstart > 0, cs[np.maximum(bstart - 1, 0)], 0)
    ids = cs - before[blk]
    ws = ds + 3 + idw * n + 1
    kind = buf[ws]
    g = kind == _G
    memo = np.zeros(nb, dtype=bool)
    if g.any():
        memo[g] = buf[ws[g] + 9] == _Q
    one = g & ~memo
    tup = kind == _LPAREN
    if not (g | tup | (kind == _N)).all():
        return None
    weights = np.ones(total, dtype=np.float64)
    wsize = np.ones(nb, dtype=np.int64)
    f64 = _at(buf, ">f8")  # a strided view: free to make
    if one.any():
        weights[one[blk]] = np.repeat(f64[ws[one] + 1], n[one])
        wsize[one] = 9
    if memo.any():
        # the distinct weights pushed and popped before the tuple: G double, q index, 0
        cur = ws.copy()
        active = memo.copy()
        while active.any():
            a = np.flatnonzero(active)
            c = cur[a]
            ok = (buf[c] == _G) & (buf[c + 9] == _Q) & (buf[c + 10] == (c - ws[a]) // 12) & (buf[c + 11] == _POP)
            cur[a[ok]] += 12
            active[a[~ok]] = False
        ndist = (cur - ws) // 12
        pm = memo[blk]
        pb = blk[pm]
        hoff = cur[pb] + 1 + 2 * j[pm]
        idx = buf[hoff + 1].astype(np.int64)
        if not ((buf[cur[memo]] == _LPAREN).all() and (buf[hoff] == _H).all() and (idx < ndist[pb]).all()
                and (buf[cur[memo] + 1 + 2 * n[memo]] == _T).all()):
            return None
        weights[pm] = f64[ws[pb] + 12 * idx + 1]
        wsize[memo] = cur[memo] + 2 + 2 * n[memo] - ws[memo]
    if tup.any():
        pm = tup[blk]
        woff = ws[blk[pm]] + 1 + 9 * j[pm]
        if not (buf[woff] == _G).all() or not (buf[ws[tup] + 1 + 9 * n[tup]] == _T).all():
            return None
        weights[pm] = f64[woff + 1]
        wsize[tup] = 2 + 9 * n[tup]
    if not with_positions:
        return ids, weights, None, None, None
    # values: ( then per posting C <len> | B <len4>, the value bytes: the 4-byte count, then
    # "(" + count integer opcodes (one width per block) + "t"; or, in the earlier layout,
    # 80 03 5d 28 + count × (J int32) + 65 2e; then t
    vs = ws + wsize
    if not (buf[vs] == _LPAREN).all():
        return None
    fb = float(getattr(fmt, "field_boost", 1.0) or 1.0)
    counts = np.rint(weights / fb).astype(np.int64)  # a position list's weight is count × field boost
    h0 = buf[vs + 1]
    if not ((h0 == _C) | (h0 == _B)).all():
        return None
    d0 = vs + 1 + np.where(h0 == _C, 2, 5)  # each block's first value
    old = buf[d0 + 4] == 0x80
    pw = np.where(old, 5, _WIDTH[buf[d0 + 5]])
    if not pw.all():
        return None
    pwp, oldp = pw[blk], old[blk]
    vlen = np.where(oldp, 10, 6) + counts * pwp
    hdr = np.where(vlen < 256, 2, 5)
    esize = hdr + vlen
    eoff = np.cumsum(esize)
    estart = eoff - esize  # running offset over all postings; rebased per block below
    rebase = (vs + 1) - np.where(bstart > 0, eoff[np.maximum(bstart - 1, 0)], 0)
    estart = estart + rebase[blk]
    if (estart + esize >= len(buf)).any():
        return None
    small = hdr == 2
    # each value's header: C and a one-byte length, or B and a four-byte length (one gather each)
    if not (buf[estart] == np.where(small, _C, _B)).all():
        return None
    if not ((_at(buf, "<u4")[estart + 1] & np.where(small, 0xFF, 0xFFFFFFFF)) == vlen).all():
        return None
    data = estart + hdr
    if not (_at(buf, ">u4")[data] == counts).all():
        return None
    first = data + np.where(oldp, 8, 5)
    if oldp.any():
        if not ((buf[data[oldp] + 6] == ord("]")) & (buf[first[oldp]] == _J)).all():
            return None
        newp = ~oldp
        data_n, first_n, counts_n, pwp_n, op_n = data[newp], first[newp], counts[newp], pwp[newp], buf[d0 + 5][blk][newp]
    else:  # the usual case: every value in the current layout, no selection to make
        data_n, first_n, counts_n, pwp_n, op_n = data, first, counts, pwp, buf[d0 + 5][blk]
    if len(data_n) and not ((buf[data_n + 4] == _LPAREN) & (buf[first_n] == op_n)
                            & (buf[first_n + counts_n * pwp_n] == _T)).all():
        return None
    last = bstart + n - 1
    if not (buf[estart[last] + esize[last]] == _T).all():
        return None
    return ids, weights, first, counts, pwp


def _generic_decode(raw: bytes, with_positions: bool) -> tuple[list[int], list[float], list[Any]]:
    """Every block decoded as ``W3LeafMatcher`` does it (unpickle, decompress if needed)."""
    f = io.BytesIO(raw)
    f.seek(4)
    all_ids: list[int] = []
    all_w: list[float] = []
    values: list[Any] = []
    while True:
        blen = int.from_bytes(f.read(4), "big", signed=True)
        last = blen < 0
        end = f.tell() + abs(blen)
        info = pickle.load(f)
        count, comp = info[0], info[3]
        data = raw[f.tell():end]
        if comp:
            data = zlib.decompress(data)
        ids, weights, vals = pickle.loads(data)
        all_ids.extend(np.cumsum(np.asarray(ids, dtype=np.int64)).tolist())
        all_w.extend(_weights_list(weights, count))
        if with_positions:
            values.extend(vals if vals is not None else [None] * count)
        if last:
            break
        f.seek(end)
    return all_ids, all_w, values






# -- reading ahead ------------------------------------------------------------------------------

_PAGE = 4096
_PROBE = 16  # hash slots read at a time while probing (192 bytes)
_RECORD_GUESS = 48  # a W3TermInfo record's value is 35 bytes unless its postings are inlined
_WILLNEED = getattr(os, "POSIX_FADV_WILLNEED", None)
_RANDOM = getattr(os, "POSIX_FADV_RANDOM", None)


def _fd(structfile: Any) -> int | None:
    f = getattr(structfile, "file", None)
    try:
        return f.fileno() if f is not None else None
    except (AttributeError, OSError, ValueError):  # an in-memory file (tests, compound segments)
        return None


def _willneed(fd: int | None, pos: int, length: int) -> None:
    if fd is None or _WILLNEED is None:
        return
    start = pos - pos % _PAGE
    try:
        os.posix_fadvise(fd, start, pos + length - start, _WILLNEED)
    except OSError:
        pass


def _pread(structfile: Any, pos: int, length: int) -> bytes:
    """``structfile.get(pos, length)`` without the file object's buffer.

    A seek and a small read through Python's buffered file refill its 8 KB buffer
    each time: a term lookup reads a 12-byte slot and a record of a few dozen
    bytes, so most of what was copied was thrown away.  ``os.pread`` reads just
    the bytes asked for (segment files never change once written, so bypassing
    the buffer cannot read stale data).
    """
    fd = _fd(structfile)
    if fd is None:
        got: bytes = structfile.get(pos, length)
        return got
    out = os.pread(fd, length, pos)
    if len(out) < length:  # a short read (end of file, or interrupted): the usual way
        got = structfile.get(pos, length)
        return got
    return out


def random_access(structfile: Any) -> None:
    """Tell the kernel a segment file is read at random places (``POSIX_FADV_RANDOM``), once per file.

    Why: the kernel reads ahead of every cache miss (this machine's disk: up to
    8 MB), which suits a file read from start to end, but a term lookup reads a
    12-byte hash slot and a record of a few dozen bytes: reading ahead of each
    spends the disk's time on pages no query asks for.  Posting lists are read
    with one request of their exact extent, which the kernel still serves whole.
    """
    if getattr(structfile, "_rs_random", False):
        return
    fd = _fd(structfile)
    if fd is not None and _RANDOM is not None:
        try:
            os.posix_fadvise(fd, 0, 0, _RANDOM)
        except OSError:
            pass
    try:
        structfile._rs_random = True
    except AttributeError:
        pass


def _probe(dbfile: Any, h: int, slotpos: int, tablestart: int, numslots: int) -> int | None:
    """Whoosh's linear probing (``HashReader.ranges_for_key``) for hash ``h``, ``_PROBE`` slots a read.

    Returns the record position of the first slot holding ``h``, None when an
    empty slot comes first (the key is certainly absent), 0 when every slot was
    read without either (a full table: Whoosh's own lookup settles it).  Reading
    one slot at a time left a key unsettled whenever its run of occupied slots
    was longer than the slots read; Whoosh's hash tables are half full, so such
    runs are common enough (up to one segment in ten for a term, at 101 segments) that those keys
    were looked up a second time, the slow way, for their idf.
    """
    tableend = tablestart + numslots * HASH_SLOT.size
    left = numslots
    while left > 0:
        n = min(left, _PROBE, (tableend - slotpos) // HASH_SLOT.size)
        raw = _pread(dbfile, slotpos, n * HASH_SLOT.size)
        for slothash, itempos in HASH_SLOT.iter_unpack(raw[:len(raw) - len(raw) % HASH_SLOT.size]):
            if not itempos:
                return None
            if slothash == h:
                return int(itempos)
        got = len(raw) // HASH_SLOT.size
        if not got:
            return 0
        left -= got
        slotpos += got * HASH_SLOT.size
        if slotpos >= tableend:
            slotpos = tablestart
    return 0


def prefetch(leaves: list[tuple[Any, int]], keys: list[tuple[str, bytes]]) -> dict[tuple[int, str, bytes], Any]:
    """Have the kernel read, all at once, what looking up ``keys`` in every segment will read.

    Why: a term lookup in one segment is two dependent reads in its terms file
    (the hash slot, then the record) and one in its postings file.  When the
    index is not in the page cache each is a disk seek, and a query asks every
    segment in turn for every term: at 100,000 reports, 70–100 segments × 4
    fields × 2 words, hundreds of seeks one after the other.  Here each of the
    three levels is requested for every (segment, term) with
    ``posix_fadvise(WILLNEED)`` before any of it is waited for, so the disk
    serves them in parallel.

    Returns what the lookups found, so that they are not made again:
    ``(leaf index, field, term) → TermInfo``, or ``None`` where the term is
    certainly not in that segment; a key missing from the result was not
    settled here (a hash table with no empty slot, which Whoosh never writes)
    and is looked up as usual.  Where the files are not real files or the
    platform has no ``posix_fadvise`` the lookups are still made and returned,
    without the read-ahead.
    """
    found: dict[tuple[int, str, bytes], Any] = {}
    if not keys:
        return found
    slots = []
    for li, (reader, _off) in enumerate(leaves):
        terms: Any = getattr(reader, "_terms", None)
        tindex = getattr(terms, "_tindex", None)
        if terms is None or tindex is None or not hasattr(tindex, "tables") or not hasattr(terms, "_fieldmap"):
            continue
        fd = _fd(tindex.dbfile)
        random_access(tindex.dbfile)
        random_access(terms._postfile)
        fieldmap = terms._fieldmap
        for fieldname, tbytes in keys:
            if fieldname not in fieldmap:
                found[(li, fieldname, tbytes)] = None
                continue
            key = terms._keycoder(fieldname, tbytes)
            h = tindex.hashfn(key)
            tablestart, numslots = tindex.tables[h & 255]
            if not numslots:
                found[(li, fieldname, tbytes)] = None
                continue
            slotpos = tablestart + ((h >> 8) % numslots) * HASH_SLOT.size
            _willneed(fd, slotpos, HASH_SLOT.size * _PROBE)
            slots.append((li, terms, tindex, fd, key, h, slotpos, tablestart, numslots, fieldname, tbytes))
    hits = []
    for li, terms, tindex, fd, key, h, slotpos, tablestart, numslots, fieldname, tbytes in slots:
        dbfile = tindex.dbfile
        itempos = _probe(dbfile, h, slotpos, tablestart, numslots)
        if itempos is None:  # an empty slot before any slot of this hash: not in this segment
            found[(li, fieldname, tbytes)] = None
        elif itempos:
            _willneed(fd, itempos, RECORD_LENGTHS.size + len(key) + _RECORD_GUESS)
            hits.append((li, terms, dbfile, itempos, key, fieldname, tbytes))
    for li, terms, dbfile, itempos, key, fieldname, tbytes in hits:
        # the record (HashWriter: "!ii" key and value lengths, the key, the value) in one read
        rec = _pread(dbfile, itempos, RECORD_LENGTHS.size + len(key) + _RECORD_GUESS)
        keylen, datalen = RECORD_LENGTHS.unpack_from(rec)
        if keylen != len(key) or rec[RECORD_LENGTHS.size:RECORD_LENGTHS.size + keylen] != key:
            try:  # the hash matched another term's: Whoosh's own probing settles it
                ti = terms.term_info(fieldname, tbytes)
            except TermNotFound:
                found[(li, fieldname, tbytes)] = None
                continue
        else:
            vstart = RECORD_LENGTHS.size + keylen
            value = rec[vstart:vstart + datalen]
            if len(value) < datalen:  # an inlined posting list: longer than the guess
                value = _pread(dbfile, itempos + vstart, datalen)
            ti = W3TermInfo.from_bytes(value)  # what W3TermsReader.term_info returns
        found[(li, fieldname, tbytes)] = ti
        if not ti.is_inlined():
            off, length = ti.extent()
            if isinstance(length, tuple):
                length = length[0]
            _willneed(_fd(terms._postfile), off, length)
    return found
