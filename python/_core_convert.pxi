# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): Conversions and errors.

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
