# SPDX-License-Identifier: Apache-2.0
"""AtomikContext: the reference's API and behaviour on the C++ engine.

Each behaviour is checked against a slow pure-Python model of the
reference's semantics (ModelContext) on seeded random inputs, plus known
answers taken from the reference's docs.
"""
import array
import copy
import pickle
import sys
import threading

import numpy as np
import pytest

from atomik_core import WIDTHS, AtomikContext


class ModelContext:
    """The reference's semantics, written out plainly (values in range)."""

    def __init__(self, width=64, initial_state=0):
        self.width = width
        self.reference = initial_state
        self.accumulator = 0
        self.delta_count = 0

    def load(self, v):
        self.reference, self.accumulator, self.delta_count = v, 0, 0

    def accum(self, d):
        self.accumulator ^= d
        self.delta_count += 1

    def read(self):
        return self.reference ^ self.accumulator

    def swap(self, new_reference=None):
        state = self.read()
        self.reference = state if new_reference is None else new_reference
        self.accumulator, self.delta_count = 0, 0
        return state


def same(ctx, model):
    return (ctx.read(), ctx.reference, ctx.accumulator, ctx.delta_count, ctx.width) == (
        model.read(), model.reference, model.accumulator, model.delta_count, model.width)


def test_defaults_are_width_64_and_state_0():
    ctx = AtomikContext()
    assert (ctx.width, ctx.read(), ctx.reference, ctx.accumulator) == (64, 0, 0, 0)
    assert ctx.delta_count == 0 and ctx.is_clean


def test_reference_docstring_example_gives_stated_state():
    ctx = AtomikContext()
    ctx.load(0xDEADBEEF)
    ctx.accum(0x000000FF)
    assert ctx.read() == 0xDEADBE10


def test_keyword_arguments_match_the_reference():
    ctx = AtomikContext(width=32, initial_state=0xCAFE)
    assert ctx.read() == 0xCAFE and ctx.width == 32


@pytest.mark.parametrize("width", WIDTHS)
def test_random_operations_match_the_model(width, rng):
    ctx = AtomikContext(width, 0)
    model = ModelContext(width, 0)
    top = (1 << width) - 1
    for _ in range(2000):
        op = rng.randrange(6)
        v = rng.choice([0, 1, top, rng.getrandbits(width)])
        if op == 0:
            ctx.load(v)
            model.load(v)
        elif op in (1, 2):
            ctx.accum(v)
            model.accum(v)
        elif op == 3:
            ctx.rollback(v)
            model.accum(v)
        elif op == 4:
            assert ctx.swap() == model.swap()
        else:
            assert ctx.swap(v) == model.swap(v)
        assert same(ctx, model)


@pytest.mark.parametrize("width", WIDTHS)
def test_algebra_laws_hold(width, rng):
    a, b, c, s = (rng.getrandbits(width) for _ in range(4))

    def run(*deltas):
        ctx = AtomikContext(width, s)
        for d in deltas:
            ctx.accum(d)
        return ctx.read()

    assert run(a, b) == run(b, a)                 # commutative
    assert run(a, b, c) == run(c, a, b)           # associative (any grouping)
    assert run(a, a) == s                         # self-inverse
    assert run(0) == s                            # identity


def test_swap_returns_state_and_starts_an_epoch():
    ctx = AtomikContext(initial_state=0x10)
    ctx.accum(0x01)
    assert ctx.swap() == 0x11
    assert (ctx.reference, ctx.accumulator, ctx.delta_count) == (0x11, 0, 0)
    ctx.accum(0x02)
    assert ctx.swap(new_reference=0x5) == 0x13
    assert ctx.read() == 0x5 and ctx.is_clean


def test_rollback_undoes_accum_and_counts_one_delta():
    ctx = AtomikContext(initial_state=7)
    ctx.accum(0xF0)
    ctx.rollback(0xF0)
    assert ctx.read() == 7 and ctx.is_clean and ctx.delta_count == 2


def test_merge_xors_accumulators_and_adds_counts():
    a = AtomikContext(initial_state=0x100)
    b = AtomikContext(initial_state=0x999)    # references are not compared
    a.accum(0x1)
    b.accum(0x2)
    b.accum(0x4)
    a.merge(b)
    assert a.accumulator == 0x7 and a.delta_count == 3 and a.read() == 0x107
    assert b.accumulator == 0x6                 # other is unchanged


def test_merge_of_different_widths_is_a_value_error():
    with pytest.raises(ValueError, match="width-32 context into a width-64"):
        AtomikContext(64).merge(AtomikContext(32))


