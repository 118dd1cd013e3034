# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
# distutils: language = c++
"""atomik_core: delta-state algebra on the atomik C++ engine.

A drop-in replacement for the reference package ``atomik_core`` (v0.4.0):
the same names and the same behaviour for correct programs, with C++ speed,
plus a few deliberate differences where the reference loses data silently:

* Values must fit the context's width. A negative value, or one with bits
  above the width, raises ``OverflowError`` naming the value and the width
  (the reference masks silently). Code that relied on masking, e.g. ``~x``,
  should pass ``x & mask`` where ``mask = (1 << width) - 1``.
* Every failed call changes nothing (values are checked before any state
  is touched).
* ``with ctx:`` does not wipe the context on exit.
* Widths are 8, 16, 32, 64 or 128 bits; any other width is a ``ValueError``.

Classes: AtomikContext, AtomikTable, DeltaMessage, DeltaStream,
Fingerprint, SyncTable, PersistentSyncTable, MemoryTransport and
CallbackTransport (the reference's names), plus FingerprintGate and
UndoHistory. Further deliberate differences, each also in its class's
docstring: DeltaStream.apply / SyncTable.receive apply each delta exactly
once (raw_apply=True gives the reference's apply-everything); Fingerprint is
strong and position-aware (legacy_xor_fold=True gives the reference's
XOR-fold); PersistentSyncTable keeps a checksummed WAL in a directory.

Extras: ``accum_batch`` over any C-contiguous buffer of uint64 (numpy
arrays without a copy; the fold runs without the GIL), bytes-like inputs
everywhere (bytes, bytearray, memoryview, numpy arrays, read in place),
snapshots, pickling, hex ``repr``, type stubs (atomik_core.pyi).

Thread safety: every method runs with the GIL held and is atomic with
respect to other Python threads, so many threads may ``accum`` into one
context (seed pattern 1) and the result is exact. Batch folds run without
the GIL on a private accumulator and are merged in with the GIL held.
"""

import os

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.long cimport PyLong_Check
from cpython.mem cimport PyMem_Malloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.number cimport PyIndex_Check, PyNumber_Index
from cython.operator cimport dereference as deref
from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector

from _atomik cimport *
from _atomik cimport (
    Context64, Context128, Status, Table64, Table128, Word128,
    accum_batch64, context_pointers64, context_pointers128, max_reduce,
    new_dense_table64, new_dense_table128, or_reduce, status_code,
    status_message, table_batch_accum64, table_batch_accum128,
    table_read64, table_read128, table_swap64, table_swap128,
    table_swap_to64, table_swap_to128,
)

__version__ = "0.4.0+atomik.0.1.0"

__all__ = [
    "AtomikContext",
    "AtomikTable",
    "CorruptionError",
    "DeltaMessage",
    "DeltaStream",
    "Fingerprint",
    "FingerprintGate",
    "MemoryTransport",
    "CallbackTransport",
    "PersistentSyncTable",
    "SyncTable",
    "UndoHistory",
    "WIDTHS",
]

#: The context widths this module supports, in bits.
WIDTHS = (8, 16, 32, 64, 128)

cdef uint64_t _ALL_ONES = 0xFFFFFFFFFFFFFFFF
cdef object _MASK64 = 0xFFFFFFFFFFFFFFFF


class CorruptionError(ValueError):
    """Bytes from a file or the wire failed validation (atomik kCorruption).

    A subclass of ValueError, so code written for the reference (which
    raises ValueError for bad bytes) keeps working.
    """


# --------------------------------------------------------------------------
# Conversions and errors. Every public entry point converts its arguments
# with these before touching any state, so a failed call changes nothing.

cdef object _raise_status(const Status& st):
    """Raises the Python exception for a non-OK atomik Status."""
    cdef int code = status_code(st)
    msg = status_message(st).decode("utf-8", "replace")
    if code == 3:       # kInvalidArgument
        raise ValueError(msg)
    elif code == 5:     # kNotFound
        raise FileNotFoundError(msg)
    elif code == 8:     # kResourceExhausted
        raise RuntimeError("resource exhausted: " + msg)
    elif code == 9:     # kFailedPrecondition
        raise RuntimeError(msg)
    elif code == 11:    # kOutOfRange
        raise IndexError(msg)
    elif code == 12:    # kUnimplemented
        raise NotImplementedError(msg)
    elif code == 14:    # kUnavailable
        raise ConnectionError(msg)
    elif code == 15:    # kCorruption
        raise CorruptionError(msg)
    elif code == 16:    # kIoError
        raise OSError(msg)
    raise RuntimeError("atomik error %d: %s" % (code, msg))


cdef inline int _check(const Status& st) except -1:
    if not st.ok():
        _raise_status(st)
    return 0


cdef object _index(object v, str what):
    """v as a Python int, via __index__ (numpy integers); TypeError else."""
    if PyIndex_Check(v):
        return PyNumber_Index(v)
    raise TypeError("%s must be an int, got %s" % (what, type(v).__name__))


