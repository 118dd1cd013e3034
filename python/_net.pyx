# SPDX-License-Identifier: Apache-2.0
# cython: language_level=3, boundscheck=False, wraparound=False
# distutils: language = c++
"""atomik_core._net: the node, its client, Redis replication, shared-memory
contexts, last-writer-wins registers and counters, over the C++ engine.

Every call that can block (network, disk, a lock shared with other
processes) releases the GIL, so other Python threads keep running while a
node syncs, a client waits for its acknowledgement or Redis answers.

Errors map as in atomik_core: ValueError (bad argument), IndexError (address
out of range), ConnectionError (nothing answers), RuntimeError (wrong state,
e.g. a closed client), FileNotFoundError, OSError, CorruptionError. A failed
call changes nothing.
"""

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector

from _atomik cimport Status, status_code, status_message
from _net_decl cimport *

import json as _json
import os as _os
import threading as _threading
import time as _time

__all__ = [
    "Counter",
    "LwwTable",
    "LwwWrite",
    "Node",
    "NodeClient",
    "RedisReplicator",
    "SharedContext",
    "DEFAULT_NODE_ADDRESS",
    "NODE_KEY_SIZE",
    "read_key_file",
]

#: The CLI's default node address (atomik node / atomik accum ...).
DEFAULT_NODE_ADDRESS = "127.0.0.1:7400"
#: Length in bytes of a node's shared key.
NODE_KEY_SIZE = 32

cdef object _MASK64 = 0xFFFFFFFFFFFFFFFF
_SYNC = {"every-record": 0, "group": 1, "none": 2}


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


# --------------------------------------------------------------------------
# Node


