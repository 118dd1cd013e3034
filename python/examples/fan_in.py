# SPDX-License-Identifier: Apache-2.0
"""Seed pattern 1, accumulator fan-in (mirrors examples/fan_in.cpp).

Four Python threads accum into one AtomikContext with no lock of their own;
each call is atomic, so the result is exact. Then the same at scale: four
threads x 50,000 deltas, plus one batch folded without the GIL.
Exits 1 if a result is wrong.
"""
import random
import sys
import threading

from atomik_core import AtomikContext

ctx = AtomikContext()
ctx.load(0)


def worker(deltas):
    for d in deltas:
        ctx.accum(d)  # lock-free, order-independent


threads = [threading.Thread(target=worker, args=([0xFF << (i * 8)],)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"0x{ctx.read():08x}")  # 0xffffffff
if ctx.read() != 0xFFFFFFFF:
    sys.exit(1)

# At scale: every delta lands exactly once.
rng = random.Random(7)
per_thread = [[rng.getrandbits(64) for _ in range(50_000)] for _ in range(4)]
expected = 0
for deltas in per_thread:
    for d in deltas:
        expected ^= d
big = AtomikContext()
threads = [threading.Thread(target=lambda ds=ds: [big.accum(d) for d in ds]) for ds in per_thread]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"4 threads x 50,000 deltas: state 0x{big.read():016x}, {big.delta_count} deltas, "
      f"{'exact' if big.read() == expected else 'WRONG'}")
if big.read() != expected or big.delta_count != 200_000:
    sys.exit(1)
