# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# Node: an in-process replica (the engine of `atomik node`).

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
        return _replica_accum(self._get(), addr, delta)

    def accum_batch(self, deltas):
        """accum_batch(deltas) -> None: (addr, delta) pairs (or a dict) under
        one durability wait; all or none are applied."""
        return _replica_accum_batch(self._get(), deltas)

    def read(self, addr):
        """read(addr) -> int: the state (0 if never written)."""
        return _replica_read(self._get(), addr)

    def swap(self):
        """swap() -> (epoch, {addr: state}): closes an epoch of the table and
        returns the number and the states it closed with."""
        return _replica_swap(self._get())

    def sync(self):
        """sync() -> None: makes every delta applied so far durable."""
        cdef CNode* n = self._get()
        cdef Status st
        with nogil:
            st = n.sync()
        _check(st)

    def snapshot(self):
        """snapshot() -> {addr: state} of every non-zero state."""
        return _replica_snapshot(self._get())

    def digest(self):
        """digest() -> str: 32 hex digits; equal digests mean equal tables."""
        return _replica_digest(self._get())

    def version_vector(self):
        """version_vector() -> {origin: last seq applied}."""
        return _replica_version_vector(self._get())

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
        return _replica_origin(self._get())

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
