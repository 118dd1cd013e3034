# SPDX-License-Identifier: Apache-2.0
"""Seed pattern 2, epoch checkpointing (mirrors examples/epochs.cpp).

swap() closes an epoch: it returns the state and starts a fresh
accumulator. Each epoch's state is checkpointed; here save_checkpoint keeps
it in a PersistentSyncTable (a checksummed WAL in a temporary directory), so
the checkpoints survive a restart, which the example then performs.
Exits 1 if a result is wrong.
"""
import random
import sys
import tempfile

from atomik_core import AtomikContext, PersistentSyncTable

rng = random.Random(2)
initial_state = 0xC0FFEE
with tempfile.TemporaryDirectory() as tmp:
    store = PersistentSyncTable(16, path=tmp + "/checkpoints")
    epoch = 0

    def save_checkpoint(state):
        store.put(epoch, state)

    ctx = AtomikContext()
    ctx.load(initial_state)
    expected, state = [], initial_state
    for epoch in range(10):  # while running:
        for delta in [rng.getrandbits(64) for _ in range(1000)]:  # incoming_deltas()
            ctx.accum(delta)
            state ^= delta
        epoch_state = ctx.swap()  # capture state, start a new epoch
        save_checkpoint(epoch_state)
        expected.append(state)
        assert ctx.accumulator == 0 and ctx.reference == epoch_state
    store.close()

    restarted = PersistentSyncTable(16, path=tmp + "/checkpoints")
    saved = [restarted.get(e) for e in range(10)]
    print(f"10 epochs of 1,000 deltas; last state 0x{saved[-1]:016x}; after a restart "
          f"{'all 10 checkpoints intact' if saved == expected else 'CHECKPOINTS WRONG'}")
    restarted.close()
    if saved != expected:
        sys.exit(1)
