# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._net (included by _net.pyx, in its namespace).
# NodeClient: a connection to a node.

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
