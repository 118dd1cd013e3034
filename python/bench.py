#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmarks of the atomik_core Python bindings.

Each operation is timed against a pure-Python implementation of the same
operation written here in the reference package's style (classes with
_reference/_accumulator attributes, a frozen dataclass message decoded with
struct.unpack), in the same run, interleaved repetition by repetition, and
reported as a ratio. Targets:

  per call  AtomikContext.accum, AtomikTable.accum, DeltaStream.accum,
            DeltaMessage.from_bytes + DeltaStream.apply       >= 3x Python
  batch     AtomikContext.accum_batch of a 1M-delta numpy array
                                          >= 100x the pure-Python accum loop
  bytes     Fingerprint.update of 1 MiB   >= 0.8x the C++ Fingerprint
            (BM_FingerprintFull/1048576 of bench/fingerprint_bench, run now)

Per-call figures are the whole `for x in xs: f(x)` loop divided by its
length, for both sides (the loop itself, ~5 ns, is printed too and is not
subtracted). Each figure is the minimum over --reps repetitions.

  PYTHONPATH=build/release/python /usr/bin/python3 python/bench.py \\
      [--cpp-bench build/release/bench/fingerprint_bench] [--check]
  venv/bin/python python/bench.py --cpp-bench ...   (the pip-installed package)

--check exits 1 if a target is missed.
"""
import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

# Python puts this script's directory first on sys.path, and python/ holds
# the package's sources without the compiled core: drop it, so the
# installed package (or the build tree's, via PYTHONPATH) is the one timed.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import atomik_core  # noqa: E402
from atomik_core import AtomikContext, AtomikTable, DeltaMessage, DeltaStream, Fingerprint

# --- Pure-Python implementations in the reference's style -------------------


class PyContext:
    __slots__ = ("_reference", "_accumulator", "_width", "_mask", "_delta_count")

    def __init__(self, width=64, initial_state=0):
        self._width = width
        self._mask = (1 << width) - 1
        self._reference = initial_state & self._mask
        self._accumulator = 0
        self._delta_count = 0

    def accum(self, delta):
        self._accumulator = (self._accumulator ^ delta) & self._mask
        self._delta_count += 1

    def read(self):
        return (self._reference ^ self._accumulator) & self._mask


class PyTable:
    __slots__ = ("_contexts", "_num_contexts", "_width")

    def __init__(self, num_contexts=256, width=64):
        self._num_contexts = num_contexts
        self._width = width
        self._contexts = [PyContext(width) for _ in range(num_contexts)]

    def _ctx(self, addr):
        if addr < 0 or addr >= self._num_contexts:
            raise IndexError("address %d out of range" % addr)
        return self._contexts[addr]

    def accum(self, addr, delta):
        self._ctx(addr).accum(delta)


@dataclass(frozen=True)
class PyMessage:
    addr: int
    delta: int
    epoch: int = 0
    seq: int = 0

    def to_bytes(self):
        return struct.pack(">IQI", self.addr, self.delta, self.seq)

    @classmethod
    def from_bytes(cls, data):
        if len(data) != 16:
            raise ValueError("expected 16 bytes, got %d" % len(data))
        addr, delta, seq = struct.unpack(">IQI", data)
        return cls(addr=addr, delta=delta, seq=seq)


class PyStream:
    __slots__ = ("_contexts", "_width", "_epoch", "_seq", "_pending")

    def __init__(self, width=64):
        self._width = width
        self._contexts = {}
        self._epoch = 0
        self._seq = 0
        self._pending = []

    def _get_or_create(self, addr):
        if addr not in self._contexts:
            self._contexts[addr] = PyContext(self._width)
        return self._contexts[addr]

    def accum(self, addr, delta):
        self._get_or_create(addr).accum(delta)
        self._seq += 1
        msg = PyMessage(addr=addr, delta=delta, epoch=self._epoch, seq=self._seq)
        self._pending.append(msg)
        return msg

    def apply(self, msg):
        self._get_or_create(msg.addr).accum(msg.delta)

    def read(self, addr):
        c = self._contexts.get(addr)
        return 0 if c is None else c.read()

    def pending(self):
        p, self._pending = self._pending, []
        return p


def py_fold(data, width=64):
    """The reference's Fingerprint._reduce (XOR-fold), for scale."""
    n = width // 8
    mv = memoryview(data)
    v = 0
    for i in range(0, len(mv) - n + 1, n):
        v ^= int.from_bytes(mv[i:i + n], "little")
    return v


