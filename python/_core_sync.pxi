# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): UndoHistory and SyncTable.

# --------------------------------------------------------------------------
# UndoHistory

cdef class UndoHistory:
    """UndoHistory(max_levels=1000)

    The rollback chain (seed pattern 4) as a class, on atomik::UndoHistory:
    apply(ctx, delta) accums and records; undo(ctx) re-applies the newest
    delta (self-inverse) and returns it, or None when there is nothing to
    undo; redo(ctx) re-applies the newest undone one. One 8-byte word per
    level in a ring allocated once; when full, the oldest level is dropped
    and counted. Works on AtomikContext of widths up to 64 (including a
    table's context view).
    """

    cdef Undo64* _h

    def __cinit__(self, *args, **kwargs):
        self._h = NULL

    def __dealloc__(self):
        del self._h

    def __init__(self, max_levels=1000):
        if self._h != NULL:
            raise TypeError("UndoHistory is already initialised")
        self._h = new Undo64(<size_t>_count(max_levels, "max_levels"))

    cdef Context64* _target(self, AtomikContext ctx) except NULL:
        if self._h == NULL:
            raise TypeError("UndoHistory.__init__ was not called")
        if ctx is None:
            raise TypeError("expected an AtomikContext, got None")
        if ctx._width == 128:
            raise ValueError("UndoHistory works on contexts of width <= 64")
        return ctx._c

    def apply(self, AtomikContext ctx, delta):
        """apply(ctx, delta) -> None: ctx.accum(delta), recorded; drops any
        redo levels."""
        cdef Context64* c = self._target(ctx)
        self._h.apply(deref(c), _word(delta, ctx._mask, ctx._width, "delta"))

    def undo(self, AtomikContext ctx):
        """undo(ctx) -> int | None: undoes the newest level and returns its
        delta; None (ctx unchanged) if there is none."""
        cdef uint64_t d
        if not undo_undo(deref(self._h), deref(self._target(ctx)), &d):
            return None
        return d

    def redo(self, AtomikContext ctx):
        """redo(ctx) -> int | None: re-applies the newest undone level."""
        cdef uint64_t d
        if not undo_redo(deref(self._h), deref(self._target(ctx)), &d):
            return None
        return d

    @property
    def undo_depth(self):
        """Levels that can be undone."""
        return self._h.undo_depth() if self._h != NULL else 0

    @property
    def redo_depth(self):
        """Undone levels that can be redone."""
        return self._h.redo_depth() if self._h != NULL else 0

    @property
    def max_levels(self):
        """Capacity of the ring, fixed at construction."""
        return self._h.max_levels() if self._h != NULL else 0

    @property
    def dropped(self):
        """Levels pushed out of the full ring."""
        return self._h.dropped() if self._h != NULL else 0

    def undo_deltas(self):
        """The undo levels, oldest first."""
        return list(self._h.undo_deltas()) if self._h != NULL else []

    def redo_deltas(self):
        """The redo levels, next to redo first."""
        return list(self._h.redo_deltas()) if self._h != NULL else []

    def clear(self):
        """clear() -> None: forgets every undo and redo level."""
        if self._h != NULL:
            self._h.clear()

    def __repr__(self):
        return "UndoHistory(max_levels=%d, undo_depth=%d, redo_depth=%d)" % (
            self.max_levels, self.undo_depth, self.redo_depth)


# --------------------------------------------------------------------------
# SyncTable

