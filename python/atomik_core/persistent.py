# SPDX-License-Identifier: Apache-2.0
"""PersistentSyncTable (the reference's ``atomik_core.persistent``) and the
importer for the reference's log format.

PersistentSyncTable is the compiled core's: `path` is a directory holding a
checksummed WAL and checkpoints (docs/format/wal.md), not the reference's
single file of raw 16-byte records. An existing reference log is converted
once with import_reference_wal(path, data_dir) (or `atomik wal import`);
its format is specified in docs/format/reference_wal.md.
"""

import os
import warnings

from ._core import CorruptionError, PersistentSyncTable  # noqa: F401

__all__ = ["PersistentSyncTable", "import_reference_wal", "read_reference_wal"]

# The reference's record: u32 addr, u64 delta, u32 seq, big-endian, 16 bytes
# (docs/format/reference_wal.md). Written to disk by the reference; never
# change.
_RECORD_SIZE = 16
# A record with this seq sets the address to `delta` (a compaction LOAD);
# any other seq XORs `delta` in.
_SNAPSHOT_SEQ = 0xFFFFFFFF


def read_reference_wal(path, *, num_contexts=256, width=64):
    """read_reference_wal(path, *, num_contexts=256, width=64) -> (state, report)

    Replays a reference log file into {addr: value} (non-zero values only)
    as the reference's replay does: a LOAD record (seq 0xFFFFFFFF) sets the
    address, any other record XORs its delta in. Does not modify the file.

    report is a dict: records, loads, deltas, torn_tail_bytes (a trailing
    partial record, which the reference dropped silently: here it is
    counted, reported and warned about with a RuntimeWarning, and the rest
    imported) and contexts (non-zero
    addresses). The format has no checksum, so damaged bytes inside a
    record cannot be detected; what can be checked is: an address >=
    num_contexts is a CorruptionError (a ValueError) naming the record and
    its byte offset (the reference could not open such a file either), and
    a value that does not fit `width` bits is a ValueError (the reference
    masked it silently). OSError if the file cannot be read.
    """
    if width not in (8, 16, 32, 64):
        raise ValueError("width must be 8, 16, 32 or 64, got %r" % (width,))
    if num_contexts < 1:
        raise ValueError("num_contexts must be >= 1, got %r" % (num_contexts,))
    with open(path, "rb") as f:
        data = f.read()
    whole = len(data) - len(data) % _RECORD_SIZE
    state = {}
    loads = deltas = 0
    for off in range(0, whole, _RECORD_SIZE):
        addr = int.from_bytes(data[off:off + 4], "big")
        value = int.from_bytes(data[off + 4:off + 12], "big")
        seq = int.from_bytes(data[off + 12:off + 16], "big")
        where = "%s: record %d at offset %d" % (path, off // _RECORD_SIZE, off)
        if addr >= num_contexts:
            raise CorruptionError(
                "%s: address %d is outside the table (num_contexts=%d); pass "
                "the reference table's num_contexts" % (where, addr, num_contexts))
        if value >> width:
            raise ValueError(
                "%s: value 0x%x does not fit %d bits (the reference masked it "
                "silently); pass the reference table's width" % (where, value, width))
        if seq == _SNAPSHOT_SEQ:
            state[addr] = value
            loads += 1
        else:
            state[addr] = state.get(addr, 0) ^ value
            deltas += 1
    state = {a: v for a, v in sorted(state.items()) if v != 0}
    report = {"records": loads + deltas, "loads": loads, "deltas": deltas,
              "torn_tail_bytes": len(data) - whole, "contexts": len(state)}
    if report["torn_tail_bytes"]:
        # The reference dropped it silently; here it is also in the report.
        warnings.warn("%s: torn tail of %d bytes at offset %d skipped (a "
                      "record cut short by a crash)"
                      % (path, report["torn_tail_bytes"], whole),
                      RuntimeWarning, stacklevel=2)
    return state, report


def import_reference_wal(path, data_dir, *, num_contexts=256, width=64,
                         sync="every-record"):
    """import_reference_wal(path, data_dir, *, num_contexts=256, width=64,
    sync="every-record") -> dict

    Converts a reference log file (e.g. state.wal) into a new
    PersistentSyncTable directory `data_dir` holding the same state: one
    put per non-zero address. Returns read_reference_wal()'s report plus
    "data_dir". The source file is not modified.

    data_dir must not exist or be an empty directory (FileExistsError
    otherwise: importing into a live table would mix two histories). On
    any error nothing is written (the log is fully read and checked first).
    A torn trailing record is skipped and reported in torn_tail_bytes.
    """
    state, report = read_reference_wal(path, num_contexts=num_contexts,
                                       width=width)
    if os.path.exists(data_dir) and (not os.path.isdir(data_dir)
                                     or os.listdir(data_dir)):
        raise FileExistsError(
            "%s: exists and is not an empty directory; import into a new "
            "directory" % (data_dir,))
    table = PersistentSyncTable(num_contexts, path=data_dir, width=width,
                                sync=sync)
    try:
        for addr, value in state.items():
            table.put(addr, value)
    finally:
        table.close()
    report["data_dir"] = str(data_dir)
    return report
