# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): DeltaStream.

# --------------------------------------------------------------------------
# DeltaStream

cdef class DeltaStream:
    """DeltaStream(width=64, num_contexts=256, *, origin=0, dense=False,
    window=1024, retain=65536, max_pending=1048576, raw_apply=False)

    Produces and consumes delta messages between replicas, on
    atomik::DeltaStream. Contexts are created on first use (any 32-bit
    address, as in the reference, which ignores num_contexts); with
    dense=True the table holds addresses 0..num_contexts-1 (faster; others
    are an IndexError).

    Deliberate difference from the reference: apply() applies each delta
    exactly once, identified by (origin, seq). The reference XORs whatever
    arrives, so a retransmitted message undoes its delta; pass
    raw_apply=True for that behaviour (for compatibility tests only).

    Widths 8, 16, 32 and 64 are supported (values checked against the
    width); 128 is a ValueError, since the 16-byte message carries a 64-bit
    delta. `origin` is this replica's id (0: a random one).

    Unlike the reference's unbounded list, the pending() queue holds at
    most max_pending undrained messages: beyond that accum() raises
    RuntimeError and changes nothing. Drain it with pending(), or pass
    max_pending=0 to keep no queue (accum still returns each message).

    Thread safety: each call holds the GIL and is atomic.
    """

    cdef CDeltaStream* _s
    cdef uint64_t _mask
    cdef int _width
    cdef object _epoch
    cdef object _origin
    cdef object _window
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._s = NULL

    def __dealloc__(self):
        del self._s

    def __init__(self, width=64, num_contexts=256, *, origin=0, dense=False,
                 window=1024, retain=65536, max_pending=1 << 20,
                 raw_apply=False):
        cdef int w = _check_width(width)
        cdef Status st
        cdef CDeltaStream* s
        if w == 128:
            raise ValueError(
                "DeltaStream supports widths 8, 16, 32 and 64: the 16-byte "
                "DeltaMessage carries a 64-bit delta (use AtomikTable for "
                "128-bit state)")
        if self._s != NULL:
            raise TypeError("DeltaStream is already initialised")
        n = _index(num_contexts, "num_contexts")
        if dense and n < 1:
            raise ValueError("num_contexts must be >= 1, got %d" % n)
        s = new_stream(_count(origin, "origin"),
                       _count(n, "num_contexts") if dense else 0,
                       _count(window, "window"), _count(retain, "retain"),
                       _count(max_pending, "max_pending"), bool(raw_apply),
                       &st)
        if s == NULL:
            _raise_status(st)
        self._s = s
        self._width = w
        self._mask = _mask_of(w)
        self._epoch = 0
        self._origin = s.origin()
        self._window = window

    cdef int _ready(self) except -1:
        if self._s == NULL:
            raise TypeError("DeltaStream.__init__ was not called")
        return 0

    cdef inline uint32_t _addr(self, object addr) except? 0xFFFFFFFF:
        if not PyLong_Check(addr):
            addr = _index(addr, "addr")
        if addr < 0 or addr > 0xFFFFFFFF:
            raise IndexError("address %d out of range [0, 0xffffffff]" % addr)
        return <uint32_t>addr

    def load(self, addr, initial_state):
        """load(addr, initial_state) -> None

        Sets addr's state locally (not replicated, not stamped): load the
        same initial states on every replica. Starts a new epoch, as in the
        reference.
        """
        self._ready()
        cdef uint32_t a = self._addr(addr)
        _check(self._s.load(a, _word(initial_state, self._mask, self._width,
                                     "initial_state")))
        self._epoch += 1

    def accum(self, addr, delta):
        """accum(addr, delta) -> DeltaMessage

        Applies delta locally, stamps it (this origin, next seq), queues it
        for pending() and returns it. Nothing changes on error.
        """
        return self._accum(addr, delta)

    cdef object _accum(self, object addr, object delta):
        cdef StampedDelta d
        self._ready()
        cdef uint32_t a = self._addr(addr)
        cdef uint64_t v = _word(delta, self._mask, self._width, "delta")
        if self._s.stats().local >= 0xFFFFFFFF:
            raise OverflowError(
                "this stream has stamped 2**32-1 deltas; the 16-byte "
                "message's 32-bit seq cannot number more")
        _check(stream_accum(deref(self._s), a, v, &d))
        return _stamped_message(d, self._epoch)

    def apply(self, DeltaMessage msg not None, origin=None):
        """apply(msg, origin=None) -> str

        Applies a delta received from a peer exactly once and returns
        "applied" or "duplicate" (already applied: ignored and counted). A
        delta more than `window` past the origin's last in-order seq (a
        receiver that joined late, or missed many deltas) raises
        StreamGapError and is not applied (counted as beyond_window). The delta is identified by (origin, msg.seq), where
        origin is the argument, else msg.origin, else 0 (one legacy peer:
        16-byte messages carry no origin, so with several reference peers
        pass origin=peer_id). seq 0 is a ValueError in this mode.

        With raw_apply=True every call XORs the delta in (the reference).
        """
        return self._apply(msg, origin)

    cdef object _apply(self, DeltaMessage msg, object origin):
        cdef int outcome = 0
        cdef uint64_t o
        self._ready()
        if origin is None:
            origin = msg._origin
        o = 0 if origin is None else _count(origin, "origin")
        if msg._delta > self._mask:
            _raise_word(msg._delta, self._width, "msg.delta")
        _check(stream_apply(deref(self._s), o, msg._seq, msg._addr, msg._delta,
                            &outcome))
        if outcome == 2:
            raise StreamGapError(
                "delta seq %d from origin 0x%x (addr %d) is more than %d "
                "past the last seq applied in order from that origin: this "
                "receiver joined late or missed deltas. Nothing was applied; "
                "load the sender's state first, fetch missing() deltas, or "
                "use a larger window (see StreamGapError)"
                % (msg._seq, o, msg._addr, self._window),
                origin=o, seq=msg._seq, addr=msg._addr)
        return _OUTCOMES[outcome]

    def read(self, addr):
        """read(addr) -> int: the state at addr (0 if never written)."""
        return self._read(addr)

    cdef object _read(self, object addr):
        cdef uint64_t v
        self._ready()
        _check(stream_read(deref(self._s), self._addr(addr), &v))
        return v

    def pending(self):
        """pending() -> list[DeltaMessage]: the local deltas stamped since
        the last call, oldest first; clears the queue."""
        self._ready()
        cdef vector[StampedDelta] p = self._s.pending()
        cdef size_t i
        return [_stamped_message(p[i], self._epoch) for i in range(p.size())]

    def contexts(self):
        """contexts() -> iterator of (addr, AtomikContext)

        Every context held, as independent copies (changing them does not
        change the stream: deltas must go through accum/apply so they are
        stamped and deduplicated). Sparse streams: in no set order.
        """
        self._ready()
        cdef vector[pair[uint32_t, Context64]] cs = stream_contexts(
            deref(self._s))
        cdef size_t i
        cdef AtomikContext c
        out = []
        for i in range(cs.size()):
            c = AtomikContext(self._width)
            c._own = cs[i].second
            out.append((cs[i].first, c))
        return iter(out)

    def version_vector(self):
        """version_vector() -> dict[int, int]: for every origin heard from
        (this one included), the contiguous mark: every seq 1..mark has
        been applied."""
        self._ready()
        cdef vector[pair[uint64_t, uint64_t]] vv = stream_version_vector(
            deref(self._s))
        cdef size_t i
        return {vv[i].first: vv[i].second for i in range(vv.size())}

    def missing(self, remote_version_vector):
        """missing(remote_version_vector) -> (needs_state_transfer, reason,
        list[DeltaMessage])

        The retained deltas a peer with that version vector lacks (each
        message carries its origin). needs_state_transfer is True when some
        have been dropped from the bounded log.
        """
        self._ready()
        cdef vector[pair[uint64_t, uint64_t]] vv
        for o, m in dict(remote_version_vector).items():
            vv.push_back(pair[uint64_t, uint64_t](_count(o, "origin"),
                                                  _count(m, "mark")))
        cdef CatchUp c = stream_missing(deref(self._s), vv)
        cdef size_t i
        msgs = [_stamped_message(c.deltas[i], self._epoch)
                for i in range(c.deltas.size())]
        return (c.needs_state_transfer, c.reason.decode("utf-8", "replace"),
                msgs)

    def digest(self):
        """digest() -> bytes: the 16-byte table digest (equal tables give
        equal digests; see docs/format/digest.md). O(1)."""
        self._ready()
        cdef Digest d = self._s.digest()
        return d.hi.to_bytes(8, "big") + d.lo.to_bytes(8, "big")

    @property
    def stats(self):
        """{"local", "applied", "duplicates", "beyond_window"} counters."""
        self._ready()
        cdef StreamStats s = self._s.stats()
        return {"local": s.local, "applied": s.applied,
                "duplicates": s.duplicates, "beyond_window": s.beyond_window}

    @property
    def origin(self):
        """This replica's origin id."""
        return self._origin

    @property
    def raw_apply(self):
        """True if apply() XORs every message in (the reference's
        behaviour) instead of applying each delta exactly once."""
        self._ready()
        return stream_raw_apply(deref(self._s))

    @property
    def width(self):
        """Width in bits of every state (8, 16, 32 or 64)."""
        return self._width

    @property
    def epoch(self):
        """Incremented by every load(), as in the reference."""
        return self._epoch

    def __repr__(self):
        if self._s == NULL:
            return "DeltaStream(<uninitialised>)"
        return "DeltaStream(width=%d, origin=0x%x, digest=%s)" % (
            self._width, self._origin, self.digest().hex())