cdef object _hexw(object v, int width):
    return "0x%0*x" % ((width + 3) // 4, v)


cdef object _raise_word(object v, int width, str what):
    """The OverflowError for a value that does not fit `width` bits."""
    mask = ((<object>1) << width) - 1
    if v < 0:
        raise OverflowError(
            "%s %d is negative; a width-%d context holds 0..%s. The reference "
            "masked it silently to %s: pass %s & %s to keep that behaviour"
            % (what, v, width, _hexw(mask, width), _hexw(v & mask, width),
               what, _hexw(mask, width)))
    raise OverflowError(
        "%s %s does not fit a width-%d context (0..%s). The reference masked "
        "it silently to %s: pass %s & %s to keep that behaviour"
        % (what, hex(v), width, _hexw(mask, width), _hexw(v & mask, width),
           what, _hexw(mask, width)))


cdef inline uint64_t _word(object v, uint64_t mask, int width,
                           str what) except? 0xFFFFFFFFFFFFFFFF:
    """v as a word of at most 64 bits, checked against the width."""
    cdef uint64_t d
    if not PyLong_Check(v):
        v = _index(v, what)
    try:
        d = v
    except OverflowError:
        _raise_word(v, width, what)
    if d > mask:
        _raise_word(v, width, what)
    return d


cdef Word128 _word128(object v, str what) except *:
    """v as a 128-bit word, checked."""
    cdef Word128 w
    if not PyLong_Check(v):
        v = _index(v, what)
    if v < 0 or (v >> 128) != 0:
        _raise_word(v, 128, what)
    w.lo = <uint64_t>(v & _MASK64)
    w.hi = <uint64_t>(v >> 64)
    return w


cdef inline object _int128(Word128 w):
    return ((<object>w.hi) << 64) | (<object>w.lo)


cdef int _check_width(object width) except -1:
    if not PyLong_Check(width) or isinstance(width, bool):
        raise TypeError("width must be an int, got %s" % type(width).__name__)
    if width not in WIDTHS:
        raise ValueError(
            "width must be one of 8, 16, 32, 64 or 128 bits, got %d" % width)
    return width


cdef inline uint64_t _mask_of(int width):
    return _ALL_ONES if width >= 64 else ((<uint64_t>1) << width) - 1


cdef uint64_t _count(object v, str what) except? 0xFFFFFFFFFFFFFFFF:
    """A non-negative count (delta_count) as uint64."""
    if not PyLong_Check(v):
        v = _index(v, what)
    if v < 0 or (v >> 64) != 0:
        raise OverflowError("%s %d is not in 0..2**64-1" % (what, v))
    return <uint64_t>v


cdef void _add_count64(Context64* c, uint64_t n) nogil:
    """Adds n to c's delta count without changing its accumulator.

    The C++ Context has no count setter, so this merges in empty contexts
    whose counts are powers of two (merging a context into itself doubles
    its count and, under XOR, keeps its accumulator at 0). O(log n).
    """
    cdef Context64 p
    p.accum(0)
    while n != 0:
        if n & 1:
            c.merge(p)
        p.merge(p)
        n >>= 1


cdef void _add_count128(Context128* c, uint64_t n) nogil:
    cdef Context128 p
    cdef Word128 zero
    p.accum(zero)
    while n != 0:
        if n & 1:
            c.merge(p)
        p.merge(p)
        n >>= 1


cdef const uint64_t[::1] _u64_view(object deltas, vector[uint64_t]* tmp,
                                   uint64_t mask, int width, str what):
    """Views `deltas` as uint64 words. A C-contiguous 1-D uint64 buffer
    (numpy.uint64, array('Q')) is used in place, no copy; any other iterable
    of ints is converted into `tmp`, each value checked. A buffer of another
    type is a TypeError. Returns None for no deltas."""
    cdef const uint64_t[::1] mv
    if isinstance(deltas, (bytes, bytearray, str)):
        raise TypeError(
            "%s: expected a buffer or iterable of uint64 values, got %s (to "
            "fold raw bytes, view them as words first, e.g. "
            "numpy.frombuffer(data, dtype=numpy.uint64))"
            % (what, type(deltas).__name__))
    try:
        m = memoryview(deltas)
    except TypeError:
        m = None
    if m is not None:
        try:
            mv = m
        except (ValueError, TypeError, BufferError) as e:
            raise TypeError(
                "%s: expected a C-contiguous 1-D buffer of unsigned 64-bit "
                "integers (numpy.uint64, array('Q')), got format %r, itemsize "
                "%d, ndim %d; convert with numpy.ascontiguousarray(x, "
                "dtype=numpy.uint64) (%s)"
                % (what, m.format, m.itemsize, m.ndim, e)) from None
        if mv.shape[0] == 0:
            return None
        return mv
    tmp.clear()
    for v in deltas:
        tmp.push_back(_word(v, mask, width, what + " item"))
    if tmp.size() == 0:
        return None
    mv = <const uint64_t[:tmp.size()]>tmp.data()
    return mv


cdef const uint32_t[::1] _u32_view(object addrs, vector[uint32_t]* tmp):
    """Views `addrs` as uint32 addresses: a C-contiguous 1-D uint32 buffer
    in place, or any iterable of ints converted into `tmp` (range-checked
    later). Returns None for no addresses."""
    cdef const uint32_t[::1] av
    if isinstance(addrs, (bytes, bytearray, str)):
        raise TypeError("accum_batch: addrs must be a uint32 buffer or an "
                        "iterable of ints, got %s" % type(addrs).__name__)
    try:
        m = memoryview(addrs)
    except TypeError:
        m = None
    if m is not None:
        try:
            av = m
        except (ValueError, TypeError, BufferError) as e:
            raise TypeError(
                "accum_batch: addrs must be a C-contiguous 1-D buffer of "
                "unsigned 32-bit integers (numpy.uint32, array('I')), got "
                "format %r, itemsize %d, ndim %d; convert with "
                "numpy.ascontiguousarray(x, dtype=numpy.uint32) (%s)"
                % (m.format, m.itemsize, m.ndim, e)) from None
        if av.shape[0] == 0:
            return None
        return av
    tmp.clear()
    for a in addrs:
        if not PyLong_Check(a):
            a = _index(a, "addrs item")
        if a < 0 or a > 0xFFFFFFFF:
            raise IndexError("accum_batch: address %d out of range" % a)
        tmp.push_back(<uint32_t>a)
    if tmp.size() == 0:
        return None
    av = <const uint32_t[:tmp.size()]>tmp.data()
    return av


cdef int _check_fits(const uint64_t[::1] mv, uint64_t mask, int width,
                     str what) except -1:
    """OverflowError naming the first word of mv above mask, if any."""
    cdef size_t n = mv.shape[0]
    cdef size_t i
    cdef uint64_t acc = 0
    if mask == _ALL_ONES or n == 0:
        return 0
    with nogil:
        acc = or_reduce(&mv[0], n)
    if acc <= mask:
        return 0
    for i in range(n):
        if mv[i] > mask:
            _raise_word(mv[i], width, "%s[%d]" % (what, i))
    return 0


# --------------------------------------------------------------------------
# AtomikContext

cdef class AtomikContext:
    """AtomikContext(width=64, initial_state=0)

    One reference state and one accumulator: the four operations of
    delta-state algebra, on atomik::Context.

    * ``load(v)``: reference = v; accumulator and delta_count cleared.
    * ``accum(d)``: accumulator ^= d; delta_count += 1.
    * ``read()``: reference ^ accumulator, the current state.
    * ``swap(new_reference=None)``: returns the state; the new reference is
      the given value or the state; accumulator and delta_count cleared.

    ``width`` is 8, 16, 32, 64 or 128 (ValueError otherwise). Unlike the
    reference, values that do not fit the width (or are negative) raise
    OverflowError instead of being masked silently; pass ``x & mask`` to
    keep the reference's masking. ``with`` does not wipe the state.

    Thread safety: each call holds the GIL and is atomic, so any number of
    Python threads may accum into one context and the result is exact
    (seed pattern 1). ``accum_batch`` folds without the GIL.
    """

    cdef Context64 _own
    cdef Context128 _own128
    cdef Context64* _c
    cdef Context128* _c128
    cdef uint64_t _mask
    cdef int _width
    cdef object _owner       # the AtomikTable a view's context lives in
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._c = &self._own
        self._c128 = &self._own128
        self._width = 64
        self._mask = _ALL_ONES
        self._owner = None

    def __init__(self, width=64, initial_state=0):
        cdef int w = _check_width(width)
        if self._owner is not None:
            raise TypeError("cannot re-initialise a table's context view")
        if w == 128:
            self._own128.load(_word128(initial_state, "initial_state"))
            self._own.reset()
        else:
            self._own.load(_word(initial_state, _mask_of(w), w,
                                 "initial_state"))
            self._own128.reset()
        self._width = w
        self._mask = _mask_of(w)

    def load(self, value):
        """load(value) -> None

        LOAD: reference = value; accumulator and delta_count cleared.
        OverflowError (nothing changes) if value does not fit the width.
        """
        self._load(value)

    cdef int _load(self, object value) except -1:
        if self._width == 128:
            self._c128.load(_word128(value, "value"))
        else:
            self._c.load(_word(value, self._mask, self._width, "value"))
        return 0

    def accum(self, delta):
        """accum(delta) -> None

        ACCUM: accumulator ^= delta; delta_count += 1. Order-independent,
        and self-inverse: accum(d) twice is a no-op. O(1).
        OverflowError (nothing changes) if delta does not fit the width.
        """
        self._accum(delta)

    cdef int _accum(self, object delta) except -1:
        if self._width == 128:
            self._c128.accum(_word128(delta, "delta"))
        else:
            self._c.accum(_word(delta, self._mask, self._width, "delta"))
        return 0

    def rollback(self, delta):
        """rollback(delta) -> None

        Undoes a delta: the same as accum(delta), since XOR is self-inverse.
        Counts as one delta, as in the reference.
        """
        self._rollback(delta)

    cdef int _rollback(self, object delta) except -1:
        if self._width == 128:
            self._c128.rollback(_word128(delta, "delta"))
        else:
            self._c.rollback(_word(delta, self._mask, self._width, "delta"))
        return 0

    def read(self):
        """read() -> int

        READ: the current state, reference ^ accumulator.
        """
        if self._width == 128:
            return _int128(self._c128.read())
        return self._c.read()

    def swap(self, new_reference=None):
        """swap(new_reference=None) -> int

        SWAP: returns the current state and starts a new epoch whose
        reference is new_reference or, if None, the state itself;
        accumulator and delta_count cleared. OverflowError (nothing
        changes) if new_reference does not fit the width.
        """
        cdef uint64_t r
        cdef Word128 r128
        if self._width == 128:
            if new_reference is None:
                return _int128(self._c128.swap())
            r128 = _word128(new_reference, "new_reference")
            return _int128(self._c128.swap(r128))
        if new_reference is None:
            return self._c.swap()
        r = _word(new_reference, self._mask, self._width, "new_reference")
        return self._c.swap(r)

    def merge(self, AtomikContext other not None):
        """merge(other) -> None

        accumulator ^= other.accumulator; delta counts add. The references
        are not compared (the reference's semantics): merging moves other's
        pending deltas here. Unlike the reference, the widths must match
        (ValueError), since a wider accumulator would not fit.
        """
        if other._width != self._width:
            raise ValueError(
                "cannot merge a width-%d context into a width-%d context"
                % (other._width, self._width))
        if self._width == 128:
            self._c128.merge(deref(other._c128))
        else:
            self._c.merge(deref(other._c))

    def accum_batch(self, deltas):
        """accum_batch(deltas) -> int

        Folds every delta in, as if accum() were called on each in order,
        and returns how many there were. `deltas` is a C-contiguous buffer
        of uint64 (a numpy.uint64 array or array('Q'): used in place, no
        copy, and folded without the GIL) or any iterable of ints. Every
        value is checked against the width first: on OverflowError (naming
        the first bad index) nothing changes.
        """
        cdef const uint64_t[::1] mv
        cdef vector[uint64_t] tmp
        cdef Context64 folded
        cdef Context128 folded128
        cdef size_t n
        if self._width == 128:
            for v in deltas:
                folded128.accum(_word128(v, "deltas item"))
            self._c128.merge(folded128)
            return folded128.delta_count()
        mv = _u64_view(deltas, &tmp, self._mask, self._width, "accum_batch")
        if mv is None:
            return 0
        n = mv.shape[0]
        _check_fits(mv, self._mask, self._width, "deltas")
        with nogil:
            accum_batch64(folded, &mv[0], n)
        self._c.merge(folded)
        return n

    def reset(self):
        """reset() -> None

        Back to a new context: reference, accumulator and delta_count 0.
        """
        if self._width == 128:
            self._c128.reset()
        else:
            self._c.reset()

    @property
    def accumulator(self):
        """The XOR of every delta since the last load/swap."""
        if self._width == 128:
            return _int128(self._c128.accumulator())
        return self._c.accumulator()

    @property
    def reference(self):
        """The reference state (set by load or swap)."""
        if self._width == 128:
            return _int128(self._c128.reference())
        return self._c.reference()

    @property
    def is_clean(self):
        """True when the accumulator is 0 (note: a delta applied twice
        leaves the context clean again)."""
        if self._width == 128:
            return self._c128.is_clean()
        return self._c.is_clean()

    @property
    def delta_count(self):
        """accum/rollback calls (and merged counts) since load/swap."""
        if self._width == 128:
            return self._c128.delta_count()
        return self._c.delta_count()

    @property
    def width(self):
        """Width in bits: 8, 16, 32, 64 or 128."""
        return self._width

    def snapshot(self):
        """snapshot() -> dict

        {"width", "reference", "accumulator", "delta_count"}: everything
        from_snapshot() needs to rebuild this context exactly.
        """
        return {"width": self._width, "reference": self.reference,
                "accumulator": self.accumulator,
                "delta_count": self.delta_count}

    @classmethod
    def from_snapshot(cls, snapshot):
        """from_snapshot(snapshot) -> AtomikContext

        Rebuilds a context from snapshot(). Missing keys are a ValueError;
        values are checked like load() (OverflowError). A snapshot with a
        non-zero accumulator and a delta_count of 0 is inconsistent
        (ValueError).
        """
        if not isinstance(snapshot, dict):
            raise TypeError("snapshot must be a dict, got %s"
                            % type(snapshot).__name__)
        for key in ("width", "reference", "accumulator", "delta_count"):
            if key not in snapshot:
                raise ValueError("snapshot is missing %r" % key)
        cdef AtomikContext ctx = cls(snapshot["width"],
                                     snapshot["reference"])
        cdef uint64_t n = _count(snapshot["delta_count"], "delta_count")
        cdef uint64_t acc
        cdef Word128 acc128
        if ctx._width == 128:
            acc128 = _word128(snapshot["accumulator"], "accumulator")
            if n == 0 and (acc128.lo != 0 or acc128.hi != 0):
                raise ValueError("inconsistent snapshot: accumulator is not 0 "
                                 "but delta_count is 0")
            if n != 0:
                ctx._c128.accum(acc128)
                _add_count128(ctx._c128, n - 1)
        else:
            acc = _word(snapshot["accumulator"], ctx._mask, ctx._width,
                        "accumulator")
            if n == 0 and acc != 0:
                raise ValueError("inconsistent snapshot: accumulator is not 0 "
                                 "but delta_count is 0")
            if n != 0:
                ctx._c.accum(acc)
                _add_count64(ctx._c, n - 1)
        return ctx

    def copy(self):
        """copy() -> AtomikContext: an independent copy."""
        return AtomikContext.from_snapshot(self.snapshot())

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        return (_context_from_snapshot, (self.snapshot(),))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # Unlike the reference, leaving a `with` block does not wipe state.
        return False

    def __eq__(self, other):
        if not isinstance(other, AtomikContext):
            return NotImplemented
        cdef AtomikContext o = other
        return o._width == self._width and o.read() == self.read()

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return ("AtomikContext(width=%d, state=%s, ref=%s, acc=%s, deltas=%d)"
                % (self._width, _hexw(self.read(), self._width),
                   _hexw(self.reference, self._width),
                   _hexw(self.accumulator, self._width), self.delta_count))


def _context_from_snapshot(snapshot):
    return AtomikContext.from_snapshot(snapshot)


# --------------------------------------------------------------------------
# AtomikTable

cdef class AtomikTable:
    """AtomikTable(num_contexts=256, width=64)

    A fixed array of independent contexts at addresses 0..num_contexts-1,
    on a dense atomik::DeltaTable. An address out of range is an
    IndexError; values are checked as in AtomikContext (OverflowError).

    Thread safety: each call holds the GIL and is atomic with respect to
    other Python threads. Batch methods also hold it (the table is not
    thread-safe in C++; they cost ~2 ns per delta).
    """

    cdef Table64* _t
    cdef Table128* _t128
    cdef uint64_t _n
    cdef uint64_t _mask
    cdef int _width
    cdef vector[Context64*] _ptrs
    cdef vector[Context128*] _ptrs128
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._t = NULL
        self._t128 = NULL

    def __dealloc__(self):
        del self._t
        del self._t128

    def __init__(self, num_contexts=256, width=64):
        cdef int w = _check_width(width)
        cdef Status st
        cdef uint64_t n
        if self._t != NULL or self._t128 != NULL:
            raise TypeError("AtomikTable is already initialised")
        if not PyLong_Check(num_contexts) or isinstance(num_contexts, bool):
            num_contexts = _index(num_contexts, "num_contexts")
        if num_contexts < 1:
            raise ValueError("num_contexts must be >= 1, got %d"
                             % num_contexts)
        if num_contexts > 0x100000000:
            raise ValueError("num_contexts %d > 2**32 (addresses are 32-bit)"
                             % num_contexts)
        n = num_contexts
        if w == 128:
            self._t128 = new_dense_table128(n, &st)
            if self._t128 == NULL:
                _raise_status(st)
        else:
            self._t = new_dense_table64(n, &st)
            if self._t == NULL:
                _raise_status(st)
        self._n = n
        self._width = w
        self._mask = _mask_of(w)

    cdef inline uint32_t _addr(self, object addr) except? 0xFFFFFFFF:
        cdef uint64_t a
        if not PyLong_Check(addr):
            addr = _index(addr, "addr")
        try:
            a = addr
        except OverflowError:
            a = _ALL_ONES
        if a >= self._n:
            raise IndexError("address %d out of range [0, %d] for "
                             "AtomikTable(num_contexts=%d)"
                             % (addr, self._n - 1, self._n))
        return <uint32_t>a

    cdef int _ready(self) except -1:
        if self._t == NULL and self._t128 == NULL:
            raise TypeError("AtomikTable.__init__ was not called")
        return 0

    def load(self, addr, initial_state):
        """load(addr, initial_state) -> None

        LOAD at addr: reference = initial_state, accumulator cleared.
        IndexError for a bad address, OverflowError for a bad value;
        nothing changes on error.
        """
        self._load(addr, initial_state)

    cdef int _load(self, object addr, object initial_state) except -1:
        self._ready()
        cdef uint32_t a = self._addr(addr)
        if self._width == 128:
            _check(self._t128.load(a, _word128(initial_state,
                                               "initial_state")))
        else:
            _check(self._t.load(a, _word(initial_state, self._mask,
                                         self._width, "initial_state")))
        return 0

    def accum(self, addr, delta):
        """accum(addr, delta) -> None

        ACCUM at addr: accumulator ^= delta. O(1). IndexError for a bad
        address, OverflowError for a bad delta; nothing changes on error.
        """
        self._accum(addr, delta)

    cdef int _accum(self, object addr, object delta) except -1:
        cdef uint32_t a
        if self._width == 128:
            self._ready()
            a = self._addr(addr)
            _check(self._t128.accum(a, _word128(delta, "delta")))
        else:
            if self._t == NULL:
                self._ready()
            a = self._addr(addr)
            _check(self._t.accum(a, _word(delta, self._mask, self._width,
                                          "delta")))
        return 0

    def rollback(self, addr, delta):
        """rollback(addr, delta) -> None: the same as accum(addr, delta)."""
        self._accum(addr, delta)

    def read(self, addr):
        """read(addr) -> int: the state at addr (IndexError if out of
        range)."""
        return self._read(addr)

    cdef object _read(self, object addr):
        cdef uint64_t v
        cdef Word128 v128
        self._ready()
        cdef uint32_t a = self._addr(addr)
        if self._width == 128:
            _check(table_read128(deref(self._t128), a, &v128))
            return _int128(v128)
        _check(table_read64(deref(self._t), a, &v))
        return v

    def swap(self, addr, new_reference=None):
        """swap(addr, new_reference=None) -> int

        SWAP at addr: returns the state; the new reference is
        new_reference or the state; accumulator cleared.
        """
        cdef uint64_t v, r
        cdef Word128 v128, r128
        self._ready()
        cdef uint32_t a = self._addr(addr)
        if self._width == 128:
            if new_reference is None:
                _check(table_swap128(deref(self._t128), a, &v128))
            else:
                r128 = _word128(new_reference, "new_reference")
                _check(table_swap_to128(deref(self._t128), a, r128, &v128))
            return _int128(v128)
        if new_reference is None:
            _check(table_swap64(deref(self._t), a, &v))
        else:
            r = _word(new_reference, self._mask, self._width,
                      "new_reference")
            _check(table_swap_to64(deref(self._t), a, r, &v))
        return v

    def context(self, addr):
        """context(addr) -> AtomikContext

        The live context at addr, as in the reference: changes through it
        are changes to the table and vice versa. The view keeps the table
        alive.
        """
        self._ready()
        cdef uint32_t a = self._addr(addr)
        cdef AtomikContext ctx = AtomikContext.__new__(AtomikContext)
        if self._width == 128:
            if self._ptrs128.empty():
                context_pointers128(deref(self._t128), &self._ptrs128)
            ctx._c128 = self._ptrs128[a]
        else:
            if self._ptrs.empty():
                context_pointers64(deref(self._t), &self._ptrs)
            ctx._c = self._ptrs[a]
        ctx._width = self._width
        ctx._mask = self._mask
        ctx._owner = self
        return ctx

    def batch_accum(self, deltas):
        """batch_accum(deltas) -> None

        Applies {addr: delta} (a dict, or an iterable of (addr, delta)
        pairs) all or nothing: every address and value is checked first.
        """
        cdef vector[pair[uint32_t, uint64_t]] v64
        cdef vector[pair[uint32_t, Word128]] v128
        self._ready()
        items = deltas.items() if isinstance(deltas, dict) else deltas
        if self._width == 128:
            for addr, delta in items:
                v128.push_back(pair[uint32_t, Word128](
                    self._addr(addr), _word128(delta, "delta")))
            _check(table_batch_accum128(deref(self._t128), v128))
        else:
            for addr, delta in items:
                v64.push_back(pair[uint32_t, uint64_t](
                    self._addr(addr),
                    _word(delta, self._mask, self._width, "delta")))
            _check(table_batch_accum64(deref(self._t), v64))

    def accum_batch(self, addrs, deltas):
        """accum_batch(addrs, deltas) -> int

        Folds deltas[i] into addrs[i] for every i, all or nothing, and
        returns the count. `addrs` is a C-contiguous uint32 buffer (e.g.
        numpy.uint32) and `deltas` a uint64 buffer of the same length, both
        read in place; or any iterables of ints. Width 128 takes iterables
        only.
        """
        cdef const uint32_t[::1] av
        cdef const uint64_t[::1] dv
        cdef vector[uint64_t] tmp
        cdef vector[uint32_t] atmp
        cdef size_t n, i
        self._ready()
        if self._width == 128:
            pairs = list(zip(addrs, deltas))
            if len(pairs) != len(addrs) or len(pairs) != len(deltas):
                raise ValueError("addrs and deltas differ in length")
            self.batch_accum(pairs)
            return len(pairs)
        av = _u32_view(addrs, &atmp)
        dv = _u64_view(deltas, &tmp, self._mask, self._width, "accum_batch")
        n = 0 if av is None else av.shape[0]
        if (0 if dv is None else <size_t>dv.shape[0]) != n:
            raise ValueError("accum_batch: %d addrs but %d deltas"
                             % (n, 0 if dv is None else dv.shape[0]))
        if n == 0:
            return 0
        if max_reduce(&av[0], n) >= self._n:
            for i in range(n):
                if av[i] >= self._n:
                    raise IndexError(
                        "addrs[%d] = %d out of range [0, %d] for "
                        "AtomikTable(num_contexts=%d)"
                        % (i, av[i], self._n - 1, self._n))
        _check_fits(dv, self._mask, self._width, "deltas")
        for i in range(n):
            _check(self._t.accum(av[i], dv[i]))
        return n

    def snapshot(self):
        """snapshot() -> dict[int, int]: {addr: state} for every state
        that is not 0."""
        self._ready()
        cdef vector[pair[uint32_t, uint64_t]] s64
        cdef vector[pair[uint32_t, Word128]] s128
        cdef size_t i
        out = {}
        if self._width == 128:
            s128 = self._t128.snapshot()
            for i in range(s128.size()):
                out[s128[i].first] = _int128(s128[i].second)
        else:
            s64 = self._t.snapshot()
            for i in range(s64.size()):
                out[s64[i].first] = s64[i].second
        return out

    @property
    def num_contexts(self):
        """The number of addresses (fixed at construction)."""
        return self._n

    @property
    def width(self):
        """Width in bits of every context."""
        return self._width

    def __len__(self):
        return self._n

    def __getitem__(self, addr):
        return self.read(addr)

    def __iter__(self):
        for a in range(self._n):
            yield self.read(a)

    def __repr__(self):
        return "AtomikTable(num_contexts=%d, width=%d, nonzero=%d)" % (
            self._n, self._width, len(self.snapshot()))


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
        "applied", "duplicate" (already applied: ignored and counted) or
        "beyond-window" (too far ahead of the origin's gap: not applied;
        resend later). The delta is identified by (origin, msg.seq), where
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


# --------------------------------------------------------------------------
# Fingerprint

cdef object _fpv(FingerprintValue v):
    return ((<object>v.high) << 64) | (<object>v.low)


cdef FingerprintValue _to_fpv(object v, int width, str what) except *:
    cdef FingerprintValue out
    if not PyLong_Check(v):
        v = _index(v, what)
    if v < 0 or (v >> width) != 0:
        _raise_word(v, width, what)
    out.high = <uint64_t>(v >> 64)
    out.low = <uint64_t>(v & _MASK64)
    return out


# Inputs at least this long are fingerprinted without the GIL.
cdef Py_ssize_t _NOGIL_BYTES = 1 << 16


cdef class Fingerprint:
    """Fingerprint(width=None, *, chunk_size=8192, key=0,
    legacy_xor_fold=False)

    Change detection for byte strings (seed pattern 3): load(reference),
    update(new), then `changed`. On atomik::Fingerprint.

    Deliberate difference from the reference: the default fingerprint is
    strong and position-aware (a 128-bit XOR over chunks of keyed XXH3-128
    hashes bound to the chunk index, plus the length), so it sees swapped
    or rotated chunks, the same bit flipped in two chunks and appended
    zeros, all of which the reference's XOR-fold misses. Its `width` is
    128. legacy_xor_fold=True reproduces the reference's XOR-fold value
    exactly (width 64 by default, any multiple of 8 up to 128): weak, for
    comparing against stored reference fingerprints only. In the strong
    mode `width` must be None or 128 (ValueError otherwise, so code that
    asked for the reference's 64-bit fold notices).

    `key` (strong mode) keys the hash: fingerprints compare equal only
    under the same key; it makes collisions costly to build for whoever
    does not know it. It is not a MAC key. Inputs are any bytes-like
    object (bytes, bytearray, memoryview, numpy array), read in place;
    large ones are hashed without the GIL.
    """

    cdef CFingerprint _fp
    cdef object __weakref__

    def __init__(self, width=None, *, chunk_size=8192, key=0,
                 legacy_xor_fold=False):
        cdef Status st
        cdef CFingerprint fp
        if legacy_xor_fold:
            if width is None:
                width = 64
            if not PyLong_Check(width) or isinstance(width, bool):
                raise TypeError("width must be an int, got %s"
                                % type(width).__name__)
            if width < 8 or width > 128 or width % 8 != 0:
                raise ValueError("legacy XOR-fold width must be a multiple of "
                                 "8 in [8, 128], got %d" % width)
            if key != 0:
                raise ValueError("key applies to the strong mode only; the "
                                 "legacy XOR-fold has no key")
            st = fingerprint_create(2, 8192, 0, <unsigned>width, &fp)
        else:
            if width is not None and width != 128:
                raise ValueError(
                    "the strong fingerprint is 128-bit, got width=%r; pass "
                    "legacy_xor_fold=True for the reference's (weak) %r-bit "
                    "XOR-fold" % (width, width))
            st = fingerprint_create(1, _count(chunk_size, "chunk_size"),
                                    _count(key, "key"), 64, &fp)
        _check(st)
        self._fp = fp

    cdef FingerprintValue _run(self, object data, bint load) except *:
        cdef Py_buffer view
        cdef CFingerprint tmp
        cdef FingerprintValue v
        _get_bytes(data, &view, "data")
        try:
            if view.len >= _NOGIL_BYTES:
                # Hash a copy without the GIL, then publish it with the GIL
                # held: concurrent callers each leave a consistent state.
                tmp = self._fp
                with nogil:
                    if load:
                        v = fingerprint_load(tmp, _buf(&view), <size_t>view.len)
                    else:
                        v = fingerprint_update(tmp, _buf(&view),
                                               <size_t>view.len)
                self._fp = tmp
            elif load:
                v = fingerprint_load(self._fp, _buf(&view), <size_t>view.len)
            else:
                v = fingerprint_update(self._fp, _buf(&view), <size_t>view.len)
        finally:
            PyBuffer_Release(&view)
        return v

    def load(self, data):
        """load(data) -> int

        Fingerprints data and makes it the reference (changed is False
        after). Returns the value. O(len(data)).
        """
        return _fpv(self._run(data, True))

    def update(self, data):
        """update(data) -> int

        Fingerprints data as the current data; the reference stays.
        `changed` tells whether it differs. Returns data's value.
        """
        return _fpv(self._run(data, False))

    @property
    def changed(self):
        """True if the current data's fingerprint differs from the
        reference's."""
        return self._fp.changed()

    @property
    def value(self):
        """The current data's fingerprint (an int of `width` bits)."""
        return _fpv(self._fp.value())

    @property
    def reference(self):
        """The reference's fingerprint (set by load or reset)."""
        return _fpv(self._fp.reference())

    @property
    def delta(self):
        """reference ^ value: 0 if and only if unchanged."""
        return _fpv(self._fp.delta())

    @property
    def width(self):
        """128 in the strong mode; the legacy width otherwise."""
        return self._fp.width()

    @property
    def length(self):
        """Length in bytes of the current data."""
        return self._fp.length()

    @property
    def chunk_size(self):
        """Strong mode: the chunk size; legacy: width / 8."""
        return self._fp.chunk_size()

    @property
    def keyed(self):
        """True if made with a non-zero key."""
        return self._fp.keyed()

    @property
    def mode(self):
        """"strong" or "legacy-xor-fold"."""
        return "legacy-xor-fold" if fingerprint_mode(self._fp) == 2 \
            else "strong"

    def reset(self):
        """reset() -> None

        Makes the current data the reference: changed becomes False.
        (The reference cleared its accumulator, leaving `value` at the old
        reference; here `value` keeps describing the current data.)
        """
        self._fp.reset()

    def accumulate_delta(self, old_chunk, new_chunk):
        """accumulate_delta(old_chunk, new_chunk) -> None

        Legacy mode only, as the reference: XORs old_chunk ^ new_chunk into
        the current value. In the strong mode a chunk's contribution depends
        on its position, so this is a RuntimeError: use update_range().
        """
        cdef int w = self._fp.width()
        _check(self._fp.accumulate_delta(_to_fpv(old_chunk, w, "old_chunk"),
                                         _to_fpv(new_chunk, w, "new_chunk")))

    def update_range(self, offset, old_bytes, new_bytes):
        """update_range(offset, old_bytes, new_bytes) -> None

        The bytes at [offset, offset + len(old_bytes)) of the current data
        changed from old_bytes to new_bytes (same length). Strong mode: the
        range must cover whole chunks (offset a multiple of chunk_size).
        Costs two chunk hashes per chunk, not a pass over the data; value
        afterwards equals a full recompute. ValueError (sizes, alignment)
        or IndexError (past the end); nothing changes on error.
        """
        cdef Py_buffer a, b
        cdef uint64_t off = _count(offset, "offset")
        cdef Status st
        _get_bytes(old_bytes, &a, "old_bytes")
        try:
            _get_bytes(new_bytes, &b, "new_bytes")
            try:
                st = fingerprint_update_range(self._fp, off, _buf(&a),
                                              <size_t>a.len, _buf(&b),
                                              <size_t>b.len)
            finally:
                PyBuffer_Release(&b)
        finally:
            PyBuffer_Release(&a)
        _check(st)

    def update_range_in_place(self, data_after, offset, old_bytes):
        """update_range_in_place(data_after, offset, old_bytes) -> None

        The same for an edit made in place: data_after is the whole current
        data after the edit and old_bytes what [offset, offset +
        len(old_bytes)) held before. Any offset and size.
        """
        cdef Py_buffer a, b
        cdef uint64_t off = _count(offset, "offset")
        cdef Status st
        _get_bytes(data_after, &a, "data_after")
        try:
            _get_bytes(old_bytes, &b, "old_bytes")
            try:
                st = fingerprint_update_range_in_place(
                    self._fp, _buf(&a), <size_t>a.len, off, _buf(&b),
                    <size_t>b.len)
            finally:
                PyBuffer_Release(&b)
        finally:
            PyBuffer_Release(&a)
        _check(st)

    def equals(self, Fingerprint other not None):
        """equals(other) -> bool: same mode, parameters and key, and equal
        current values."""
        return self._fp.equals(other._fp)

    def canonical(self):
        """canonical() -> bytes: the 20-byte canonical form of value
        (docs/format/fingerprint.md)."""
        cdef unsigned char out[20]
        fingerprint_canonical(self._fp, out)
        return PyBytes_FromStringAndSize(<char*>out, 20)

    def canonical_hex(self):
        """canonical_hex() -> str: the 40 hex digits of canonical()."""
        return self._fp.canonical_hex().decode("ascii")

    @staticmethod
    def parse_canonical(data):
        """parse_canonical(data) -> dict with mode, param, keyed, value

        Decodes a 20-byte canonical fingerprint. ValueError for another
        length, NotImplementedError for another version, CorruptionError
        (a ValueError) for a bad field.
        """
        cdef Py_buffer view
        cdef int mode = 0
        cdef uint64_t param = 0
        cdef cbool keyed = False
        cdef FingerprintValue v
        cdef Status st
        _get_bytes(data, &view, "data")
        st = fingerprint_parse_canonical(_buf(&view), <size_t>view.len, &mode,
                                         &param, &keyed, &v)
        PyBuffer_Release(&view)
        _check(st)
        return {"mode": "legacy-xor-fold" if mode == 2 else "strong",
                "param": param, "keyed": keyed, "value": _fpv(v)}

    def __repr__(self):
        return "Fingerprint(value=0x%0*x, changed=%s, width=%d, mode=%s)" % (
            self._fp.width() // 4, self.value, self.changed,
            self._fp.width(), self.mode)


cdef class FingerprintGate:
    """FingerprintGate(*, chunk_size=8192, key=0)

    The seed's polling loop as a class: check(sample) returns True when the
    sample differs from the previous one (act), False when it is a repeat
    (skip), counting both. Keeps one fingerprint, never a copy of the data.
    """

    cdef CFingerprintGate _g

    def __init__(self, *, chunk_size=8192, key=0):
        cdef CFingerprintGate g
        _check(gate_create(1, _count(chunk_size, "chunk_size"),
                           _count(key, "key"), 64, &g))
        self._g = g

    def check(self, sample):
        """check(sample) -> bool: True (changed: act) for the first sample
        or one that differs from the previous; False (skip) otherwise."""
        cdef Py_buffer view
        cdef cbool r
        _get_bytes(sample, &view, "sample")
        r = gate_check(self._g, _buf(&view), <size_t>view.len)
        PyBuffer_Release(&view)
        return r

    @property
    def checks(self):
        """Samples checked."""
        return self._g.checks()

    @property
    def changes(self):
        """Samples that differed from the previous one (acted on)."""
        return self._g.changes()

    @property
    def skips(self):
        """Samples that repeated the previous one (skipped)."""
        return self._g.skips()

    @property
    def last(self):
        """The last sample's fingerprint, or None before the first."""
        cdef FingerprintValue v
        if not gate_last(self._g, &v):
            return None
        return _fpv(v)

    def __repr__(self):
        return "FingerprintGate(checks=%d, changes=%d, skips=%d)" % (
            self._g.checks(), self._g.changes(), self._g.skips())


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
        exactly once (see DeltaStream.apply) and returns "applied",
        "duplicate" or "beyond-window". Does not fire on_delta."""
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


# --------------------------------------------------------------------------
# PersistentSyncTable

_SYNC_POLICIES = {"every-record": 0, "group": 1, "none": 2}
_RECOVERY_MODES = {"strict": 0, "skip": 1}


cdef class PersistentSyncTable:
    """PersistentSyncTable(num_contexts=256, path="state.wal", on_delta=None,
    width=64, *, sync="every-record", recovery="strict", origin=0)

    A SyncTable whose changes survive a crash, on atomik::PersistentTable:
    every put/receive is a checksummed write-ahead-log record carrying
    (origin, seq), acknowledged per `sync` ("every-record": fdatasync
    before returning; "group": shared fdatasyncs; "none": survives a
    process crash only). Reopening the same path recovers exactly the
    acknowledged state; compact() writes a checkpoint and trims the log.

    Deliberate differences from the reference (whose raw 16-byte records
    had no checksum and no seq): `path` is a directory (created if
    missing) holding WAL segments and a checkpoint; a damaged record is a
    CorruptionError naming the file and offset (recovery="skip" salvages
    and reports instead); replay never applies a record twice. receive()
    applies each origin's messages exactly once and in order: a duplicate
    returns False, a gap is a RuntimeError (reorder with a DeltaStream
    first). Widths 8..64 (values checked); 128 is a ValueError.
    """

    cdef PersistentTable* _t
    cdef object _callback
    cdef uint64_t _n
    cdef uint64_t _mask
    cdef int _width
    cdef object _path

    def __cinit__(self, *args, **kwargs):
        self._t = NULL

    def __dealloc__(self):
        if self._t != NULL:
            self._t.close()
            del self._t
            self._t = NULL

    def __init__(self, num_contexts=256, path="state.wal", on_delta=None,
                 width=64, *, sync="every-record", recovery="strict",
                 origin=0):
        cdef int w = _check_width(width)
        cdef Status st
        cdef PersistentTable* t
        if w == 128:
            raise ValueError("PersistentSyncTable supports widths 8 to 64")
        if self._t != NULL:
            raise TypeError("PersistentSyncTable is already initialised")
        n = _index(num_contexts, "num_contexts")
        if n < 1:
            raise ValueError("num_contexts must be >= 1, got %d" % n)
        if sync not in _SYNC_POLICIES:
            raise ValueError("sync must be one of %s, got %r"
                             % (", ".join(_SYNC_POLICIES), sync))
        if recovery not in _RECOVERY_MODES:
            raise ValueError("recovery must be 'strict' or 'skip', got %r"
                             % (recovery,))
        p = os.fspath(path)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if not os.path.exists(p):
            os.makedirs(p, exist_ok=True)
        if os.path.isfile(p):
            raise ValueError(
                "path %r is a file (a reference WAL?): atomik stores a "
                "directory of checksummed WAL segments and checkpoints; "
                "choose a new path" % p)
        t = persistent_open(p.encode(), _count(n, "num_contexts"),
                            _SYNC_POLICIES[sync], _RECOVERY_MODES[recovery],
                            1024, _count(origin, "origin"), &st)
        if t == NULL:
            _raise_status(st)
        self._t = t
        self._n = n
        self._width = w
        self._mask = _mask_of(w)
        self._path = p
        self.on_delta(on_delta)

    cdef int _ready(self) except -1:
        if self._t == NULL:
            raise ValueError("PersistentSyncTable is closed")
        return 0

    cdef uint32_t _addr(self, object addr) except? 0xFFFFFFFF:
        if not PyLong_Check(addr):
            addr = _index(addr, "addr")
        if addr < 0 or addr >= self._n:
            raise IndexError("address %d out of range [0, %d] for "
                             "PersistentSyncTable(num_contexts=%d)"
                             % (addr, self._n - 1, self._n))
        return <uint32_t>addr

    def on_delta(self, callback):
        """on_delta(callback) -> None: as SyncTable.on_delta."""
        if callback is not None and not callable(callback):
            raise TypeError("on_delta: callback must be callable, got %s"
                            % type(callback).__name__)
        self._callback = callback

    def get(self, addr):
        """get(addr) -> int: the state at addr."""
        cdef uint64_t v
        self._ready()
        _check(persistent_read(deref(self._t), self._addr(addr), &v))
        return v

    def put(self, addr, value):
        """put(addr, value) -> DeltaMessage

        Writes value at addr as a logged delta (old ^ new), returns once it
        is acknowledged per `sync`, then fires on_delta. An unchanged value
        logs and fires nothing (delta 0).
        """
        self._ready()
        cdef uint32_t a = self._addr(addr)
        cdef uint64_t v = _word(value, self._mask, self._width, "value")
        cdef uint64_t cur
        _check(persistent_read(deref(self._t), a, &cur))
        if cur == v:
            return _new_message(a, 0, <uint32_t>min(
                persistent_own_seq(deref(self._t)), 0xFFFFFFFF), 0,
                self._t.origin())
        _check(self._t.accum(a, cur ^ v))
        seq = persistent_own_seq(deref(self._t))
        if seq > 0xFFFFFFFF:
            raise OverflowError("seq %d does not fit the 16-byte message"
                                % seq)
        msg = _new_message(a, cur ^ v, <uint32_t>seq, 0, self._t.origin())
        if self._callback is not None:
            self._callback(msg)
        return msg

    def receive(self, DeltaMessage msg not None, origin=None):
        """receive(msg, origin=None) -> bool

        Logs and applies a peer's delta exactly once: True if applied,
        False for a duplicate (nothing logged). origin: the argument, else
        msg.origin, else 0 (one legacy peer). A seq that skips ahead of the
        origin's next one is a RuntimeError; seq 0 a ValueError.
        """
        cdef cbool applied = False
        cdef uint64_t o
        self._ready()
        if origin is None:
            origin = msg._origin
        o = 0 if origin is None else _count(origin, "origin")
        if msg._delta > self._mask:
            _raise_word(msg._delta, self._width, "msg.delta")
        _check(persistent_apply(deref(self._t), o, msg._seq,
                                self._addr(msg._addr), msg._delta, &applied))
        return applied

    def snapshot(self):
        """snapshot() -> dict[int, int]: every address, zeros included."""
        cdef vector[pair[uint32_t, uint64_t]] s
        cdef size_t i
        self._ready()
        _check(persistent_snapshot(deref(self._t), &s))
        out = dict.fromkeys(range(self._n), 0)
        for i in range(s.size()):
            out[s[i].first] = s[i].second
        return out

    def connect_websocket(self, url, **options):
        """connect_websocket(url, **options) -> WebSocketHandle: replicates
        this table through the WebSocket server at url until the handle is
        closed (atomik_core.websocket.connect_websocket; python3-websockets).
        """
        from atomik_core.websocket import connect_websocket
        return connect_websocket(self, url, **options)

    def diff(self, other):
        """diff(other) -> list[int]: sorted addresses whose states differ."""
        if not isinstance(other, (SyncTable, PersistentSyncTable)):
            raise TypeError("diff: expected a SyncTable, got %s"
                            % type(other).__name__)
        n = min(self._n, other.num_contexts)
        mine = self.snapshot()
        return [a for a in range(n) if mine[a] != other.get(a)]

    def compact(self):
        """compact() -> int

        Writes the whole table as a checkpoint (temp file, fsync, rename,
        directory fsync) and deletes the WAL segments it covers; returns
        the epoch number. On failure the old checkpoint and the WAL stay.
        """
        cdef uint64_t epoch = 0
        cdef vector[pair[uint32_t, uint64_t]] states
        self._ready()
        _check(persistent_swap(deref(self._t), &epoch, &states))
        return epoch

    def sync(self):
        """sync() -> None: forces every logged change to disk now."""
        self._ready()
        _check(self._t.sync())

    def close(self):
        """close() -> None: syncs and closes the log (idempotent); later
        calls are a ValueError."""
        cdef Status st
        if self._t == NULL:
            return
        st = self._t.close()
        del self._t
        self._t = NULL
        _check(st)

    @property
    def closed(self):
        """True after close()."""
        return self._t == NULL

    @property
    def recovery_report(self):
        """What opening found: {"summary", "segments", "records_ok",
        "records_dropped", "bytes_dropped", "torn_bytes", "duplicates",
        "problems"}."""
        self._ready()
        cdef const RecoveryReport* r = &self._t.recovery_report()
        cdef size_t i
        return {"summary": r.summary().decode("utf-8", "replace"),
                "segments": r.segments, "records_ok": r.records_ok,
                "records_dropped": r.records_dropped,
                "bytes_dropped": r.bytes_dropped,
                "torn_bytes": r.torn_bytes, "duplicates": r.duplicates,
                "problems": [r.problems[i].decode("utf-8", "replace")
                             for i in range(r.problems.size())]}

    @property
    def epoch(self):
        """Checkpoints written (compact() calls)."""
        self._ready()
        return self._t.epoch()

    @property
    def origin(self):
        """This table's origin id (stored with the table)."""
        self._ready()
        return self._t.origin()

    @property
    def path(self):
        """The data directory."""
        return self._path

    @property
    def num_contexts(self):
        """The number of addresses (fixed when created)."""
        return self._n

    @property
    def width(self):
        """Width in bits of every state."""
        return self._width

    def __len__(self):
        return self._n

    def __iter__(self):
        return iter(range(self._n))

    def __contains__(self, addr):
        return PyLong_Check(addr) and 0 <= addr < self._n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        if self._t == NULL:
            return "PersistentSyncTable(path=%r, closed)" % self._path
        active = sum(1 for v in self.snapshot().values() if v != 0)
        return ("PersistentSyncTable(num_contexts=%d, width=%d, active=%d, "
                "path=%r)" % (self._n, self._width, active, self._path))


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


# --------------------------------------------------------------------------
# Fast methods. Cython 0.29 binds a one-argument method as METH_O (fast, but
# it refuses keywords: `ctx.accum(delta=1)` would fail) and any other as
# METH_VARARGS | METH_KEYWORDS (a tuple and a dict built per call: about
# twice the cost of the work). The hot methods are therefore also written as
# METH_FASTCALL | METH_KEYWORDS functions (CPython's vectorcall convention,
# the one its own builtins use) and installed over the Cython versions once
# the classes exist: positional calls take a fast path and keywords work as
# in the reference. The `def` versions above stay the documented source of
# each method's behaviour; both call the same cdef implementation.

cdef extern from "Python.h":
    ctypedef PyObject* (*PyCFunction)(PyObject*, PyObject*)
    ctypedef struct PyMethodDef:
        const char* ml_name
        PyCFunction ml_meth
        int ml_flags
        const char* ml_doc
    int METH_FASTCALL
    int METH_KEYWORDS
    object PyDescr_NewMethod(PyTypeObject*, PyMethodDef*)
    object PyDescr_NewClassMethod(PyTypeObject*, PyMethodDef*)
    int METH_CLASS
    void PyType_Modified(PyTypeObject*)
    ctypedef struct _TypeWithDict "PyTypeObject":
        PyObject* tp_dict
    Py_ssize_t PyTuple_GET_SIZE(PyObject*)
    PyObject* PyTuple_GET_ITEM(PyObject*, Py_ssize_t)

ctypedef object (*_fastcall_t)(object, PyObject**, Py_ssize_t, PyObject*)

# The method definitions must outlive the module: they are allocated once
# and their name and doc strings are kept here.
_fast_keep = []


cdef int _parse_args(str fname, tuple names, Py_ssize_t nreq,
                     PyObject** args, Py_ssize_t nargs, PyObject* kwnames,
                     PyObject** out) except -1:
    """Binds vectorcall arguments to `names` (borrowed references in `out`,
    NULL for an optional one not given), with Python's own error messages."""
    cdef Py_ssize_t n = len(names), i, j, nkw
    if nargs > n:
        raise TypeError("%s() takes %d positional argument%s but %d were "
                        "given" % (fname, n, "" if n == 1 else "s", nargs))
    for i in range(n):
        out[i] = args[i] if i < nargs else NULL
    if kwnames != NULL:
        nkw = PyTuple_GET_SIZE(kwnames)
        for j in range(nkw):
            key = <object>PyTuple_GET_ITEM(kwnames, j)
            if key not in names:
                raise TypeError("%s() got an unexpected keyword argument %r"
                                % (fname, key))
            i = names.index(key)
            if out[i] != NULL:
                raise TypeError("%s() got multiple values for argument %r"
                                % (fname, key))
            out[i] = args[nargs + j]
    for i in range(nreq):
        if out[i] == NULL:
            raise TypeError("%s() missing required argument %r (pos %d)"
                            % (fname, names[i], i + 1))
    return 0


cdef _install_fast(type cls, str name, _fastcall_t fn, str params,
                   bint classmethod=False):
    """Installs fn as cls.<name> (a classmethod if asked), keeping the def
    version's docstring and giving inspect.signature() `params`."""
    cdef PyMethodDef* d = <PyMethodDef*>PyMem_Malloc(sizeof(PyMethodDef))
    if d == NULL:
        raise MemoryError()
    doc = getattr(cls, name).__doc__ or ""
    first, _, rest = doc.partition("\n")
    bname = name.encode()
    bdoc = ("%s(%s, /, %s)\n--\n\n%s\n%s" % (
        name, "$cls" if classmethod else "$self", params, first,
        rest)).encode()
    _fast_keep.append((bname, bdoc))
    d.ml_name = bname
    d.ml_meth = <PyCFunction><void*>fn
    d.ml_flags = METH_FASTCALL | METH_KEYWORDS
    d.ml_doc = bdoc
    if classmethod:
        d.ml_flags |= METH_CLASS
        descr = PyDescr_NewClassMethod(<PyTypeObject*>cls, d)
    else:
        descr = PyDescr_NewMethod(<PyTypeObject*>cls, d)
    (<dict>(<object>(<_TypeWithDict*>cls).tp_dict))[name] = descr
    PyType_Modified(<PyTypeObject*>cls)


cdef object _fast_ctx_accum(object self, PyObject** args, Py_ssize_t nargs,
                            PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._accum(<object>args[0])
        return None
    _parse_args("accum", ("delta",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._accum(<object>a[0])
    return None


cdef object _fast_ctx_load(object self, PyObject** args, Py_ssize_t nargs,
                           PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._load(<object>args[0])
        return None
    _parse_args("load", ("value",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._load(<object>a[0])
    return None


cdef object _fast_ctx_rollback(object self, PyObject** args, Py_ssize_t nargs,
                               PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        (<AtomikContext>self)._rollback(<object>args[0])
        return None
    _parse_args("rollback", ("delta",), 1, args, nargs, kwnames, a)
    (<AtomikContext>self)._rollback(<object>a[0])
    return None


cdef object _fast_table_accum(object self, PyObject** args, Py_ssize_t nargs,
                              PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        (<AtomikTable>self)._accum(<object>args[0], <object>args[1])
        return None
    _parse_args("accum", ("addr", "delta"), 2, args, nargs, kwnames, a)
    (<AtomikTable>self)._accum(<object>a[0], <object>a[1])
    return None


cdef object _fast_table_load(object self, PyObject** args, Py_ssize_t nargs,
                             PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        (<AtomikTable>self)._load(<object>args[0], <object>args[1])
        return None
    _parse_args("load", ("addr", "initial_state"), 2, args, nargs, kwnames,
                a)
    (<AtomikTable>self)._load(<object>a[0], <object>a[1])
    return None


cdef object _fast_table_read(object self, PyObject** args, Py_ssize_t nargs,
                             PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return (<AtomikTable>self)._read(<object>args[0])
    _parse_args("read", ("addr",), 1, args, nargs, kwnames, a)
    return (<AtomikTable>self)._read(<object>a[0])


cdef object _fast_stream_accum(object self, PyObject** args,
                               Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and nargs == 2:
        return (<DeltaStream>self)._accum(<object>args[0], <object>args[1])
    _parse_args("accum", ("addr", "delta"), 2, args, nargs, kwnames, a)
    return (<DeltaStream>self)._accum(<object>a[0], <object>a[1])


cdef object _fast_stream_apply(object self, PyObject** args,
                               Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[2]
    if kwnames == NULL and (nargs == 1 or nargs == 2):
        a[0] = args[0]
        a[1] = args[1] if nargs == 2 else NULL
    else:
        _parse_args("apply", ("msg", "origin"), 1, args, nargs, kwnames, a)
    msg = <object>a[0]
    if not isinstance(msg, DeltaMessage):
        raise TypeError("apply: msg must be a DeltaMessage, got %s"
                        % type(msg).__name__)
    return (<DeltaStream>self)._apply(
        <DeltaMessage>msg, None if a[1] == NULL else <object>a[1])


cdef object _fast_stream_read(object self, PyObject** args, Py_ssize_t nargs,
                              PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return (<DeltaStream>self)._read(<object>args[0])
    _parse_args("read", ("addr",), 1, args, nargs, kwnames, a)
    return (<DeltaStream>self)._read(<object>a[0])


cdef object _fast_message_from_bytes(object cls, PyObject** args,
                                     Py_ssize_t nargs, PyObject* kwnames):
    cdef PyObject* a[1]
    if kwnames == NULL and nargs == 1:
        return _message_from_bytes(cls, <object>args[0])
    _parse_args("from_bytes", ("data",), 1, args, nargs, kwnames, a)
    return _message_from_bytes(cls, <object>a[0])


_install_fast(AtomikContext, "accum", _fast_ctx_accum, "delta")
_install_fast(AtomikContext, "load", _fast_ctx_load, "value")
_install_fast(AtomikContext, "rollback", _fast_ctx_rollback, "delta")
_install_fast(AtomikTable, "accum", _fast_table_accum, "addr, delta")
_install_fast(AtomikTable, "load", _fast_table_load, "addr, initial_state")
_install_fast(AtomikTable, "read", _fast_table_read, "addr")
_install_fast(DeltaStream, "accum", _fast_stream_accum, "addr, delta")
_install_fast(DeltaStream, "apply", _fast_stream_apply, "msg, origin=None")
_install_fast(DeltaStream, "read", _fast_stream_read, "addr")
_install_fast(DeltaMessage, "from_bytes", _fast_message_from_bytes, "data",
              classmethod=True)
