# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): bytes-like inputs and DeltaMessage.

# --------------------------------------------------------------------------
# Bytes-like inputs: any C-contiguous buffer (bytes, bytearray, memoryview,
# numpy arrays of any dtype, mmap), read in place without a copy.

cdef int _get_bytes(object data, Py_buffer* view, str what) except -1:
    if isinstance(data, str):
        raise TypeError("%s must be bytes-like (bytes, bytearray, memoryview, "
                        "numpy array), got str; encode it first" % what)
    try:
        PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
    except (BufferError, ValueError) as e:
        raise TypeError("%s must be a C-contiguous buffer (%s); pass "
                        "bytes(x) or numpy.ascontiguousarray(x)"
                        % (what, e)) from None
    except TypeError:
        raise TypeError("%s must be bytes-like (bytes, bytearray, memoryview, "
                        "numpy array), got %s" % (what, type(data).__name__)) \
            from None
    return 0


cdef inline const unsigned char* _buf(Py_buffer* view) nogil:
    return <const unsigned char*>view.buf


cdef object _field(object v, int bits, str what):
    """v as an unsigned int of `bits` bits for a DeltaMessage field."""
    if not PyLong_Check(v) or isinstance(v, bool):
        if isinstance(v, bool):
            return int(v)
        v = _index(v, what)
    if v < 0 or (v >> bits) != 0:
        raise OverflowError(
            "DeltaMessage %s %d does not fit its %d-bit wire field (0..%s)"
            % (what, v, bits, hex(((<object>1) << bits) - 1)))
    return v


# --------------------------------------------------------------------------
# DeltaMessage

@cython.freelist(64)
cdef class DeltaMessage:
    """DeltaMessage(addr, delta, epoch=0, seq=0, *, origin=None)

    One delta for one address, as sent between replicas: a frozen record
    (attributes are read-only, instances hashable). to_bytes()/from_bytes()
    give the reference's 16-byte wire form, byte for byte: big-endian u32
    addr, u64 delta, u32 seq. `epoch` and `origin` are not on the wire.

    Fields must fit their wire widths (addr and seq 32 bits, delta 64):
    OverflowError otherwise (the reference failed later, in to_bytes).
    `origin` is the sending replica's id (set on messages made by
    DeltaStream.accum / SyncTable.put); DeltaStream.apply uses it for
    exactly-once delivery. None means "unknown": see DeltaStream.apply.
    """

    cdef uint32_t _addr
    cdef uint64_t _delta
    cdef uint32_t _seq
    cdef object _epoch
    cdef object _origin

    @property
    def addr(self):
        """Context address (u32 on the wire)."""
        return self._addr

    @property
    def delta(self):
        """The XOR delta (u64 on the wire)."""
        return self._delta

    @property
    def seq(self):
        """The sender's sequence number (u32 on the wire; 1 for an origin's
        first delta)."""
        return self._seq

    @property
    def epoch(self):
        """The sender's epoch (incremented by DeltaStream.load); not on the
        wire."""
        return self._epoch

    @property
    def origin(self):
        """The sending replica's id, or None; not on the wire."""
        return self._origin

    def __init__(self, addr, delta, epoch=0, seq=0, *, origin=None):
        self._addr = _field(addr, 32, "addr")
        self._delta = _field(delta, 64, "delta")
        self._seq = _field(seq, 32, "seq")
        if not PyLong_Check(epoch):
            epoch = _index(epoch, "epoch")
        self._epoch = epoch
        if origin is not None:
            origin = _field(origin, 64, "origin")
        self._origin = origin

    def to_bytes(self):
        """to_bytes() -> bytes

        The 16-byte wire form: u32 addr | u64 delta | u32 seq, big-endian
        (docs/format/wire.md). epoch and origin are not included.
        """
        cdef CDeltaMessage m
        cdef unsigned char out[16]
        m.addr = self._addr
        m.delta = self._delta
        m.seq = self._seq
        message_to_bytes(m, out)
        return PyBytes_FromStringAndSize(<char*>out, 16)

    @classmethod
    def from_bytes(cls, data):
        """from_bytes(data) -> DeltaMessage

        Decodes the 16-byte wire form from any bytes-like object. Any other
        length is a ValueError "expected 16 bytes, got N", as in the
        reference. epoch is 0 and origin None (they are not on the wire).
        """
        return _message_from_bytes(cls, data)

    def to_dict(self):
        """to_dict() -> dict with the reference's keys addr, delta, seq."""
        return {"addr": self._addr, "delta": self._delta, "seq": self._seq}

    @classmethod
    def from_dict(cls, d):
        """from_dict(d) -> DeltaMessage from {"addr", "delta", "seq"}
        (a missing key is a ValueError)."""
        if not isinstance(d, dict):
            raise TypeError("DeltaMessage.from_dict: expected a dict, got %s"
                            % type(d).__name__)
        for key in ("addr", "delta", "seq"):
            if key not in d:
                raise ValueError("DeltaMessage.from_dict: missing %r" % key)
        return cls(d["addr"], d["delta"], seq=d["seq"])

    def _key(self):
        return (self._addr, self._delta, self._epoch, self._seq, self._origin)

    def __eq__(self, other):
        if not isinstance(other, DeltaMessage):
            return NotImplemented
        return self._key() == (<DeltaMessage>other)._key()

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    def __hash__(self):
        return hash(self._key())

    def __reduce__(self):
        return (_make_message, (self._addr, self._delta, self._epoch, self._seq,
                                self._origin))

    def __repr__(self):
        s = "DeltaMessage(addr=%d, delta=0x%016x, epoch=%d, seq=%d" % (
            self._addr, self._delta, self._epoch, self._seq)
        if self._origin is not None:
            s += ", origin=0x%x" % self._origin
        return s + ")"


def _make_message(addr, delta, epoch, seq, origin):
    return DeltaMessage(addr, delta, epoch, seq, origin=origin)


cdef DeltaMessage _new_message(uint32_t addr, uint64_t delta, uint32_t seq,
                               object epoch, object origin):
    cdef DeltaMessage m = DeltaMessage.__new__(DeltaMessage)
    m._addr = addr
    m._delta = delta
    m._seq = seq
    m._epoch = epoch
    m._origin = origin
    return m


cdef object _message_from_bytes(object cls, object data):
    cdef Py_buffer view
    cdef CDeltaMessage m
    cdef Status st
    _get_bytes(data, &view, "data")
    st = message_from_bytes(_buf(&view), <size_t>view.len, &m)
    PyBuffer_Release(&view)
    if not st.ok():
        _raise_status(st)
    if cls is DeltaMessage:
        return _new_message(m.addr, m.delta, m.seq, 0, None)
    return cls(m.addr, m.delta, 0, m.seq)


cdef DeltaMessage _stamped_message(const StampedDelta& d, object epoch):
    if d.seq > 0xFFFFFFFF:
        raise OverflowError(
            "seq %d of origin 0x%x does not fit the 16-byte message's 32-bit "
            "seq field" % (d.seq, d.origin))
    return _new_message(d.addr, d.delta, <uint32_t>d.seq, epoch, d.origin)


_OUTCOMES = ("applied", "duplicate", "beyond-window")
