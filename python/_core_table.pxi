# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): AtomikTable.

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
