# SPDX-License-Identifier: Apache-2.0
"""SyncTable over WebSocket (Debian's python3-websockets).

connect_websocket(table, url) connects a SyncTable (or PersistentSyncTable)
to a WebSocket server and returns a WebSocketHandle: from then on every
local put() is sent as one binary frame and every frame received is applied
with table.receive(). The connection runs on a background thread with its
own asyncio loop; close() (or leaving a `with` block) disconnects and stops
it. WebSocketRelay is a minimal server that forwards every frame to all
other connected clients (a hub for tests, demos and small deployments).

    relay = WebSocketRelay().start()              # ws://127.0.0.1:PORT
    with connect_websocket(table_a, relay.url), \\
         connect_websocket(table_b, relay.url):
        table_a.put(0, 0xDEADBEEF)                # reaches table_b

Frames. The reference sends the bare 16-byte DeltaMessage, which carries no
origin, so a receiver cannot tell two peers' seq 1 apart through a hub.
Here each frame is the sender's origin (8 bytes, big-endian) followed by
the 16-byte message, so delivery through a relay stays exactly-once per
(origin, seq). Received 16-byte frames (reference peers) are applied as
coming from `peer_origin`; legacy_frames=True sends 16-byte frames for
reference receivers (correct with one peer only). Frames of other lengths,
text frames and messages the table refuses are never applied silently: they
are counted (handle.dropped, handle.errors) and the last error is kept.

Differences from the reference's SyncTable.connect_websocket: it returns
once connected (ConnectionError if the server cannot be reached within
open_timeout) instead of connecting in the background while puts are lost,
and it takes over the table's on_delta slot until close() (the compiled
SyncTable does not expose the previous callback to chain it).
"""

import asyncio
import struct
import threading

from atomik_core import DeltaMessage

__all__ = ["WebSocketHandle", "WebSocketRelay", "connect_websocket"]

_ORIGIN = struct.Struct(">Q")


def _websockets():
    try:
        import websockets
    except ImportError:
        raise ImportError(
            "WebSocket support needs the 'websockets' package: "
            "apt-get install python3-websockets (or pip install websockets)"
        ) from None
    return websockets


