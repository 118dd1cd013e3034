# SPDX-License-Identifier: Apache-2.0
# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True
# distutils: language = c++
"""atomik_core: delta-state algebra on the atomik C++ engine.

A drop-in replacement for the reference package ``atomik_core`` (v0.4.0):
the same names and the same behaviour for correct programs, with C++ speed,
plus a few deliberate differences where the reference loses data silently:

* Values must fit the context's width. A negative value, or one with bits
  above the width, raises ``OverflowError`` naming the value and the width
  (the reference masks silently). Code that relied on masking, e.g. ``~x``,
  should pass ``x & mask`` where ``mask = (1 << width) - 1``.
* Every failed call changes nothing (values are checked before any state
  is touched).
* ``with ctx:`` resets the context on exit, as the reference does.
* Widths are 8, 16, 32, 64 or 128 bits; any other width is a ``ValueError``.

Classes: AtomikContext, AtomikTable, DeltaMessage, DeltaStream,
Fingerprint, SyncTable, PersistentSyncTable, MemoryTransport and
CallbackTransport (the reference's names), plus FingerprintGate and
UndoHistory. Further deliberate differences, each also in its class's
docstring: DeltaStream.apply / SyncTable.receive apply each delta exactly
once (raw_apply=True gives the reference's apply-everything); Fingerprint is
strong and position-aware (legacy_xor_fold=True gives the reference's
XOR-fold); PersistentSyncTable keeps a checksummed WAL in a directory.

Extras: ``accum_batch`` over any C-contiguous buffer of uint64 (numpy
arrays without a copy; the fold runs without the GIL), bytes-like inputs
everywhere (bytes, bytearray, memoryview, numpy arrays, read in place),
snapshots, pickling, hex ``repr``, type stubs (atomik_core.pyi).

Thread safety: every method runs with the GIL held and is atomic with
respect to other Python threads, so many threads may ``accum`` into one
context (seed pattern 1) and the result is exact. Batch folds run without
the GIL on a private accumulator and are merged in with the GIL held.
"""

import os

cimport cython
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.long cimport PyLong_Check
from cpython.mem cimport PyMem_Malloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.number cimport PyIndex_Check, PyNumber_Index
from cython.operator cimport dereference as deref
from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector

from _atomik cimport *
from _atomik cimport (
    Context64, Context128, Status, Table64, Table128, Word128,
    accum_batch64, context_pointers64, context_pointers128, max_reduce,
    new_dense_table64, new_dense_table128, or_reduce, status_code,
    status_message, table_batch_accum64, table_batch_accum128,
    table_read64, table_read128, table_swap64, table_swap128,
    table_swap_to64, table_swap_to128,
)

cdef extern from "atomik/version.hpp" namespace "atomik":
    const char* kVersionString

#: The atomik version (the C++ library's, from CMakeLists.txt's project()).
__version__ = kVersionString.decode("ascii")
#: The version of the reference package whose API this module follows.
REFERENCE_VERSION = "0.4.0"

__all__ = [
    "AtomikContext",
    "AtomikTable",
    "CorruptionError",
    "DeltaMessage",
    "DeltaStream",
    "Fingerprint",
    "FingerprintGate",
    "MemoryTransport",
    "CallbackTransport",
    "PersistentSyncTable",
    "StreamGapError",
    "SyncTable",
    "UndoHistory",
    "WIDTHS",
    "REFERENCE_VERSION",
]

#: The context widths this module supports, in bits.
WIDTHS = (8, 16, 32, 64, 128)

cdef uint64_t _ALL_ONES = 0xFFFFFFFFFFFFFFFF
cdef object _MASK64 = 0xFFFFFFFFFFFFFFFF


class CorruptionError(ValueError):
    """Bytes from a file or the wire failed validation (atomik kCorruption).

    A subclass of ValueError, so code written for the reference (which
    raises ValueError for bad bytes) keeps working.
    """


class StreamGapError(RuntimeError):
    """A peer's delta lies beyond this receiver's window and was NOT applied.

    Raised by DeltaStream.apply, SyncTable.receive and receive_bytes when a
    message's seq is more than `window` past the last seq applied in order
    from its origin: typically a receiver that joined a stream late (the
    sender's first deltas never reached it), or one that missed a long run
    of deltas. The reference applies such a delta anyway, which silently
    leaves the receiver without the deltas it missed; here nothing changes
    and the gap is counted in stats["beyond_window"]. Recover by loading
    the sender's state (snapshot / load) before streaming, by asking for
    what is missing (missing(version_vector)), or with a larger `window`.

    Attributes: origin, seq, addr (of the refused message).
    """

    def __init__(self, message, origin=None, seq=None, addr=None):
        super().__init__(message)
        self.origin = origin
        self.seq = seq
        self.addr = addr

# The module is split by class into .pxi files, included in this order.
include "_core_convert.pxi"
include "_core_context.pxi"
include "_core_table.pxi"
include "_core_message.pxi"
include "_core_stream.pxi"
include "_core_fingerprint.pxi"
include "_core_sync.pxi"
include "_core_persistent.pxi"
include "_core_transport.pxi"
include "_core_fastcall.pxi"
