# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# Counter: a counter with epochs.

cdef class Counter:
    """Counter(initial=0)

    A 64-bit counting context: the additive group (mod 2^64) instead of XOR,
    so add(1) twice counts 2 (under XOR it would cancel). Same epoch model as
    AtomikContext: read() = reference + accumulator; swap() closes an epoch.
    add/sub take non-negative amounts; accum takes a 64-bit delta (two's
    complement for a decrement). value_signed() reads it as a signed int.
    For a counter shared by processes use SharedContext.create(...,
    group="add"); for one replicated between nodes, note that the node and
    its log carry XOR deltas only (there is no durable counter).
    """

    cdef Counter64 _c

    def __cinit__(self, initial=0):
        self._c.load(_u64(initial, "initial"))

    def add(self, n=1):
        """add(n=1) -> None."""
        self._c.accum(_u64(n, "n"))

    def sub(self, n=1):
        """sub(n=1) -> None (wraps below 0 mod 2^64)."""
        self._c.rollback(_u64(n, "n"))

    def accum(self, delta):
        """accum(delta) -> None: adds a 64-bit delta (mod 2^64)."""
        self._c.accum(_u64(delta, "delta"))

    def rollback(self, delta):
        """rollback(delta) -> None: undoes accum(delta)."""
        self._c.rollback(_u64(delta, "delta"))

    def read(self):
        """read() -> int: reference + accumulator (mod 2^64)."""
        return self._c.read()

    def value_signed(self):
        """The state as a signed 64-bit int."""
        v = self._c.read()
        return v - (1 << 64) if v >> 63 else v

    def load(self, value):
        """load(value) -> None: sets the reference, drops pending deltas."""
        self._c.load(_u64(value, "value"))

    def swap(self, new_reference=None):
        """swap(new_reference=None) -> int: the state; it (or
        new_reference) becomes the reference."""
        if new_reference is None:
            return self._c.swap()
        return self._c.swap(_u64(new_reference, "new_reference"))

    def merge(self, Counter other not None):
        """merge(other) -> None: adds other's pending deltas here."""
        self._c.merge(other._c)

    def reset(self):
        """reset() -> None: back to a new counter (reference, accumulator and
        delta count all 0)."""
        self._c.reset()

    @property
    def reference(self):
        """The reference (the value at the last swap or load)."""
        return self._c.reference()

    @property
    def accumulator(self):
        """The sum of the deltas since the last swap or load (mod 2^64)."""
        return self._c.accumulator()

    @property
    def delta_count(self):
        """Deltas accumulated since the last swap or load."""
        return self._c.delta_count()

    def __reduce__(self):
        # pickle and copy: reference, accumulator and delta count.
        return (_counter_restore, (self._c.reference(), self._c.accumulator(),
                                   self._c.delta_count()))

    def __int__(self):
        return self._c.read()

    def __index__(self):
        return self._c.read()

    def __eq__(self, other):
        if isinstance(other, Counter):
            return self._c.read() == (<Counter>other)._c.read()
        return NotImplemented

    __hash__ = None

    def __repr__(self):
        return "Counter(%d)" % self._c.read()


cdef void _counter_add_count(Counter64* c, uint64_t n) nogil:
    """Adds n to c's delta count without changing its accumulator: the C++
    Context has no count setter, so this merges in empty counters whose
    counts are powers of two (merging one into itself doubles its count and
    keeps its accumulator at 0). O(log n)."""
    cdef Counter64 p
    p.accum(0)
    while n != 0:
        if n & 1:
            c.merge(p)
        p.merge(p)
        n >>= 1


def _counter_restore(reference, accumulator, delta_count):
    """Counter.__reduce__'s constructor (pickle, copy)."""
    cdef Counter c = Counter(reference)
    cdef uint64_t n = _u64(delta_count, "delta_count")
    c._c.accum(_u64(accumulator, "accumulator"))
    _counter_add_count(&c._c, n - 1)  # wraps to 0 when n == 0
    return c