class WebSocketHandle:
    """The connection made by connect_websocket(); close() disconnects.

    Counters (read at any time): sent, received (frames applied), dropped
    (frames not applied: bad length, text, refused by the table), errors
    (send failures and refused frames); last_error is the last exception.
    """

    def __init__(self, url):
        self.url = url
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.errors = 0
        self.last_error = None
        self._ws = None
        self._loop = None
        self._thread = None
        self._queue = None
        self._closed = False
        self._ready = threading.Event()
        self._table = None

    @property
    def connected(self):
        """True while the connection is open."""
        return (not self._closed and self._ws is not None
                and self._ws.open)

    def close(self, timeout=10.0):
        """Disconnects, releases the table's on_delta slot and stops the
        background thread (waiting at most `timeout` seconds). Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._table is not None:
            self._table.on_delta(None)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._queue.put_nowait, None)
            except RuntimeError:
                pass            # the loop already finished
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return "WebSocketHandle(url=%r, %s, sent=%d, received=%d, dropped=%d)" % (
            self.url, "connected" if self.connected else "closed",
            self.sent, self.received, self.dropped)


def connect_websocket(table, url, *, peer_origin=None, legacy_frames=False,
                      open_timeout=10.0):
    """connect_websocket(table, url, *, peer_origin=None,
    legacy_frames=False, open_timeout=10.0) -> WebSocketHandle

    Connects `table` to the WebSocket server at url (ws://...) and returns
    once connected; ConnectionError if that fails within open_timeout
    seconds; ImportError if python3-websockets is missing.
    """
    ws_mod = _websockets()
    handle = WebSocketHandle(url)
    handle._table = table
    origin = table.origin

    def on_delta(msg):
        data = msg.to_bytes()
        if not legacy_frames:
            o = msg.origin if msg.origin is not None else origin
            data = _ORIGIN.pack(o) + data
        try:
            handle._loop.call_soon_threadsafe(handle._queue.put_nowait, data)
        except RuntimeError as e:     # the connection's loop has ended
            handle.errors += 1
            handle.last_error = e

    def apply(data):
        if isinstance(data, str):
            raise ValueError("text frame (expected binary delta messages)")
        if len(data) == 24:
            o = _ORIGIN.unpack_from(data)[0]
            return table.receive(DeltaMessage.from_bytes(data[8:]), o)
        if len(data) == 16:
            return table.receive(DeltaMessage.from_bytes(data), peer_origin)
        raise ValueError("frame of %d bytes (expected 16 or 24)" % len(data))

    async def sender(ws):
        while True:
            data = await handle._queue.get()
            if data is None:
                await ws.close()
                return
            try:
                await ws.send(data)
                handle.sent += 1
            except Exception as e:  # noqa: BLE001 - counted and kept
                handle.errors += 1
                handle.last_error = e
                return

    async def main():
        handle._queue = asyncio.Queue()
        try:
            ws = await ws_mod.connect(url, open_timeout=open_timeout)
        except Exception as e:  # noqa: BLE001 - reported by connect_websocket
            handle.last_error = e
            handle._ready.set()
            return
        handle._ws = ws
        table.on_delta(on_delta)
        handle._ready.set()
        send_task = asyncio.ensure_future(sender(ws))
        try:
            async for data in ws:
                try:
                    if apply(data) == "beyond-window":
                        raise RuntimeError("message beyond the receive window")
                    handle.received += 1
                except Exception as e:  # noqa: BLE001 - counted and kept
                    handle.dropped += 1
                    handle.errors += 1
                    handle.last_error = e
        except ws_mod.ConnectionClosed:
            pass
        finally:
            if not handle._closed:
                table.on_delta(None)  # the server went away
            handle._queue.put_nowait(None)
            await send_task

    def run():
        loop = asyncio.new_event_loop()
        handle._loop = loop
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()
            handle._ready.set()

    handle._thread = threading.Thread(target=run, daemon=True,
                                      name="atomik-websocket")
    handle._thread.start()
    handle._ready.wait(open_timeout + 5)
    if handle._ws is None:
        handle._closed = True
        handle._thread.join(open_timeout + 5)
        raise ConnectionError("connect_websocket: cannot connect to %s: %s"
                              % (url, handle.last_error))
    return handle


class WebSocketRelay:
    """WebSocketRelay(host="127.0.0.1", port=0)

    A broadcast hub: every binary frame a client sends is forwarded to all
    other connected clients, unchanged. start() binds (port 0 picks a free
    one; see url) and serves on a background thread; close() stops it.
    """

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self.clients = set()
        self.forwarded = 0
        self._loop = None
        self._thread = None
        self._stop = None
        self._ready = threading.Event()
        self._error = None

    @property
    def url(self):
        return "ws://%s:%d" % (self.host, self.port)

    async def _handler(self, ws, path=None):
        self.clients.add(ws)
        try:
            async for data in ws:
                for other in list(self.clients):
                    if other is not ws:
                        try:
                            await other.send(data)
                            self.forwarded += 1
                        except Exception:  # noqa: BLE001 - peer gone
                            self.clients.discard(other)
        except Exception:  # noqa: BLE001 - this client went away
            pass
        finally:
            self.clients.discard(ws)

    def start(self):
        ws_mod = _websockets()

        async def main():
            self._stop = asyncio.Event()
            try:
                server = await ws_mod.serve(self._handler, self.host,
                                            self.port)
            except Exception as e:  # noqa: BLE001 - raised by start()
                self._error = e
                self._ready.set()
                return
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()
            server.close()
            await server.wait_closed()

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(main())
            finally:
                loop.close()
                self._ready.set()

        self._thread = threading.Thread(target=run, daemon=True,
                                        name="atomik-websocket-relay")
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise OSError("WebSocketRelay: cannot listen on %s:%d: %s"
                          % (self.host, self.port, self._error))
        return self

    def close(self, timeout=10.0):
        if self._loop is not None and self._stop is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self):
        return self if self._thread else self.start()

    def __exit__(self, *exc):
        self.close()
        return False
