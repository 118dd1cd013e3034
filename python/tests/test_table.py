# SPDX-License-Identifier: Apache-2.0
"""AtomikTable: the reference's fixed array of contexts, on DeltaTable."""
import numpy as np
import pytest

from atomik_core import WIDTHS, AtomikContext, AtomikTable


def test_defaults_are_256_contexts_of_width_64():
    t = AtomikTable()
    assert (t.num_contexts, t.width, len(t)) == (256, 64, 256)
    assert t.snapshot() == {}


def test_reference_docstring_example_gives_stated_states():
    table = AtomikTable(num_contexts=256)
    table.load(addr=0, initial_state=0xCAFEBABE)
    table.load(addr=1, initial_state=0xDEADBEEF)
    table.accum(addr=0, delta=0x00000001)
    assert table.read(addr=0) == 0xCAFEBABF
    assert table.read(addr=1) == 0xDEADBEEF


@pytest.mark.parametrize("width", WIDTHS)
def test_random_operations_match_a_list_of_contexts(width, rng):
    n = 17
    t = AtomikTable(n, width)
    model = [AtomikContext(width) for _ in range(n)]
    for _ in range(3000):
        a = rng.randrange(n)
        v = rng.getrandbits(width)
        op = rng.randrange(5)
        if op == 0:
            t.load(a, v)
            model[a].load(v)
        elif op == 1:
            t.accum(a, v)
            model[a].accum(v)
        elif op == 2:
            t.rollback(a, v)
            model[a].rollback(v)
        elif op == 3:
            assert t.swap(a) == model[a].swap()
        else:
            assert t.swap(a, new_reference=v) == model[a].swap(v)
        assert t.read(a) == model[a].read()
    assert t.snapshot() == {i: c.read() for i, c in enumerate(model) if c.read() != 0}
    assert list(t) == [c.read() for c in model]
    assert [t[i] for i in range(n)] == [c.read() for c in model]


def test_context_is_a_live_view_of_the_table():
    t = AtomikTable(8)
    t.load(3, 0x10)
    ctx = t.context(3)
    ctx.accum(0x01)
    assert t.read(3) == 0x11                      # change via the view
    t.accum(3, 0x02)
    assert ctx.read() == 0x13 and ctx.delta_count == 2   # and via the table
    ctx.swap()
    assert t.read(3) == 0x13 and t.context(3).is_clean


def test_context_view_keeps_the_table_alive():
    ctx = AtomikTable(4, 128).context(2)          # the table has no other ref
    ctx.accum(1 << 120)
    assert ctx.read() == 1 << 120 and ctx.width == 128


def test_context_view_cannot_be_reinitialised():
    ctx = AtomikTable(4).context(0)
    with pytest.raises(TypeError):
        ctx.__init__(64, 0)


def test_batch_accum_takes_dicts_and_pairs():
    t = AtomikTable(8)
    t.batch_accum({1: 0x10, 2: 0x20})
    t.batch_accum([(1, 0x01), (1, 0x02)])
    assert t.snapshot() == {1: 0x13, 2: 0x20}


def test_batch_accum_is_all_or_nothing():
    t = AtomikTable(8, 8)
    with pytest.raises(IndexError, match="address 8 out of range"):
        t.batch_accum({1: 1, 8: 1})
    with pytest.raises(OverflowError, match="width-8"):
        t.batch_accum([(1, 1), (2, 0x100)])
    assert t.snapshot() == {}


def test_accum_batch_of_numpy_arrays_matches_accum_loop(rng):
    n = 1000
    addrs = np.array([rng.randrange(64) for _ in range(n)], dtype=np.uint32)
    deltas = np.array([rng.getrandbits(64) for _ in range(n)], dtype=np.uint64)
    a, b = AtomikTable(64), AtomikTable(64)
    assert a.accum_batch(addrs, deltas) == n
    for x, d in zip(addrs.tolist(), deltas.tolist()):
        b.accum(x, d)
    assert a.snapshot() == b.snapshot()
    c = AtomikTable(64)
    assert c.accum_batch(addrs.tolist(), deltas.tolist()) == n
    assert c.snapshot() == b.snapshot()


def test_accum_batch_is_all_or_nothing():
    t = AtomikTable(4, 16)
    with pytest.raises(IndexError, match=r"addrs\[2\] = 4 out of range \[0, 3\]"):
        t.accum_batch(np.array([0, 1, 4], dtype=np.uint32), np.array([1, 1, 1], dtype=np.uint64))
    with pytest.raises(OverflowError, match=r"deltas\[1\]"):
        t.accum_batch(np.array([0, 1], dtype=np.uint32), np.array([1, 1 << 16], dtype=np.uint64))
    with pytest.raises(ValueError, match="2 addrs but 3 deltas"):
        t.accum_batch(np.array([0, 1], dtype=np.uint32), np.array([1, 1, 1], dtype=np.uint64))
    assert t.snapshot() == {}
    assert t.accum_batch([], []) == 0


def test_accum_batch_width_128():
    t = AtomikTable(4, 128)
    assert t.accum_batch([1, 2], [1 << 127, 3]) == 2
    assert t.snapshot() == {1: 1 << 127, 2: 3}


def test_repr_counts_nonzero_states():
    t = AtomikTable(10, 32)
    t.accum(4, 1)
    assert repr(t) == "AtomikTable(num_contexts=10, width=32, nonzero=1)"


def test_large_tables_work():
    t = AtomikTable(1 << 20)
    t.accum((1 << 20) - 1, 5)
    assert t.read((1 << 20) - 1) == 5
