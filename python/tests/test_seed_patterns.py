# SPDX-License-Identifier: Apache-2.0
"""The five seed snippets (the five patterns of the project's mission: fan-in,
epochs, fingerprint gate, rollback, convergence) run as written on
atomik_core.

Each snippet below is the seed's text, copied verbatim. The test supplies only
what the snippet leaves undefined (initial_state, incoming_deltas,
save_checkpoint, running, current_data, read_sensor, transmit,
update_database, document_state), with finite loops, runs the text with
exec(), and asserts the results the seed states.
"""
import contextlib
import io
import sys

import pytest

PATTERN_1 = '''\
from atomik_core import AtomikContext
import threading

ctx = AtomikContext()
ctx.load(0)

def worker(deltas):
    for d in deltas:
        ctx.accum(d)  # Lock-free, order-independent

# 4 threads writing concurrently
threads = [threading.Thread(target=worker, args=([0xFF << (i*8)],))
           for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()

# All deltas composed \u2014 result is deterministic
print(f"0x{ctx.read():08x}")  # 0xff_ff_ff_ff
'''

PATTERN_2 = '''\
ctx = AtomikContext()
ctx.load(initial_state)

while running:
    # Accumulate deltas for this epoch
    for delta in incoming_deltas():
        ctx.accum(delta)

    # Checkpoint: capture state, start new epoch
    epoch_state = ctx.swap()
    save_checkpoint(epoch_state)
    # Accumulator is now 0, reference is epoch_state
'''

PATTERN_3 = '''\
from atomik_core import Fingerprint

fp = Fingerprint()
fp.load(current_data)

while True:
    new_data = read_sensor()
    fp.update(new_data)

    if fp.changed:
        # Data actually changed \u2014 do the expensive thing
        transmit(new_data)      # Network send
        update_database(new_data)  # DB write
        fp.load(new_data)       # Update reference
    # else: skip \u2014 data unchanged, save bandwidth + CPU
'''

PATTERN_4 = '''\
ctx = AtomikContext()
ctx.load(document_state)
undo_stack = []

def apply_edit(delta):
    ctx.accum(delta)
    undo_stack.append(delta)

def undo():
    if undo_stack:
        delta = undo_stack.pop()
        ctx.accum(delta)  # Self-inverse: re-apply = undo

# Apply 3 edits
apply_edit(0x0001)
apply_edit(0x0010)
apply_edit(0x0100)

# Undo last 2
undo()  # Removes 0x0100
undo()  # Removes 0x0010
assert ctx.read() == document_state ^ 0x0001  # Only first edit remains
'''

PATTERN_5 = '''\
from atomik_core import DeltaStream, DeltaMessage

# Node A
stream_a = DeltaStream()
stream_a.load(addr=0, initial_state=0xCAFE)

# Node B (different machine)
stream_b = DeltaStream()
stream_b.load(addr=0, initial_state=0xCAFE)

# A makes a change, sends delta to B
stream_a.accum(addr=0, delta=0x00FF)
msg = DeltaMessage(addr=0, delta=0x00FF, seq=1)
wire = msg.to_bytes()  # 16 bytes over the network

# B receives and applies (could arrive out of order)
received = DeltaMessage.from_bytes(wire)
stream_b.accum(received.addr, received.delta)

# Both converge
assert stream_a.read(0) == stream_b.read(0)  # \u2713
'''


class Countdown:
    """`running` for `while running:`: true for n checks, then false."""

    def __init__(self, n):
        self.n = n

    def __bool__(self):
        self.n -= 1
        return self.n >= 0


def run_snippet(text, **names):
    """Runs a snippet as a module would, with `names` predefined."""
    ns = {"__name__": "seed_snippet"}
    ns.update(names)
    exec(compile(text, "<seed snippet>", "exec"), ns)
    return ns


@pytest.mark.parametrize("run", range(20))
def test_pattern_1_fan_in_from_four_threads_prints_all_ones(run):
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)       # switch threads as often as possible
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            ns = run_snippet(PATTERN_1)
    finally:
        sys.setswitchinterval(old)
    assert out.getvalue() == "0xffffffff\n"
    assert ns["ctx"].read() == 0xFFFFFFFF
    assert ns["ctx"].delta_count == 4
    assert len(ns["threads"]) == 4 and not any(t.is_alive() for t in ns["threads"])


def test_pattern_2_epoch_checkpointing_saves_each_epoch_state():
    from atomik_core import AtomikContext
    epochs = [[0x1, 0x2, 0x4], [0x10, 0x1], [], [0xFF00, 0x00FF, 0xFFFF]]
    feed = iter(epochs)
    checkpoints = []
    ns = run_snippet(PATTERN_2, AtomikContext=AtomikContext, initial_state=0xC0DE,
                     running=Countdown(len(epochs)),
                     incoming_deltas=lambda: next(feed),
                     save_checkpoint=checkpoints.append)
    expected, state = [], 0xC0DE
    for deltas in epochs:
        for d in deltas:
            state ^= d
        expected.append(state)
    assert checkpoints == expected
    ctx = ns["ctx"]
    # "Accumulator is now 0, reference is epoch_state"
    assert ctx.accumulator == 0 and ctx.reference == ns["epoch_state"] == expected[-1]
    assert ctx.delta_count == 0


def test_pattern_4_rollback_chain_leaves_only_the_first_edit():
    from atomik_core import AtomikContext
    ns = run_snippet(PATTERN_4, AtomikContext=AtomikContext, document_state=0xD0C0)
    assert ns["ctx"].read() == 0xD0C0 ^ 0x0001
    assert ns["undo_stack"] == [0x0001]
    ns["undo"]()
    ns["undo"]()                       # nothing left: a no-op, as written
    assert ns["ctx"].read() == 0xD0C0


class SensorDone(Exception):
    """Raised by read_sensor() when the samples run out: ends `while True:`."""


def test_pattern_3_fingerprint_gate_acts_only_on_real_changes():
    base = bytes(range(64))
    swapped = base[8:16] + base[0:8] + base[16:]
    paired_flip = bytes([swapped[0] ^ 1]) + swapped[1:8] + bytes([swapped[8] ^ 1]) + swapped[9:]
    samples = [base, base, swapped, swapped, paired_flip, paired_flip + b"\0" * 8,
               paired_flip + b"\0" * 8, b"abc", b"abc\0", b"abc\0"]
    feed = iter(samples)

    def read_sensor():
        try:
            return next(feed)
        except StopIteration:
            raise SensorDone from None
    transmitted, written = [], []
    with pytest.raises(SensorDone):
        run_snippet(PATTERN_3, current_data=base, read_sensor=read_sensor,
                    transmit=transmitted.append, update_database=written.append)
    # Every real change is acted on, every repeat skipped, including the
    # swapped words, paired flips and appended zeros the reference misses.
    expected, ref = [], base
    for s in samples:
        if s != ref:
            expected.append(s)
            ref = s
    assert transmitted == expected == written
    assert len(expected) == 5


def test_pattern_5_streams_converge():
    ns = run_snippet(PATTERN_5)
    assert ns["stream_a"].read(0) == ns["stream_b"].read(0) == 0xCAFE ^ 0x00FF
    assert len(ns["wire"]) == 16
    assert ns["received"] == ns["msg"]
