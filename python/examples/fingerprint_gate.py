# SPDX-License-Identifier: Apache-2.0
"""Seed pattern 3, fingerprint gate (mirrors examples/fingerprint_gate.cpp).

A simulated sensor sends 4 KiB frames of 512 readings, often repeating
itself. A FingerprintGate skips every unchanged frame and catches every
changed one, including the changes the reference's XOR-fold misses (two
readings swapped, the same bit flipped in two readings). The reference's
fold (Fingerprint(legacy_xor_fold=True)) runs side by side.
Exits 1 if the strong gate misses a change or acts on a repeat.
"""
import random
import sys

import numpy as np

from atomik_core import Fingerprint, FingerprintGate

rng = random.Random(42)
frame = np.array([rng.randrange(1000) for _ in range(512)], dtype=np.uint64)
gate = FingerprintGate()
legacy = Fingerprint(legacy_xor_fold=True)
legacy.load(frame)
gate.check(frame)

kinds = ["unchanged (repeat)", "value change", "two readings swapped", "same bit flipped twice"]
samples = dict.fromkeys(kinds, 0)
strong_acted = dict.fromkeys(kinds, 0)
reference_acted = dict.fromkeys(kinds, 0)
for _ in range(2000):
    dice, i, j = rng.randrange(100), rng.randrange(512), rng.randrange(512)
    while j == i or frame[i] == frame[j]:
        j = rng.randrange(512)
    if dice < 60:
        kind = kinds[0]
    elif dice < 80:
        kind = kinds[1]
        frame[i] += np.uint64(1)
    elif dice < 90:
        kind = kinds[2]
        frame[i], frame[j] = frame[j], frame[i]
    else:
        kind = kinds[3]
        bit = np.uint64(1 << rng.randrange(10))
        frame[i] ^= bit
        frame[j] ^= bit
    samples[kind] += 1
    if gate.check(frame):  # the numpy array is read in place, no copy
        strong_acted[kind] += 1
    legacy.update(frame)
    if legacy.changed:
        reference_acted[kind] += 1
        legacy.load(frame)

print(f"{'change':24} {'samples':>8} {'strong gate':>12} {'reference':>10}")
for k in kinds:
    print(f"{k:24} {samples[k]:8} {strong_acted[k]:12} {reference_acted[k]:10}")
ok = strong_acted[kinds[0]] == 0 and all(strong_acted[k] == samples[k] for k in kinds[1:])
print(f"gate: {gate.checks} checks, {gate.changes} acted, {gate.skips} skipped: "
      f"{'every change caught, every repeat skipped' if ok else 'WRONG'}")
sys.exit(0 if ok else 1)