cdef class Node:
    """Node(data_dir, *, listen="127.0.0.1:0", peers=(), key=None, udp=False,
    num_contexts=0, sync="every-record", origin=0, sync_interval_ms=1000,
    reconnect_min_ms=50, reconnect_max_ms=2000, log=False, start=True,
    group="xor")

    An in-process replica (the engine of `atomik node`): a durable table in
    data_dir, served on `listen` (port 0 picks a free one; see
    listen_address) and replicated to every peer "HOST:PORT" and from every
    node that connects. key: None, 32 bytes or 64 hex digits shared by all
    nodes and clients. num_contexts > 0 gives a dense table of that many
    addresses (fixed when the directory is created); sync is the durability
    of an acknowledged accum ("every-record", "group", "none"). group="add"
    makes a counter table (fixed when created; peers must match).

    start() opens the table and starts the network thread (done by the
    constructor unless start=False); stop() closes every connection and the
    table (idempotent; also on `with` exit and when collected). A stopped
    node can be started again on the same directory; the stopped engine's
    memory is freed when this object is (a call still running on another
    thread keeps using it safely).
    """

    cdef CNode* _n
    cdef vector[CNode*] _retired
    cdef NodeConfig _cfg
    cdef object _data_dir

    def __cinit__(self):
        self._n = NULL

    def __init__(self, data_dir, *, listen="127.0.0.1:0", peers=(), key=None,
                 udp=False, num_contexts=0, sync="every-record", origin=0,
                 sync_interval_ms=1000, reconnect_min_ms=50,
                 reconnect_max_ms=2000, log=False, start=True, group="xor"):
        if isinstance(peers, str):
            raise TypeError("peers: expected a list of \"HOST:PORT\", got a str")
        self._cfg.data_dir = _str(data_dir, "data_dir")
        self._cfg.listen = _str(listen, "listen")
        for p in peers:
            self._cfg.peers.push_back(_str(p, "peers"))
        self._cfg.key = _key(key)
        self._cfg.udp = bool(udp)
        self._cfg.num_contexts = _u64(num_contexts, "num_contexts")
        if group not in ("xor", "add"):  # the table's group (counters: add)
            raise ValueError("group must be 'xor' or 'add', got %r" % (group,))
        self._cfg.add = group == "add"
        self._cfg.sync = _sync_policy(sync)
        self._cfg.origin = _u64(origin, "origin")
        self._cfg.sync_interval_ms = sync_interval_ms
        self._cfg.reconnect_min_ms = reconnect_min_ms
        self._cfg.reconnect_max_ms = reconnect_max_ms
        self._cfg.log = bool(log)
        self._data_dir = _os.fspath(data_dir)
        if start:
            self.start()

    def __dealloc__(self):
        # Stopped nodes are deleted only here: a call that fetched the
        # pointer before stop() may still be running on another thread.
        cdef CNode* n = self._n
        self._n = NULL
        with nogil:
            if n != NULL:
                del n
            for n in self._retired:
                del n

    cdef CNode* _get(self) except NULL:
        if self._n == NULL:
            raise RuntimeError("node %s is not running (start() it)"
                               % self._data_dir)
        return self._n

    def start(self):
        """start() -> self: opens the table and starts serving. RuntimeError
        if already running; ValueError (bad address or key), ConnectionError
        (bind failed) or the table's open error otherwise."""
        cdef Status st
        cdef CNode* n
        if self._n != NULL:
            raise RuntimeError("node %s is already running" % self._data_dir)
        with nogil:
            n = node_start(self._cfg, &st)
        if n == NULL:
            _raise_status(st)
        self._n = n
        return self

    def stop(self):
        """stop() -> None: closes every connection, stops the network thread
        and closes the table. Idempotent."""
        cdef CNode* n = self._n
        cdef Status st
        if n == NULL:
            return
        self._n = NULL
        self._retired.push_back(n)
        with nogil:
            st = n.stop()
        _check(st)

    @property
    def running(self):
        """True between start() and stop()."""
        return self._n != NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def accum(self, addr, delta):
        """accum(addr, delta) -> None: a local XOR delta, returned once
        durable here (its sync policy), then sent to the peers."""
        cdef uint32_t a = _addr(addr)
        cdef uint64_t d = _u64(delta, "delta")
        cdef CNode* n = self._get()
        cdef Status st
        with nogil:
            st = n.accum(a, d)
        _check(st)

    def accum_batch(self, deltas):
        """accum_batch(deltas) -> None: (addr, delta) pairs (or a dict) under
        one durability wait; all or none are applied."""
        cdef vector[uint32_t] addrs
        cdef vector[uint64_t] values
        _batch(deltas, &addrs, &values)
        cdef CNode* n = self._get()
        cdef Status st
        with nogil:
            st = node_accum_batch(n[0], addrs.data(), values.data(),
                                  addrs.size())
        _check(st)

    def read(self, addr):
        """read(addr) -> int: the state (0 if never written)."""
        cdef uint32_t a = _addr(addr)
        cdef CNode* n = self._get()
        cdef uint64_t out = 0
        cdef Status st
        with nogil:
            st = node_read(n[0], a, &out)
        _check(st)
        return out

    def swap(self):
        """swap() -> (epoch, {addr: state}): closes an epoch of the table and
        returns the number and the states it closed with."""
        cdef CNode* n = self._get()
        cdef uint64_t epoch = 0
        cdef vector[pair[uint32_t, uint64_t]] states
        cdef Status st
        with nogil:
            st = node_swap(n[0], &epoch, &states)
        _check(st)
        return epoch, _states(states)

    def sync(self):
        """sync() -> None: makes every delta applied so far durable."""
        cdef CNode* n = self._get()
        cdef Status st
        with nogil:
            st = n.sync()
        _check(st)

    def snapshot(self):
        """snapshot() -> {addr: state} of every non-zero state."""
        cdef CNode* n = self._get()
        cdef vector[pair[uint32_t, uint64_t]] v
        with nogil:
            v = n.snapshot()
        return _states(v)

    def digest(self):
        """digest() -> str: 32 hex digits; equal digests mean equal tables."""
        cdef CNode* n = self._get()
        cdef string s
        with nogil:
            s = node_digest(n[0])
        return s.decode()

    def version_vector(self):
        """version_vector() -> {origin: last seq applied}."""
        cdef CNode* n = self._get()
        cdef vector[pair[uint64_t, uint64_t]] v
        with nogil:
            v = node_version_vector(n[0])
        return _vv(v)

    def status(self):
        """status() -> dict: origin, listen, version_vector, digest, peers,
        stats (NodeStatus as JSON, parsed)."""
        return _json.loads(self.status_text(json=True))

    def status_text(self, json=False):
        """status_text(json=False) -> str: the human-readable status (what
        `atomik status` prints), or its JSON form."""
        cdef CNode* n = self._get()
        cdef string s
        cdef cbool j = json
        with nogil:
            s = node_status_json(n[0]) if j else node_status_text(n[0])
        return s.decode("utf-8", "replace")

    @property
    def data_dir(self):
        """The directory holding the node's table (os.fspath of the
        data_dir given: str or bytes)."""
        return self._data_dir

    # The accessors below may wait for the node's lock: GIL released too.
    @property
    def origin(self):
        """This node's origin id."""
        cdef CNode* n = self._get()
        cdef uint64_t o
        with nogil:
            o = n.origin()
        return o

    @property
    def listen_address(self):
        """"127.0.0.1:PORT": the address actually bound."""
        cdef CNode* n = self._get()
        cdef string s
        with nogil:
            s = n.listen_address()
        return s.decode()

    @property
    def port(self):
        """The TCP port actually bound."""
        cdef CNode* n = self._get()
        cdef unsigned short p
        with nogil:
            p = n.port()
        return p

    def __repr__(self):
        if self._n == NULL:
            return "Node(%r, stopped)" % (self._data_dir,)
        return "Node(%r, listen=%r)" % (self._data_dir, self.listen_address)