def test_merge_of_a_non_context_is_a_type_error():
    with pytest.raises(TypeError):
        AtomikContext().merge(5)


def test_reset_clears_everything():
    ctx = AtomikContext(initial_state=9)
    ctx.accum(1)
    ctx.reset()
    assert (ctx.read(), ctx.reference, ctx.delta_count) == (0, 0, 0)


def test_is_clean_is_true_after_a_delta_applied_twice():
    ctx = AtomikContext()
    ctx.accum(5)
    assert not ctx.is_clean
    ctx.accum(5)
    assert ctx.is_clean and ctx.delta_count == 2


@pytest.mark.parametrize("width", WIDTHS)
def test_extreme_values_round_trip(width):
    top = (1 << width) - 1
    ctx = AtomikContext(width, top)
    assert ctx.read() == top
    ctx.accum(top)
    assert ctx.read() == 0
    ctx.load(1 << (width - 1))
    assert ctx.read() == 1 << (width - 1)


def test_width_128_uses_all_128_bits():
    ctx = AtomikContext(128, 1 << 127)
    ctx.accum((1 << 100) | 1)
    assert ctx.read() == (1 << 127) | (1 << 100) | 1
    assert ctx.accumulator == (1 << 100) | 1


def test_numpy_and_bool_integers_are_accepted():
    ctx = AtomikContext(16)
    ctx.accum(np.uint16(0x00FF))
    ctx.accum(np.int64(0x0F00))
    ctx.accum(True)
    assert ctx.read() == 0x0FFE


def test_eq_compares_state_and_width():
    a = AtomikContext(64, 5)
    b = AtomikContext(64, 4)
    b.accum(1)
    assert a == b and not (a != b)
    assert a != AtomikContext(32, 5)
    assert a != 5 and (a == "x") is False


def test_contexts_are_unhashable_like_the_reference():
    with pytest.raises(TypeError):
        hash(AtomikContext())


@pytest.mark.parametrize("width", [8, 64, 128])
def test_repr_is_hex_padded_to_the_width(width):
    ctx = AtomikContext(width, 0xA)
    ctx.accum(0x1)
    digits = width // 4
    assert repr(ctx) == (
        "AtomikContext(width=%d, state=0x%s, ref=0x%s, acc=0x%s, deltas=1)"
        % (width, "b".rjust(digits, "0"), "a".rjust(digits, "0"), "1".rjust(digits, "0")))


@pytest.mark.parametrize("width", WIDTHS)
def test_snapshot_round_trips_exactly(width, rng):
    ctx = AtomikContext(width, rng.getrandbits(width))
    for _ in range(rng.randrange(1, 50)):
        ctx.accum(rng.getrandbits(width))
    snap = ctx.snapshot()
    assert set(snap) == {"width", "reference", "accumulator", "delta_count", "state"}
    assert snap["state"] == ctx.read()
    back = AtomikContext.from_snapshot(snap)
    assert back.snapshot() == snap


def test_snapshot_restores_huge_delta_counts():
    snap = {"width": 64, "reference": 1, "accumulator": 2, "delta_count": (1 << 64) - 1}
    assert AtomikContext.from_snapshot(snap).delta_count == (1 << 64) - 1


def test_from_snapshot_rejects_bad_snapshots():
    with pytest.raises(ValueError, match="missing 'delta_count'"):
        AtomikContext.from_snapshot({"width": 64, "reference": 0, "accumulator": 0})
    with pytest.raises(ValueError, match="inconsistent"):
        AtomikContext.from_snapshot(
            {"width": 64, "reference": 0, "accumulator": 1, "delta_count": 1, "state": 0})
    # Reachable through _set_accumulator (the reference's), so accepted.
    c = AtomikContext.from_snapshot(
        {"width": 64, "reference": 0, "accumulator": 1, "delta_count": 0})
    assert (c.read(), c.delta_count) == (1, 0)
    with pytest.raises(OverflowError):
        AtomikContext.from_snapshot(
            {"width": 8, "reference": 256, "accumulator": 0, "delta_count": 0})
    with pytest.raises(TypeError):
        AtomikContext.from_snapshot([1, 2])


def test_pickle_and_copy_give_independent_equal_contexts():
    ctx = AtomikContext(32, 0xAB)
    ctx.accum(0x10)
    for clone in (pickle.loads(pickle.dumps(ctx)), copy.copy(ctx), copy.deepcopy(ctx), ctx.copy()):
        assert clone.snapshot() == ctx.snapshot()
        clone.accum(1)
        assert clone.read() != ctx.read()


