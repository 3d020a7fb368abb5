"""Writing one field's postings: blocks, block statistics, term records and hash tables, with numpy.

The bulk writer (:mod:`.fastwrite`) and a spilling writer's runs (:mod:`.runs`)
hand a field's buffered postings (a ``fastwrite._FieldBuffer``: documents, weights
and values in arrival order) to :func:`write_field_fast`, which sorts them by term
and writes every term's blocks and record at once; :func:`write_field_exact` writes
the same postings one term at a time as Whoosh's ``W3PostingsWriter`` does (the
reference the byte-equality tests compare with).  The layout constants are
:mod:`.format`'s; field lengths are read by :mod:`.lengths`.
"""
from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable
from hashlib import md5
from itertools import pairwise
from pickle import dumps
from typing import Any

import numpy as np
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import length_to_byte

from .format import (
    BLOCK_LENGTH,
    BLOCK_MAGIC,
    BLOCK_POSTINGS,
    COMPRESSION,
    HASH_SLOT_DTYPE,
    INFO_DTYPE,
    INFO_LEN,
    LENGTH_BYTE_BOUNDS,
    TERMINFO,
    TERMINFO_DTYPE,
)
from .lengths import perdoc_field_lengths

_FLUSH_BYTES = 8 * 1024 * 1024
_CHUNK = 1 << 18  # postings encoded at a time while writing a field (bounds the scatter's index arrays)

