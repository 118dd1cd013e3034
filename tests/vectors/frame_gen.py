#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generates the delta message, frame and digest vectors from the definitions
in docs/format/wire.md and docs/format/digest.md, independently of atomik's
C++ code: byte layouts with Python's struct module, XXH3 from Debian's
libxxhash.so.0 through ctypes.

Usage: python3 tests/vectors/frame_gen.py   (rewrites the files beside it)
"""
import ctypes
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


class XXH128(ctypes.Structure):
    _fields_ = [("low64", ctypes.c_uint64), ("high64", ctypes.c_uint64)]


lib = ctypes.CDLL("libxxhash.so.0")
lib.XXH3_64bits.restype = ctypes.c_uint64
lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
lib.XXH3_128bits_withSeed.restype = XXH128
lib.XXH3_128bits_withSeed.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                      ctypes.c_uint64]


def hexdump(b):
    lines = []
    for i in range(0, len(b), 16):
        lines.append(" ".join("%02x" % x for x in b[i:i + 16]))
    return "\n".join(lines) + "\n"


def message(addr, delta, seq):
    return struct.pack(">IQI", addr, delta, seq)


def frame(origin, epoch, base_seq, records, tag=b""):
    flags = 1 if tag else 0
    head = b"AKDF" + struct.pack("<BBBBQQQII", 1, flags, len(tag), 0, origin,
                                 epoch, base_seq, len(records), 0)
    assert len(head) == 40
    body = b"".join(struct.pack("<IQ", a, d) for a, d in records) + tag
    checksum = lib.XXH3_64bits(head + body, len(head + body))
    return head + struct.pack("<Q", checksum) + body, checksum


def write(name, comment, data):
    with open(os.path.join(HERE, name), "w") as f:
        f.write("# " + comment + "\n")
        f.write(hexdump(data))


write("message_reference.hex",
      "DeltaMessage addr=1 delta=0x0123456789abcdef seq=7 (anchor_api.md)",
      message(1, 0x0123456789abcdef, 7))
write("message_max.hex",
      "DeltaMessage addr=0xffffffff delta=0xfedcba9876543210 seq=0xfffffffe",
      message(0xFFFFFFFF, 0xFEDCBA9876543210, 0xFFFFFFFE))
recs = [(7, 0xFF), (0x01020304, 0x1122334455667788)]
f, c = frame(1, 2, 5, recs)
write("frame_basic.hex",
      "frame origin=1 epoch=2 base_seq=5 records (7,0xff) "
      "(0x01020304,0x1122334455667788); checksum 0x%016x" % c, f)
f, c = frame(1, 2, 5, recs, bytes.fromhex("deadbeef"))
write("frame_tagged.hex",
      "frame_basic with flags bit 0 and tag de ad be ef; checksum 0x%016x" % c,
      f)
f, c = frame(3, 4, 1000, [(i, i * 0x0101010101010101) for i in range(100)])
write("frame_large.hex",
      "frame origin=3 epoch=4 base_seq=1000, 100 records (i, i*0x0101010101010101)"
      "; checksum 0x%016x" % c, f)
f, c = frame(0x8000000000000001, 0, 0, [])
write("frame_empty.hex",
      "heartbeat frame origin=0x8000000000000001 epoch=0 base_seq=0 count=0; "
      "checksum 0x%016x" % c, f)

# Digest terms: XXH3-128(seed=key, addr_le32 || state_le64); digest = XOR of
# terms over non-zero states. Lines: key addr state term_hi term_lo.
KEY = 0x61746F6D696B3031
with open(os.path.join(HERE, "stream_digest.txt"), "w") as out:
    out.write("# key addr state digest_term_hex(hi||lo); last line: "
              "digest of the table {1:0xcafe, 2:0xff, 0xffffffff:1}\n")
    table = [(1, 0xCAFE), (2, 0xFF), (0xFFFFFFFF, 1)]
    lo = hi = 0
    for a, s in table:
        h = lib.XXH3_128bits_withSeed(struct.pack("<IQ", a, s), 12, KEY)
        out.write("%016x %08x %016x %016x%016x\n" % (KEY, a, s, h.high64,
                                                      h.low64))
        lo ^= h.low64
        hi ^= h.high64
    out.write("digest %016x%016x\n" % (hi, lo))

# A state-transfer snapshot (wire.md section 9): states {3: 0x1234, 4: 0x55,
# 5: 0x66}; origin 1 mark 1; origin 9 mark 1 with seq 3 above the mark.
states = [(3, 0x1234), (4, 0x55), (5, 0x66)]
dedup = [(1, 1, []), (9, 1, [3])]
dlo = dhi = 0
for a, s in states:
    h = lib.XXH3_128bits_withSeed(struct.pack("<IQ", a, s), 12, KEY)
    dlo ^= h.low64
    dhi ^= h.high64
body = b"AKSS" + bytes([1, 0, 0, 0]) + struct.pack("<QQQQ", len(states),
                                                    len(dedup), dlo, dhi)
body += b"".join(struct.pack("<IQ", a, s) for a, s in states)
for o, mark, above in dedup:
    body += struct.pack("<QQQ", o, mark, len(above))
    body += b"".join(struct.pack("<Q", q) for q in above)
c = lib.XXH3_64bits(body, len(body))
write("stream_snapshot.hex",
      "snapshot: states {3:0x1234, 4:0x55, 5:0x66}, origin 1 mark 1, origin 9 "
      "mark 1 above [3]; digest %016x%016x; checksum 0x%016x" % (dhi, dlo, c),
      body + struct.pack("<Q", c))
