#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates redis_state_v1.hex and redis_state_v2.hex from
docs/format/redis.md section 4 alone (Python struct + XXH3-64 from Debian's
libxxhash.so.0 through ctypes), so the C++ encoder and decoder are checked
against an independent writer."""
import ctypes
import os
import struct

lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH3_64bits.restype = ctypes.c_uint64
lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

# Two shards: shard 0 read at 1700000000000-3, own seqs <= 17 published;
# shard 1 read at 5-0, own seqs <= 12 published, stream seqs 1..9.
SHARDS = [(1700000000000, 3, 17, 0), (5, 0, 12, 9)]
# Version 2: own origins with deltas not all published, oldest first (the
# positions count the first).
ORIGINS = [0x0123456789ABCDEF, 0x0FEDCBA987654321]


def state(version):
    body = b"AKRP" + bytes([version, 0, 0, 0])
    origins = ORIGINS if version >= 2 else []
    body += struct.pack("<II", len(SHARDS), len(origins))
    for o in origins:
        body += struct.pack("<Q", o)
    for s in SHARDS:
        body += struct.pack("<QQQQ", *s)
    return body + struct.pack("<Q", lib.XXH3_64bits(body, len(body)))


here = os.path.dirname(os.path.abspath(__file__))
for version in (1, 2):
    with open(os.path.join(here, "redis_state_v%d.hex" % version), "w") as f:
        f.write("# REDIS_STATE version %d (docs/format/redis.md section 4): "
                "shards (1700000000000-3, pub 17, vseq 0), (5-0, pub 12, "
                "vseq 9)%s\n" % (version, ", origins 0x0123456789abcdef "
                                 "0x0fedcba987654321" if version >= 2 else ""))
        b = state(version)
        for i in range(0, len(b), 16):
            f.write(" ".join("%02x" % x for x in b[i:i + 16]) + "\n")
