# SPDX-License-Identifier: Apache-2.0
"""DeltaMessage, DeltaStream and SyncTable: the reference's wire format, and
exactly-once convergence where the reference diverges."""
import pickle
import struct

import numpy as np
import pytest

from atomik_core import DeltaMessage, DeltaStream, StreamGapError, SyncTable

# --- DeltaMessage -------------------------------------------------------------


def test_message_known_answer_vector_from_the_reference():
    m = DeltaMessage(addr=1, delta=0x0123456789ABCDEF, seq=7)
    assert m.to_bytes() == bytes.fromhex("00000001" "0123456789abcdef" "00000007")
    assert DeltaMessage.from_bytes(m.to_bytes()) == m


def test_message_bytes_match_struct_pack_for_random_messages(rng):
    for _ in range(500):
        addr, delta, seq = rng.getrandbits(32), rng.getrandbits(64), rng.getrandbits(32)
        wire = struct.pack(">IQI", addr, delta, seq)      # the reference's encoding
        m = DeltaMessage(addr, delta, seq=seq)
        assert m.to_bytes() == wire
        back = DeltaMessage.from_bytes(wire)
        assert (back.addr, back.delta, back.seq, back.epoch, back.origin) == (addr, delta, seq, 0, None)


def test_message_from_bytes_takes_any_bytes_like_object():
    wire = DeltaMessage(9, 10, seq=11).to_bytes()
    for data in (wire, bytearray(wire), memoryview(wire), np.frombuffer(wire, dtype=np.uint8),
                 memoryview(b"xx" + wire)[2:]):
        assert DeltaMessage.from_bytes(data) == DeltaMessage(9, 10, seq=11)
    assert DeltaMessage.from_bytes(data=wire).seq == 11


def test_message_from_bytes_on_a_subclass_returns_the_subclass():
    class Mine(DeltaMessage):
        pass
    m = Mine.from_bytes(DeltaMessage(1, 2, seq=3).to_bytes())
    assert type(m) is Mine and m.delta == 2


def test_message_is_frozen_hashable_and_picklable():
    m = DeltaMessage(1, 2, 3, 4, origin=5)
    with pytest.raises(AttributeError):
        m.delta = 7
    assert {m: 1}[DeltaMessage(1, 2, 3, 4, origin=5)] == 1
    assert pickle.loads(pickle.dumps(m)) == m
    assert m != DeltaMessage(1, 2, 3, 4) and m != "x"


def test_message_dict_round_trip_uses_the_reference_keys():
    m = DeltaMessage(1, 0xFF, seq=9)
    assert m.to_dict() == {"addr": 1, "delta": 0xFF, "seq": 9}
    assert DeltaMessage.from_dict(m.to_dict()) == m


def test_message_repr_is_hex():
    assert repr(DeltaMessage(1, 0xFF, seq=2)) == \
        "DeltaMessage(addr=1, delta=0x00000000000000ff, epoch=0, seq=2)"
    assert repr(DeltaMessage(1, 0xFF, origin=0xAB)).endswith("origin=0xab)")


# --- DeltaStream -------------------------------------------------------------


def test_stream_reference_api_and_pending_queue():
    s = DeltaStream(width=64)
    s.load(addr=0, initial_state=0xCAFE)
    m1 = s.accum(addr=0, delta=0x00FF)
    m2 = s.accum(5, 0x1)
    assert (m1.seq, m2.seq, m1.origin) == (1, 2, s.origin) and m1.epoch == 1
    assert s.read(0) == 0xCA01 and s.read(addr=5) == 1 and s.read(77) == 0
    assert s.pending() == [m1, m2] and s.pending() == []
    assert dict((a, c.read()) for a, c in s.contexts()) == {0: 0xCA01, 5: 1}
    assert s.stats["local"] == 2 and s.epoch == 1


def test_stream_contexts_are_copies():
    s = DeltaStream()
    s.accum(1, 1)
    for _, c in s.contexts():
        c.accum(0xFF)
    assert s.read(1) == 1


def test_apply_is_exactly_once_under_any_order_and_duplication(rng):
    senders = [DeltaStream(origin=o) for o in (11, 22, 33)]
    msgs = []
    expected = {}
    for _ in range(600):
        s = rng.choice(senders)
        addr, delta = rng.randrange(16), rng.getrandbits(64)
        msgs.append(s.accum(addr, delta))
        expected[addr] = expected.get(addr, 0) ^ delta
    delivery = msgs + [rng.choice(msgs) for _ in range(300)]   # duplicates
    rng.shuffle(delivery)                                        # reordering
    r = DeltaStream(origin=99, window=1024)
    outcomes = [r.apply(m) for m in delivery]
    assert outcomes.count("applied") == 600 and outcomes.count("duplicate") == 300
    assert {a: r.read(a) for a in range(16) if r.read(a)} == \
        {a: v for a, v in expected.items() if v}
    assert r.version_vector() == {11: senders[0].stats["local"], 22: senders[1].stats["local"],
                                  33: senders[2].stats["local"]}
    assert r.stats["duplicates"] == 300


