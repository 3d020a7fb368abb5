"""The on-disk layout the writer produces and the reader decodes: one definition of each constant.

The index is a Whoosh 2.7 "W3" index; these are the parts of its layout the
numpy fast paths write or parse themselves instead of going through Whoosh's
objects (see ``docs/architecture.md``, "On-disk format"):

* a posting list is a chain of blocks; each block is its length (``BLOCK_LENGTH``, negative
  for a list's last block), the magic ``BLOCK_MAGIC``, a pickled block-info tuple
  (``INFO_DTYPE``: ``INFO_LEN`` bytes when the fast writer wrote it) and the pickled
  ids / weights / values of up to ``BLOCK_POSTINGS`` postings;
* a term's record in the terms file (``.trm``) is ``RECORD_LENGTHS`` (key and value
  length), the key (field id + term bytes) and a ``TERMINFO_DTYPE`` value, found through
  hash tables of ``HASH_SLOT`` entries (MD5-based, linear probing);
* per-document field lengths are one byte each (``length_to_byte``); ``BYTE_LENGTHS``
  maps a byte back to the length BM25F uses, ``LENGTH_BYTE_BOUNDS`` the other way.
"""
from __future__ import annotations

import struct

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.util.numeric import _length_byte_cache, byte_to_length

BLOCK_POSTINGS = 128  # postings per block: W3Codec's default ``blocklimit``
COMPRESSION = 3  # W3Codec's default zlib level
BLOCK_MAGIC = WHOOSH3_HEADER_MAGIC  # b"W3Bl", before every block's info tuple
BLOCK_LENGTH = struct.Struct("!i")  # StructFile.write_int: a block's length, negated for a list's last
TERMINFO = W3TermInfo._struct  # "!BfIBBfII": a term's statistics (before its postings' place)

# The block-info tuple ``(n, last id, max weight, 0, min length byte, max length byte)`` as the
# fast writer pickles it: protocol 3, BININT/BINFLOAT opcodes, always INFO_LEN bytes.
INFO_DTYPE = np.dtype([("proto", "u1"), ("ver", "u1"), ("mark", "u1"), ("j1", "u1"), ("n", "<i4"),
                       ("j2", "u1"), ("last", "<i4"), ("g", "u1"), ("maxw", ">f8"), ("j3", "u1"),
                       ("comp", "<i4"), ("j4", "u1"), ("minb", "<i4"), ("j5", "u1"), ("maxb", "<i4"),
                       ("tup", "u1"), ("stop", "u1")])
INFO_LEN = INFO_DTYPE.itemsize  # 39
INFO_HEAD = struct.Struct("<BBBBi")  # PROTO 3, MARK, BININT, the postings count
INFO_TAIL = struct.Struct("<BI11xB")  # at INFO_HEAD + 18: BININT, the compression level (0), ..., STOP
INFO_TAIL_AT = 22

# W3TermInfo._struct followed by pack_long(offset) and pack_int(length) of the postings
TERMINFO_DTYPE = np.dtype([("flags", "u1"), ("weight", ">f4"), ("df", ">u4"), ("minb", "u1"), ("maxb", "u1"),
                           ("maxw", ">f4"), ("minid", ">u4"), ("maxid", ">u4"), ("offset", ">i8"),
                           ("length", ">i4")])

HASH_SLOT = struct.Struct("!Iq")  # filetables._pointer: (hash, record position)
HASH_SLOT_DTYPE = np.dtype([("hash", ">u4"), ("pos", ">i8")])  # the same, as a numpy record
RECORD_LENGTHS = struct.Struct("!ii")  # filetables._lengths: a record's key and value lengths

# byte → field length, as ``byte_to_length`` (byte 0 is "no length")
BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
BYTE_LENGTHS[0] = 0.0
# the bounds ``length_to_byte`` searches: length → byte is a search in this table
LENGTH_BYTE_BOUNDS = np.asarray(_length_byte_cache, dtype=np.int64)

# Block formats of the bulk writer.  Whoosh's own writer: pickle protocol 2 and zlib on every
# block.  Protocol 2 pickles bytes through a codecs reduce (slow) and zlib costs ~17 µs a call
# whatever the size, which for the many one-posting terms of a bigram field was most of the
# write time.  Readers unpickle any protocol and read the compression level from each block, so
# these are free choices: the fast writer encodes protocol-3 pickles itself (numpy), with the
# narrowest integer opcodes and memo references, and does not compress (zlib measured: 11 s of a
# 105 s build).  ``WHOOSH_IDENTICAL`` writes the files Whoosh's own writer writes, byte for byte.
FAST = {"protocol": 3, "compress_min": 1 << 62}
WHOOSH_IDENTICAL = {"protocol": 2, "compress_min": 0, "exact": True}
