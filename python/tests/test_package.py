# SPDX-License-Identifier: Apache-2.0
"""The package layout and the reference-compatibility surface: submodules,
`python -m atomik_core`, the benchmarks, the device API without a device,
the reference log importer, truncated fingerprints, late joiners and the
refused `with ctx:`."""
import importlib
import os
import struct
import subprocess
import sys

import pytest

import atomik_core
from atomik_core import (AtomikContext, DeltaMessage, DeltaStream, DeviceContext,
                         DeviceTable, Fingerprint, PersistentSyncTable, StreamGapError,
                         SyncTable, bench_bandwidth, bench_change_detection,
                         bench_convergence, bench_rollback, bench_throughput,
                         import_reference_wal)

HERE = os.path.dirname(os.path.abspath(__file__))
VECTOR = os.path.join(HERE, "..", "..", "tests", "vectors", "reference_wal.bin")

# The reference's __all__ minus what the async/network modules provide.
REFERENCE_NAMES = ["AtomikContext", "AtomikTable", "DeltaStream", "DeltaMessage",
                   "Fingerprint", "SyncTable", "PersistentSyncTable", "MemoryTransport",
                   "CallbackTransport", "bench_rollback", "bench_change_detection",
                   "bench_convergence", "bench_bandwidth", "bench_throughput",
                   "DeviceContext", "DeviceTable"]
SUBMODULES = {"context": ["AtomikContext"], "table": ["AtomikTable"],
              "stream": ["DeltaMessage", "DeltaStream"], "fingerprint": ["Fingerprint"],
              "sync": ["SyncTable"], "transport": ["MemoryTransport", "CallbackTransport"],
              "persistent": ["PersistentSyncTable", "_RECORD_SIZE"],
              "benchmark": ["bench_rollback", "bench_throughput", "main"],
              "device": ["DeviceContext", "DeviceTable"]}


def test_reference_names_and_submodules_exist():
    for name in REFERENCE_NAMES:
        assert name in atomik_core.__all__ and hasattr(atomik_core, name), name
    for mod, names in SUBMODULES.items():
        m = importlib.import_module("atomik_core." + mod)
        for name in names:
            assert hasattr(m, name), "atomik_core.%s.%s" % (mod, name)
    assert atomik_core.persistent._RECORD_SIZE == 16
    assert atomik_core.AtomikContext.__module__ == "atomik_core._core"


def test_version_is_the_libraries():
    v = atomik_core.__version__
    assert v.count(".") == 2 and all(p.isdigit() for p in v.split(".")), v
    assert atomik_core.REFERENCE_VERSION == "0.4.0"


def run_main(*args):
    return subprocess.run([sys.executable, "-m", "atomik_core", *args],
                          capture_output=True, text=True, timeout=120)


