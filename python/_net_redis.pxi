# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# RedisReplicator: a table replicated through Redis Streams.

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
        return _replica_accum(self._get(), addr, delta)

    def accum_batch(self, deltas):
        """accum_batch(deltas) -> None: (addr, delta) pairs (or a dict)."""
        return _replica_accum_batch(self._get(), deltas)

    def read(self, addr):
        """read(addr) -> int."""
        return _replica_read(self._get(), addr)

    def snapshot(self):
        """snapshot() -> {addr: state} of every non-zero state."""
        return _replica_snapshot(self._get())

    def swap(self):
        """swap() -> (epoch, {addr: state})."""
        return _replica_swap(self._get())

    def digest(self):
        """digest() -> str: 32 hex digits."""
        return _replica_digest(self._get())

    def version_vector(self):
        """version_vector() -> {origin: last seq applied}."""
        return _replica_version_vector(self._get())

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
        return _replica_origin(self._get())

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
