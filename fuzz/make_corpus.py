#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora fuzz/corpus/<target>/ from tests/vectors/ (the
checked-in known-answer files) plus a few seeds built from the format pages
alone (Python struct + Debian's libxxhash.so.0 through ctypes, as
tests/vectors/*_gen.py do). See docs/fuzzing.md.

Usage: python3 fuzz/make_corpus.py   (rewrites fuzz/corpus/; the output is
checked in, so `make fuzz` needs no Python)
"""
import ctypes
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "vectors")
OUT = os.path.join(HERE, "corpus")

xxh = ctypes.CDLL("libxxhash.so.0")
xxh.XXH3_64bits.restype = ctypes.c_uint64
xxh.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]


def xxh3(data):
    return xxh.XXH3_64bits(data, len(data))


def read_hex(name):
    text = open(os.path.join(VECTORS, name)).read()
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    return bytes.fromhex("".join(lines))


def read_bin(name):
    return open(os.path.join(VECTORS, name), "rb").read()


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- frames (docs/format/wire.md section 3) --------------------------------
def frame(origin, epoch, base_seq, records, tag=b""):
    head = b"AKDF" + struct.pack("<BBBB", 1, 1 if tag else 0, len(tag), 0)
    head += struct.pack("<QQQII", origin, epoch, base_seq, len(records), 0)
    body = b"".join(struct.pack("<IQ", a, d) for a, d in records) + tag
    checksum = xxh3(head + body)
    return head + struct.pack("<Q", checksum) + body


# --- node protocol packets (docs/format/node_protocol.md section 2) --------
def packet(ptype, counter, body):
    return (b"AKNP" + struct.pack("<BBHII", 1, ptype, 0, len(body), 0) +
            struct.pack("<Q", counter) + body)


# --- WAL segments (docs/format/wal.md grammar) -----------------------------
def low32(data):
    return xxh3(data) & 0xFFFFFFFF


def wal_header(number):
    head = b"ATMKWAL\0" + struct.pack("<IIQI", 1, 0, number, 0)
    return head + struct.pack("<I", low32(head))


def wal_frame(rtype, payload):
    body = struct.pack("<IB", len(payload), rtype) + payload
    return struct.pack("<I", low32(body)) + body


def main():
    shutil.rmtree(OUT, ignore_errors=True)

    frames = {n: read_hex(n + ".hex")
              for n in ("frame_basic", "frame_tagged", "frame_empty",
                        "frame_large")}
    for n, b in frames.items():
        write("fuzz_frame", n, b)
    # A stream of frames back to back, and one with a torn last frame.
    stream = frames["frame_basic"] + frames["frame_empty"] + \
        frames["frame_tagged"]
    write("fuzz_frame", "stream3", stream)
    write("fuzz_frame", "stream_torn", stream + frames["frame_basic"][:30])
    # Near the limits: a full 64-byte tag, the last valid seqs.
    write("fuzz_frame", "frame_tag64",
          frame(7, 1, 10, [(1, 2)], bytes(range(64))))
    write("fuzz_frame", "frame_seq_max",
          frame(2**64 - 1, 2**64 - 1, 2**64 - 2, [(0xFFFFFFFF, 1), (0, 0)]))
    write("fuzz_frame", "message_reference", read_hex("message_reference.hex"))

    packets = []
    for line in open(os.path.join(VECTORS, "node_protocol.txt")):
        name, _, value = line.strip().partition(" ")
        if value.startswith("414b4e50"):  # "AKNP": a whole packet
            b = bytes.fromhex(value)
            packets.append(b)
            write("fuzz_packet", name, b)
    deltas = packet(2, 3, frames["frame_basic"])
    response = packet(5, 4, struct.pack("<QB7xQ", 9, 0, 0xFF) + b"ok")
    write("fuzz_packet", "deltas_unkeyed", deltas)
    write("fuzz_packet", "response_unkeyed", response)
    write("fuzz_packet", "stream", b"".join(packets) + deltas + response)

    write("fuzz_wal_segment", "wal_segment_v1", read_bin("wal_segment_v1.bin"))
    for d in ("wal_dir_torn", "wal_dir_corrupt"):
        write("fuzz_wal_segment", d,
              read_bin(os.path.join(d, "0000000000000001.wal")))
    run = os.path.join(VECTORS, "wal_segment_run_v1.bin")
    if os.path.exists(run):  # DELTA_RUN (type 9)
        write("fuzz_wal_segment", "wal_segment_run_v1", read_bin(run))
    for name in ("wal_segment_v2", "wal_segment_v2_add16"):  # header v2
        write("fuzz_wal_segment", name, read_bin(name + ".bin"))
    # One record of every type 1..7, a sync mark, then the seal.
    seg = wal_header(1)
    key = struct.pack("<QQ", 0x0102030405060708, 1)
    seg += wal_frame(6, struct.pack("<Q", 3))                       # EPOCH
    seg += wal_frame(1, key + struct.pack("<IQ", 7, 0xFF))          # DELTA
    seg += wal_frame(2, struct.pack("<QQIQ", 9, 1, 8, 0x10))        # LOAD
    seg += wal_frame(7, struct.pack("<Q", len(seg)))                # SYNC_MARK
    seg += wal_frame(3, struct.pack("<QQIQ", 9, 2, 8, 0x20))        # UNDO_DELTA
    seg += wal_frame(4, struct.pack("<QQI", 9, 3, 8))               # UNDO
    seg += wal_frame(5, struct.pack("<QQI", 9, 4, 8))               # REDO
    seg += wal_frame(8, struct.pack("<Q", len(seg)))                # SEAL
    write("fuzz_wal_segment", "every_type_sealed", seg)
    write("fuzz_wal_segment", "header_only", wal_header(1))


if __name__ == "__main__":
    main()
