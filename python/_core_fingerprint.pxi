# SPDX-License-Identifier: Apache-2.0
# Part of atomik_core._core (included by _core.pyx, textually: it shares
# the module's namespace and cimports): Fingerprint and FingerprintGate.

# --------------------------------------------------------------------------
# Fingerprint

cdef object _fpv(FingerprintValue v):
    return ((<object>v.high) << 64) | (<object>v.low)


cdef FingerprintValue _to_fpv(object v, int width, str what) except *:
    cdef FingerprintValue out
    if not PyLong_Check(v):
        v = _index(v, what)
    if v < 0 or (v >> width) != 0:
        _raise_word(v, width, what)
    out.high = <uint64_t>(v >> 64)
    out.low = <uint64_t>(v & _MASK64)
    return out


# Inputs at least this long are fingerprinted without the GIL.
cdef Py_ssize_t _NOGIL_BYTES = 1 << 16


cdef class Fingerprint:
    """Fingerprint(width=None, *, chunk_size=8192, key=0,
    legacy_xor_fold=False)

    Change detection for byte strings (seed pattern 3): load(reference),
    update(new), then `changed`. On atomik::Fingerprint.

    Deliberate difference from the reference: the default fingerprint is
    strong and position-aware (a 128-bit XOR over chunks of keyed XXH3-128
    hashes bound to the chunk index, plus the length), so it sees swapped
    or rotated chunks, the same bit flipped in two chunks and appended
    zeros, all of which the reference's XOR-fold misses. Its `width` is
    128. legacy_xor_fold=True reproduces the reference's XOR-fold value
    exactly (width 64 by default, any multiple of 8 up to 128): weak, for
    comparing against stored reference fingerprints only.

    Fingerprint(width=64) or width=32 (as reference code writes it) is the
    strong fingerprint truncated to its low `width` bits: value, reference,
    delta, load() and update() return `width`-bit ints and `changed` is
    (delta != 0) on those bits, so a change goes unseen with probability
    2**-width. These values are NOT the reference's XOR-fold values (pass
    legacy_xor_fold=True for those). canonical() stays the full 128-bit
    form. Other widths are a ValueError.

    `key` (strong mode) keys the hash: fingerprints compare equal only
    under the same key; it makes collisions costly to build for whoever
    does not know it. It is not a MAC key. Inputs are any bytes-like
    object (bytes, bytearray, memoryview, numpy array), read in place;
    large ones are hashed without the GIL.
    """

    cdef CFingerprint _fp
    cdef object _tmask     # None, or the mask of a truncated strong width
    cdef int _twidth
    cdef object __weakref__

    def __init__(self, width=None, *, chunk_size=8192, key=0,
                 legacy_xor_fold=False):
        cdef Status st
        cdef CFingerprint fp
        if legacy_xor_fold:
            if width is None:
                width = 64
            if not PyLong_Check(width) or isinstance(width, bool):
                raise TypeError("width must be an int, got %s"
                                % type(width).__name__)
            if width < 8 or width > 128 or width % 8 != 0:
                raise ValueError("legacy XOR-fold width must be a multiple of "
                                 "8 in [8, 128], got %d" % width)
            if key != 0:
                raise ValueError("key applies to the strong mode only; the "
                                 "legacy XOR-fold has no key")
            st = fingerprint_create(2, 8192, 0, <unsigned>width, &fp)
        else:
            if width is not None and width not in (32, 64, 128):
                raise ValueError(
                    "the strong fingerprint is 128-bit (or truncated to 64 "
                    "or 32 bits), got width=%r; pass legacy_xor_fold=True "
                    "for the reference's (weak) XOR-fold" % (width,))
            if width in (32, 64):
                self._twidth = width
                self._tmask = (1 << width) - 1
            st = fingerprint_create(1, _count(chunk_size, "chunk_size"),
                                    _count(key, "key"), 64, &fp)
        _check(st)
        self._fp = fp

    cdef inline object _t(self, FingerprintValue v):
        """A value as an int, truncated to the requested width if any."""
        if self._tmask is None:
            return _fpv(v)
        return _fpv(v) & self._tmask

    cdef FingerprintValue _run(self, object data, bint load) except *:
        cdef Py_buffer view
        cdef CFingerprint tmp
        cdef FingerprintValue v
        _get_bytes(data, &view, "data")
        try:
            if view.len >= _NOGIL_BYTES:
                # Hash a copy without the GIL, then publish it with the GIL
                # held: concurrent callers each leave a consistent state.
                tmp = self._fp
                with nogil:
                    if load:
                        v = fingerprint_load(tmp, _buf(&view), <size_t>view.len)
                    else:
                        v = fingerprint_update(tmp, _buf(&view),
                                               <size_t>view.len)
                self._fp = tmp
            elif load:
                v = fingerprint_load(self._fp, _buf(&view), <size_t>view.len)
            else:
                v = fingerprint_update(self._fp, _buf(&view), <size_t>view.len)
        finally:
            PyBuffer_Release(&view)
        return v

    def load(self, data):
        """load(data) -> int

        Fingerprints data and makes it the reference (changed is False
        after). Returns the value. O(len(data)).
        """
        return self._t(self._run(data, True))

    def update(self, data):
        """update(data) -> int

        Fingerprints data as the current data; the reference stays.
        `changed` tells whether it differs. Returns data's value.
        """
        return self._t(self._run(data, False))

    @property
    def changed(self):
        """True if the current data's fingerprint differs from the
        reference's."""
        if self._tmask is not None:
            return self._t(self._fp.delta()) != 0
        return self._fp.changed()

    @property
    def value(self):
        """The current data's fingerprint (an int of `width` bits)."""
        return self._t(self._fp.value())

    @property
    def reference(self):
        """The reference's fingerprint (set by load or reset)."""
        return self._t(self._fp.reference())

    @property
    def delta(self):
        """reference ^ value: 0 if and only if unchanged."""
        return self._t(self._fp.delta())

    @property
    def width(self):
        """128 in the strong mode (or the truncated width asked for, 64 or
        32); the legacy width otherwise."""
        if self._tmask is not None:
            return self._twidth
        return self._fp.width()

    @property
    def length(self):
        """Length in bytes of the current data."""
        return self._fp.length()

    @property
    def chunk_size(self):
        """Strong mode: the chunk size; legacy: width / 8."""
        return self._fp.chunk_size()

    @property
    def keyed(self):
        """True if made with a non-zero key."""
        return self._fp.keyed()

    @property
    def mode(self):
        """"strong" or "legacy-xor-fold"."""
        return "legacy-xor-fold" if fingerprint_mode(self._fp) == 2 \
            else "strong"

    def reset(self):
        """reset() -> None

        Makes the current data the reference: changed becomes False.
        (The reference cleared its accumulator, leaving `value` at the old
        reference; here `value` keeps describing the current data.)
        """
        self._fp.reset()

    def accumulate_delta(self, old_chunk, new_chunk):
        """accumulate_delta(old_chunk, new_chunk) -> None

        Legacy mode only, as the reference: XORs old_chunk ^ new_chunk into
        the current value. In the strong mode a chunk's contribution depends
        on its position, so this is a RuntimeError: use update_range().
        """
        cdef int w = self._fp.width()
        _check(self._fp.accumulate_delta(_to_fpv(old_chunk, w, "old_chunk"),
                                         _to_fpv(new_chunk, w, "new_chunk")))

    def update_range(self, offset, old_bytes, new_bytes):
        """update_range(offset, old_bytes, new_bytes) -> None

        The bytes at [offset, offset + len(old_bytes)) of the current data
        changed from old_bytes to new_bytes (same length). Strong mode: the
        range must cover whole chunks (offset a multiple of chunk_size).
        Costs two chunk hashes per chunk, not a pass over the data; value
        afterwards equals a full recompute. ValueError (sizes, alignment)
        or IndexError (past the end); nothing changes on error.
        """
        cdef Py_buffer a, b
        cdef uint64_t off = _count(offset, "offset")
        cdef Status st
        _get_bytes(old_bytes, &a, "old_bytes")
        try:
            _get_bytes(new_bytes, &b, "new_bytes")
            try:
                st = fingerprint_update_range(self._fp, off, _buf(&a),
                                              <size_t>a.len, _buf(&b),
                                              <size_t>b.len)
            finally:
                PyBuffer_Release(&b)
        finally:
            PyBuffer_Release(&a)
        _check(st)

    def update_range_in_place(self, data_after, offset, old_bytes):
        """update_range_in_place(data_after, offset, old_bytes) -> None

        The same for an edit made in place: data_after is the whole current
        data after the edit and old_bytes what [offset, offset +
        len(old_bytes)) held before. Any offset and size.
        """
        cdef Py_buffer a, b
        cdef uint64_t off = _count(offset, "offset")
        cdef Status st
        _get_bytes(data_after, &a, "data_after")
        try:
            _get_bytes(old_bytes, &b, "old_bytes")
            try:
                st = fingerprint_update_range_in_place(
                    self._fp, _buf(&a), <size_t>a.len, off, _buf(&b),
                    <size_t>b.len)
            finally:
                PyBuffer_Release(&b)
        finally:
            PyBuffer_Release(&a)
        _check(st)

    def equals(self, Fingerprint other not None):
        """equals(other) -> bool: same mode, parameters and key, and equal
        current values."""
        return self.width == other.width and self._fp.equals(other._fp)

    def canonical(self):
        """canonical() -> bytes: the 20-byte canonical form of value
        (docs/format/fingerprint.md)."""
        cdef unsigned char out[20]
        fingerprint_canonical(self._fp, out)
        return PyBytes_FromStringAndSize(<char*>out, 20)

    def canonical_hex(self):
        """canonical_hex() -> str: the 40 hex digits of canonical()."""
        return self._fp.canonical_hex().decode("ascii")

    @staticmethod
    def parse_canonical(data):
        """parse_canonical(data) -> dict with mode, param, keyed, value

        Decodes a 20-byte canonical fingerprint. ValueError for another
        length, NotImplementedError for another version, CorruptionError
        (a ValueError) for a bad field.
        """
        cdef Py_buffer view
        cdef int mode = 0
        cdef uint64_t param = 0
        cdef cbool keyed = False
        cdef FingerprintValue v
        cdef Status st
        _get_bytes(data, &view, "data")
        st = fingerprint_parse_canonical(_buf(&view), <size_t>view.len, &mode,
                                         &param, &keyed, &v)
        PyBuffer_Release(&view)
        _check(st)
        return {"mode": "legacy-xor-fold" if mode == 2 else "strong",
                "param": param, "keyed": keyed, "value": _fpv(v)}

    def __repr__(self):
        return "Fingerprint(value=0x%0*x, changed=%s, width=%d, mode=%s)" % (
            self.width // 4, self.value, self.changed,
            self.width, self.mode)