def test_main_help_version_demo_and_usage_errors():
    r = run_main("--help")
    assert r.returncode == 0 and "benchmark" in r.stdout and "version" in r.stdout
    r = run_main("version")
    assert r.returncode == 0 and atomik_core.__version__ in r.stdout
    r = run_main()
    assert r.returncode == 0 and "SWAP" in r.stdout
    r = run_main("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = run_main("benchmark", "--bogus")
    assert r.returncode == 2 and "--bogus" in r.stderr


def test_bench_functions_return_the_references_keys(capsys):
    r = bench_rollback(n=200)
    assert r["test"] == "rollback" and r["speedup"] > 0 and r["mem_reduction"] > 1
    r = bench_change_detection(buf_size=4096, n_checks=5)
    assert r["test"] == "change_detection" and "incr_speedup" in r
    r = bench_convergence(n_nodes=3, n_updates=50)
    assert r["test"] == "convergence" and r["n_nodes"] == 3
    r = bench_bandwidth()
    assert [e["atomik_bytes"] for e in r["entries"]] == [16] * 4  # the real message
    assert r["entries"][-1]["reduction"] == 1048576 / 16
    r = bench_throughput(n=100)
    assert r["accum_ops_sec"] > 0 and r["read_ops_sec"] > 0 and r["load_ops_sec"] > 0
    assert "Rollback" in capsys.readouterr().out or True


def test_device_api_without_a_device_is_a_clear_file_not_found(tmp_path):
    missing = str(tmp_path / "atomik")
    with pytest.raises(FileNotFoundError, match="kernel module") as e:
        DeviceContext(device=missing)
    assert e.value.filename == missing
    with pytest.raises(FileNotFoundError):
        DeviceTable(4, device=missing)
    with pytest.raises(ValueError, match="1..65536"):
        DeviceTable(0, device=missing)


class FakeKernel:
    """A model of the reference's kernel module behind fcntl.ioctl: decodes
    each request with the layouts of docs (struct, little-endian)."""

    def __init__(self):
        self.tables = {}

    def ioctl(self, fd, request, buf):
        nr, size = request & 0xFF, (request >> 16) & 0x3FFF
        assert (request >> 8) & 0xFF == ord("A") and len(buf) == size
        if nr == 0x01:
            n, _ = struct.unpack("<II", buf)
            tid = len(self.tables) + 1
            self.tables[tid] = [[0, 0] for _ in range(n)]
            buf[:] = struct.pack("<II", n, tid)
        elif nr == 0x02:
            del self.tables[struct.unpack("<I", buf)[0]]
        elif nr in (0x10, 0x11, 0x12):
            tid, addr, v = struct.unpack("<IIQ", buf)
            ctx = self.tables[tid][addr]
            if nr == 0x10:
                ctx[:] = [v, 0]
            elif nr == 0x11:
                ctx[1] ^= v
            else:
                buf[:] = struct.pack("<IIQ", tid, addr, ctx[0] ^ ctx[1])
        elif nr == 0x13:
            tid, addr, new, _ = struct.unpack("<IIQQ", buf)
            ctx = self.tables[tid][addr]
            old = ctx[0] ^ ctx[1]
            ctx[:] = [new if new else old, 0]
            buf[:] = struct.pack("<IIQQ", tid, addr, new, old)
        elif nr == 0x40:
            buf[:] = struct.pack("<IIIIQQQ", 0x000102, 0, 0, 1, 7, 0, 0)
        return 0


def test_device_classes_speak_the_references_ioctls(monkeypatch):
    fcntl = pytest.importorskip("fcntl")
    monkeypatch.setattr(fcntl, "ioctl", FakeKernel().ioctl)
    fd = os.open(os.devnull, os.O_RDWR)
    try:
        with DeviceTable(4, fd=fd) as t:
            assert t.table_id == 1 and t.num_contexts == 4
            t.load(2, 0xCAFEBABE)
            t.accum(2, 1)
            assert t.read(2) == 0xCAFEBABF
            assert t.swap(2, 5) == 0xCAFEBABF and t.read(2) == 5
            assert t.info().version == "0.1.2" and t.info().backend == "software"
            with pytest.raises(OverflowError, match="64 bits"):
                t.accum(2, -1)
        ctx = DeviceContext(fd=fd)
        ctx.load(0xDEAD)
        ctx.accum(0xFF)
        assert ctx.read() == 0xDE52
        assert ctx.swap() == 0xDE52 and ctx.read() == 0xDE52
        ctx.close()
    finally:
        os.close(fd)


def test_reference_wal_vector_imports(tmp_path):
    data = open(VECTOR, "rb").read()
    assert data.hex() == ("00000003" "00000000deadbeef" "00000001"
                          "00000003" "000000000000ffff" "00000002"
                          "00000007" "0123456789abcdef" "ffffffff"
                          "00000001" "00000000")
    with pytest.warns(RuntimeWarning, match="torn tail of 8 bytes at offset 48"):
        report = import_reference_wal(VECTOR, tmp_path / "t")
    assert report == {"records": 3, "loads": 1, "deltas": 2, "torn_tail_bytes": 8,
                      "contexts": 2, "data_dir": str(tmp_path / "t")}
    with PersistentSyncTable(256, path=tmp_path / "t") as t:
        assert {a: v for a, v in t.snapshot().items() if v} == {
            3: 0xDEAD4110, 7: 0x0123456789ABCDEF}
    with pytest.raises(FileExistsError, match="not an empty directory"), \
            pytest.warns(RuntimeWarning):
        import_reference_wal(VECTOR, tmp_path / "t")


def test_reference_wal_errors_name_the_record(tmp_path):
    bad = tmp_path / "state.wal"
    bad.write_bytes(struct.pack(">IQI", 1, 5, 1) + struct.pack(">IQI", 300, 1, 2))
    with pytest.raises(atomik_core.CorruptionError, match="record 1 at offset 16.*address 300"):
        import_reference_wal(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # checked before writing
    bad.write_bytes(struct.pack(">IQI", 1, 0x1FF, 1))
    with pytest.raises(ValueError, match="record 0 at offset 0.*does not fit 8 bits"):
        import_reference_wal(bad, tmp_path / "out", width=8)
    with pytest.raises(ValueError, match="import_reference_wal"):
        PersistentSyncTable(8, path=bad)


def test_reference_written_log_round_trips_through_import(tmp_path, rng):
    # A log as the reference's put/receive/compact would write it, and the
    # state its replay rebuilds (a slow model: a dict).
    log, model = b"", {}
    for _ in range(500):
        addr, value = rng.randrange(16), rng.getrandbits(64)
        if rng.random() < 0.1:
            log += struct.pack(">IQI", addr, value, 0xFFFFFFFF)
            model[addr] = value
        else:
            log += struct.pack(">IQI", addr, value, rng.getrandbits(31))
            model[addr] = model.get(addr, 0) ^ value
    (tmp_path / "state.wal").write_bytes(log)
    report = import_reference_wal(tmp_path / "state.wal", tmp_path / "t", num_contexts=16)
    assert report["records"] == 500 and report["torn_tail_bytes"] == 0
    with PersistentSyncTable(16, path=tmp_path / "t") as t:
        got = {a: v for a, v in t.snapshot().items() if v}
        assert got == {a: v for a, v in model.items() if v}


@pytest.mark.parametrize("width", [64, 32])
def test_truncated_fingerprint_is_the_strong_value_low_bits(width):
    data, other = b"abc" * 1000, b"abc" * 999 + b"abd"
    strong, short = Fingerprint(), Fingerprint(width=width)
    assert short.width == width and short.mode == "strong"
    assert short.load(data) == strong.load(data) & ((1 << width) - 1)
    assert short.update(other) == strong.update(other) & ((1 << width) - 1)
    assert short.changed and short.delta == short.reference ^ short.value
    assert short.value >> width == 0
    legacy = Fingerprint(width=64, legacy_xor_fold=True)
    assert legacy.load(data) != short.load(data)  # truncation is not the fold
    short.reset()
    assert not short.changed and not short.equals(strong)


def test_with_context_resets_like_the_reference():
    ctx = AtomikContext(width=128, initial_state=1 << 100)
    with ctx:
        ctx.accum(3)
    assert ctx.read() == 0 and ctx.is_clean and ctx.width == 128


def test_set_accumulator_and_snapshot_state():
    ctx = AtomikContext(initial_state=0xAAAA)
    ctx.accum(1)
    ctx._set_accumulator(0xFF)
    assert (ctx.accumulator, ctx.delta_count, ctx.read()) == (0xFF, 0, 0xAAAA ^ 0xFF)
    snap = ctx.snapshot()
    assert snap["state"] == 0xAAAA ^ 0xFF
    assert AtomikContext.from_snapshot(snap) == ctx
    snap["state"] = 1
    with pytest.raises(ValueError, match="inconsistent snapshot: state"):
        AtomikContext.from_snapshot(snap)


def test_late_joiner_raises_instead_of_skipping():
    sender, late = DeltaStream(origin=9), DeltaStream()
    msgs = [sender.accum(0, 1 << (i % 60)) for i in range(3000)]
    with pytest.raises(StreamGapError, match="joined late") as e:
        late.apply(msgs[-1])
    assert e.value.seq == 3000 and late.read(0) == 0
    assert late.apply(msgs[0]) == "applied"
    t = SyncTable(4)
    with pytest.raises(StreamGapError):
        t.receive(DeltaMessage(0, 1, seq=2000))
