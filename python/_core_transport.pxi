# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): MemoryTransport and CallbackTransport.

# --------------------------------------------------------------------------
# Transports (the reference's in-process relay and callback adapter)

class MemoryTransport:
    """MemoryTransport()

    An in-process hub: every connected table's put() is relayed to all the
    other connected tables' receive() (for tests and single-process setups).
    Messages keep their origin, so delivery is exactly-once.
    """

    def __init__(self):
        self._tables = []

    def connect(self, table):
        """connect(table) -> None: relays table's puts to the others (sets
        its on_delta callback)."""
        if not isinstance(table, (SyncTable, PersistentSyncTable)):
            raise TypeError("connect: expected a SyncTable, got %s"
                            % type(table).__name__)
        self._tables.append(table)
        table.on_delta(lambda msg, src=table: self._relay(src, msg))

    def disconnect(self, table):
        """disconnect(table) -> None: stops relaying to and from table
        (ValueError if it is not connected)."""
        self._tables.remove(table)
        table.on_delta(None)

    def _relay(self, source, msg):
        for t in self._tables:
            if t is not source:
                t.receive(msg)

    @property
    def peer_count(self):
        """Number of connected tables."""
        return len(self._tables)


class CallbackTransport:
    """CallbackTransport(table, send_fn=None, peer_origin=None)

    Adapts a table to any byte transport: each local put() is sent as the
    16-byte wire message through send_fn(bytes); receive_bytes(data) decodes
    and applies a message from the network. 16 bytes carry no origin:
    messages are attributed to peer_origin (default 0, one legacy peer), so
    use one CallbackTransport per peer with distinct peer_origin values when
    several peers send to one table.
    """

    def __init__(self, table, send_fn=None, peer_origin=None):
        if not isinstance(table, (SyncTable, PersistentSyncTable)):
            raise TypeError("CallbackTransport: expected a SyncTable, got %s"
                            % type(table).__name__)
        if send_fn is not None and not callable(send_fn):
            raise TypeError("send_fn must be callable, got %s"
                            % type(send_fn).__name__)
        self._table = table
        self._send_fn = send_fn
        self._peer_origin = peer_origin
        table.on_delta(self._on_local_delta)

    def _on_local_delta(self, msg):
        if self._send_fn is not None:
            self._send_fn(msg.to_bytes())

    def receive_bytes(self, data):
        """receive_bytes(data) -> the table's receive() result: decodes a
        16-byte message (ValueError for another length) and applies it."""
        return self._table.receive(DeltaMessage.from_bytes(data),
                                   self._peer_origin)