cdef class SyncTable:
    """SyncTable(num_contexts=256, width=64, *, origin=0, raw_apply=False)

    A replicated table: put(addr, value) writes locally and hands a
    DeltaMessage (delta = old ^ new) to the on_delta callback for peers;
    receive(msg) applies a peer's message. On a dense DeltaStream.

    Deliberate differences from the reference:
    * receive() applies each delta exactly once, identified by (origin,
      seq), so a retransmitted message no longer undoes its delta.
      raw_apply=True gives the reference's apply-everything behaviour.
      16-byte messages carry no origin: from_bytes messages count as one
      legacy peer unless receive(msg, origin=peer_id) says otherwise.
    * Values are checked against the width (OverflowError), and a failed
      put changes nothing and sends nothing.
    As in the reference, concurrent puts to one address from two replicas
    compose as XOR deltas (both replicas converge to old ^ a ^ b, a value
    neither wrote): put is not last-writer-wins.
    """

    cdef DeltaStream _stream
    cdef object _callback
    cdef object _seq
    cdef uint64_t _n

    def __init__(self, num_contexts=256, width=64, *, origin=0,
                 raw_apply=False):
        n = _index(num_contexts, "num_contexts")
        if n < 1:
            raise ValueError("num_contexts must be >= 1, got %d" % n)
        self._stream = DeltaStream(width, n, origin=origin, dense=True,
                                  max_pending=0, raw_apply=raw_apply)
        self._n = n
        self._callback = None
        self._seq = 0

    cdef DeltaStream _st(self):
        if self._stream is None:
            raise TypeError("SyncTable.__init__ was not called")
        return self._stream

    @property
    def stream(self):
        """The DeltaStream underneath (version vector, digest, stats)."""
        return self._st()

    def on_delta(self, callback):
        """on_delta(callback) -> None: callback(msg) fires for every local
        put() that changes a value (one callback; a new one replaces it;
        None removes it). Not fired by receive(), so broadcasts do not
        echo."""
        if callback is not None and not callable(callback):
            raise TypeError("on_delta: callback must be callable, got %s"
                            % type(callback).__name__)
        self._callback = callback

    def put(self, addr, value):
        """put(addr, value) -> DeltaMessage

        Writes value at addr: delta = current ^ value is applied locally,
        stamped, passed to the on_delta callback and returned. An unchanged
        value returns a message with delta 0 and fires nothing (the
        reference). IndexError/OverflowError change and send nothing.
        """
        cdef DeltaStream st = self._st()
        cur = st._read(addr)
        v = _word(value, st._mask, st._width, "value")
        delta = cur ^ v
        if delta == 0:
            return _new_message(<uint32_t>addr, 0, <uint32_t>self._seq,
                                st._epoch, st._origin)
        msg = st._accum(addr, delta)
        self._seq = (<DeltaMessage>msg)._seq
        if self._callback is not None:
            self._callback(msg)
        return msg

    def get(self, addr):
        """get(addr) -> int: the state at addr."""
        return self._st()._read(addr)

    def receive(self, DeltaMessage msg not None, origin=None):
        """receive(msg, origin=None) -> str: applies a peer's message
        exactly once (see DeltaStream.apply) and returns "applied" or
        "duplicate"; StreamGapError (nothing applied) for a delta beyond
        the window. Does not fire on_delta."""
        return self._st()._apply(msg, origin)

    def receive_bytes(self, data, origin=None):
        """receive_bytes(data, origin=None) -> str: receive() of a 16-byte
        wire message."""
        return self._st()._apply(_message_from_bytes(DeltaMessage, data),
                                  origin)

    def snapshot(self):
        """snapshot() -> dict[int, int]: {addr: state} for every address,
        zeros included (the reference's complete snapshot)."""
        cdef uint64_t a
        return {a: self._st()._read(a) for a in range(self._n)}

    @classmethod
    def from_snapshot(cls, snap, width=64):
        """from_snapshot(snap, width=64) -> SyncTable with num_contexts =
        max(addr) + 1 (256 for an empty snapshot), states loaded."""
        if not isinstance(snap, dict):
            raise TypeError("from_snapshot: expected a dict, got %s"
                            % type(snap).__name__)
        n = (max(snap) + 1) if snap else 256
        t = cls(n, width)
        for a, v in snap.items():
            (<SyncTable>t)._stream.load(a, v)
        return t

    def connect_websocket(self, url, **options):
        """connect_websocket(url, **options) -> WebSocketHandle: replicates
        this table through the WebSocket server at url until the handle is
        closed (atomik_core.websocket.connect_websocket; python3-websockets).
        """
        from atomik_core.websocket import connect_websocket
        return connect_websocket(self, url, **options)

    def diff(self, other):
        """diff(other) -> list[int]: sorted addresses whose states differ
        (over the addresses both tables have)."""
        if not isinstance(other, (SyncTable, PersistentSyncTable)):
            raise TypeError("diff: expected a SyncTable, got %s"
                            % type(other).__name__)
        n = min(self._n, other.num_contexts)
        return [a for a in range(n) if self.get(a) != other.get(a)]

    def version_vector(self):
        """version_vector() -> dict[int, int]: see DeltaStream.version_vector."""
        return self._st().version_vector()

    def digest(self):
        """digest() -> bytes: the 16-byte table digest (see DeltaStream.digest)."""
        return self._st().digest()

    @property
    def num_contexts(self):
        """The number of addresses."""
        return self._n

    @property
    def width(self):
        """Width in bits of every state."""
        return self._st()._width

    @property
    def origin(self):
        """This replica's origin id."""
        return self._st()._origin

    def __len__(self):
        return self._n

    def __iter__(self):
        return iter(range(self._n))

    def __contains__(self, addr):
        return PyLong_Check(addr) and 0 <= addr < self._n

    def __repr__(self):
        active = sum(1 for a in range(self._n) if self.get(a) != 0)
        return "SyncTable(num_contexts=%d, width=%d, active=%d)" % (
            self._n, self._st()._width, active)
