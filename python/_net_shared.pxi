# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# SharedContext: a context in POSIX shared memory.

_GROUPS = ("xor", "add")


cdef class SharedContext:
    """A context in POSIX shared memory, written by many processes at once.

    SharedContext.create(name, initial_state=0, *, width=64, group="xor",
    max_writers=64) makes the segment (FileExistsError-like OSError if it
    exists); SharedContext.open(name, *, width=64, group="xor") attaches to
    it (width and group must match what created it). name is "/something".
    group "add" makes it a counter: accum(1) counts, rollback undoes.
    accum is lock-free per writer; read/swap/load take the segment's lock
    (with the GIL released). unlink(name) removes the segment name.
    """

    cdef SharedHandle* _h
    cdef object _name
    cdef int _width
    cdef str _group
    cdef uint64_t _mask

    def __cinit__(self):
        self._h = NULL

    def __init__(self):
        raise TypeError("use SharedContext.create(name, ...) or "
                        "SharedContext.open(name, ...)")

    def __dealloc__(self):
        cdef SharedHandle* h = self._h
        self._h = NULL
        if h != NULL:
            with nogil:
                del h  # detaching may wait for the segment lock

    @staticmethod
    cdef SharedContext _make(cbool create, object name, object initial_state,
                             object width, object group, object max_writers):
        if width not in (8, 16, 32, 64):
            raise ValueError("width must be 8, 16, 32 or 64, got %r" % (width,))
        if group not in _GROUPS:
            raise ValueError("group must be 'xor' or 'add', got %r" % (group,))
        mask = (1 << width) - 1
        init = initial_state.__index__()
        if init < 0 or init > mask:
            raise OverflowError("initial_state %d does not fit %d bits"
                                % (init, width))
        if max_writers < 1:
            raise ValueError("max_writers must be >= 1")
        cdef string n = _str(name, "name")
        cdef int w = width
        cdef cbool add = group == "add"
        cdef uint64_t i = init
        cdef size_t mw = max_writers
        cdef Status st
        cdef SharedHandle* h
        with nogil:
            h = shared_open(create, n, w, add, i, mw, &st)
        if h == NULL:
            _raise_status(st)
        cdef SharedContext c = SharedContext.__new__(SharedContext)
        c._h = h
        c._name = name
        c._width = width
        c._group = group
        c._mask = mask
        return c

    @staticmethod
    def create(name, initial_state=0, *, width=64, group="xor",
               max_writers=64):
        """create(name, initial_state=0, *, width=64, group="xor",
        max_writers=64) -> SharedContext: a new segment."""
        return SharedContext._make(True, name, initial_state, width, group,
                                   max_writers)

    @staticmethod
    def open(name, *, width=64, group="xor"):
        """open(name, *, width=64, group="xor") -> SharedContext: attaches
        to an existing segment (FileNotFoundError if there is none)."""
        return SharedContext._make(False, name, 0, width, group, 64)

    @staticmethod
    def unlink(name):
        """unlink(name) -> None: removes the segment's name (attached
        contexts keep working)."""
        cdef string n = _str(name, "name")
        cdef Status st
        with nogil:
            st = shared_unlink(n)
        _check(st)

    cdef SharedHandle* _get(self) except NULL:
        if self._h == NULL:
            raise RuntimeError("SharedContext not attached (use create or open)")
        return self._h

    cdef uint64_t _val(self, object v, str what) except? 0xFFFFFFFFFFFFFFFF:
        self._get()
        x = v.__index__()
        if x < 0 or x > self._mask:
            raise OverflowError("%s %d does not fit %d bits"
                                % (what, x, self._width))
        return x

    def accum(self, delta):
        """accum(delta) -> None: folds delta in (XOR, or + for "add")."""
        cdef uint64_t d = self._val(delta, "delta")
        if self._h.has_own_cell():
            self._h.accum(d)  # lock-free: atomics in this writer's cell
        else:
            with nogil:
                self._h.accum(d)  # out of cells: under the segment lock

    def rollback(self, delta):
        """rollback(delta) -> None: undoes accum(delta)."""
        cdef uint64_t d = self._val(delta, "delta")
        if self._h.has_own_cell():
            self._h.rollback(d)
        else:
            with nogil:
                self._h.rollback(d)

    def read(self):
        """read() -> int: the state, from every writer's deltas."""
        cdef uint64_t out = 0
        cdef Status st
        cdef SharedHandle* h = self._get()
        with nogil:
            st = h.read(&out)
        _check(st)
        return out

    def swap(self, new_reference=None):
        """swap(new_reference=None) -> int: closes an epoch; returns the
        state, which (or new_reference) becomes the reference."""
        cdef cbool has = new_reference is not None
        cdef uint64_t ref = self._val(new_reference, "new_reference") if has else 0
        cdef uint64_t out = 0
        cdef Status st
        cdef SharedHandle* h = self._get()
        with nogil:
            st = h.swap(has, ref, &out)
        _check(st)
        return out

    def load(self, value):
        """load(value) -> None: sets the reference, drops pending deltas."""
        cdef uint64_t v = self._val(value, "value")
        cdef Status st
        cdef SharedHandle* h = self._h
        with nogil:
            st = h.load(v)
        _check(st)

    @property
    def name(self):
        """The segment's name ("/something")."""
        return self._name

    @property
    def width(self):
        """Bits per value: 8, 16, 32 or 64."""
        return self._width

    @property
    def group(self):
        """"xor" or "add": how deltas combine (XOR, or + mod 2^width)."""
        return self._group

    @property
    def reference(self):
        """The reference (the state at the last swap or load)."""
        cdef uint64_t out = 0
        cdef Status st
        cdef SharedHandle* h = self._get()
        with nogil:
            st = h.reference(&out)
        _check(st)
        return out

    @property
    def delta_count(self):
        """Deltas accumulated since the last swap or load, by every
        writer."""
        cdef uint64_t out = 0
        cdef Status st
        cdef SharedHandle* h = self._get()
        with nogil:
            st = h.delta_count(&out)
        _check(st)
        return out

    @property
    def max_writers(self):
        """Writer cells in the segment (fixed by create); a writer beyond
        them accumulates under the lock."""
        return self._get().max_writers()

    @property
    def has_own_cell(self):
        """False when every writer cell was taken: accum then locks."""
        return self._get().has_own_cell()

    def __repr__(self):
        return "SharedContext(%r, width=%d, group=%r)" % (
            self._name, self._width, self._group)
