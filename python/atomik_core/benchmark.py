# SPDX-License-Identifier: Apache-2.0
"""The reference's benchmark functions, measured on this package.

Run:  python -m atomik_core benchmark [--json]

Each bench_* function prints its section and returns a dict with the
reference's keys, so scripts that read them keep working. Differences, on
purpose: bench_bandwidth counts the real 16-byte DeltaMessage (addr, delta,
seq), not the 8-byte delta alone; bench_change_detection uses the strong
fingerprint truncated to 64 bits (Fingerprint(width=64)). Timings are wall
clock on whatever else the machine is doing: compare ratios within one run.
"""

import json
import platform
import random
import sys
import time

__all__ = ["bench_rollback", "bench_change_detection", "bench_convergence",
           "bench_bandwidth", "bench_throughput", "main"]

_MASK64 = (1 << 64) - 1
# Bytes of one DeltaMessage on the wire (docs/format/wire.md): u32 addr,
# u64 delta, u32 seq.
MESSAGE_BYTES = 16


def _section(title):
    print("\n" + "=" * 60 + "\n  " + title + "\n" + "=" * 60)


def _ratio(slow, fast):
    return slow / fast if fast > 0 else float("inf")


def _report(trad, atomik, what):
    print("  Traditional: %10.2f ms" % (trad * 1e3))
    print("  atomik:      %10.2f ms" % (atomik * 1e3))
    print("  -> %.1fx (%s)" % (_ratio(trad, atomik), what))


def bench_rollback(n=10_000):
    """Undo n changes: a saved history versus XOR-ing the deltas back."""
    from ._core import AtomikContext
    _section("State rollback (undo %d changes)" % n)
    start_state = 0xDEADBEEFCAFEBABE
    deltas = [(i * 0x1234567890AB + 0x1111) & _MASK64 for i in range(n)]
    t0 = time.perf_counter()
    history, state = [], start_state
    for d in deltas:
        history.append(state)
        state ^= d
    for i in range(n - 1, -1, -1):
        state = history[i]
    trad = time.perf_counter() - t0
    trad_mem = sys.getsizeof(history) + sum(sys.getsizeof(s) for s in history)
    ctx = AtomikContext(width=64)
    ctx.load(start_state)
    t0 = time.perf_counter()
    for d in deltas:
        ctx.accum(d)
    for d in deltas:
        ctx.rollback(d)
    atomik = time.perf_counter() - t0
    if ctx.read() != start_state:
        raise AssertionError("rollback did not restore the state")
    atomik_mem = 24  # reference + accumulator + delta count
    _report(trad, atomik, "rollback")
    return {"test": "rollback", "n": n, "trad_time_ms": trad * 1e3,
            "atomik_time_ms": atomik * 1e3, "speedup": _ratio(trad, atomik),
            "trad_mem_bytes": trad_mem, "atomik_mem_bytes": atomik_mem,
            "mem_reduction": trad_mem / atomik_mem}


