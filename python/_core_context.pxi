# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): AtomikContext.

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
    keep the reference's masking. ``with ctx:`` resets it on exit, as
    the reference does.

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

        {"width", "reference", "accumulator", "delta_count", "state"}:
        everything from_snapshot() needs to rebuild this context exactly,
        plus "state" (= read(), as in the reference).
        """
        return {"width": self._width, "reference": self.reference,
                "accumulator": self.accumulator,
                "delta_count": self.delta_count, "state": self.read()}

    @classmethod
    def from_snapshot(cls, snapshot):
        """from_snapshot(snapshot) -> AtomikContext

        Rebuilds a context from snapshot(). Missing keys are a ValueError;
        values are checked like load() (OverflowError). A "state" that
        differs from reference ^ accumulator is inconsistent (ValueError;
        "state" may be absent). A non-zero accumulator with a delta_count
        of 0 is accepted: _set_accumulator() makes such contexts.
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
            ctx._c128.accum(acc128)
            _add_count128(ctx._c128, n - 1)  # wraps to 0 when n == 0
        else:
            acc = _word(snapshot["accumulator"], ctx._mask, ctx._width,
                        "accumulator")
            ctx._c.accum(acc)
            _add_count64(ctx._c, n - 1)  # wraps to 0 when n == 0
        if "state" in snapshot and snapshot["state"] != ctx.read():
            raise ValueError("inconsistent snapshot: state %r is not "
                             "reference ^ accumulator (%r)"
                             % (snapshot["state"], ctx.read()))
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
        """`with ctx as c:` gives the context itself; see __exit__."""
        return self

    def __exit__(self, *exc):
        """Leaving the block resets the context, as the reference does:
        reference, accumulator and delta_count become 0 (reset()), also
        when the block raised (the exception propagates). A scratch
        context, not a transaction: read what you need inside the block."""
        self.reset()
        return False

    def _set_accumulator(self, value):
        """_set_accumulator(value) -> None

        The reference's private helper: sets the accumulator to value and
        delta_count to 0, keeping the reference. OverflowError (nothing
        changes) if value does not fit the width.
        """
        cdef uint64_t v
        cdef Word128 v128
        cdef Word128 r128
        cdef uint64_t r
        if self._width == 128:
            v128 = _word128(value, "value")
            r128 = self._c128.reference()
            self._c128.load(r128)
            self._c128.accum(v128)
            _add_count128(self._c128, _ALL_ONES)  # count 1 + (2**64-1) = 0
        else:
            v = _word(value, self._mask, self._width, "value")
            r = self._c.reference()
            self._c.load(r)
            self._c.accum(v)
            _add_count64(self._c, _ALL_ONES)  # count 1 + (2**64-1) = 0

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
