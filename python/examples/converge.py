# SPDX-License-Identifier: Apache-2.0
"""Seed pattern 5, multi-stream convergence (mirrors examples/converge.cpp).

First the seed's snippet as written; then 5 replicas exchange 16-byte
messages over a simulated network that drops 10%, duplicates 10% and
reorders everything, and are repaired by version-vector catch-up
(DeltaStream.missing). Every replica ends equal (digest and states) to the
XOR of all deltas. The same traffic through raw_apply=True streams (the
reference's apply-everything) diverges, since a duplicated XOR delta undoes
itself. Exits 1 if our side fails.
"""
import random
import sys

from atomik_core import DeltaMessage, DeltaStream

# --- the seed's snippet ---
stream_a = DeltaStream()
stream_a.load(addr=0, initial_state=0xCAFE)
stream_b = DeltaStream()
stream_b.load(addr=0, initial_state=0xCAFE)
stream_a.accum(addr=0, delta=0x00FF)
msg = DeltaMessage(addr=0, delta=0x00FF, seq=1)
wire = msg.to_bytes()  # 16 bytes over the network
received = DeltaMessage.from_bytes(wire)
stream_b.accum(received.addr, received.delta)
assert stream_a.read(0) == stream_b.read(0)
print(f"seed pattern 5: A reads 0x{stream_a.read(0):x}, B reads 0x{stream_b.read(0):x}: converged")


def run(raw_apply, seed=5):
    rng = random.Random(seed)
    replicas = [DeltaStream(origin=i + 1, raw_apply=raw_apply) for i in range(5)]
    model = {}
    network = []
    for _ in range(2000):
        src = rng.randrange(5)
        addr, delta = rng.randrange(64), rng.getrandbits(64)
        m = replicas[src].accum(addr, delta)
        model[addr] = model.get(addr, 0) ^ delta
        for dst in range(5):
            if dst == src or rng.random() < 0.10:  # drop 10%
                continue
            copies = 2 if rng.random() < 0.10 else 1  # duplicate 10%
            network += [(dst, src + 1, m.to_bytes())] * copies
    rng.shuffle(network)  # reorder
    for dst, origin, data in network:
        replicas[dst].apply(DeltaMessage.from_bytes(data), origin=origin)
    if not raw_apply:  # catch-up: each pair exchanges what the other lacks
        for _ in range(2):
            for a in replicas:
                for b in replicas:
                    if a is not b:
                        _, _, lacking = a.missing(b.version_vector())
                        for m in lacking:
                            b.apply(m)
    good = sum(all(r.read(a) == v for a, v in model.items()) for r in replicas)
    digests = {r.digest() for r in replicas}
    return good, len(digests) == 1


good, same = run(raw_apply=False)
print(f"exactly-once + catch-up: {good}/5 replicas equal the XOR of all deltas; "
      f"digests {'equal' if same else 'DIFFER'}")
raw_good, raw_same = run(raw_apply=True)
print(f"reference apply-everything (raw_apply=True): {raw_good}/5 replicas correct; "
      f"digests {'equal' if raw_same else 'differ'}")
sys.exit(0 if good == 5 and same else 1)
