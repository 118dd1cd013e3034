# SPDX-License-Identifier: Apache-2.0
"""atomik_core.async_transport: AsyncCallbackTransport and AsyncSyncTable
(asyncio.run, no pytest-asyncio)."""
import asyncio

import pytest

from atomik_core import DeltaMessage, SyncTable
from atomik_core.async_transport import AsyncCallbackTransport, AsyncSyncTable


def test_put_queues_and_send_pending_sends_in_order():
    sent = []

    async def send(data):
        sent.append(data)

    async def run():
        t = SyncTable(16)
        tr = AsyncCallbackTransport(t, send_fn=send)
        t.put(0, 0x1111)
        t.put(1, 0x2222)
        t.put(0, 0x1111)                      # unchanged: no message
        assert tr.pending_count == 2
        assert await tr.send_pending() == 2
        assert tr.pending_count == 0 and await tr.send_pending() == 0
        msgs = [DeltaMessage.from_bytes(b) for b in sent]
        assert [(m.addr, m.delta, m.seq) for m in msgs] == \
            [(0, 0x1111, 1), (1, 0x2222, 2)]

    asyncio.run(run())


def test_without_send_fn_the_queue_is_dropped_and_counted():
    async def run():
        t = SyncTable(16)
        tr = AsyncCallbackTransport(t)
        t.put(0, 0xAAAA)
        assert await tr.send_pending() == 1 and tr.pending_count == 0

    asyncio.run(run())


def test_failed_send_keeps_the_rest_queued():
    sent, fail = [], [True]

    async def send(data):
        if fail[0]:
            fail[0] = False
            raise ConnectionError("down")
        sent.append(data)

    async def run():
        t = SyncTable(8)
        tr = AsyncCallbackTransport(t, send_fn=send)
        t.put(1, 1)
        t.put(2, 2)
        with pytest.raises(ConnectionError):
            await tr.send_pending()
        assert tr.pending_count == 2          # nothing lost
        assert await tr.send_pending() == 2
        assert [DeltaMessage.from_bytes(b).addr for b in sent] == [1, 2]

    asyncio.run(run())


def test_concurrent_tasks_never_interleave_sends():
    wire = []

    async def slow_send(data):
        await asyncio.sleep(0)                 # yield to the other tasks
        wire.append(DeltaMessage.from_bytes(data).seq)

    async def run():
        a = AsyncSyncTable(64, send_fn=slow_send)
        await asyncio.gather(*(a.put(i, i + 1) for i in range(40)))
        assert wire == list(range(1, 41))      # sequence order on the wire

    asyncio.run(run())


def test_receive_bytes_applies_synchronously():
    t = SyncTable(16)
    tr = AsyncCallbackTransport(t)
    tr.receive_bytes(DeltaMessage(addr=0, delta=0xFF00, seq=1).to_bytes())
    tr.receive_bytes(DeltaMessage(addr=0, delta=0x00FF, seq=2).to_bytes())
    assert t.get(0) == 0xFFFF
    with pytest.raises(ValueError):
        tr.receive_bytes(b"\x00" * 15)


def test_two_async_tables_converge(rng):
    wire_a, wire_b = [], []

    async def to_b(data):
        wire_a.append(data)

    async def to_a(data):
        wire_b.append(data)

    async def run():
        a = AsyncSyncTable(16, send_fn=to_b, origin=1, peer_origin=2)
        b = AsyncSyncTable(16, send_fn=to_a, origin=2, peer_origin=1)
        for _ in range(100):
            src = a if rng.random() < 0.5 else b
            await src.put(rng.randrange(16), rng.getrandbits(64))
        for d in wire_a:
            b.receive_bytes(d)
        for d in wire_b:
            a.receive_bytes(d)
        assert a.diff(b) == [] and a.snapshot() == b.snapshot()
        assert a.num_contexts == 16 and a.width == 64

    asyncio.run(run())


def test_async_table_noop_put_and_sync_api():
    sent = []

    async def send(data):
        sent.append(data)

    async def run():
        t = AsyncSyncTable(8, send_fn=send)
        m = await t.put(3, 0xAB)
        assert m.delta == 0xAB and t.get(3) == 0xAB
        m = await t.put(3, 0xAB)
        assert m.delta == 0 and len(sent) == 1
        t.receive(DeltaMessage(addr=4, delta=1, seq=1))
        assert t.get(4) == 1 and len(sent) == 1   # receiving never sends
        assert t.diff(SyncTable(8)) == [3, 4]
        assert "AsyncSyncTable" in repr(t)

    asyncio.run(run())


def test_bad_send_fn():
    with pytest.raises(TypeError):
        AsyncCallbackTransport(SyncTable(4), send_fn=42)
