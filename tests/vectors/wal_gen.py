#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generates WAL segment vectors from docs/format/wal.md alone, independently
of atomik's C++ code: byte layouts with Python's struct module, XXH3-64 from
Debian's libxxhash.so.0 through ctypes.

Usage: python3 tests/vectors/wal_gen.py   (rewrites the files beside it)
"""
import ctypes
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH3_64bits.restype = ctypes.c_uint64
lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def low32(data):
    return lib.XXH3_64bits(data, len(data)) & 0xFFFFFFFF


def header(number, shape=None):
    """Header version 1 (shape None) or 2 with shape (word_bits, group)."""
    if shape is None:
        head = b"ATMKWAL\0" + struct.pack("<IIQI", 1, 0, number, 0)
    else:
        head = b"ATMKWAL\0" + struct.pack("<IIQBBH", 2, 0, number, shape[0],
                                           shape[1], 0)
    assert len(head) == 28
    return head + struct.pack("<I", low32(head))


def frame(rtype, payload):
    body = struct.pack("<IB", len(payload), rtype) + payload
    return struct.pack("<I", low32(body)) + body


def delta(origin, seq, addr, value):
    return frame(1, struct.pack("<QQIQ", origin, seq, addr, value))


def delta_run(origin, first_seq, entries):
    payload = struct.pack("<QQI", origin, first_seq, len(entries))
    payload += b"".join(struct.pack("<IQ", a, d) for a, d in entries)
    return frame(9, payload)


def seal(offset):
    return frame(8, struct.pack("<Q", offset))


def segment(number, frames, shape=None):
    out = header(number, shape)
    for f in frames:
        out += f
    return out + seal(len(out))


def horizon(segment, synced_offset):
    body = struct.pack("<QQ", segment, synced_offset)
    return body + struct.pack("<Q", lib.XXH3_64bits(body, len(body)))


ORIGIN = 0x0102030405060708
VECTORS = {
    "wal_segment_v1.bin": segment(1, [delta(ORIGIN, 1, 7, 0xFF)]),
    "wal_segment_run_v1.bin":
        segment(1, [delta_run(ORIGIN, 1, [(7, 0xFF), (9, 0x1234)])]),
    # Version 2: seqs 1 and 2 were synced (the horizon says 32 + 2 * 37 =
    # 106), then seq 2 and the seal were cut at the frame boundary.
    "wal_dir_lost/0000000000000001.wal":
        header(1) + delta(ORIGIN, 1, 7, 0xFF),
    "wal_dir_lost/WAL_HORIZON": horizon(1, 32 + 2 * 37),
    # Format version 3 (segment header version 2): an XOR table of 64-bit
    # words, and an ADD table of 16-bit words (1 + 2 at address 7).
    "wal_segment_v2.bin": segment(1, [delta(ORIGIN, 1, 7, 0xFF)], (64, 1)),
    "wal_segment_v2_add16.bin":
        segment(1, [delta_run(ORIGIN, 1, [(7, 1), (7, 2)])], (16, 2)),
}

if __name__ == "__main__":
    for name, data in VECTORS.items():
        os.makedirs(os.path.dirname(os.path.join(HERE, name)), exist_ok=True)
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
        print(name, len(data), "bytes")
