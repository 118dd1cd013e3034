# SPDX-License-Identifier: Apache-2.0
# cython: language_level=3
# Declarations of the atomik C++ API used by _core.pyx and its .pxi files.
# Only what the module calls is declared; the C++ headers are the reference.

from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libcpp cimport bool as cbool
from libcpp.pair cimport pair
from libcpp.string cimport string
from libcpp.vector cimport vector


cdef extern from "atomik/word.hpp" namespace "atomik" nogil:
    cdef cppclass Word128:
        Word128()
        uint64_t lo
        uint64_t hi


cdef extern from "atomik/status.hpp" namespace "atomik" nogil:
    cdef cppclass Status:
        Status()
        cbool ok()


cdef extern from "atomik/context.hpp" namespace "atomik" nogil:
    cdef cppclass Context64 "atomik::Context<std::uint64_t>":
        Context64()
        void load(uint64_t)
        void accum(uint64_t)
        uint64_t read()
        uint64_t swap()
        uint64_t swap(uint64_t)
        void rollback(uint64_t)
        void merge(const Context64&)
        void reset()
        uint64_t accumulator()
        uint64_t reference()
        cbool is_clean()
        uint64_t delta_count()

    cdef cppclass Context128 "atomik::Context<atomik::Word128>":
        Context128()
        void load(Word128)
        void accum(Word128)
        Word128 read()
        Word128 swap()
        Word128 swap(Word128)
        void rollback(Word128)
        void merge(const Context128&)
        void reset()
        Word128 accumulator()
        Word128 reference()
        cbool is_clean()
        uint64_t delta_count()


cdef extern from "atomik/table.hpp" namespace "atomik" nogil:
    cdef cppclass Table64 "atomik::DeltaTable<std::uint64_t>":
        Status load(uint32_t, uint64_t)
        Status accum(uint32_t, uint64_t)
        Status rollback(uint32_t, uint64_t)
        vector[pair[uint32_t, uint64_t]] snapshot()
        uint64_t num_contexts()

    cdef cppclass Table128 "atomik::DeltaTable<atomik::Word128>":
        Status load(uint32_t, Word128)
        Status accum(uint32_t, Word128)
        Status rollback(uint32_t, Word128)
        vector[pair[uint32_t, Word128]] snapshot()
        uint64_t num_contexts()


cdef extern from "atomik_glue.hpp" namespace "atomik::python" nogil:
    int status_code(const Status&)
    string status_message(const Status&)
    void accum_batch64 "atomik::python::accum_batch<std::uint64_t>"(
        Context64&, const uint64_t*, size_t)
    uint64_t or_reduce(const uint64_t*, size_t)
    uint32_t max_reduce(const uint32_t*, size_t)

    Table64* new_dense_table64 "atomik::python::new_dense_table<std::uint64_t>"(
        uint64_t, Status*) except +
    Table128* new_dense_table128 "atomik::python::new_dense_table<atomik::Word128>"(
        uint64_t, Status*) except +
    Status table_read64 "atomik::python::table_read"(const Table64&, uint32_t, uint64_t*)
    Status table_read128 "atomik::python::table_read"(const Table128&, uint32_t, Word128*)
    Status table_swap64 "atomik::python::table_swap"(Table64&, uint32_t, uint64_t*)
    Status table_swap128 "atomik::python::table_swap"(Table128&, uint32_t, Word128*)
    Status table_swap_to64 "atomik::python::table_swap_to"(
        Table64&, uint32_t, uint64_t, uint64_t*)
    Status table_swap_to128 "atomik::python::table_swap_to"(
        Table128&, uint32_t, Word128, Word128*)
    Status table_batch_accum64 "atomik::python::table_batch_accum"(
        Table64&, const vector[pair[uint32_t, uint64_t]]&) except +
    Status table_batch_accum128 "atomik::python::table_batch_accum"(
        Table128&, const vector[pair[uint32_t, Word128]]&) except +
    void context_pointers64 "atomik::python::context_pointers"(
        const Table64&, vector[Context64*]*) except +
    void context_pointers128 "atomik::python::context_pointers"(
        const Table128&, vector[Context128*]*) except +


cdef extern from "atomik/message.hpp" namespace "atomik" nogil:
    cdef cppclass CDeltaMessage "atomik::DeltaMessage":
        CDeltaMessage()

        uint32_t addr
        uint64_t delta
        uint32_t seq


cdef extern from "atomik/stream.hpp" namespace "atomik" nogil:
    cdef cppclass StampedDelta:
        StampedDelta()
        uint64_t origin
        uint64_t seq
        uint32_t addr
        uint64_t delta

    cdef cppclass Digest:
        uint64_t lo
        uint64_t hi

    cdef cppclass StreamStats:
        uint64_t local
        uint64_t applied
        uint64_t duplicates
        uint64_t beyond_window

    cdef cppclass CatchUp:
        CatchUp()
        cbool needs_state_transfer
        string reason
        vector[StampedDelta] deltas

    cdef cppclass CDeltaStream "atomik::DeltaStream":
        Status load(uint32_t, uint64_t)
        vector[StampedDelta] pending() except +
        Digest digest()
        Digest compute_digest()
        uint64_t origin()
        const StreamStats& stats()