def stable_argsort(keys: np.ndarray, bound: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for integer keys in ``[0, bound)``, by 16-bit radix passes.

    numpy's stable sort of a 16-bit type is a radix sort (one counting pass), while for
    wider types it is a merge sort: two 16-bit passes (low half, then high half, each
    stable) give the same permutation several times faster.
    """
    if bound <= 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if bound > 1 << 32:
        return np.argsort(keys, kind="stable")
    perm = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return perm[np.argsort((keys[perm] >> 16).astype(np.uint16), kind="stable")]


def write_hash_tables(self) -> None:
    """``HashWriter._write_hashes`` of ``self`` (a terms file's hash writer) with each bucket's table
    written in one piece.

    Same linear-probing placement, same bytes; Whoosh packs and writes every
    slot separately, which took a second per 150,000 terms.
    """
    dbfile = self.dbfile
    for entries in self.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        self.directory.append((pos, numslots))
        if not numslots:
            continue
        hashes = [0] * numslots
        places = [0] * numslots
        taken = bytearray(numslots)
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while taken[slot]:
                slot = (slot + 1) % numslots
            taken[slot] = 1
            hashes[slot] = hashval
            places[slot] = position
        table = np.empty(numslots, dtype=HASH_SLOT_DTYPE)
        table["hash"] = hashes
        table["pos"] = places
        dbfile.write(table.tobytes())


def close_field_writer(fw, write_hashes: Callable[[Any], None] = write_hash_tables) -> None:
    """``W3FieldWriter.close`` with the terms file's hash tables written by ``write_hashes``.

    Why a parameter and not Whoosh's method: ``HashWriter._write_hashes`` packs and
    writes every slot on its own (a second per 150,000 terms); the bulk writer and a
    run's merge close their field writers through here with :func:`write_hash_tables`,
    which writes the same bytes, instead of replacing the method on Whoosh's object.
    Steps and order are ``HashWriter.close`` + ``OrderedHashWriter``'s extras + closing
    the postings file, as ``W3FieldWriter.close`` does them.
    """
    tindex = fw._tindex
    dbfile = tindex.dbfile
    write_hashes(tindex)
    tindex._write_directory()
    expos = dbfile.tell()
    tindex._write_extras()
    dbfile.write_int(dbfile.tell() - expos)
    dbfile.close()
    fw._postfile.close()
    fw.is_closed = True


def _field_lengths(pdr, fieldname: str, ndocs: int) -> np.ndarray:
    """Per-document field length as Whoosh's posting writer sees it (the byte-quantised value).

    ``pdr`` is a per-document reader, or the lengths a spilling writer keeps
    itself (``indexer.engine.runs.FieldLengths``: its per-document writer is still open);
    those are the raw lengths, which quantise to the same bytes.
    """
    if hasattr(pdr, "lengths_of"):
        return pdr.lengths_of(fieldname, ndocs)
    return perdoc_field_lengths(pdr, fieldname, ndocs, missing=0).astype(np.int64)




def _length_bytes(lengths: np.ndarray) -> np.ndarray:
    """``length_to_byte`` for an array of lengths."""
    return np.minimum(np.searchsorted(LENGTH_BYTE_BOUNDS, lengths, side="left"), 255).astype(np.int64)


def _info_records(n, last, maxw, minb, maxb) -> bytes:
    """Block info tuples ``(n, last id, max weight, 0, min length byte, max length byte)`` as pickles.

    Every record is a 39-byte protocol-3 pickle (BININT/BINFLOAT opcodes), built
    for all one-block terms at once instead of one ``pickle.dumps`` per term.
    """
    rec = np.zeros(len(n), dtype=INFO_DTYPE)
    rec["proto"], rec["ver"], rec["mark"] = 0x80, 3, ord("(")
    for j in ("j1", "j2", "j3", "j4", "j5"):
        rec[j] = ord("J")
    rec["g"], rec["tup"], rec["stop"] = ord("G"), ord("t"), ord(".")
    rec["n"], rec["last"], rec["maxw"], rec["minb"], rec["maxb"] = n, last, maxw, minb, maxb
    return rec.tobytes()


def write_field_fast(fw, fieldname: str, fieldobj, buf, pdr, ndocs: int, *,
                      protocol: int, compress_min: int) -> None:
    """Write every term of one field: the statistics of all terms computed with numpy at once.

    Block boundaries (every ``BLOCK_POSTINGS`` postings of a term), block statistics
    (maximum weight, minimum and maximum field length, last id), block info
    records, term statistics (weight, document frequency, first and last id)
    and the term-info records are array operations; the loop over blocks only
    pickles each block's data tuple.  ``tests/equivalence/test_bulk_writer_vs_whoosh.py`` compares postings, term statistics and
    block statistics with Whoosh's own writer.
    """
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None
    vl_all = np.frombuffer(buf.vlen, dtype=np.uint32)
    if (fixed is None and len(vl_all) and not vl_all.all()) or (fixed and len(vl_all) and (vl_all != fixed).any()) \
            or protocol != 3 or compress_min < (1 << 62):
        # values that are not all present (empty ones are left out of a block) or not of the
        # format's fixed size, or compression asked for: the one-term-at-a-time writer
        if fw._tindex is None:
            raise ValueError(f"field {fieldname!r}: its postings cannot be written in runs (values missing or "
                             "not of the format's size); write this segment without spilling")
        write_field_exact(fw, fieldname, fieldobj, buf, pdr, ndocs, protocol=protocol, compress_min=compress_min)
        return
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex

    terms, perm, counts = buf.sorted_postings()  # terms in key order
    nterms = len(terms)
    if nterms and tindex is not None and tindex.lastkey and fid + terms[0] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    starts = np.zeros(nterms, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    ends_a = starts + counts

    # Per-posting arrays in the narrowest types that hold them: at its peak the flush holds
    # these beside the buffer, so their width, not the buffer's, bounds how large a segment can be.
    doc_s = np.frombuffer(buf.doc, dtype=np.uint32)[perm].view(np.int32)  # documents < 2**31
    w64 = np.frombuffer(buf.weight, dtype=np.float64)[perm]
    w32 = w64.astype(np.float32)  # as kept in a block's array("f")
    if fieldobj.scorable:
        dl = _field_lengths(pdr, fieldname, ndocs)
    else:
        dl = np.zeros(ndocs, dtype=np.int64)
    dlb = _length_bytes(dl)  # per document, then per posting
    lb = dlb.astype(np.uint8)[doc_s]
    lb_min = np.where(dl > 0, dlb, 256).astype(np.int16)[doc_s]  # a zero length does not count for the minimum
    del dl, dlb
    vlen = np.frombuffer(buf.vlen, dtype=np.uint32).astype(np.int64)  # bytes, or positions when buf.gaps
    vstart = np.cumsum(vlen) - vlen
    gaps_mode = bool(buf.gaps)
    if gaps_mode:  # the largest gap of each posting, for its block's integer width
        g_all = np.frombuffer(buf.values, dtype="<u4")
        pmax = np.maximum.reduceat(g_all, vstart)[perm] if len(vstart) else np.zeros(0, np.uint32)
        del g_all
    vstart = vstart[perm]
    vlen = vlen[perm].astype(np.int32)
    fixed_arr = None
    blob = None
    if fixed:  # fixed-size values in posting order: a block's values are one slice
        fixed_arr = np.frombuffer(buf.values, dtype=np.uint8).reshape(-1, fixed)[perm].reshape(-1)
    elif fixed is None:
        blob = np.frombuffer(buf.values, dtype="<u4" if gaps_mode else np.uint8)  # a view: no copy
    del perm
    # sorted copies made: let the buffer's arrays go (``blob`` keeps the values alive if needed)
    buf.doc, buf.weight, buf.vlen, buf.values = array("I"), array("d"), array("I"), bytearray()

    # term statistics (W3TermInfo.add_block over all blocks)
    t_weight = np.add.reduceat(w32, starts, dtype=np.float64) if nterms else np.zeros(0)
    t_maxw = np.maximum(np.maximum.reduceat(w64, starts), 0) if nterms else np.zeros(0)
    t_minb = np.minimum.reduceat(lb_min, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minb = np.where(t_minb > 255, 0, t_minb)
    t_maxb = np.maximum.reduceat(lb, starts) if nterms else np.zeros(0, dtype=np.int64)
    t_minid = doc_s[starts] if nterms else np.zeros(0, dtype=np.int64)
    t_maxid = doc_s[ends_a - 1] if nterms else np.zeros(0, dtype=np.int64)

    # blocks: each term's postings cut every BLOCK_POSTINGS postings, as W3PostingsWriter does
    nblocks = (counts + BLOCK_POSTINGS - 1) // BLOCK_POSTINGS
    bterm = np.repeat(np.arange(nterms), nblocks)
    bfirst_idx = np.zeros(nterms, dtype=np.int64)
    np.cumsum(nblocks[:-1], out=bfirst_idx[1:])
    bj = np.arange(len(bterm)) - bfirst_idx[bterm]
    bstart = starts[bterm] + BLOCK_POSTINGS * bj
    bend = np.minimum(bstart + BLOCK_POSTINGS, ends_a[bterm])
    blast = bend == ends_a[bterm]
    bfirst = bj == 0
    nb = len(bstart)
    b_maxw = np.maximum(np.maximum.reduceat(w64, bstart), 0) if nb else np.zeros(0)
    b_minb = np.minimum.reduceat(lb_min, bstart) if nb else np.zeros(0, dtype=np.int64)
    b_minb = np.where(b_minb > 255, 0, b_minb)
    b_maxb = np.maximum.reduceat(lb, bstart) if nb else np.zeros(0, dtype=np.int64)
    b_last_id = doc_s[bend - 1] if nb else np.zeros(0, dtype=np.int64)
    # ids as stored: the first absolute, then gaps (delta_encode restarts in every block)
    gaps = np.empty_like(doc_s)
    if len(doc_s):
        gaps[0] = doc_s[0]
        gaps[1:] = doc_s[1:] - doc_s[:-1]
        gaps[bstart] = doc_s[bstart]
    # weights as stored: None when all 1.0, one number when all equal, else the tuple
    w_min = np.minimum.reduceat(w32, bstart) if nb else np.zeros(0)
    w_max = np.maximum.reduceat(w32, bstart) if nb else np.zeros(0)
    kinds = np.where((w_min == 1.0) & (w_max == 1.0), 0, np.where(w_min == w_max, 1, 2))
    info = _info_records(bend - bstart, b_last_id, b_maxw, b_minb, b_maxb)
    del b_maxw, b_minb, b_maxb, b_last_id, w_min, w_max, bj, bfirst_idx, lb, lb_min, doc_s, w64

    w0_all = w32[bstart] if nb else np.zeros(0)
    if gaps_mode:  # one integer width per block (all its position lists), as for its ids
        pwidth = np.repeat(_int_width(np.maximum.reduceat(pmax, bstart)).astype(np.int8), bend - bstart) if nb else pmax
        del pmax

    pbase = postfile.tell()
    offsets = np.empty(nterms, dtype=np.int64)
    extents = np.empty(nterms, dtype=np.int64)
    lastpos = np.empty(nterms, dtype=np.int64)  # where each term's last block length is (a run's merge flips it)
    chunk = _CHUNK
    b = 0
    while b < nb:
        # blocks are encoded a chunk at a time (~chunk postings): the index arrays of the
        # scatter cost tens of bytes per posting
        p0 = int(bstart[b])
        b1 = max(int(np.searchsorted(bend, p0 + chunk, side="right")), b + 1)
        p1 = int(bend[b1 - 1])
        if gaps_mode:
            vsrc, vsrc_off = _position_values(blob, vstart[p0:p1], vlen[p0:p1], pwidth[p0:p1])
        elif fixed is None:
            frag, fo = _pickled_values(blob, vstart[p0:p1], vlen[p0:p1])
            vsrc, vsrc_off = frag, np.asarray(fo, dtype=np.int64)
        elif fixed:
            vsrc = fixed_arr[p0 * fixed:p1 * fixed]
            vsrc_off = np.arange(p1 - p0 + 1, dtype=np.int64) * fixed
        else:
            vsrc, vsrc_off = None, None
        data, rec_off, rec_end = _encode_blocks(
            bstart[b:b1] - p0, bend[b:b1] - p0, bfirst[b:b1], blast[b:b1], kinds[b:b1], w0_all[b:b1],
            gaps[p0:p1], w32[p0:p1], info[b * INFO_LEN:b1 * INFO_LEN], fixed, vsrc, vsrc_off)
        firsts = np.flatnonzero(bfirst[b:b1])
        lasts = np.flatnonzero(blast[b:b1])
        offsets[bterm[b:b1][firsts]] = pbase + rec_off[firsts]
        extents[bterm[b:b1][lasts]] = pbase + rec_end[lasts] - offsets[bterm[b:b1][lasts]]
        lastpos[bterm[b:b1][lasts]] = pbase + rec_off[lasts] + 4 * bfirst[b:b1][lasts]
        postfile.write(data)
        pbase += len(data)
        b = b1

    if tindex is None:  # a run of a spilling writer (indexer.engine.runs): its table, merged later
        fw.collect(terms, t_weight, counts, t_minb, t_maxb, t_maxw, t_minid, t_maxid,
                   offsets, extents, lastpos - offsets)
        fw.finish_field()
        return
    ti = np.zeros(nterms, dtype=TERMINFO_DTYPE)
    ti["weight"], ti["df"], ti["minb"], ti["maxb"] = t_weight, counts, t_minb, t_maxb
    ti["maxw"], ti["minid"], ti["maxid"], ti["offset"], ti["length"] = t_maxw, t_minid, t_maxid, offsets, extents
    tinfo = ti.tobytes()
    del ti
    add_term_records(tindex, fid, terms, range(nterms), tinfo, value_size=TERMINFO_DTYPE.itemsize)
    fw.finish_field()


def add_term_records(tindex, fid: bytes, terms: list[bytes], order: list[int], values,
                      value_size: int | None = None) -> None:
    """``OrderedHashWriter.add`` for every term, in key order: the same records and MD5 buckets,
    laid out with numpy and written in large pieces instead of four small writes per term.

    A record is ``!ii`` (key length, value length), the key (field id + term), the
    value; the ordered index gets each record's position, and bucket ``h & 255`` gets
    ``(h, position)`` with ``h`` the last four bytes of the key's MD5, in key order.
    ``values`` is one bytes object per term, or (with ``value_size``) all of them
    joined, each ``value_size`` bytes long.
    """
    keys = [fid + terms[t] for t in order]
    n = len(keys)
    if not n:
        return
    tfile = tindex.dbfile
    tbase = tfile.tell()
    klen = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    if value_size is not None:
        joined_vals = bytes(values)
        vlen = np.full(n, value_size, dtype=np.int64)
    else:
        vals = values if isinstance(values, list) else list(values)
        joined_vals = b"".join(vals)
        vlen = np.fromiter(map(len, vals), dtype=np.int64, count=n)
    rec = 8 + klen + vlen
    pos = np.zeros(n, dtype=np.int64)
    np.cumsum(rec[:-1], out=pos[1:])
    out = np.empty(int(pos[-1] + rec[-1]), dtype=np.uint8)
    head = np.empty((n, 2), dtype=">i4")
    head[:, 0] = klen
    head[:, 1] = vlen
    out[pos[:, None] + np.arange(8)] = head.view(np.uint8).reshape(n, 8)
    out[_run_mask(len(out), pos + 8, klen)] = np.frombuffer(b"".join(keys), dtype=np.uint8)
    out[_run_mask(len(out), pos + 8 + klen, vlen)] = np.frombuffer(joined_vals, dtype=np.uint8)
    for a in range(0, len(out), _FLUSH_BYTES):
        tfile.write(out[a:a + _FLUSH_BYTES].tobytes())
    abs_pos = pos + tbase
    positions = abs_pos.tolist()
    index = tindex.index
    index.append(positions[-1])  # the largest: GrowableArray.append widens its type if needed
    index.array.pop()
    index.array.extend(positions)
    # filetables.md5_hash: the digest's last four bytes, big-endian
    digests = b"".join([md5(k).digest() for k in keys])
    hashes = np.frombuffer(digests, dtype=">u4").reshape(n, 4)[:, 3].astype(np.int64)
    bucket = hashes & 255
    by_bucket = stable_argsort(bucket, 256)  # key order kept within a bucket
    bounds = np.searchsorted(bucket[by_bucket], np.arange(257))
    hl = hashes[by_bucket].tolist()
    pl = abs_pos[by_bucket].tolist()
    buckets = tindex.buckets
    for b in range(256):
        a, e = int(bounds[b]), int(bounds[b + 1])
        if a < e:
            buckets[b].extend(zip(hl[a:e], pl[a:e]))
    tindex.lastkey = keys[-1]


_K, _M, _J = ord("K"), ord("M"), ord("J")


def _int_width(maxv: np.ndarray) -> np.ndarray:
    """Bytes of the narrowest pickle opcode holding every integer up to ``maxv`` (all ≥ 0):
    BININT1 ``K`` + 1 byte (2), BININT2 ``M`` + 2 bytes (3), BININT ``J`` + 4 bytes (5)."""
    return np.where(maxv < 256, 2, np.where(maxv < 65536, 3, 5)).astype(np.int64)


def _put_ints(out: np.ndarray, offs: np.ndarray, vals: np.ndarray, width: np.ndarray) -> None:
    """Write ``vals[k]`` as a pickle integer opcode of ``width[k]`` bytes at ``out[offs[k]]``."""
    for w, op, dt in ((2, _K, "u1"), (3, _M, "<u2"), (5, _J, "<i4")):
        m = width == w
        if not m.any():
            continue
        rec = np.empty((int(m.sum()), w), dtype=np.uint8)
        rec[:, 0] = op
        rec[:, 1:] = vals[m].astype(dt).view(np.uint8).reshape(-1, w - 1)
        out[offs[m][:, None] + np.arange(w)] = rec


def _position_values(gaps: np.ndarray, gstart: np.ndarray, counts: np.ndarray,
                     width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position lists as the elements of a block's values tuple, and each element's offset (and the end).

    An element is a bytes object (``C`` + length byte, or ``B`` + 4-byte length)
    holding what ``formats.Positions.decode_positions`` reads: the 4-byte count,
    then a pickle of the gaps without protocol header or STOP (``decode_positions``
    adds the STOP): ``(``, one integer opcode of ``width`` bytes per gap, ``t``
    (a tuple, which it iterates like the list ``Positions.encode`` pickles).
    ``gaps[gstart[k]:gstart[k] + counts[k]]`` are posting k's gaps.
    """
    n = len(counts)
    counts = np.asarray(counts, dtype=np.int64)
    out, fo, data = _bytes_elements(6 + counts * width)
    out[data[:, None] + np.arange(4)] = counts.astype(">u4").view(np.uint8).reshape(n, 4)
    out[data + 4] = ord("(")
    out[data + 5 + counts * width] = ord("t")
    total = int(counts.sum())
    if total:
        owner = np.repeat(np.arange(n), counts)
        j = np.arange(total, dtype=np.int64) - (np.cumsum(counts) - counts)[owner]
        pw = width[owner]
        _put_ints(out, data[owner] + 5 + pw * j, _gather_runs(gaps, gstart, counts), pw)
    return out, fo


def _encode_blocks(bs, be, first, last, kinds, w0, gaps, w32, info: bytes, fixed, vsrc, vsrc_off):
    """Posting blocks as ``W3PostingsWriter`` lays them out, for many blocks at once, with numpy.

    Per block: the ``W3Bl`` magic before a term's first block, the block length
    (negative for a term's last block), the 39-byte info pickle, then the data
    pickle ``(ids, weights, values)`` (protocol 3).  It unpickles to the tuple
    Whoosh's writer pickles, in fewer bytes:

    * ids: the gaps, each as the narrowest integer opcode that holds the block's
      largest (``K`` 1 byte, ``M`` 2, ``J`` 4: one width per block, so a reader
      finds every id without parsing);
    * weights: ``None`` (all 1.0), one BINFLOAT (all equal), or a tuple in which
      every weight is a 2-byte memo reference (``h`` + index) to the block's
      distinct weights, each pushed once before the tuple (``G`` double, ``q``
      index, ``0`` pop): 2 bytes a posting instead of 9;
    * values: ``None``, one bytes object (fixed-size formats), or a tuple of bytes
      objects (``vsrc``: the pickle elements already, e.g. :func:`_position_values`).

    ``bs``/``be`` are the blocks' posting ranges within ``gaps``/``w32``; ``vsrc``
    holds the values in posting order with ``vsrc_off`` the offset of each
    posting's value.  Returns the encoded bytes and each block's start and end
    offset in them.
    """
    nblk = len(bs)
    n = be - bs
    npost = len(gaps)
    blk_of = np.repeat(np.arange(nblk), n)
    jj = np.arange(npost, dtype=np.int64) - bs[blk_of]
    idw = _int_width(np.maximum.reduceat(gaps, bs)) if nblk else np.zeros(0, dtype=np.int64)
    ids_size = 2 + idw * n
    k0, k1, k2 = kinds == 0, kinds == 1, kinds == 2
    ndist = np.zeros(nblk, dtype=np.int64)
    if k2.any():
        # each kind-2 block's distinct weights, and every posting's index among them
        pm = k2[blk_of]
        pb, pv = blk_of[pm], w32[pm]
        o = np.lexsort((pv, pb))
        sb, sv = pb[o], pv[o]
        new = np.ones(len(o), dtype=bool)
        new[1:] = (sb[1:] != sb[:-1]) | (sv[1:] != sv[:-1])
        did = np.cumsum(new) - 1
        dblk, dval = sb[new], sv[new]
        ndist = np.bincount(dblk, minlength=nblk).astype(np.int64)
        dfirst = np.zeros(nblk, dtype=np.int64)
        np.cumsum(ndist[:-1], out=dfirst[1:])
        memo = np.empty(len(o), dtype=np.int64)
        memo[o] = did - dfirst[sb]
        drank = np.arange(len(dblk), dtype=np.int64) - dfirst[dblk]
    w_size = np.where(k0, 1, np.where(k1, 9, 12 * ndist + 2 + 2 * n))
    if fixed == 0:
        v_len = np.zeros(nblk, dtype=np.int64)
        v_hdr = np.ones(nblk, dtype=np.int64)  # "N"
    else:
        v_len = vsrc_off[be] - vsrc_off[bs]
        if fixed:
            v_hdr = np.where(v_len < 256, 2, 5)  # SHORT_BINBYTES / BINBYTES header
        else:
            v_hdr = np.ones(nblk, dtype=np.int64)  # "(" ... "t"
    v_size = v_hdr + v_len + (1 if fixed is None else 0)  # a tuple of values also has its closing "t"
    data_size = 2 + ids_size + w_size + v_size + 2
    rec_size = first.astype(np.int64) * 4 + 4 + 39 + data_size
    ro = np.zeros(nblk + 1, dtype=np.int64)
    np.cumsum(rec_size, out=ro[1:])
    out = np.zeros(int(ro[-1]), dtype=np.uint8)
    start = ro[:-1]
    # magic, block length, info
    fs = start[first]
    out[fs[:, None] + np.arange(4)] = np.frombuffer(BLOCK_MAGIC, dtype=np.uint8)
    lp = start + first.astype(np.int64) * 4
    blen = (39 + data_size) * np.where(last, -1, 1)
    out[lp[:, None] + np.arange(4)] = blen.astype(">i4").view(np.uint8).reshape(nblk, 4)
    out[(lp + 4)[:, None] + np.arange(39)] = np.frombuffer(info, dtype=np.uint8).reshape(nblk, 39)
    ds = lp + 4 + 39
    out[ds] = 0x80
    out[ds + 1] = 3
    out[ds + 2] = ord("(")
    _put_ints(out, ds[blk_of] + 3 + idw[blk_of] * jj, gaps, idw[blk_of])
    out[ds + 2 + ids_size - 1] = ord("t")
    ws = ds + 2 + ids_size
    out[ws[k0]] = ord("N")
    if k1.any():
        out[ws[k1]] = ord("G")
        out[(ws[k1] + 1)[:, None] + np.arange(8)] = w0[k1].astype(">f8").view(np.uint8).reshape(-1, 8)
    if k2.any():
        prel = np.empty((len(dblk), 12), dtype=np.uint8)
        prel[:, 0] = ord("G")
        prel[:, 1:9] = dval.astype(">f8").view(np.uint8).reshape(-1, 8)
        prel[:, 9] = ord("q")  # BINPUT
        prel[:, 10] = drank
        prel[:, 11] = ord("0")  # POP: the memo keeps it
        out[(ws[dblk] + 12 * drank)[:, None] + np.arange(12)] = prel
        tup = ws + 12 * ndist
        out[tup[k2]] = ord("(")
        hoff = tup[pb] + 1 + 2 * jj[pm]
        out[hoff] = ord("h")  # BINGET
        out[hoff + 1] = memo
        out[tup[k2] + 1 + 2 * n[k2]] = ord("t")
    vs = ws + w_size
    if fixed == 0:
        out[vs] = ord("N")
    else:
        if fixed:
            short = v_hdr == 2
            out[vs[short]] = ord("C")
            out[vs[short] + 1] = v_len[short].astype(np.uint8)
            lng = ~short
            if lng.any():
                out[vs[lng]] = ord("B")
                out[(vs[lng] + 1)[:, None] + np.arange(4)] = v_len[lng].astype("<u4").view(np.uint8).reshape(-1, 4)
        else:
            out[vs] = ord("(")
            out[vs + 1 + v_len] = ord("t")
        total = int(v_len.sum())
        if total:
            # each block's values are one run of vsrc, copied after its header; consecutive
            # blocks' runs are adjacent in vsrc, so all of them are one slice, put in place
            # through a byte mask (no per-byte index arrays)
            src0 = vsrc_off[bs]
            src = np.frombuffer(vsrc, dtype=np.uint8) if isinstance(vsrc, (bytes, bytearray)) else vsrc
            if nblk == 1 or bool(np.all(src0[1:] == src0[:-1] + v_len[:-1])):
                vals = src[int(src0[0]):int(src0[0]) + total]
            else:
                vals = _gather_runs(src, src0, v_len)
            out[_run_mask(len(out), vs + v_hdr, v_len)] = vals
    end = ds + data_size
    out[end - 2] = 0x87  # TUPLE3
    out[end - 1] = ord(".")
    return out.tobytes(), start, ro[1:]


def _bytes_elements(vlen: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Room for one pickled bytes object per length in ``vlen``, headers written.

    Each element is SHORT_BINBYTES ``C`` + length byte, or BINBYTES ``B`` + 4-byte
    length, then ``vlen[k]`` bytes for the caller to fill.  Returns the buffer,
    each element's offset (and the end), and where each element's bytes start.
    """
    n = len(vlen)
    small = vlen < 256
    hdr = np.where(small, 2, 5)
    fo = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(hdr + vlen, out=fo[1:])
    out = np.empty(int(fo[-1]), dtype=np.uint8)
    heads = fo[:-1]
    out[heads[small]] = ord("C")
    out[heads[small] + 1] = vlen[small].astype(np.uint8)
    big = ~small
    if big.any():
        out[heads[big]] = ord("B")
        out[heads[big][:, None] + np.arange(1, 5)] = vlen[big].astype("<u4").view(np.uint8).reshape(-1, 4)
    return out, fo, heads + hdr


def _pickled_values(blob: np.ndarray, vstart: np.ndarray, vlen: np.ndarray) -> tuple[bytes, list[int]]:
    """Each value as a pickle element (:func:`_bytes_elements`), concatenated, with each
    element's offset (and the end).

    A block's tuple of values is then ``(`` + one slice + ``t`` instead of one bytes object
    per posting for ``pickle.dumps`` to walk.
    """
    out, fo, data = _bytes_elements(vlen)
    if int(vlen.sum()):
        out[_run_mask(len(out), data, vlen)] = _gather_runs(blob, vstart, vlen)
    return out.tobytes(), fo.tolist()


def _gather_runs(src: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """``src[starts[0]:starts[0] + lens[0]] + src[starts[1]:…] + …``, concatenated by one gather.

    One index array (each output byte's source offset: its run's start minus the
    run's offset in the output, plus the output position) instead of the three or
    four per-byte arrays of a "run id, offset within run" formulation.
    """
    lens = np.asarray(lens, dtype=np.int64)
    total = int(lens.sum())
    if not total:
        return np.zeros(0, dtype=src.dtype)
    shift = np.asarray(starts, dtype=np.int64) - (np.cumsum(lens) - lens)
    idx = np.repeat(shift, lens)
    idx += np.arange(total, dtype=np.int64)
    return src[idx]


def _run_mask(size: int, starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """A boolean array of ``size``, true on ``[starts[k], starts[k] + lens[k])`` for every k.

    The runs must be in ascending order and must not overlap (they are the value
    slots of a layout).  Built as alternating false/true runs with one
    ``np.repeat``: a byte per output byte, where a scatter by index costs eight
    and a running sum several passes.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lens = np.asarray(lens, dtype=np.int64)
    k = len(starts)
    if k == 0:
        return np.zeros(size, dtype=bool)
    ends = starts + lens
    runs = np.empty(2 * k + 1, dtype=np.int64)
    runs[0] = starts[0]
    runs[2:-1:2] = starts[1:] - ends[:-1]  # the gap before each later run
    runs[1::2] = lens
    runs[-1] = size - ends[-1]
    pattern = np.zeros(2 * k + 1, dtype=bool)
    pattern[1::2] = True
    return np.repeat(pattern, runs)


def write_field_exact(fw, fieldname: str, fieldobj, buf, pdr, ndocs: int, *,
                       protocol: int, compress_min: int) -> None:
    """Write every term of one field, each with ``W3PostingsWriter``'s blocks, one term at a time.

    Used with ``WHOOSH_IDENTICAL`` (the test that proves the files are Whoosh's);
    :func:`write_field_fast` writes the same postings and statistics faster.  The blocks carry the same tuples and statistics as Whoosh's; only the pickle
    ``protocol`` and which blocks are zlib-compressed (``compress_min``: pickled
    size from which a block is compressed; the level is stored per block and
    Whoosh's reader honours it) are choices.  Term records go straight into the
    terms file's ordered hash (same records, same MD5 buckets), buffered in
    memory, instead of three method calls and four small writes per term.
    """
    buf.pickle_gaps()
    fw.start_field(fieldname, fieldobj)
    fid = pack_ushort(fw._fieldid)
    postfile = fw._postfile
    tindex = fw._tindex
    fixed = fieldobj.format.fixed_value_size()
    if fixed is not None and fixed < 0:
        fixed = None

    terms, perm, counts = buf.sorted_postings()  # terms in key order
    if terms and tindex.lastkey and fid + terms[0] <= tindex.lastkey:
        raise ValueError("terms must be written in increasing key order")
    doc_s = np.frombuffer(buf.doc, dtype=np.uint32)[perm]
    docs = doc_s.tolist()
    w64 = np.frombuffer(buf.weight, dtype=np.float64)[perm]
    weights = w64.tolist()  # as given: block and term maximum weights
    weights32 = w64.astype(np.float32).tolist()  # as kept in the block's array("f"): stored values, sums
    del w64
    vlen = np.frombuffer(buf.vlen, dtype=np.uint32).astype(np.int64)
    vend = np.cumsum(vlen)
    vstart = (vend - vlen)[perm].tolist()
    vlen_s = vlen[perm].tolist()
    del vlen, vend
    if fieldobj.scorable:
        lens = _field_lengths(pdr, fieldname, ndocs)[doc_s].tolist()
    else:
        lens = [0] * len(docs)
    del perm, doc_s
    ends = np.cumsum(counts).tolist()
    values = bytes(buf.values)

    compress = zlib.compress
    pack_block_len = BLOCK_LENGTH.pack
    pack_info = TERMINFO.pack
    l2b = length_to_byte
    pbase = postfile.tell()
    pbuf = bytearray()
    records: list[bytes] = []

    start = 0
    for k in range(len(terms)):
        end = ends[k]
        startoffset = pbase + len(pbuf)
        pbuf += BLOCK_MAGIC
        t_weight = 0
        t_minlen = None
        t_maxlen = 0
        t_maxw = 0
        b0 = start
        while b0 < end:
            b1 = min(b0 + BLOCK_POSTINGS, end)
            ids = docs[b0:b1]
            ws = weights32[b0:b1]
            ls = lens[b0:b1]
            # W3PostingsWriter.add_posting statistics
            maxw = max(weights[b0:b1])
            maxw = max(0, maxw)
            if b1 - b0 == 1:
                minlen = ls[0] or None
                maxlen = ls[0]
                mini_ids = (ids[0],)
            else:
                nz = [x for x in ls if x]
                minlen = min(nz) if nz else None
                maxlen = max(ls)
                mini_ids = tuple([ids[0]] + [b - a for a, b in pairwise(ids)])
            # W3TermInfo.add_block
            t_weight += sum(ws)
            if t_minlen is None or minlen is not None and minlen < t_minlen:
                t_minlen = minlen
            t_maxlen = max(t_maxlen, maxlen)
            t_maxw = max(t_maxw, maxw)
            # _mini_weights / _mini_values
            w0 = ws[0]
            if w0 == 1.0 and all(w == 1.0 for w in ws):
                mini_w = None
            elif all(w == w0 for w in ws):
                mini_w = w0
            else:
                mini_w = tuple(ws)
            if fixed == 0:
                mini_v = None
            else:
                vs = [values[s:s + n] for s, n in zip(vstart[b0:b1], vlen_s[b0:b1]) if n]
                mini_v = b"".join(vs) if fixed else tuple(vs)
            databytes = dumps((mini_ids, mini_w, mini_v), protocol)
            comp = 0
            if len(databytes) >= compress_min:
                comp = COMPRESSION
                databytes = compress(databytes, COMPRESSION)
            infobytes = dumps((b1 - b0, ids[-1], maxw, comp, l2b(minlen), l2b(maxlen)), protocol)
            blocklength = len(infobytes) + len(databytes)
            pbuf += pack_block_len(-blocklength if b1 >= end else blocklength)
            pbuf += infobytes
            pbuf += databytes
            b0 = b1
        value = pack_info(False, t_weight, end - start, 0 if t_minlen is None else l2b(t_minlen),
                          l2b(t_maxlen), t_maxw, docs[start], docs[end - 1])
        value += pack_long(startoffset) + pack_int(pbase + len(pbuf) - startoffset)
        records.append(value)
        start = end
        if len(pbuf) > _FLUSH_BYTES:
            postfile.write(bytes(pbuf))
            pbase += len(pbuf)
            pbuf = bytearray()
    postfile.write(bytes(pbuf))
    add_term_records(tindex, fid, terms, range(len(terms)), records)
    fw.finish_field()