def test_raw_apply_is_the_reference_behaviour_and_diverges_on_duplicates():
    a = DeltaStream()
    m = a.accum(0, 0xFF)
    raw = DeltaStream(raw_apply=True)
    exact = DeltaStream()
    for s in (raw, exact):
        s.apply(m)
        s.apply(m)                     # a retransmission
    assert raw.raw_apply and not exact.raw_apply
    assert exact.read(0) == 0xFF == a.read(0)
    assert raw.read(0) == 0            # the reference: the duplicate undid the delta


def test_messages_without_origin_count_as_one_legacy_peer_unless_told():
    r = DeltaStream()
    wire = DeltaMessage(0, 1, seq=1).to_bytes()
    assert r.apply(DeltaMessage.from_bytes(wire)) == "applied"
    assert r.apply(DeltaMessage.from_bytes(wire)) == "duplicate"
    assert r.apply(DeltaMessage.from_bytes(wire), origin=7) == "applied"
    assert r.version_vector() == {0: 1, 7: 1}


def test_late_joiner_raises_stream_gap_error_and_applies_nothing():
    r = DeltaStream(window=64)
    with pytest.raises(StreamGapError, match="seq 1000 from origin 0x5") as e:
        r.apply(DeltaMessage(0, 1, seq=1000), origin=5)
    assert (e.value.origin, e.value.seq, e.value.addr) == (5, 1000, 0)
    assert r.read(0) == 0 and r.stats["beyond_window"] == 1
    t = SyncTable(4)
    with pytest.raises(StreamGapError):
        t.receive_bytes(DeltaMessage(1, 1, seq=5000).to_bytes())
    assert t.get(1) == 0


def test_missing_returns_what_a_peer_lacks_and_digests_converge():
    a, b = DeltaStream(origin=1), DeltaStream(origin=2)
    for i in range(10):
        a.accum(i, i + 1)
    for m in a.pending()[:4]:
        b.apply(m)
    needs, reason, msgs = a.missing(b.version_vector())
    assert not needs and reason == "" and [m.seq for m in msgs] == list(range(5, 11))
    for m in msgs:
        b.apply(m)
    assert a.digest() == b.digest() and len(a.digest()) == 16
    assert a.digest() != DeltaStream().digest()


def test_stream_narrow_width_checks_values_and_128_is_rejected():
    s = DeltaStream(width=16)
    with pytest.raises(OverflowError, match="width-16"):
        s.accum(0, 1 << 16)
    with pytest.raises(OverflowError, match="msg.delta"):
        s.apply(DeltaMessage(0, 1 << 20, seq=1), origin=3)
    assert s.read(0) == 0 and s.stats == {"local": 0, "applied": 0, "duplicates": 0,
                                          "beyond_window": 0}
    with pytest.raises(ValueError, match="64-bit delta"):
        DeltaStream(width=128)


def test_dense_stream_rejects_addresses_out_of_range():
    s = DeltaStream(num_contexts=8, dense=True)
    s.accum(7, 1)
    with pytest.raises(IndexError):
        s.accum(8, 1)
    assert s.stats["local"] == 1


def test_stream_repr_names_origin_and_digest():
    s = DeltaStream(origin=0xAB)
    assert repr(s).startswith("DeltaStream(width=64, origin=0xab, digest=")


# --- SyncTable -----------------------------------------------------------------


def test_sync_table_reference_usage_converges():
    a, b = SyncTable(num_contexts=256), SyncTable(num_contexts=256)
    wire = []
    a.on_delta(lambda msg: wire.append(msg.to_bytes()))
    m = a.put(addr=0, value=0xDEADBEEF)
    assert m.delta == 0xDEADBEEF and len(wire) == 1 and len(wire[0]) == 16
    b.receive(DeltaMessage.from_bytes(wire[0]))
    assert a.get(0) == b.get(0) == 0xDEADBEEF and a.diff(b) == []


def test_put_of_an_unchanged_value_fires_nothing():
    t = SyncTable(8)
    seen = []
    t.on_delta(seen.append)
    t.put(1, 5)
    m = t.put(1, 5)
    assert m.delta == 0 and len(seen) == 1


