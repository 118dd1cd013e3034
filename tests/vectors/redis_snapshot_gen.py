#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates redis_snapshot_v1.hex from docs/format/redis.md alone (Python
struct + XXH3-64 from Debian's libxxhash.so.0 through ctypes), so the C++
encoder and decoder are checked against an independent writer."""
import ctypes
import os
import struct

lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH3_64bits.restype = ctypes.c_uint64
lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]

# docs/format/redis.md section 7: one shard at 5-1, vv {0x0a: 2},
# state {7: 0xff}, sparse.
body = b"AKRS" + bytes([1, 0, 0, 0])
body += struct.pack("<QIIQ", 0, 1, 1, 1)
body += struct.pack("<QQ", 5, 1)
body += struct.pack("<QQ", 0x0A, 2)
body += struct.pack("<IQ", 7, 0xFF)
body += struct.pack("<Q", lib.XXH3_64bits(body, len(body)))

out = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                   "redis_snapshot_v1.hex")
with open(out, "w") as f:
    f.write("# Redis snapshot (docs/format/redis.md section 7): shard pos 5-1, "
            "vv {0x0a: 2}, state {7: 0xff}, sparse\n")
    for i in range(0, len(body), 16):
        f.write(" ".join("%02x" % b for b in body[i:i + 16]) + "\n")