# --- Timing --------------------------------------------------------------------


def best(fn, reps, setup=None):
    """Minimum wall time of fn() over reps runs (setup() untimed before each)."""
    t = float("inf")
    for _ in range(reps):
        if setup:
            setup()
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def paired(ours, ref, reps, setup=None, ref_setup=None):
    """Interleaves the two so both see the same machine state; returns the
    minimum time of each."""
    to = tr = float("inf")
    for _ in range(reps):
        to = min(to, best(ours, 1, setup))
        tr = min(tr, best(ref, 1, ref_setup or setup))
    return to, tr


def run_loop1(f, xs):
    for x in xs:
        f(x)


def run_loop2(f, xs, ys):
    for x, y in zip(xs, ys):
        f(x, y)


def cpp_fingerprint_mib(path):
    """bytes/s of BM_FingerprintFull/1048576 from the C++ benchmark, or None."""
    if not path or not os.path.exists(path):
        return None
    out = subprocess.run(
        [path, "--benchmark_filter=^BM_FingerprintFull/1048576$",
         "--benchmark_min_time=0.2", "--benchmark_repetitions=5",
         "--benchmark_format=json"], capture_output=True, text=True, check=True)
    runs = [b for b in json.loads(out.stdout)["benchmarks"]
            if b.get("run_type") == "iteration"]
    return max(b["bytes_per_second"] for b in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="calls per per-call loop")
    ap.add_argument("--reps", type=int, default=15)
    here = os.path.dirname(os.path.abspath(atomik_core.__file__))
    # The package sits in build/<preset>/python/atomik_core in a build tree.
    ap.add_argument("--cpp-bench", default=os.path.join(here, "..", "..", "bench", "fingerprint_bench"))
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the rows to FILE as JSON: {\"rows\": [{\"name\", \"ratio\", "
                         "\"target\", \"met\"}]} (what `atomik bench --plot` draws)")
    args = ap.parse_args()
    n, reps = args.n, args.reps
    rng = np.random.default_rng(7)
    deltas = rng.integers(0, 2**63, size=n, dtype=np.uint64).tolist()
    addrs = rng.integers(0, 256, size=n, dtype=np.uint32).tolist()
    rows = []   # (name, ours_ns_or_rate, ref, ratio, target, unit)

    empty = best(lambda: run_loop1(lambda x: None, deltas), reps) / n * 1e9
    loop = best(lambda: [None for _ in deltas], reps) / n * 1e9

    # AtomikContext.accum
    c, r = AtomikContext(), PyContext()
    to, tr = paired(lambda: run_loop1(c.accum, deltas), lambda: run_loop1(r.accum, deltas), reps)
    assert c.read() == r.read()
    rows.append(("AtomikContext.accum", to / n * 1e9, tr / n * 1e9, 3.0))

    # AtomikTable.accum
    t, rt = AtomikTable(256), PyTable(256)
    to, tr = paired(lambda: run_loop2(t.accum, addrs, deltas),
                    lambda: run_loop2(rt.accum, addrs, deltas), reps)
    rows.append(("AtomikTable.accum", to / n * 1e9, tr / n * 1e9, 3.0))

    # DeltaStream.accum (stamps, queues and returns a message)
    s, rs = DeltaStream(), PyStream()

    def drain():
        s.pending()
        rs.pending()
    to, tr = paired(lambda: run_loop2(s.accum, addrs, deltas),
                    lambda: run_loop2(rs.accum, addrs, deltas), reps, setup=drain)
    assert all(s.read(a) == rs.read(a) for a in range(256))
    rows.append(("DeltaStream.accum", to / n * 1e9, tr / n * 1e9, 3.0))

    # DeltaMessage.from_bytes + DeltaStream.apply of a peer's messages
    wires = [struct.pack(">IQI", a, d, i + 1) for i, (a, d) in enumerate(zip(addrs, deltas))]
    box = {}

    def fresh():
        box["s"] = DeltaStream(origin=1)

    def fresh_ref():
        box["r"] = PyStream()

    def ours_apply():
        apply, from_bytes = box["s"].apply, DeltaMessage.from_bytes
        for w in wires:
            apply(from_bytes(w), 2)

    def ref_apply():
        apply, from_bytes = box["r"].apply, PyMessage.from_bytes
        for w in wires:
            apply(from_bytes(w))
    to, tr = paired(ours_apply, ref_apply, reps, setup=fresh, ref_setup=fresh_ref)
    assert box["s"].stats["applied"] == n
    rows.append(("DeltaMessage.from_bytes + DeltaStream.apply", to / n * 1e9, tr / n * 1e9, 3.0))

    # Batch: 1M-delta numpy array vs the pure-Python accum loop over it.
    big = rng.integers(0, 2**64 - 1, size=1 << 20, dtype=np.uint64, endpoint=True)
    big_list = big.tolist()
    cb, rb = AtomikContext(), PyContext()
    to = best(lambda: cb.accum_batch(big), reps)
    tr = best(lambda: run_loop1(rb.accum, big_list), max(3, reps // 2))
    rows.append(("AtomikContext.accum_batch(1M numpy) vs Python loop",
                 to * 1e3, tr * 1e3, 100.0, "ms"))

    # Fingerprint.update of 1 MiB vs the C++ figure measured now.
    mib = rng.integers(0, 256, size=1 << 20, dtype=np.uint8)
    fp = Fingerprint()
    fp.load(mib)
    tf = best(lambda: [fp.update(mib) for _ in range(50)], reps) / 50
    py_gbs = (1 << 20) / tf / 1e9
    cpp = cpp_fingerprint_mib(args.cpp_bench)
    cpp_gbs = cpp / 1e9 if cpp else None
    t_ref = best(lambda: py_fold(mib), 3)

    print("atomik_core %s, Python %s (%s), %s" % (atomik_core.__version__, platform.python_version(),
                                                 sys.executable, atomik_core.__file__))
    print("empty loop `for x in xs: f(x)` with a no-op lambda: %.1f ns; list comprehension: %.1f ns"
          % (empty, loop))
    print()
    print("| operation | atomik_core | pure Python | ratio | target | met |")
    print("|---|---|---|---|---|---|")
    ok = True
    out = []  # the --json rows
    for row in rows:
        name, ours, ref, target = row[:4]
        unit = row[4] if len(row) > 4 else "ns/call"
        ratio = ref / ours
        met = ratio >= target
        ok &= met
        prec = 3 if unit == "ms" else 1
        out.append({"name": name, "ratio": ratio, "target": target, "met": met})
        print("| %s | %.*f %s | %.*f %s | %.1fx | >= %gx | %s |"
              % (name, prec, ours, unit, prec, ref, unit, ratio, target, "yes" if met else "NO"))
    if cpp_gbs:
        ratio = py_gbs / cpp_gbs
        met = ratio >= 0.8
        ok &= met
        out.append({"name": "Fingerprint.update(1 MiB) vs C++", "ratio": ratio, "target": 0.8, "met": met})
        print("| Fingerprint.update(1 MiB) vs C++ BM_FingerprintFull/1048576 | %.2f GB/s | "
              "%.2f GB/s (C++) | %.2fx | >= 0.8x | %s |"
              % (py_gbs, cpp_gbs, ratio, "yes" if met else "NO"))
    else:
        ok = False
        print("| Fingerprint.update(1 MiB) | %.2f GB/s | C++ bench not found at %s | - | >= 0.8x | NO |"
              % (py_gbs, args.cpp_bench))
    print("| (scale) reference XOR-fold of 1 MiB in pure Python | %.2f GB/s | %.4f GB/s | %.0fx | - | - |"
          % (py_gbs, (1 << 20) / t_ref / 1e9, t_ref / tf))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": out}, f)
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