def test_sync_tables_converge_under_duplication_and_reordering(rng):
    tables = [SyncTable(32, origin=i + 1) for i in range(3)]
    outbox = []
    for t in tables:
        t.on_delta(outbox.append)
    for _ in range(300):
        rng.choice(tables).put(rng.randrange(32), rng.getrandbits(64))
    traffic = outbox + [rng.choice(outbox) for _ in range(150)]
    for t in tables:
        rng.shuffle(traffic)
        for m in traffic:
            if m.origin != t.origin:
                t.receive(m)
    assert tables[0].diff(tables[1]) == [] and tables[1].diff(tables[2]) == []
    assert tables[0].digest() == tables[2].digest() == tables[1].stream.digest()
    assert tables[0].version_vector() == tables[1].version_vector()


def test_sync_table_snapshot_diff_and_container_protocol():
    t = SyncTable(4)
    t.put(2, 9)
    assert t.snapshot() == {0: 0, 1: 0, 2: 9, 3: 0}
    u = SyncTable.from_snapshot({2: 9, 5: 1})
    assert u.num_contexts == 6 and u.get(5) == 1
    assert t.diff(u) == []
    u.put(0, 3)
    assert t.diff(u) == [0]
    assert len(t) == 4 and list(t) == [0, 1, 2, 3] and 3 in t and 4 not in t and "x" not in t
    assert repr(t) == "SyncTable(num_contexts=4, width=64, active=1)"
    assert SyncTable.from_snapshot({}).num_contexts == 256


def test_sync_table_receive_bytes_and_bad_callbacks():
    a, b = SyncTable(4), SyncTable(4)
    assert b.receive_bytes(a.put(1, 7).to_bytes()) == "applied"
    assert b.get(1) == 7
    with pytest.raises(TypeError, match="callable"):
        a.on_delta(5)


def test_failed_put_changes_and_sends_nothing():
    t = SyncTable(4, width=8)
    seen = []
    t.on_delta(seen.append)
    with pytest.raises(OverflowError):
        t.put(0, 0x100)
    with pytest.raises(IndexError):
        t.put(4, 1)
    assert t.snapshot() == {0: 0, 1: 0, 2: 0, 3: 0} and seen == []


# --- transports ----------------------------------------------------------------

from atomik_core import CallbackTransport, MemoryTransport  # noqa: E402


def test_memory_transport_relays_puts_to_every_other_table():
    hub = MemoryTransport()
    a, b, c = SyncTable(8), SyncTable(8), SyncTable(8)
    for t in (a, b, c):
        hub.connect(t)
    assert hub.peer_count == 3
    a.put(0, 0xDEADBEEF)
    b.put(1, 7)
    assert [t.get(0) for t in (a, b, c)] == [0xDEADBEEF] * 3
    assert a.diff(b) == [] and b.diff(c) == []
    hub.disconnect(c)
    a.put(2, 1)
    assert b.get(2) == 1 and c.get(2) == 0 and hub.peer_count == 2
    with pytest.raises(ValueError):
        hub.disconnect(c)
    with pytest.raises(TypeError):
        hub.connect("table")


def test_callback_transport_sends_and_receives_16_byte_frames():
    a, b = SyncTable(8), SyncTable(8)
    wire = []
    ta = CallbackTransport(a, send_fn=wire.append)
    tb = CallbackTransport(b, peer_origin=a.origin)
    a.put(3, 0xAB)
    assert len(wire) == 1 and len(wire[0]) == 16
    assert tb.receive_bytes(wire[0]) == "applied"
    assert tb.receive_bytes(wire[0]) == "duplicate"          # a retransmission
    assert b.get(3) == 0xAB
    with pytest.raises(ValueError, match="expected 16 bytes"):
        tb.receive_bytes(wire[0][:8])
    with pytest.raises(TypeError):
        CallbackTransport(a, send_fn=5)
    assert ta is not None


def test_pending_queue_is_bounded_and_a_full_queue_changes_nothing():
    s = DeltaStream(max_pending=2)
    s.accum(0, 1)
    s.accum(0, 2)
    with pytest.raises(RuntimeError, match="resource exhausted"):
        s.accum(0, 4)
    assert s.read(0) == 3 and s.stats["local"] == 2
    assert len(s.pending()) == 2
    s.accum(0, 4)
    assert s.read(0) == 7
    q = DeltaStream(max_pending=0)
    assert q.accum(1, 1).seq == 1 and q.pending() == []