# --------------------------------------------------------------------------
# NodeClient


cdef class NodeClient:
    """NodeClient(address="127.0.0.1:7400", *, key=None, timeout_ms=5000)

    A blocking client of a running node (what `atomik accum/read/swap/status`
    use): connects and completes the handshake within timeout_ms
    (ConnectionError if nothing answers; RuntimeError if the key does not
    match). Calls from several threads are serialised (one connection);
    each releases the GIL while it waits for the node.
    """

    cdef CNodeClient* _c
    cdef object _lock
    cdef object _address

    def __cinit__(self):
        self._c = NULL

    def __init__(self, address=DEFAULT_NODE_ADDRESS, *, key=None,
                 timeout_ms=5000):
        cdef string addr = _str(address, "address")
        cdef string k = _key(key)
        cdef uint32_t t = timeout_ms
        cdef Status st
        cdef CNodeClient* c
        self._lock = _threading.Lock()
        self._address = address
        with nogil:
            c = client_connect(addr, k, t, &st)
        if c == NULL:
            _raise_status(st)
        self._c = c

    def __dealloc__(self):
        cdef CNodeClient* c = self._c
        self._c = NULL
        if c != NULL:
            with nogil:
                del c

    cdef CNodeClient* _get(self) except NULL:
        if self._c == NULL:
            raise RuntimeError("client of %s is closed" % self._address)
        return self._c

    def close(self):
        """close() -> None: closes the connection. Idempotent."""
        cdef CNodeClient* c
        with self._lock:
            c = self._c
            self._c = NULL
            if c != NULL:
                with nogil:
                    del c

    @property
    def address(self):
        """The node's "HOST:PORT" this client was made for."""
        return self._address

    @property
    def closed(self):
        """True once close() was called (or `with` exited)."""
        return self._c == NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def accum(self, addr, delta):
        """accum(addr, delta) -> None: returns once the node acknowledged
        the delta (durable there)."""
        cdef uint32_t a = _addr(addr)
        cdef uint64_t d = _u64(delta, "delta")
        cdef CNodeClient* c
        cdef Status st
        with self._lock:
            c = self._get()
            with nogil:
                st = c.accum(a, d)
        _check(st)

    def read(self, addr):
        """read(addr) -> int: the node's state at addr."""
        cdef uint32_t a = _addr(addr)
        cdef CNodeClient* c
        cdef uint64_t out = 0
        cdef Status st
        with self._lock:
            c = self._get()
            with nogil:
                st = client_read(c[0], a, &out)
        _check(st)
        return out

    def swap(self):
        """swap() -> int: closes an epoch on the node; the epoch number."""
        cdef CNodeClient* c
        cdef uint64_t out = 0
        cdef Status st
        with self._lock:
            c = self._get()
            with nogil:
                st = client_swap(c[0], &out)
        _check(st)
        return out

    def status(self):
        """status() -> dict: the node's status (Node.status())."""
        return _json.loads(self.status_text(json=True))

    def status_text(self, json=False):
        """status_text(json=False) -> str: what `atomik status` prints, or
        the JSON form."""
        cdef CNodeClient* c
        cdef string s
        cdef cbool j = json
        cdef Status st
        with self._lock:
            c = self._get()
            with nogil:
                st = client_status(c[0], j, &s)
        _check(st)
        return s.decode("utf-8", "replace")

    def digest(self):
        """digest() -> str: the node's digest, 32 hex digits."""
        cdef CNodeClient* c
        cdef string s
        cdef Status st
        with self._lock:
            c = self._get()
            with nogil:
                st = client_digest(c[0], &s)
        _check(st)
        return s.decode()

    def __repr__(self):
        return "NodeClient(%r%s)" % (self._address,
                                     ", closed" if self._c == NULL else "")