def test_with_block_resets_on_exit_as_the_reference():
    ctx = AtomikContext(initial_state=42)
    with ctx as c:
        assert c is ctx
        ctx.accum(1)
        assert ctx.read() == 43
    assert (ctx.read(), ctx.reference, ctx.accumulator, ctx.delta_count) == (0, 0, 0, 0)
    ctx.load(7)
    with pytest.raises(KeyError):
        with ctx:
            raise KeyError("propagates")
    assert ctx.read() == 0


def test_accum_batch_of_numpy_array_equals_accum_loop(rng):
    deltas = np.array([rng.getrandbits(64) for _ in range(10001)], dtype=np.uint64)
    a = AtomikContext(initial_state=3)
    b = AtomikContext(initial_state=3)
    assert a.accum_batch(deltas) == len(deltas)
    for d in deltas.tolist():
        b.accum(d)
    assert a.snapshot() == b.snapshot()


def test_accum_batch_accepts_buffers_iterables_and_read_only_arrays():
    arr = np.arange(100, dtype=np.uint64)
    arr.flags.writeable = False
    expected = 0
    for i in range(100):
        expected ^= i
    for deltas in (arr, array.array("Q", range(100)), memoryview(array.array("Q", range(100))),
                   list(range(100)), range(100), (i for i in range(100))):
        ctx = AtomikContext()
        assert ctx.accum_batch(deltas) == 100
        assert ctx.read() == expected and ctx.delta_count == 100


def test_accum_batch_of_nothing_changes_nothing():
    ctx = AtomikContext(initial_state=1)
    assert ctx.accum_batch(np.zeros(0, dtype=np.uint64)) == 0
    assert ctx.accum_batch([]) == 0
    assert ctx.delta_count == 0


def test_accum_batch_on_narrow_width_checks_every_value_first():
    ctx = AtomikContext(8, 1)
    with pytest.raises(OverflowError, match=r"deltas\[3\] 0x100 does not fit a width-8"):
        ctx.accum_batch(np.array([1, 2, 3, 256, 4], dtype=np.uint64))
    assert ctx.read() == 1 and ctx.delta_count == 0     # nothing changed
    assert ctx.accum_batch(np.array([0xFF, 0x0F], dtype=np.uint64)) == 2
    assert ctx.read() == 0xF1


def test_accum_batch_width_128_takes_iterables():
    ctx = AtomikContext(128)
    assert ctx.accum_batch([1 << 127, 1 << 64, 1]) == 3
    assert ctx.read() == (1 << 127) | (1 << 64) | 1
    with pytest.raises(OverflowError):
        ctx.accum_batch([1, 1 << 128])
    assert ctx.delta_count == 3


def test_accum_from_four_threads_with_many_deltas_is_exact(rng):
    # Seed pattern 1 at scale: 4 real threads, switching often.
    per_thread = [[rng.getrandbits(64) for _ in range(20000)] for _ in range(4)]
    expected = 0
    for deltas in per_thread:
        for d in deltas:
            expected ^= d
    ctx = AtomikContext()
    ctx.load(0)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        def worker(deltas):
            for d in deltas:
                ctx.accum(d)
        threads = [threading.Thread(target=worker, args=(d,)) for d in per_thread]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert ctx.read() == expected and ctx.delta_count == 80000


def test_accum_batch_from_threads_while_others_accum_is_exact(rng):
    # The fold runs without the GIL; the merge holds it, so nothing is lost.
    batches = [np.array([rng.getrandbits(64) for _ in range(50000)], dtype=np.uint64)
               for _ in range(4)]
    singles = [rng.getrandbits(64) for _ in range(20000)]
    expected = 0
    for b in batches:
        expected ^= int(np.bitwise_xor.reduce(b))
    for d in singles:
        expected ^= d
    ctx = AtomikContext()

    def batcher(b):
        for _ in range(3):          # 3 times: odd, so each batch counts once
            ctx.accum_batch(b)

    def single():
        for d in singles:
            ctx.accum(d)
    threads = [threading.Thread(target=batcher, args=(b,)) for b in batches]
    threads.append(threading.Thread(target=single))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ctx.read() == expected
    assert ctx.delta_count == 4 * 3 * 50000 + 20000


def test_contexts_support_weak_references():
    import weakref
    ctx = AtomikContext()
    assert weakref.ref(ctx)() is ctx