def bench_change_detection(buf_size=65536, n_checks=1000):
    """Did a buffer change? Comparing copies versus a fingerprint."""
    from ._core import Fingerprint
    _section("Change detection (%d KB buffer)" % (buf_size // 1024))
    buf = bytearray(b"\xAA" * buf_size)
    copy = bytearray(buf)
    t0 = time.perf_counter()
    for _ in range(n_checks):
        _ = buf == copy
    trad = time.perf_counter() - t0
    fp = Fingerprint(width=64)
    fp.load(buf)
    t0 = time.perf_counter()
    for _ in range(n_checks):
        _ = fp.changed
    atomik = time.perf_counter() - t0
    _report(trad, atomik, "check an already computed fingerprint")
    buf[1000] = 0xBB
    t0 = time.perf_counter()
    for _ in range(n_checks):
        _ = buf == copy
    trad_incr = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n_checks):
        fp.update(buf)
    atomik_incr = time.perf_counter() - t0
    if not fp.changed:
        raise AssertionError("the fingerprint missed a changed byte")
    print("  After changing 1 byte: compare %.2f ms, re-fingerprint %.2f ms"
          % (trad_incr * 1e3, atomik_incr * 1e3))
    return {"test": "change_detection", "buf_size": buf_size,
            "n_checks": n_checks, "trad_time_ms": trad * 1e3,
            "atomik_time_ms": atomik * 1e3, "speedup": _ratio(trad, atomik),
            "incr_trad_time_ms": trad_incr * 1e3,
            "incr_atomik_time_ms": atomik_incr * 1e3,
            "incr_speedup": _ratio(trad_incr, atomik_incr)}


def bench_convergence(n_nodes=8, n_updates=1000):
    """n_nodes replicas: sort-and-replay versus accumulate-and-merge."""
    from ._core import AtomikContext
    _section("Convergence (%d nodes x %d updates)" % (n_nodes, n_updates))
    rng = random.Random(42)
    t0 = time.perf_counter()
    events = [(rng.random(), node, i * 0x100 + node)
              for node in range(n_nodes) for i in range(n_updates)]
    events.sort(key=lambda e: e[0])
    state = 0
    for _, _, value in events:
        state ^= value
    trad = time.perf_counter() - t0
    t0 = time.perf_counter()
    nodes = [AtomikContext(width=64) for _ in range(n_nodes)]
    for node in range(n_nodes):
        for i in range(n_updates):
            nodes[node].accum(i * 0x100 + node)
    for other in nodes[1:]:
        nodes[0].merge(other)
    atomik = time.perf_counter() - t0
    if nodes[0].read() != state:
        raise AssertionError("merged state differs from the replay")
    _report(trad, atomik, "convergence")
    return {"test": "convergence", "n_nodes": n_nodes, "n_updates": n_updates,
            "trad_time_ms": trad * 1e3, "atomik_time_ms": atomik * 1e3,
            "speedup": _ratio(trad, atomik)}


def bench_bandwidth(state_sizes=(64, 1024, 65536, 1048576)):
    """Bytes to send one 64-bit change: the whole state versus one message.

    Counts the real 16-byte message (the reference counted 8 bytes).
    """
    _section("Bandwidth (bytes per update of one 64-bit word)")
    entries = []
    for size in state_sizes:
        entries.append({"state_bytes": size, "trad_bytes": size,
                        "atomik_bytes": MESSAGE_BYTES,
                        "reduction": size / MESSAGE_BYTES})
        print("  %10d B state: %10d B vs %d B message (%.0fx)"
              % (size, size, MESSAGE_BYTES, size / MESSAGE_BYTES))
    return {"test": "bandwidth", "entries": entries}


def bench_throughput(n=2_000_000):
    """Calls per second of load, accum and read on one context."""
    from ._core import AtomikContext
    _section("Throughput (%d calls each)" % n)
    ctx = AtomikContext(width=64)
    rates = {}
    for name, fn in (("accum", ctx.accum), ("read", None), ("load", ctx.load)):
        t0 = time.perf_counter()
        if fn is None:
            for _ in range(n):
                ctx.read()
        else:
            for i in range(n):
                fn(i)
        rates[name] = n / (time.perf_counter() - t0)
        print("  %-5s %14.0f ops/s" % (name.upper(), rates[name]))
    return {"test": "throughput", "n": n, "load_ops_sec": rates["load"],
            "accum_ops_sec": rates["accum"], "read_ops_sec": rates["read"]}


def run_all():
    """Runs every benchmark; returns their dicts in order."""
    return [bench_rollback(), bench_change_detection(), bench_convergence(),
            bench_bandwidth(), bench_throughput()]


def main(argv=None):
    """`benchmark [--json]`: runs run_all() and returns its list of dicts;
    --json prints only {"benchmarks": [...], "platform", "python"} on
    stdout. An unknown option is a usage error (SystemExit 2)."""
    argv = sys.argv[1:] if argv is None else argv
    unknown = [a for a in argv if a not in ("--json",)]
    if unknown:
        print("benchmark: unknown option %s (usage: benchmark [--json])"
              % unknown[0], file=sys.stderr)
        raise SystemExit(2)
    if "--json" in argv:
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            results = run_all()
        json.dump({"benchmarks": results, "platform": platform.platform(),
                   "python": platform.python_version()}, sys.stdout, indent=2)
        print()
    else:
        results = run_all()
    return results


if __name__ == "__main__":
    main()
