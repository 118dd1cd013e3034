#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates redis_entry_v1.hex and redis_entry_v2.hex from
docs/format/redis.md (sections 2 and 8) and docs/format/wire.md alone
(Python struct + XXH3-64 from Debian's libxxhash.so.0 through ctypes), so
the C++ reader is checked against an independent writer."""
import ctypes
import os
import struct

lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH3_64bits.restype = ctypes.c_uint64
lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def stream_origin(origin, shard):
    o = splitmix64(origin ^ ((0x6174726564697300 + shard) & M64))
    return o if o != 0 else 1


def frame(origin, base_seq, records):
    # docs/format/wire.md section 2: the checksum covers [0, 40) ++ [48, end).
    head = b"AKDF" + struct.pack("<BBBBQQQII", 1, 0, 0, 0, origin, 0,
                                 base_seq, len(records), 0)
    body = b"".join(struct.pack("<IQ", a, d) for a, d in records)
    checksum = lib.XXH3_64bits(head + body, len(head + body))
    return head + struct.pack("<Q", checksum) + body


RECORDS = [(7, 0xFF), (9, 0x1234)]
HERE = os.path.dirname(os.path.abspath(__file__))
for name, comment, data in [
        ("redis_entry_v2.hex",
         "Redis stream entry version 2 (field r, docs/format/redis.md "
         "section 8): origin 0x0a, base_seq 1, (7, 0xff), (9, 0x1234)",
         frame(0x0A, 1, RECORDS)),
        ("redis_entry_v1.hex",
         "Redis stream entry version 1 (field f, docs/format/redis.md "
         "section 8): origin stream_origin(0x0a, 0), base_seq 1, (7, 0xff), "
         "(9, 0x1234)",
         frame(stream_origin(0x0A, 0), 1, RECORDS))]:
    with open(os.path.join(HERE, name), "w") as f:
        f.write("# " + comment + "\n")
        for i in range(0, len(data), 16):
            f.write(" ".join("%02x" % b for b in data[i:i + 16]) + "\n")
