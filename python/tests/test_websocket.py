# SPDX-License-Identifier: Apache-2.0
"""atomik_core.websocket: SyncTables replicating through a WebSocket relay
on 127.0.0.1 (python3-websockets). Waits poll a condition with a bounded
deadline."""
import asyncio
import socket
import struct
import time

import pytest

from atomik_core import DeltaMessage, SyncTable
from atomik_core.websocket import (WebSocketHandle, WebSocketRelay,
                                   connect_websocket)

websockets = pytest.importorskip("websockets")


def wait_for(cond, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for " + what)
        time.sleep(0.005)


@pytest.fixture
def relay():
    r = WebSocketRelay().start()
    yield r
    r.close()


def test_three_tables_converge_through_a_relay(relay, rng):
    tables = [SyncTable(32, origin=o) for o in (1, 2, 3)]
    handles = [connect_websocket(t, relay.url) for t in tables]
    try:
        wait_for(lambda: len(relay.clients) == 3, "3 clients")
        assert all(isinstance(h, WebSocketHandle) and h.connected
                   for h in handles)
        total = 0
        for _ in range(60):
            m = rng.choice(tables).put(rng.randrange(32), rng.getrandbits(64))
            total += m.delta != 0
        wait_for(lambda: sum(h.sent for h in handles) == total
                 and all(h.received == total - h.sent for h in handles),
                 "every frame delivered")
        # Every peer's seq 1, 2, ... applied exactly once: equal tables.
        assert tables[0].snapshot() == tables[1].snapshot() == \
            tables[2].snapshot()
        assert all(h.dropped == 0 and h.errors == 0 for h in handles)
    finally:
        for h in handles:
            h.close()
    assert not any(h.connected for h in handles)
    sent = handles[0].sent
    tables[0].put(0, 12345)                    # after close: not sent
    assert handles[0].sent == sent


def test_legacy_16_byte_frames_and_bad_frames(relay):
    table = SyncTable(8, origin=1)

    async def reference_peer():
        async with websockets.connect(relay.url) as ws:
            wait_for(lambda: len(relay.clients) == 2, "2 clients", 10)
            await ws.send(DeltaMessage(addr=2, delta=0xAB, seq=1).to_bytes())
            await ws.send(b"\x00" * 5)                    # bad length
            await ws.send("text")                         # text frame
            # a frame the table refuses: address out of range
            await ws.send(DeltaMessage(addr=100, delta=1, seq=2).to_bytes())

    with connect_websocket(table, relay.url, peer_origin=77) as h:
        asyncio.run(reference_peer())
        wait_for(lambda: h.received + h.dropped == 4, "4 frames")
        assert table.get(2) == 0xAB and h.received == 1
        assert h.dropped == 3 and h.errors == 3
        assert isinstance(h.last_error, Exception)


def test_legacy_frames_out():
    got = []

    async def run():
        async def handler(ws, path=None):
            got.append(await ws.recv())

        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            t = SyncTable(8, origin=9)
            loop = asyncio.get_running_loop()
            h = await loop.run_in_executor(
                None, lambda: connect_websocket(
                    t, "ws://127.0.0.1:%d" % port, legacy_frames=True))
            t.put(1, 0x55)
            deadline = time.monotonic() + 20
            while not got:                     # bounded poll for delivery
                assert time.monotonic() < deadline, "frame never arrived"
                await asyncio.sleep(0.005)
            await loop.run_in_executor(None, h.close)

    asyncio.run(run())
    assert len(got) == 1 and len(got[0]) == 16
    m = DeltaMessage.from_bytes(got[0])
    assert (m.addr, m.delta, m.seq) == (1, 0x55, 1)


def test_origin_tagged_frame_layout(relay):
    t = SyncTable(8, origin=0x0102030405060708)
    frames = []

    async def listener():
        async with websockets.connect(relay.url) as ws:
            h = await asyncio.get_running_loop().run_in_executor(
                None, lambda: connect_websocket(t, relay.url))
            wait_for(lambda: len(relay.clients) == 2, "2 clients", 10)
            t.put(3, 0xFF)
            frames.append(await asyncio.wait_for(ws.recv(), 20))
            await asyncio.get_running_loop().run_in_executor(None, h.close)

    asyncio.run(listener())
    assert len(frames[0]) == 24
    assert struct.unpack(">Q", frames[0][:8])[0] == 0x0102030405060708
    m = DeltaMessage.from_bytes(frames[0][8:])
    assert (m.addr, m.delta, m.seq) == (3, 0xFF, 1)


def test_connect_failure_raises():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = SyncTable(4)
    with pytest.raises(ConnectionError):
        connect_websocket(t, "ws://127.0.0.1:%d" % port, open_timeout=2)


def test_synctable_connect_websocket_method(relay):
    a, b = SyncTable(8, origin=1), SyncTable(8, origin=2)
    with a.connect_websocket(relay.url) as ha, \
            b.connect_websocket(relay.url) as hb:
        wait_for(lambda: len(relay.clients) == 2, "2 clients")
        a.put(5, 0xCAFE)
        wait_for(lambda: b.get(5) == 0xCAFE, "delivery")
        assert ha.sent == 1 and hb.received == 1