cdef class FingerprintGate:
    """FingerprintGate(*, chunk_size=8192, key=0)

    The seed's polling loop as a class: check(sample) returns True when the
    sample differs from the previous one (act), False when it is a repeat
    (skip), counting both. Keeps one fingerprint, never a copy of the data.
    """

    cdef CFingerprintGate _g

    def __init__(self, *, chunk_size=8192, key=0):
        cdef CFingerprintGate g
        _check(gate_create(1, _count(chunk_size, "chunk_size"),
                           _count(key, "key"), 64, &g))
        self._g = g

    def check(self, sample):
        """check(sample) -> bool: True (changed: act) for the first sample
        or one that differs from the previous; False (skip) otherwise."""
        cdef Py_buffer view
        cdef cbool r
        _get_bytes(sample, &view, "sample")
        r = gate_check(self._g, _buf(&view), <size_t>view.len)
        PyBuffer_Release(&view)
        return r

    @property
    def checks(self):
        """Samples checked."""
        return self._g.checks()

    @property
    def changes(self):
        """Samples that differed from the previous one (acted on)."""
        return self._g.changes()

    @property
    def skips(self):
        """Samples that repeated the previous one (skipped)."""
        return self._g.skips()

    @property
    def last(self):
        """The last sample's fingerprint, or None before the first."""
        cdef FingerprintValue v
        if not gate_last(self._g, &v):
            return None
        return _fpv(v)

    def __repr__(self):
        return "FingerprintGate(checks=%d, changes=%d, skips=%d)" % (
            self._g.checks(), self._g.changes(), self._g.skips())
