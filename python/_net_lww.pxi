# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# LwwTable: last-writer-wins registers.

class LwwWrite(tuple):
    """LwwWrite(addr, value, timestamp, origin): one last-writer-wins write,
    what LwwTable.put returns and merge takes (send it to the replicas)."""

    __slots__ = ()

    def __new__(cls, addr, value, timestamp, origin):
        return tuple.__new__(cls, (addr, value, timestamp, origin))

    addr = property(lambda self: self[0], doc="The register's address.")
    value = property(lambda self: self[1], doc="The value written.")
    timestamp = property(lambda self: self[2],
                         doc="The hybrid clock's stamp (nanoseconds).")
    origin = property(lambda self: self[3],
                      doc="The writer's origin (breaks timestamp ties).")

    def __reduce__(self):
        # pickle and copy: tuple's default would call __new__ with the
        # whole tuple as one argument.
        return (LwwWrite, tuple(self))

    def __repr__(self):
        return ("LwwWrite(addr=%d, value=%#x, timestamp=%d, origin=%#x)"
                % tuple(self))


cdef class LwwTable:
    """LwwTable(origin)

    Last-writer-wins registers by address, for values that are set, not
    accumulated. put(addr, value) stamps the write with a hybrid clock
    (wall-clock nanoseconds, never going back) and this origin; merge(w)
    keeps the write with the larger (timestamp, origin), so replicas that
    merge the same writes in any order agree. get(addr) is None for an
    address never written. In memory, one thread at a time.
    """

    cdef CLwwTable* _t
    cdef uint64_t _origin

    def __cinit__(self, origin):
        self._origin = _u64(origin, "origin")
        self._t = lww_new(self._origin)

    def __dealloc__(self):
        if self._t != NULL:
            del self._t

    def put(self, addr, value, wall_ns=None):
        """put(addr, value, wall_ns=None) -> LwwWrite (wall_ns defaults to
        time.time_ns())."""
        cdef uint32_t a = _addr(addr)
        cdef uint64_t v = _u64(value, "value")
        cdef uint64_t t = _u64(_time.time_ns() if wall_ns is None else wall_ns,
                               "wall_ns")
        cdef CLwwWrite w = lww_put(self._t[0], a, v, t)
        return LwwWrite(w.addr, w.value, w.timestamp, w.origin)

    def merge(self, write):
        """merge(write) -> bool: applies a replica's LwwWrite (or a tuple
        addr, value, timestamp, origin); True if it won."""
        addr, value, timestamp, origin = write
        return lww_merge(self._t[0], _addr(addr), _u64(value, "value"),
                         _u64(timestamp, "timestamp"), _u64(origin, "origin"))

    def get(self, addr, default=None):
        """get(addr, default=None) -> int, or default if never written."""
        cdef uint64_t out = 0
        if lww_get(self._t[0], _addr(addr), &out):
            return out
        return default

    def writes(self):
        """writes() -> [LwwWrite]: the winning write of every address, by
        address (what a new replica needs to merge)."""
        cdef vector[CLwwWrite] v = lww_registers(self._t[0])
        return [LwwWrite(w.addr, w.value, w.timestamp, w.origin) for w in v]

    def snapshot(self):
        """snapshot() -> {addr: value} of every written address."""
        cdef vector[CLwwWrite] v = lww_registers(self._t[0])
        return {w.addr: w.value for w in v}

    @property
    def origin(self):
        """This table's origin, stamped on its own writes."""
        return self._origin

    def __len__(self):
        return lww_registers(self._t[0]).size()

    def __repr__(self):
        return "LwwTable(origin=%#x, addresses=%d)" % (self._origin, len(self))