cdef extern from "atomik/fingerprint.hpp" namespace "atomik" nogil:
    cdef cppclass FingerprintValue:
        FingerprintValue()
        uint64_t high
        uint64_t low

    cdef cppclass CFingerprint "atomik::Fingerprint":
        CFingerprint()

        cbool changed()
        FingerprintValue value()
        FingerprintValue reference()
        FingerprintValue delta()
        unsigned width()
        void reset()
        Status accumulate_delta(FingerprintValue, FingerprintValue)
        uint64_t length()
        size_t chunk_size()
        cbool keyed()
        cbool equals(const CFingerprint&)
        string canonical_hex() except +

    cdef cppclass CFingerprintGate "atomik::FingerprintGate":
        CFingerprintGate()

        uint64_t checks()
        uint64_t changes()
        uint64_t skips()
        const CFingerprint& fingerprint()


cdef extern from "atomik/undo.hpp" namespace "atomik" nogil:
    cdef cppclass Undo64 "atomik::UndoHistory<std::uint64_t>":
        Undo64(size_t) except +
        void apply(Context64&, uint64_t) except +
        size_t undo_depth()
        size_t redo_depth()
        size_t max_levels()
        uint64_t dropped()
        void clear()
        vector[uint64_t] undo_deltas() except +
        vector[uint64_t] redo_deltas() except +


cdef extern from "atomik/wal.hpp" namespace "atomik" nogil:
    cdef cppclass RecoveryReport:
        uint64_t segments
        uint64_t records_ok
        uint64_t records_dropped
        uint64_t bytes_dropped
        uint64_t torn_bytes
        uint64_t duplicates
        vector[string] problems
        string summary() except +


cdef extern from "atomik/persistent_table.hpp" namespace "atomik" nogil:
    cdef cppclass PersistentTable:
        Status load(uint32_t, uint64_t) except +
        Status accum(uint32_t, uint64_t) except +
        Status accum_undoable(uint32_t, uint64_t) except +
        size_t undo_depth(uint32_t)
        size_t redo_depth(uint32_t)
        Status sync() except +
        Status close() except +
        uint64_t epoch()
        uint64_t origin()
        const RecoveryReport& recovery_report()
        const string& dir()


cdef extern from "atomik_glue.hpp" namespace "atomik::python" nogil:
    void message_to_bytes(const CDeltaMessage&, unsigned char*)
    Status message_from_bytes(const unsigned char*, size_t, CDeltaMessage*)

    CDeltaStream* new_stream(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                            cbool, Status*) except +
    cbool stream_raw_apply(const CDeltaStream&)
    Status stream_read(const CDeltaStream&, uint32_t, uint64_t*)
    Status stream_accum(CDeltaStream&, uint32_t, uint64_t, StampedDelta*) except +
    Status stream_apply(CDeltaStream&, uint64_t, uint64_t, uint32_t, uint64_t,
                        int*) except +
    int stream_classify(const CDeltaStream&, uint64_t, uint64_t)
    vector[pair[uint64_t, uint64_t]] stream_version_vector(
        const CDeltaStream&) except +
    CatchUp stream_missing(const CDeltaStream&,
                           const vector[pair[uint64_t, uint64_t]]&) except +
    vector[pair[uint32_t, Context64]] stream_contexts(const CDeltaStream&) except +
    uint64_t stream_num_contexts(const CDeltaStream&)

    Status fingerprint_create(int, size_t, uint64_t, unsigned, CFingerprint*)
    FingerprintValue fingerprint_load(CFingerprint&, const unsigned char*, size_t)
    FingerprintValue fingerprint_update(CFingerprint&, const unsigned char*, size_t)
    Status fingerprint_update_range(CFingerprint&, uint64_t, const unsigned char*,
                                    size_t, const unsigned char*, size_t)
    Status fingerprint_update_range_in_place(
        CFingerprint&, const unsigned char*, size_t, uint64_t,
        const unsigned char*, size_t)
    int fingerprint_mode(const CFingerprint&)
    void fingerprint_canonical(const CFingerprint&, unsigned char*)
    Status fingerprint_parse_canonical(const unsigned char*, size_t, int*,
                                       uint64_t*, cbool*, FingerprintValue*)
    Status gate_create(int, size_t, uint64_t, unsigned, CFingerprintGate*)
    cbool gate_check(CFingerprintGate&, const unsigned char*, size_t)
    cbool gate_last(const CFingerprintGate&, FingerprintValue*)

    cbool undo_undo(Undo64&, Context64&, uint64_t*)
    cbool undo_redo(Undo64&, Context64&, uint64_t*)

    PersistentTable* persistent_open(const string&, uint64_t, int, int, uint32_t,
                                     uint64_t, cbool, int, Status*) except +
    Status persistent_read(const PersistentTable&, uint32_t, uint64_t*) except +
    Status persistent_apply(PersistentTable&, uint64_t, uint64_t, uint32_t,
                            uint64_t, cbool*) except +
    Status persistent_snapshot(const PersistentTable&,
                               vector[pair[uint32_t, uint64_t]]*) except +
    Status persistent_swap(PersistentTable&, uint64_t*,
                           vector[pair[uint32_t, uint64_t]]*) except +
    Status persistent_undo(PersistentTable&, uint32_t, cbool, cbool*,
                           uint64_t*) except +
    uint64_t persistent_own_seq(const PersistentTable&) except +
