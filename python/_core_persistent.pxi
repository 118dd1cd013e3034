# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): PersistentSyncTable.

# --------------------------------------------------------------------------
# PersistentSyncTable

_SYNC_POLICIES = {"every-record": 0, "group": 1, "none": 2}
_RECOVERY_MODES = {"strict": 0, "skip": 1}


cdef class PersistentSyncTable:
    """PersistentSyncTable(num_contexts=256, path="state.wal", on_delta=None,
    width=64, *, group="xor", sync="every-record", recovery="strict",
    origin=0)

    A SyncTable whose changes survive a crash, on atomik::PersistentTable:
    every put/receive is a checksummed write-ahead-log record carrying
    (origin, seq), acknowledged per `sync` ("every-record": fdatasync
    before returning; "group": shared fdatasyncs; "none": survives a
    process crash only). Reopening the same path recovers exactly the
    acknowledged state; compact() writes a checkpoint and trims the log.

    Deliberate differences from the reference (whose raw 16-byte records
    had no checksum and no seq): `path` is a directory (created if
    missing) holding WAL segments and a checkpoint; a damaged record is a
    CorruptionError naming the file and offset (recovery="skip" salvages
    and reports instead); replay never applies a record twice. receive()
    applies each origin's messages exactly once and in order: a duplicate
    returns False, a gap is a RuntimeError (reorder with a DeltaStream
    first). Widths 8..64 (values checked); 128 is a ValueError.

    group="add" makes a counter table: deltas add modulo 2^width
    (accum(addr, 5) twice reads 10; put() logs new - old), stored with
    the table (reopening with another group or width is a RuntimeError
    naming both). An XOR table is stored as 64-bit words whatever the
    width (width is checked here), as before groups existed.
    """

    cdef PersistentTable* _t
    cdef object _callback
    cdef uint64_t _n
    cdef uint64_t _mask
    cdef int _width
    cdef object _path
    cdef cbool _add

    def __cinit__(self, *args, **kwargs):
        self._t = NULL

    def __dealloc__(self):
        if self._t != NULL:
            self._t.close()
            del self._t
            self._t = NULL

    def __init__(self, num_contexts=256, path="state.wal", on_delta=None,
                 width=64, *, group="xor", sync="every-record",
                 recovery="strict", origin=0):
        cdef int w = _check_width(width)
        cdef Status st
        cdef PersistentTable* t
        if w == 128:
            raise ValueError("PersistentSyncTable supports widths 8 to 64")
        if self._t != NULL:
            raise TypeError("PersistentSyncTable is already initialised")
        if os.path.isfile(path):
            # A reference log (raw 16-byte records in one file); opening it
            # as a directory would fail with a less helpful message.
            raise ValueError(
                "%s is a file, not a PersistentSyncTable directory: if it is "
                "the reference's log (state.wal), convert it with "
                "atomik_core.persistent.import_reference_wal(%r, DATA_DIR) or "
                "`atomik wal import`" % (path, str(path)))
        n = _index(num_contexts, "num_contexts")
        if n < 1:
            raise ValueError("num_contexts must be >= 1, got %d" % n)
        if group not in ("xor", "add"):
            raise ValueError("group must be 'xor' or 'add', got %r" % (group,))
        cdef cbool add = group == "add"
        if sync not in _SYNC_POLICIES:
            raise ValueError("sync must be one of %s, got %r"
                             % (", ".join(_SYNC_POLICIES), sync))
        if recovery not in _RECOVERY_MODES:
            raise ValueError("recovery must be 'strict' or 'skip', got %r"
                             % (recovery,))
        p = os.fspath(path)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
        if not os.path.exists(p):
            os.makedirs(p, exist_ok=True)
        if os.path.isfile(p):
            raise ValueError(
                "path %r is a file (a reference WAL?): atomik stores a "
                "directory of checksummed WAL segments and checkpoints; "
                "choose a new path" % p)
        t = persistent_open(p.encode(), _count(n, "num_contexts"),
                            _SYNC_POLICIES[sync], _RECOVERY_MODES[recovery],
                            1024, _count(origin, "origin"), add,
                            w if add else 64, &st)
        if t == NULL:
            _raise_status(st)
        self._t = t
        self._n = n
        self._width = w
        self._mask = _mask_of(w)
        self._add = add
        self._path = p
        self.on_delta(on_delta)

    cdef int _ready(self) except -1:
        if self._t == NULL:
            raise ValueError("PersistentSyncTable is closed")
        return 0

    cdef uint32_t _addr(self, object addr) except? 0xFFFFFFFF:
        if not PyLong_Check(addr):
            addr = _index(addr, "addr")
        if addr < 0 or addr >= self._n:
            raise IndexError("address %d out of range [0, %d] for "
                             "PersistentSyncTable(num_contexts=%d)"
                             % (addr, self._n - 1, self._n))
        return <uint32_t>addr

    def on_delta(self, callback):
        """on_delta(callback) -> None: as SyncTable.on_delta."""
        if callback is not None and not callable(callback):
            raise TypeError("on_delta: callback must be callable, got %s"
                            % type(callback).__name__)
        self._callback = callback

    def get(self, addr):
        """get(addr) -> int: the state at addr."""
        cdef uint64_t v
        self._ready()
        _check(persistent_read(deref(self._t), self._addr(addr), &v))
        return v

    def put(self, addr, value):
        """put(addr, value) -> DeltaMessage

        Writes value at addr as a logged delta (old ^ new; add: new - old
        modulo 2^width), returns once it is acknowledged per `sync`, then
        fires on_delta. An unchanged value logs and fires nothing (delta 0).
        """
        self._ready()
        cdef uint32_t a = self._addr(addr)
        cdef uint64_t v = _word(value, self._mask, self._width, "value")
        cdef uint64_t cur
        _check(persistent_read(deref(self._t), a, &cur))
        if cur == v:
            return _new_message(a, 0, <uint32_t>min(
                persistent_own_seq(deref(self._t)), 0xFFFFFFFF), 0,
                self._t.origin())
        return self._log(a, ((v - cur) & self._mask) if self._add
                         else (cur ^ v))

    def accum(self, addr, delta):
        """accum(addr, delta) -> DeltaMessage

        Logs delta at addr in the table's group (xor: state ^= delta; add:
        state += delta modulo 2^width, so a negative delta subtracts), as
        put() does; fires on_delta.
        """
        self._ready()
        cdef uint32_t a = self._addr(addr)
        d = _index(delta, "delta")
        if self._add:
            d &= self._mask
        cdef uint64_t dv = _word(d, self._mask, self._width, "delta")
        return self._log(a, dv)

    cdef object _log(self, uint32_t a, uint64_t d):
        _check(self._t.accum(a, d))
        seq = persistent_own_seq(deref(self._t))
        if seq > 0xFFFFFFFF:
            raise OverflowError("seq %d does not fit the 16-byte message"
                                % seq)
        msg = _new_message(a, d, <uint32_t>seq, 0, self._t.origin())
        if self._callback is not None:
            self._callback(msg)
        return msg

    def receive(self, DeltaMessage msg not None, origin=None):
        """receive(msg, origin=None) -> bool

        Logs and applies a peer's delta exactly once: True if applied,
        False for a duplicate (nothing logged). origin: the argument, else
        msg.origin, else 0 (one legacy peer). A seq that skips ahead of the
        origin's next one is a RuntimeError; seq 0 a ValueError.
        """
        cdef cbool applied = False
        cdef uint64_t o
        self._ready()
        if origin is None:
            origin = msg._origin
        o = 0 if origin is None else _count(origin, "origin")
        if msg._delta > self._mask:
            _raise_word(msg._delta, self._width, "msg.delta")
        _check(persistent_apply(deref(self._t), o, msg._seq,
                                self._addr(msg._addr), msg._delta, &applied))
        return applied

    def snapshot(self):
        """snapshot() -> dict[int, int]: every address, zeros included."""
        cdef vector[pair[uint32_t, uint64_t]] s
        cdef size_t i
        self._ready()
        _check(persistent_snapshot(deref(self._t), &s))
        out = dict.fromkeys(range(self._n), 0)
        for i in range(s.size()):
            out[s[i].first] = s[i].second
        return out

    def connect_websocket(self, url, **options):
        """connect_websocket(url, **options) -> WebSocketHandle: replicates
        this table through the WebSocket server at url until the handle is
        closed (atomik_core.websocket.connect_websocket; python3-websockets).
        """
        from atomik_core.websocket import connect_websocket
        return connect_websocket(self, url, **options)

    def diff(self, other):
        """diff(other) -> list[int]: sorted addresses whose states differ."""
        if not isinstance(other, (SyncTable, PersistentSyncTable)):
            raise TypeError("diff: expected a SyncTable, got %s"
                            % type(other).__name__)
        n = min(self._n, other.num_contexts)
        mine = self.snapshot()
        return [a for a in range(n) if mine[a] != other.get(a)]

    def compact(self):
        """compact() -> int

        Writes the whole table as a checkpoint (temp file, fsync, rename,
        directory fsync) and deletes the WAL segments it covers; returns
        the epoch number. On failure the old checkpoint and the WAL stay.
        """
        cdef uint64_t epoch = 0
        cdef vector[pair[uint32_t, uint64_t]] states
        self._ready()
        _check(persistent_swap(deref(self._t), &epoch, &states))
        return epoch

    def sync(self):
        """sync() -> None: forces every logged change to disk now."""
        self._ready()
        _check(self._t.sync())

    def close(self):
        """close() -> None: syncs and closes the log (idempotent); later
        calls are a ValueError."""
        cdef Status st
        if self._t == NULL:
            return
        st = self._t.close()
        del self._t
        self._t = NULL
        _check(st)

    @property
    def closed(self):
        """True after close()."""
        return self._t == NULL

    @property
    def recovery_report(self):
        """What opening found: {"summary", "segments", "records_ok",
        "records_dropped", "bytes_dropped", "torn_bytes", "duplicates",
        "problems"}."""
        self._ready()
        cdef const RecoveryReport* r = &self._t.recovery_report()
        cdef size_t i
        return {"summary": r.summary().decode("utf-8", "replace"),
                "segments": r.segments, "records_ok": r.records_ok,
                "records_dropped": r.records_dropped,
                "bytes_dropped": r.bytes_dropped,
                "torn_bytes": r.torn_bytes, "duplicates": r.duplicates,
                "problems": [r.problems[i].decode("utf-8", "replace")
                             for i in range(r.problems.size())]}

    @property
    def epoch(self):
        """Checkpoints written (compact() calls)."""
        self._ready()
        return self._t.epoch()

    @property
    def origin(self):
        """This table's origin id (stored with the table)."""
        self._ready()
        return self._t.origin()

    @property
    def path(self):
        """The data directory."""
        return self._path

    @property
    def num_contexts(self):
        """The number of addresses (fixed when created)."""
        return self._n

    @property
    def width(self):
        """Width in bits of every state."""
        return self._width

    @property
    def group(self):
        """"xor" or "add" (fixed when created)."""
        return "add" if self._add else "xor"

    def __len__(self):
        return self._n

    def __iter__(self):
        return iter(range(self._n))

    def __contains__(self, addr):
        return PyLong_Check(addr) and 0 <= addr < self._n

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        if self._t == NULL:
            return "PersistentSyncTable(path=%r, closed)" % self._path
        active = sum(1 for v in self.snapshot().values() if v != 0)
        return ("PersistentSyncTable(num_contexts=%d, width=%d, %sactive=%d, "
                "path=%r)" % (self._n, self._width,
                              "group='add', " if self._add else "", active,
                              self._path))
