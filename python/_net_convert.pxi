# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# Argument conversion and the mapping of Status codes to exceptions.

def _corruption_error():
    # atomik_core's CorruptionError (a ValueError); looked up when raised, as
    # the package imports this module while it is being built.
    try:
        from atomik_core import CorruptionError
        return CorruptionError
    except ImportError:
        return ValueError


cdef object _raise_status(const Status& st):
    """Raises the Python exception for a non-OK atomik Status."""
    cdef int code = status_code(st)
    msg = status_message(st).decode("utf-8", "replace")
    if code == 3:
        raise ValueError(msg)
    elif code == 5:
        raise FileNotFoundError(msg)
    elif code == 8:
        raise RuntimeError("resource exhausted: " + msg)
    elif code == 9:
        raise RuntimeError(msg)
    elif code == 11:
        raise IndexError(msg)
    elif code == 12:
        raise NotImplementedError(msg)
    elif code == 14:
        raise ConnectionError(msg)
    elif code == 15:
        raise _corruption_error()(msg)
    elif code == 16:
        raise OSError(msg)
    raise RuntimeError("atomik error %d: %s" % (code, msg))


cdef inline int _check(const Status& st) except -1:
    if not st.ok():
        _raise_status(st)
    return 0


cdef uint32_t _addr(object addr) except? 0xFFFFFFFF:
    a = addr.__index__()
    if a < 0 or a > 0xFFFFFFFF:
        raise IndexError("address %d outside 0..2^32-1" % a)
    return a


cdef uint64_t _u64(object v, str what) except? 0xFFFFFFFFFFFFFFFF:
    x = v.__index__()
    if x < 0 or x > _MASK64:
        raise OverflowError("%s %d does not fit 64 bits" % (what, x))
    return x


cdef string _str(object s, str what) except *:
    if not isinstance(s, (str, _os.PathLike)):
        raise TypeError("%s: expected a str, got %s" % (what, type(s).__name__))
    return _os.fsencode(s)


cdef string _key(object key) except *:
    if key is None:
        return string()
    if isinstance(key, str):
        key = bytes.fromhex(key.strip())
    key = bytes(key)
    if len(key) != NODE_KEY_SIZE:
        raise ValueError("key: expected %d bytes (or 64 hex digits), got %d"
                         % (NODE_KEY_SIZE, len(key)))
    return key


cdef int _sync_policy(object sync) except -1:
    if sync not in _SYNC:
        raise ValueError("sync: expected one of %s, got %r"
                         % (", ".join(sorted(_SYNC)), sync))
    return _SYNC[sync]


cdef object _batch(object deltas, vector[uint32_t]* addrs,
                   vector[uint64_t]* values):
    """Fills addrs/values from an iterable of (addr, delta) pairs, or a dict."""
    if isinstance(deltas, dict):
        deltas = deltas.items()
    for a, d in deltas:
        addrs.push_back(_addr(a))
        values.push_back(_u64(d, "delta"))


cdef object _states(vector[pair[uint32_t, uint64_t]]& v):
    return {p.first: p.second for p in v}


cdef object _vv(vector[pair[uint64_t, uint64_t]]& v):
    return {p.first: p.second for p in v}


def read_key_file(path):
    """read_key_file(path) -> bytes: a node key file (what `atomik node
    --key-file` reads): exactly 32 raw bytes, or 64 hex digits with
    whitespace around them. ValueError otherwise, FileNotFoundError or
    OSError if it cannot be read."""
    cdef string p = _str(path, "path")
    cdef string out
    cdef Status st
    with nogil:
        st = key_file_read(p, &out)
    _check(st)
    return <bytes>out

