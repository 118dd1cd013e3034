# SPDX-License-Identifier: Apache-2.0
"""Transports for asyncio: AsyncCallbackTransport and AsyncSyncTable.

Applying a delta is instant (no I/O), so put(), get() and receive() stay
synchronous; only sending to peers awaits. SyncTable.on_delta fires
synchronously inside put(), so AsyncCallbackTransport queues each message's
16 wire bytes and send_pending() awaits the send function for them, in put
order. Sends of one transport never interleave: concurrent send_pending()
calls (several tasks putting at once) are serialised, so a peer receives
each origin's messages in sequence order.

    async def send(data: bytes):
        await websocket.send(data)

    table = AsyncSyncTable(256, send_fn=send)
    await table.put(0, 0xDEADBEEF)       # applied here, then sent
    table.receive_bytes(incoming)        # a peer's 16-byte message

Messages received as bytes carry no origin: they are attributed to
`peer_origin` (default: one legacy peer), as with CallbackTransport.
"""

import asyncio

from atomik_core import DeltaMessage, SyncTable

__all__ = ["AsyncCallbackTransport", "AsyncSyncTable"]


class AsyncCallbackTransport:
    """AsyncCallbackTransport(table, send_fn=None, peer_origin=None)

    Connects `table` (a SyncTable or PersistentSyncTable) to an async byte
    transport: every local put() queues the message's wire bytes, and
    ``await send_pending()`` passes them to ``await send_fn(data)`` in
    order. Without send_fn, send_pending() drops the queue and returns its
    length (nothing to send to). If send_fn raises, the message that failed
    and those after it stay queued (nothing is lost) and the error
    propagates; the next send_pending() retries from there.
    """

    __slots__ = ("_table", "_send_fn", "_queue", "_peer_origin", "_lock")

    def __init__(self, table, send_fn=None, peer_origin=None):
        if send_fn is not None and not callable(send_fn):
            raise TypeError("send_fn must be an async callable, got %s"
                            % type(send_fn).__name__)
        self._table = table
        self._send_fn = send_fn
        self._peer_origin = peer_origin
        self._queue = []
        self._lock = None      # an asyncio.Lock, made inside the running loop
        table.on_delta(self._on_local_delta)

    def _on_local_delta(self, msg):
        self._queue.append(msg.to_bytes())

    async def send_pending(self):
        """Sends every queued message; returns how many were sent (or, with
        no send_fn, dropped)."""
        if self._send_fn is None:
            n = len(self._queue)
            self._queue.clear()
            return n
        if self._lock is None:
            self._lock = asyncio.Lock()
        sent = 0
        async with self._lock:
            while self._queue:
                await self._send_fn(self._queue[0])
                self._queue.pop(0)
                sent += 1
        return sent

    def receive_bytes(self, data):
        """Applies a peer's 16-byte wire message (synchronously); returns
        the table's receive() result. ValueError for another length."""
        return self._table.receive(DeltaMessage.from_bytes(data),
                                   self._peer_origin)

    @property
    def pending_count(self):
        """Messages queued and not yet sent."""
        return len(self._queue)

    @property
    def table(self):
        """The SyncTable or PersistentSyncTable this transport serves."""
        return self._table


class AsyncSyncTable:
    """AsyncSyncTable(num_contexts=256, width=64, send_fn=None, *, origin=0,
    peer_origin=None, raw_apply=False)

    A SyncTable whose ``await put(addr, value)`` writes locally and then
    awaits send_fn with the delta's 16 wire bytes. get(), receive() and
    receive_bytes() are synchronous and do not send (no echo loops).
    origin and raw_apply are SyncTable's (raw_apply=True: the reference's
    apply-every-message behaviour, unsequenced seq 0 messages included).
    """

    __slots__ = ("_table", "_transport")

    def __init__(self, num_contexts=256, width=64, send_fn=None, *, origin=0,
                 peer_origin=None, raw_apply=False):
        self._table = SyncTable(num_contexts=num_contexts, width=width,
                                origin=origin, raw_apply=raw_apply)
        self._transport = AsyncCallbackTransport(self._table, send_fn=send_fn,
                                                 peer_origin=peer_origin)

    async def put(self, addr, value):
        """Writes value at addr, sends the delta; returns the DeltaMessage
        (delta 0 and nothing sent when the value is unchanged)."""
        msg = self._table.put(addr, value)
        await self._transport.send_pending()
        return msg

    def get(self, addr):
        """The state at addr (synchronous, nothing sent)."""
        return self._table.get(addr)

    def receive(self, msg, origin=None):
        """Applies a peer's DeltaMessage (exactly once, see SyncTable)."""
        return self._table.receive(
            msg, self._transport._peer_origin if origin is None else origin)

    def receive_bytes(self, data):
        """Applies a peer's 16-byte wire message, attributed to peer_origin
        (ValueError for another length); not sent on."""
        return self._transport.receive_bytes(data)

    @property
    def num_contexts(self):
        """Addresses in the table."""
        return self._table.num_contexts

    @property
    def width(self):
        """Bits per value."""
        return self._table.width

    @property
    def table(self):
        """The underlying SyncTable."""
        return self._table

    @property
    def pending_count(self):
        """Messages queued and not yet sent (left by a failed send)."""
        return self._transport.pending_count

    def snapshot(self):
        """{addr: state} for every address (SyncTable.snapshot)."""
        return self._table.snapshot()

    def diff(self, other):
        """Sorted addresses where this table and `other` (an AsyncSyncTable
        or SyncTable) differ."""
        if isinstance(other, AsyncSyncTable):
            other = other._table
        return self._table.diff(other)

    def __repr__(self):
        return "AsyncSyncTable(%r)" % (self._table,)
