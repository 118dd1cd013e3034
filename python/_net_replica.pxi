# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# The calls Node and RedisReplicator answer alike, written once: each
# converts the arguments, makes the call with the GIL released and raises
# the call's Status as an exception. `r` is the object's running engine
# (its _get(), which raises RuntimeError once stopped).

ctypedef fused _Replica:
    CNode
    CRedisReplicator


cdef object _replica_accum(_Replica* r, object addr, object delta):
    cdef uint32_t a = _addr(addr)
    cdef uint64_t d = _u64(delta, "delta")
    cdef Status st
    with nogil:
        st = r.accum(a, d)
    _check(st)


cdef object _replica_accum_batch(_Replica* r, object deltas):
    cdef vector[uint32_t] addrs
    cdef vector[uint64_t] values
    _batch(deltas, &addrs, &values)
    cdef Status st
    with nogil:
        st = replica_accum_batch(r[0], addrs.data(), values.data(),
                                 addrs.size())
    _check(st)


cdef object _replica_read(_Replica* r, object addr):
    cdef uint32_t a = _addr(addr)
    cdef uint64_t out = 0
    cdef Status st
    with nogil:
        st = replica_read(r[0], a, &out)
    _check(st)
    return out


cdef object _replica_swap(_Replica* r):
    cdef uint64_t epoch = 0
    cdef vector[pair[uint32_t, uint64_t]] states
    cdef Status st
    with nogil:
        st = replica_swap(r[0], &epoch, &states)
    _check(st)
    return epoch, _states(states)


cdef object _replica_snapshot(_Replica* r):
    cdef vector[pair[uint32_t, uint64_t]] v
    cdef Status st
    with nogil:
        st = replica_snapshot(r[0], &v)
    _check(st)
    return _states(v)


cdef object _replica_digest(_Replica* r):
    cdef string s
    with nogil:
        s = replica_digest(r[0])
    return s.decode()


cdef object _replica_version_vector(_Replica* r):
    cdef vector[pair[uint64_t, uint64_t]] v
    with nogil:
        v = replica_version_vector(r[0])
    return _vv(v)


cdef object _replica_origin(_Replica* r):
    cdef uint64_t o
    with nogil:
        o = r.origin()
    return o
