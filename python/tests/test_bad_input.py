# SPDX-License-Identifier: Apache-2.0
"""Bad input raises TypeError, ValueError, OverflowError or IndexError with
a clear message, never crashes, and changes nothing."""
import array

import numpy as np
import pytest

from atomik_core import WIDTHS, AtomikContext, AtomikTable

NOT_INTS = [1.0, 1.5, "1", b"\x01", None, [1], object(), 1j]


@pytest.mark.parametrize("width", [0, 1, 7, 12, 63, 65, 256, -64])
def test_unsupported_widths_are_value_errors(width):
    with pytest.raises(ValueError, match="width must be one of 8, 16, 32, 64 or 128 bits, got %d" % width):
        AtomikContext(width)
    with pytest.raises(ValueError, match="got %d" % width):
        AtomikTable(4, width)


@pytest.mark.parametrize("width", [64.0, "64", None, True])
def test_non_int_widths_are_type_errors(width):
    with pytest.raises(TypeError, match="width must be an int"):
        AtomikContext(width)


@pytest.mark.parametrize("bad", NOT_INTS)
@pytest.mark.parametrize("method", ["load", "accum", "rollback", "swap"])
def test_non_integers_are_type_errors_naming_the_type(method, bad):
    if method == "swap" and bad is None:
        return                                  # swap(None) is the default
    ctx = AtomikContext(64, 7)
    with pytest.raises(TypeError, match="must be an int, got %s" % type(bad).__name__):
        getattr(ctx, method)(bad)
    assert ctx.read() == 7 and ctx.delta_count == 0


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("method", ["load", "accum", "rollback", "swap"])
def test_oversized_values_are_overflow_errors_naming_value_width_and_mask(width, method):
    ctx = AtomikContext(width, 7)
    v = 1 << width
    mask = (1 << width) - 1
    with pytest.raises(OverflowError) as e:
        getattr(ctx, method)(v)
    msg = str(e.value)
    assert hex(v) in msg and "width-%d" % width in msg
    assert "& 0x%0*x" % (width // 4, mask) in msg       # suggests x & mask
    assert ctx.read() == 7 and ctx.delta_count == 0


@pytest.mark.parametrize("width", WIDTHS)
def test_negative_values_are_overflow_errors_suggesting_the_mask(width):
    ctx = AtomikContext(width)
    with pytest.raises(OverflowError) as e:
        ctx.accum(~0x0F)                      # the reference masked ~x silently
    msg = str(e.value)
    assert "delta -16 is negative" in msg and "width-%d" % width in msg
    masked = ~0x0F & ((1 << width) - 1)
    assert "silently to 0x%0*x" % (width // 4, masked) in msg
    assert ctx.is_clean


@pytest.mark.parametrize("bad", [-1, 1 << 64, 1 << 200])
def test_initial_state_out_of_range_is_an_overflow_error(bad):
    with pytest.raises(OverflowError, match="initial_state"):
        AtomikContext(64, bad)
    with pytest.raises(OverflowError, match="initial_state"):
        AtomikTable(4).load(0, bad)


@pytest.mark.parametrize("deltas, kind", [
    (np.arange(4, dtype=np.int64), TypeError),
    (np.arange(4, dtype=np.uint32), TypeError),
    (np.arange(4, dtype=np.float64), TypeError),
    (np.arange(8, dtype=np.uint64)[::2], TypeError),            # not contiguous
    (np.arange(8, dtype=np.uint64).reshape(2, 4), TypeError),   # 2-D
    (array.array("q", [1, 2]), TypeError),
    (b"\x00" * 8, TypeError),
    (bytearray(8), TypeError),
    ("abc", TypeError),
    (5, TypeError),                                             # not iterable
    ([1, "x"], TypeError),
    ([1, -1], OverflowError),
    ([1, 1 << 64], OverflowError),
])
def test_accum_batch_rejects_bad_buffers_and_changes_nothing(deltas, kind):
    ctx = AtomikContext(64, 9)
    with pytest.raises(kind) as e:
        ctx.accum_batch(deltas)
    assert str(e.value)
    assert ctx.read() == 9 and ctx.delta_count == 0


def test_accum_batch_type_error_says_how_to_convert():
    with pytest.raises(TypeError, match=r"numpy.ascontiguousarray\(x, dtype=numpy.uint64\)"):
        AtomikContext().accum_batch(np.arange(3))


@pytest.mark.parametrize("addr", [-1, 4, 1 << 32, 1 << 70])
@pytest.mark.parametrize("method", ["load", "accum", "read", "swap", "context", "rollback"])
def test_table_addresses_out_of_range_are_index_errors(method, addr):
    t = AtomikTable(4)
    args = (addr,) if method in ("read", "swap", "context") else (addr, 1)
    with pytest.raises(IndexError, match=r"address %d out of range \[0, 3\]" % addr):
        getattr(t, method)(*args)
    assert t.snapshot() == {}


@pytest.mark.parametrize("addr", [1.0, "1", None])
def test_table_non_int_addresses_are_type_errors(addr):
    with pytest.raises(TypeError, match="addr must be an int"):
        AtomikTable(4).accum(addr, 1)


@pytest.mark.parametrize("n, kind", [(0, ValueError), (-5, ValueError), ((1 << 32) + 1, ValueError),
                                     (4.0, TypeError), ("4", TypeError)])
def test_bad_table_sizes_are_rejected(n, kind):
    with pytest.raises(kind, match="num_contexts"):
        AtomikTable(n)


def test_table_accum_batch_rejects_bad_address_buffers():
    t = AtomikTable(4)
    with pytest.raises(TypeError, match="uint32"):
        t.accum_batch(np.array([0, 1], dtype=np.int64), np.array([1, 1], dtype=np.uint64))
    with pytest.raises(IndexError):
        t.accum_batch([0, -1], [1, 1])
    assert t.snapshot() == {}


def test_uninitialised_table_is_a_type_error_not_a_crash():
    t = AtomikTable.__new__(AtomikTable)
    with pytest.raises(TypeError, match="__init__ was not called"):
        t.accum(0, 1)
    with pytest.raises(TypeError, match="__init__ was not called"):
        t.read(0)


def test_subclass_without_init_still_is_a_valid_context():
    class Sub(AtomikContext):
        def __init__(self):
            pass
    s = Sub()
    s.accum(1)
    assert s.read() == 1 and s.width == 64


# --- messages, streams, tables -------------------------------------------------

from atomik_core import DeltaMessage, DeltaStream, Fingerprint, SyncTable  # noqa: E402


@pytest.mark.parametrize("n", [0, 1, 15, 17, 32])
def test_wrong_message_lengths_are_value_errors_naming_the_length(n):
    with pytest.raises(ValueError, match="expected 16 bytes, got %d" % n):
        DeltaMessage.from_bytes(b"\0" * n)
    with pytest.raises(ValueError, match="got %d" % n):
        SyncTable(4).receive_bytes(bytearray(n))


@pytest.mark.parametrize("bad", ["0" * 16, 16, None, [0] * 16, 1.5])
def test_non_bytes_messages_are_type_errors(bad):
    with pytest.raises(TypeError, match="bytes-like"):
        DeltaMessage.from_bytes(bad)


@pytest.mark.parametrize("field, kwargs", [
    ("addr", dict(addr=1 << 32, delta=0)),
    ("addr", dict(addr=-1, delta=0)),
    ("delta", dict(addr=0, delta=1 << 64)),
    ("delta", dict(addr=0, delta=-5)),
    ("seq", dict(addr=0, delta=0, seq=1 << 32)),
    ("origin", dict(addr=0, delta=0, origin=-1)),
])
def test_message_fields_that_do_not_fit_the_wire_are_overflow_errors(field, kwargs):
    with pytest.raises(OverflowError, match="DeltaMessage %s .* does not fit its" % field):
        DeltaMessage(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(addr="1", delta=0), dict(addr=0, delta=1.0),
                                    dict(addr=0, delta=0, seq=None), dict(addr=0, delta=0, epoch="x")])
def test_message_fields_of_the_wrong_type_are_type_errors(kwargs):
    with pytest.raises(TypeError, match="must be an int"):
        DeltaMessage(**kwargs)


def test_message_dict_errors():
    with pytest.raises(ValueError, match="missing 'seq'"):
        DeltaMessage.from_dict({"addr": 1, "delta": 2})
    with pytest.raises(TypeError):
        DeltaMessage.from_dict([1, 2, 3])


def test_stream_bad_arguments():
    s = DeltaStream()
    with pytest.raises(TypeError, match="DeltaMessage"):
        s.apply(b"\0" * 16)
    with pytest.raises(ValueError):
        s.apply(DeltaMessage(0, 1, seq=0), origin=3)       # seq 0 in exactly-once mode
    with pytest.raises(IndexError):
        s.accum(1 << 32, 1)
    with pytest.raises(OverflowError):
        s.accum(0, -1)
    with pytest.raises(TypeError):
        s.read("0")
    with pytest.raises(TypeError, match="unexpected keyword argument 'adr'"):
        s.accum(adr=0, delta=1)
    with pytest.raises(TypeError, match="missing required argument 'delta'"):
        s.accum(0)
    with pytest.raises(ValueError):
        DeltaStream(window=100)                               # not a power of two
    with pytest.raises(ValueError, match="num_contexts must be >= 1"):
        DeltaStream(num_contexts=0, dense=True)
    with pytest.raises(OverflowError):
        DeltaStream(origin=-1)
    assert s.stats["local"] == 0 and s.read(0) == 0


def test_sync_table_bad_arguments():
    with pytest.raises(ValueError, match="num_contexts"):
        SyncTable(0)
    with pytest.raises(TypeError):
        SyncTable(4).receive("message")
    with pytest.raises(TypeError, match="diff"):
        SyncTable(4).diff({})
    with pytest.raises(TypeError):
        SyncTable.from_snapshot([1, 2])


def test_keywords_work_and_misuse_is_reported_like_python():
    ctx = AtomikContext()
    ctx.accum(delta=1)
    ctx.load(value=2)
    ctx.rollback(delta=2)
    assert ctx.read() == 0
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        ctx.accum(1, 2)
    with pytest.raises(TypeError, match="got multiple values for argument 'delta'"):
        ctx.accum(1, delta=2)
    t = AtomikTable(4)
    t.accum(addr=1, delta=3)
    t.load(addr=2, initial_state=4)
    assert t.read(addr=1) == 3 and t.read(2) == 4
    with pytest.raises(TypeError, match="missing required argument 'addr'"):
        t.read()


def test_fingerprint_update_range_bad_types():
    fp = Fingerprint()
    fp.load(b"\0" * 64)
    with pytest.raises(TypeError):
        fp.update_range(0, "old", b"new")
    with pytest.raises(TypeError):
        fp.update_range("0", b"\0", b"\1")


def test_objects_made_without_init_raise_instead_of_crashing():
    from atomik_core import PersistentSyncTable, UndoHistory
    s = SyncTable.__new__(SyncTable)
    with pytest.raises(TypeError, match="__init__ was not called"):
        s.put(0, 1)
    with pytest.raises(TypeError, match="__init__ was not called"):
        s.get(0)
    d = DeltaStream.__new__(DeltaStream)
    with pytest.raises(TypeError, match="__init__ was not called"):
        d.accum(0, 1)
    with pytest.raises(TypeError, match="__init__ was not called"):
        d.pending()
    assert "uninitialised" in repr(d)
    u = UndoHistory.__new__(UndoHistory)
    with pytest.raises(TypeError, match="__init__ was not called"):
        u.undo(AtomikContext())
    p = PersistentSyncTable.__new__(PersistentSyncTable)
    with pytest.raises(ValueError, match="closed"):
        p.get(0)
    f = Fingerprint.__new__(Fingerprint)
    assert f.load(b"abc") == Fingerprint().load(b"abc")
