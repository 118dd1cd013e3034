#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes reference_wal.bin from docs/format/reference_wal.md §4 alone:
16-byte big-endian records (u32 addr, u64 value, u32 seq; seq 0xFFFFFFFF is
a LOAD), then an 8-byte torn tail. Usage: reference_wal_gen.py [OUT]."""
import os
import struct
import sys

LOAD = 0xFFFFFFFF
RECORDS = [(3, 0xDEADBEEF, 1), (3, 0xFFFF, 2), (7, 0x0123456789ABCDEF, LOAD)]


def build():
    out = b"".join(struct.pack(">IQI", a, v, s) for a, v, s in RECORDS)
    return out + struct.pack(">II", 1, 0)  # the first 8 bytes of a record


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "reference_wal.bin")
    with open(path, "wb") as f:
        f.write(build())