# --------------------------------------------------------------------------
# RedisReplicator


cdef class RedisReplicator:
    """RedisReplicator(data_dir, url="redis://127.0.0.1:6379/0", *,
    table="atomik", shards=1, num_contexts=0, sync="every-record", origin=0,
    block_ms=100, start_timeout_ms=5000, bootstrap=True, log=False,
    listen=None, peers=(), key=None)

    A durable table in data_dir replicated through Redis Streams: each
    acknowledged local delta is published to the stream(s) of `table`, and
    every other replica's deltas are applied exactly once. Starting
    bootstraps from the newest snapshot in Redis (bootstrap=True) and fails
    with ConnectionError if Redis cannot be reached within
    start_timeout_ms. With `listen` ("127.0.0.1:0" picks a port) it also
    runs a Node on that address, with `peers` and `key` as in Node: what
    `atomik node --redis` runs; its clients (NodeClient(listen_address))
    and this object see the same table, and a swap is refused while own
    deltas are unpublished. Every call releases the GIL. stop() (or `with`
    exit) stops it.
    """

    cdef CRedisReplicator* _r
    cdef CRedisReplicator* _retired
    cdef object _data_dir

    def __cinit__(self):
        self._r = NULL
        self._retired = NULL

    def __init__(self, data_dir, url="redis://127.0.0.1:6379/0", *,
                 table="atomik", shards=1, num_contexts=0,
                 sync="every-record", origin=0, block_ms=100,
                 start_timeout_ms=5000, bootstrap=True, log=False,
                 listen=None, peers=(), key=None):
        cdef RedisConfig cfg
        cdef NodeConfig ncfg
        cdef cbool with_node = listen is not None
        cdef string d = _str(data_dir, "data_dir")
        cdef uint64_t nc = _u64(num_contexts, "num_contexts")
        cdef int sp = _sync_policy(sync)
        cdef uint64_t o = _u64(origin, "origin")
        cdef Status st
        cdef CRedisReplicator* r
        cfg.url = _str(url, "url")
        cfg.table = _str(table, "table")
        cfg.shards = shards
        cfg.block_ms = block_ms
        cfg.start_timeout_ms = start_timeout_ms
        cfg.bootstrap = bool(bootstrap)
        cfg.log = bool(log)
        self._data_dir = _os.fspath(data_dir)
        if with_node:
            if isinstance(peers, str):
                raise TypeError("peers: expected a list of \"HOST:PORT\", "
                                "got a str")
            ncfg.data_dir = d
            ncfg.listen = _str(listen, "listen")
            for p in peers:
                ncfg.peers.push_back(_str(p, "peers"))
            ncfg.key = _key(key)
            ncfg.num_contexts = nc
            ncfg.sync = sp
            ncfg.origin = o
            ncfg.log = bool(log)
        elif peers or key is not None:
            raise ValueError("peers and key need listen (a node)")
        with nogil:
            if with_node:
                r = redis_start_node(ncfg, cfg, &st)
            else:
                r = redis_start(d, nc, sp, o, cfg, &st)
        if r == NULL:
            _raise_status(st)
        self._r = r

    def __dealloc__(self):
        # Stopped replicators are deleted only here (see Node.__dealloc__).
        cdef CRedisReplicator* r = self._r
        self._r = NULL
        with nogil:
            if r != NULL:
                del r
            if self._retired != NULL:
                del self._retired

    cdef CRedisReplicator* _get(self) except NULL:
        if self._r == NULL:
            raise RuntimeError("RedisReplicator of %s is stopped"
                               % self._data_dir)
        return self._r

    def stop(self):
        """stop() -> None: stops replicating and closes the table.
        Idempotent."""
        cdef CRedisReplicator* r = self._r
        cdef Status st
        if r == NULL:
            return
        self._r = NULL
        self._retired = r
        with nogil:
            st = r.stop()
        _check(st)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def accum(self, addr, delta):
        """accum(addr, delta) -> None: durable here, then published."""
        cdef uint32_t a = _addr(addr)
        cdef uint64_t d = _u64(delta, "delta")
        cdef CRedisReplicator* r = self._get()
        cdef Status st
        with nogil:
            st = r.accum(a, d)
        _check(st)

    def accum_batch(self, deltas):
        """accum_batch(deltas) -> None: (addr, delta) pairs (or a dict)."""
        cdef vector[uint32_t] addrs
        cdef vector[uint64_t] values
        _batch(deltas, &addrs, &values)
        cdef CRedisReplicator* r = self._get()
        cdef Status st
        with nogil:
            st = redis_accum_batch(r[0], addrs.data(), values.data(),
                                   addrs.size())
        _check(st)

    def read(self, addr):
        """read(addr) -> int."""
        cdef uint32_t a = _addr(addr)
        cdef CRedisReplicator* r = self._get()
        cdef uint64_t out = 0
        cdef Status st
        with nogil:
            st = redis_read(r[0], a, &out)
        _check(st)
        return out

    def snapshot(self):
        """snapshot() -> {addr: state} of every non-zero state."""
        cdef CRedisReplicator* r = self._get()
        cdef vector[pair[uint32_t, uint64_t]] v
        cdef Status st
        with nogil:
            st = redis_snapshot(r[0], &v)
        _check(st)
        return _states(v)

    def swap(self):
        """swap() -> (epoch, {addr: state})."""
        cdef CRedisReplicator* r = self._get()
        cdef uint64_t epoch = 0
        cdef vector[pair[uint32_t, uint64_t]] v
        cdef Status st
        with nogil:
            st = redis_swap(r[0], &epoch, &v)
        _check(st)
        return epoch, _states(v)

    def digest(self):
        """digest() -> str: 32 hex digits."""
        cdef CRedisReplicator* r = self._get()
        cdef string s
        with nogil:
            s = redis_digest(r[0])
        return s.decode()

    def version_vector(self):
        """version_vector() -> {origin: last seq applied}."""
        cdef CRedisReplicator* r = self._get()
        cdef vector[pair[uint64_t, uint64_t]] v
        with nogil:
            v = redis_version_vector(r[0])
        return _vv(v)

    @property
    def unpublished(self):
        """Own deltas acknowledged but not yet acknowledged by Redis."""
        cdef CRedisReplicator* r = self._get()
        cdef uint64_t u
        with nogil:
            u = r.unpublished()
        return u

    def wait_published(self, timeout_ms=5000):
        """wait_published(timeout_ms=5000) -> None: waits until every own
        delta is in Redis; ConnectionError or RuntimeError on timeout."""
        cdef CRedisReplicator* r = self._get()
        cdef uint32_t t = timeout_ms
        cdef Status st
        with nogil:
            st = r.wait_published(t)
        _check(st)

    def publish_snapshot(self, trim=False):
        """publish_snapshot(trim=False) -> None: stores the table as the
        table's snapshot in Redis (trim: drop stream entries it covers)."""
        cdef CRedisReplicator* r = self._get()
        cdef cbool t = trim
        cdef Status st
        with nogil:
            st = r.publish_snapshot(t)
        _check(st)

    @property
    def connected(self):
        """True while connected to Redis."""
        cdef CRedisReplicator* r = self._get()
        cdef cbool c
        with nogil:
            c = r.connected()
        return c

    def status(self):
        """status() -> dict: positions, counters and connection state."""
        cdef CRedisReplicator* r = self._get()
        cdef string s
        with nogil:
            s = r.status_json()
        return _json.loads(s.decode("utf-8", "replace"))

    @property
    def data_dir(self):
        """The directory holding the node's table (os.fspath of the
        data_dir given: str or bytes)."""
        return self._data_dir

    @property
    def origin(self):
        """This replicator's origin id (the origin given; with 0, one drawn
        at random when data_dir's table was created, and kept there)."""
        cdef CRedisReplicator* r = self._get()
        cdef uint64_t o
        with nogil:
            o = r.origin()
        return o

    @property
    def listen_address(self):
        """The node's "127.0.0.1:PORT" (None without listen)."""
        cdef CRedisReplicator* r = self._get()
        cdef string s
        with nogil:
            s = redis_listen_address(r[0])
        return s.decode() if s.size() else None

    def __repr__(self):
        return "RedisReplicator(%r%s)" % (
            self._data_dir, ", stopped" if self._r == NULL else "")


# --------------------------------------------------------------------------
# SharedContext

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


# --------------------------------------------------------------------------
# LwwTable


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


# --------------------------------------------------------------------------
# Counter


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
