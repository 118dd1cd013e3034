/* SPDX-License-Identifier: Apache-2.0 */
/* atomik/atomik.h: the C API (C11; also compiles as C++).
 *
 * Opaque handles over the C++ library, for C, Rust, Go, Zig and other FFI
 * users: Context (8/16/32/64-bit, XOR or additive), DeltaTable, Fingerprint,
 * FingerprintGate, the 16-byte DeltaMessage, DeltaStream, the durable
 * PersistentTable and NodeClient. docs/c_api.md is the guide.
 *
 *   atomik_context* ctx = NULL;
 *   if (atomik_context_new(64, ATOMIK_GROUP_XOR, &ctx) != ATOMIK_OK) {
 *     fprintf(stderr, "%s\n", atomik_last_error());
 *     return 1;
 *   }
 *   atomik_context_load(ctx, 0xCAFE);
 *   atomik_context_accum(ctx, 0x00FF);
 *   uint64_t state = 0;
 *   atomik_context_read(ctx, &state);  // 0xCA01
 *   atomik_context_free(ctx);
 *
 * Conventions (the same for every function):
 *   - Every call returns an atomik_status; ATOMIK_OK (0) is success. Results
 *     come back through out-parameters, written only on success.
 *   - On failure, atomik_last_error() returns a message naming the function,
 *     what failed and the values involved, e.g.
 *     "OutOfRange: atomik_table_accum: DeltaTable::accum: address 300 >=
 *     num_contexts 256". The message is per thread; it stays until the next
 *     failing call on the same thread (successful calls do not clear it).
 *   - A failed call leaves its object unchanged, unless its comment says
 *     otherwise (a failed durable write leaves the table failed, as in C++).
 *   - No C++ exception crosses this boundary: out-of-memory becomes
 *     ATOMIK_RESOURCE_EXHAUSTED, any other unexpected exception
 *     ATOMIK_INTERNAL (a bug: please report it).
 *   - A NULL handle or NULL out-parameter is ATOMIK_INVALID_ARGUMENT, never
 *     a crash. A freed handle must not be used again (undefined behaviour,
 *     as with free()). *_free(NULL) does nothing.
 *   - Ownership: an object made by atomik_X_new/open/connect is owned by the
 *     caller and released by atomik_X_free. Strings returned through a
 *     char** are malloc'd and released by atomik_string_free. Byte buffers
 *     passed in are only read during the call.
 *   - Threads: a handle is used by one thread at a time (like the C++
 *     classes); different handles may be used concurrently.
 *   - Values: words are passed as uint64_t. A value wider than the object's
 *     width is ATOMIK_OUT_OF_RANGE, never masked silently.
 */
#ifndef ATOMIK_ATOMIK_H_
#define ATOMIK_ATOMIK_H_

/* A C header: C spellings are kept, so clang-tidy's C++ rules are off. */
/* NOLINTBEGIN(modernize-deprecated-headers, modernize-use-using) */
/* NOLINTBEGIN(readability-identifier-naming) */
#include <stddef.h>
#include <stdint.h>

#include "atomik/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Status and errors
 * ---------------------------------------------------------------------- */

/* The same numbers as atomik::Code (status.hpp, docs/errors.md); never
 * renumbered. ATOMIK_INTERNAL exists only here: an unexpected exception. */
typedef enum atomik_status {
  ATOMIK_OK = 0,
  ATOMIK_INVALID_ARGUMENT = 3,    /* bad caller input, NULL handle */
  ATOMIK_NOT_FOUND = 5,           /* a named file or key does not exist */
  ATOMIK_RESOURCE_EXHAUSTED = 8,  /* a limit was reached; out of memory */
  ATOMIK_FAILED_PRECONDITION = 9, /* wrong state, e.g. a closed table */
  ATOMIK_OUT_OF_RANGE = 11,       /* an address or value outside its range */
  ATOMIK_UNIMPLEMENTED = 12,      /* unknown format version or feature */
  ATOMIK_INTERNAL = 13,           /* an unexpected C++ exception (a bug) */
  ATOMIK_UNAVAILABLE = 14,        /* a peer or the network cannot be reached */
  ATOMIK_CORRUPTION = 15,         /* bad bytes from disk or wire */
  ATOMIK_IO_ERROR = 16            /* the OS refused a file/socket operation */
} atomik_status;

/* The message of the last failed call on this thread, "<Code>: <what>", or
 * "" if none failed yet. The pointer is owned by the library and valid until
 * the next failing call on this thread; copy it to keep it. */
ATOMIK_EXPORT const char* atomik_last_error(void);

/* The code's name, e.g. "OutOfRange"; "Unknown" for other values. Static
 * storage: never freed. */
ATOMIK_EXPORT const char* atomik_status_name(atomik_status status);

/* The library version, e.g. "0.1.0". Static storage. */
ATOMIK_EXPORT const char* atomik_version(void);

/* Releases a string returned through a char** by this API. NULL is fine. */
ATOMIK_EXPORT void atomik_string_free(char* s);

/* ------------------------------------------------------------------------
 * Context: one reference state and one accumulator (context.hpp)
 * ---------------------------------------------------------------------- */

/* How deltas combine: XOR (self-inverse) or addition modulo 2^width (a
 * counter; to subtract d, accumulate 2^width - d, or use rollback). */
typedef enum atomik_group {
  ATOMIK_GROUP_XOR = 0,
  ATOMIK_GROUP_ADD = 1
} atomik_group;

typedef struct atomik_context atomik_context;

/* A new context of `width` bits (8, 16, 32 or 64) composed by `group`, with
 * reference, accumulator and delta count 0, stored in *out. Errors:
 * ATOMIK_INVALID_ARGUMENT (other width, unknown group, NULL out). */
ATOMIK_EXPORT atomik_status atomik_context_new(unsigned width,
                                               atomik_group group,
                                               atomik_context** out);
ATOMIK_EXPORT void atomik_context_free(atomik_context* ctx);

/* reference = value; accumulator and delta count cleared. */
ATOMIK_EXPORT atomik_status atomik_context_load(atomik_context* ctx,
                                                uint64_t value);
/* accumulator = combine(accumulator, delta); delta count + 1. O(1), no
 * allocation. Under XOR, accumulating a delta twice cancels it. */
ATOMIK_EXPORT atomik_status atomik_context_accum(atomik_context* ctx,
                                                 uint64_t delta);
/* As accum() on each of deltas[0..n) in order, in one call (the fast path
 * for many deltas). All deltas are checked first: if one is too wide,
 * nothing is applied. deltas may be NULL when n is 0. */
ATOMIK_EXPORT atomik_status atomik_context_accum_batch(atomik_context* ctx,
                                                       const uint64_t* deltas,
                                                       size_t n);
/* Accumulates the inverse of delta (XOR: delta; ADD: its negation). */
ATOMIK_EXPORT atomik_status atomik_context_rollback(atomik_context* ctx,
                                                    uint64_t delta);
/* *out = combine(reference, accumulator), the current state. */
ATOMIK_EXPORT atomik_status atomik_context_read(const atomik_context* ctx,
                                                uint64_t* out);
/* Closes an epoch: *out = the current state, which becomes the reference;
 * accumulator and count cleared. out may be NULL. */
ATOMIK_EXPORT atomik_status atomik_context_swap(atomik_context* ctx,
                                                uint64_t* out);
/* As swap(), but new_reference becomes the reference. */
ATOMIK_EXPORT atomik_status atomik_context_swap_to(atomik_context* ctx,
                                                   uint64_t new_reference,
                                                   uint64_t* out);
/* dst.accumulator = combine(dst.accumulator, src.accumulator); counts add.
 * ATOMIK_INVALID_ARGUMENT if width or group differ (dst unchanged). */
ATOMIK_EXPORT atomik_status atomik_context_merge(atomik_context* dst,
                                                 const atomik_context* src);
/* Reference, accumulator and count all cleared. */
ATOMIK_EXPORT atomik_status atomik_context_reset(atomik_context* ctx);
ATOMIK_EXPORT atomik_status
atomik_context_accumulator(const atomik_context* ctx, uint64_t* out);
ATOMIK_EXPORT atomik_status atomik_context_reference(const atomik_context* ctx,
                                                     uint64_t* out);
/* accum/rollback calls (and merged counts) since the last load/swap/reset. */
ATOMIK_EXPORT atomik_status
atomik_context_delta_count(const atomik_context* ctx, uint64_t* out);
/* *out = 1 when no net delta is pending, else 0. */
ATOMIK_EXPORT atomik_status atomik_context_is_clean(const atomik_context* ctx,
                                                    int* out);
ATOMIK_EXPORT atomik_status atomik_context_width(const atomik_context* ctx,
                                                 unsigned* out);

/* ------------------------------------------------------------------------
 * DeltaTable: 64-bit XOR contexts by 32-bit address (table.hpp)
 * ---------------------------------------------------------------------- */

typedef struct atomik_table atomik_table;

/* A dense table of addresses 0..num_contexts-1 (others: OUT_OF_RANGE).
 * ATOMIK_INVALID_ARGUMENT above 2^32; RESOURCE_EXHAUSTED without memory. */
ATOMIK_EXPORT atomik_status atomik_table_new_dense(uint64_t num_contexts,
                                                   atomik_table** out);
/* A sparse table: any address, contexts made on first write. */
ATOMIK_EXPORT atomik_status atomik_table_new_sparse(atomik_table** out);
ATOMIK_EXPORT void atomik_table_free(atomik_table* table);
ATOMIK_EXPORT atomik_status atomik_table_load(atomik_table* table,
                                              uint32_t addr, uint64_t value);
ATOMIK_EXPORT atomik_status atomik_table_accum(atomik_table* table,
                                               uint32_t addr, uint64_t delta);
ATOMIK_EXPORT atomik_status atomik_table_rollback(atomik_table* table,
                                                  uint32_t addr,
                                                  uint64_t delta);
/* A sparse table reads an untouched address as 0. */
ATOMIK_EXPORT atomik_status atomik_table_read(const atomik_table* table,
                                              uint32_t addr, uint64_t* out);
/* Closes addr's epoch; *out (may be NULL) = its state. */
ATOMIK_EXPORT atomik_status atomik_table_swap(atomik_table* table,
                                              uint32_t addr, uint64_t* out);
/* Dense: its size; sparse: the contexts created so far. */
ATOMIK_EXPORT atomik_status atomik_table_num_contexts(const atomik_table* table,
                                                      uint64_t* out);

/* ------------------------------------------------------------------------
 * Fingerprint and FingerprintGate (fingerprint.hpp,
 * docs/format/fingerprint.md)
 * ---------------------------------------------------------------------- */

typedef enum atomik_fingerprint_mode {
  ATOMIK_FINGERPRINT_CHUNKED_XXH3 = 1,   /* strong: XXH3-128 per chunk */
  ATOMIK_FINGERPRINT_LEGACY_XOR_FOLD = 2 /* the reference's XOR fold */
} atomik_fingerprint_mode;

/* Fill with atomik_fingerprint_options_init(), then change fields. */
typedef struct atomik_fingerprint_options {
  atomik_fingerprint_mode mode; /* default CHUNKED_XXH3 */
  size_t chunk_size; /* strong: power of two in [64, 2^30]; default 8192 */
  uint64_t key;      /* strong: 0 = unkeyed */
  unsigned width;    /* legacy: 8, 16, 32 or 64 */
} atomik_fingerprint_options;

/* A 128-bit fingerprint value (legacy widths use the low word). */
typedef struct atomik_fingerprint_value {
  uint64_t high;
  uint64_t low;
} atomik_fingerprint_value;

/* The canonical encoding's size in bytes. */
#define ATOMIK_CANONICAL_FINGERPRINT_SIZE 20

ATOMIK_EXPORT void atomik_fingerprint_options_init(
    atomik_fingerprint_options* options);

typedef struct atomik_fingerprint atomik_fingerprint;

/* options NULL: the defaults. ATOMIK_INVALID_ARGUMENT names a bad field. */
ATOMIK_EXPORT atomik_status atomik_fingerprint_new(
    const atomik_fingerprint_options* options, atomik_fingerprint** out);
ATOMIK_EXPORT void atomik_fingerprint_free(atomik_fingerprint* fp);
/* Fingerprints data (the new reference); *out (may be NULL) = its value.
 * O(len). data may be NULL when len is 0. */
ATOMIK_EXPORT atomik_status
atomik_fingerprint_load(atomik_fingerprint* fp, const void* data, size_t len,
                        atomik_fingerprint_value* out);
/* Fingerprints data as the current value (the reference stays). O(len). */
ATOMIK_EXPORT atomik_status
atomik_fingerprint_update(atomik_fingerprint* fp, const void* data, size_t len,
                          atomik_fingerprint_value* out);
/* *out = 1 when the value differs from the reference. */
ATOMIK_EXPORT atomik_status
atomik_fingerprint_changed(const atomik_fingerprint* fp, int* out);
ATOMIK_EXPORT atomik_status atomik_fingerprint_value_get(
    const atomik_fingerprint* fp, atomik_fingerprint_value* out);
/* reference XOR value. */
ATOMIK_EXPORT atomik_status atomik_fingerprint_delta(
    const atomik_fingerprint* fp, atomik_fingerprint_value* out);
/* The current value becomes the reference. */
ATOMIK_EXPORT atomik_status atomik_fingerprint_reset(atomik_fingerprint* fp);
/* The 20-byte canonical form of the current value into out[0..20). */
ATOMIK_EXPORT atomik_status
atomik_fingerprint_canonical(const atomik_fingerprint* fp,
                             uint8_t out[ATOMIK_CANONICAL_FINGERPRINT_SIZE]);
/* One-shot: the fingerprint of data under options (NULL: defaults). */
ATOMIK_EXPORT atomik_status atomik_fingerprint_compute(
    const void* data, size_t len, const atomik_fingerprint_options* options,
    atomik_fingerprint_value* out);

typedef struct atomik_fingerprint_gate atomik_fingerprint_gate;

/* A gate that reports whether each sample changed since the last one. */
ATOMIK_EXPORT atomik_status atomik_fingerprint_gate_new(
    const atomik_fingerprint_options* options, atomik_fingerprint_gate** out);
ATOMIK_EXPORT void atomik_fingerprint_gate_free(atomik_fingerprint_gate* gate);
/* *changed = 1 if sample differs from the previous one (the first sample
 * always counts as changed), else 0. O(len). */
ATOMIK_EXPORT atomik_status
atomik_fingerprint_gate_check(atomik_fingerprint_gate* gate, const void* sample,
                              size_t len, int* changed);
/* Checks so far, of which changes; skips = checks - changes. Any of the
 * out-parameters may be NULL. */
ATOMIK_EXPORT atomik_status atomik_fingerprint_gate_counts(
    const atomik_fingerprint_gate* gate, uint64_t* checks, uint64_t* changes,
    uint64_t* skips);

/* ------------------------------------------------------------------------
 * DeltaMessage: the reference's 16-byte wire message (message.hpp,
 * docs/format/wire.md): addr u32 | delta u64 | seq u32, big-endian.
 * ---------------------------------------------------------------------- */

#define ATOMIK_DELTA_MESSAGE_SIZE 16

typedef struct atomik_delta_message {
  uint32_t addr;
  uint64_t delta;
  uint32_t seq;
} atomik_delta_message;

/* The 16 wire bytes of *msg into out[0..16). */
ATOMIK_EXPORT atomik_status atomik_delta_message_encode(
    const atomik_delta_message* msg, uint8_t out[ATOMIK_DELTA_MESSAGE_SIZE]);
/* Decodes exactly 16 bytes; ATOMIK_INVALID_ARGUMENT for any other len. */
ATOMIK_EXPORT atomik_status atomik_delta_message_decode(
    const uint8_t* bytes, size_t len, atomik_delta_message* out);

/* ------------------------------------------------------------------------
 * DeltaStream: exactly-once apply, catch-up, digests (stream.hpp)
 * ---------------------------------------------------------------------- */

typedef enum atomik_apply_mode {
  ATOMIK_APPLY_EXACTLY_ONCE = 0, /* dedup by (origin, seq) */
  ATOMIK_APPLY_RAW_COMPAT = 1    /* the reference: every apply XORs */
} atomik_apply_mode;

/* Fill with atomik_stream_options_init(); the fields mean what the C++
 * StreamOptions fields of the same name mean (limits in stream.hpp). */
typedef struct atomik_stream_options {
  uint64_t origin;            /* 0: a random nonzero id */
  uint64_t dense_contexts;    /* 0: sparse table */
  uint64_t window;            /* default 1024 */
  uint64_t retain_per_origin; /* default 65536 */
  uint64_t max_origins;       /* default 256 */
  uint64_t max_pending;       /* default 2^20 */
  atomik_apply_mode mode;
} atomik_stream_options;

typedef enum atomik_apply_outcome {
  ATOMIK_APPLIED = 0,      /* new: folded in and recorded */
  ATOMIK_DUPLICATE = 1,    /* already applied: ignored, counted */
  ATOMIK_BEYOND_WINDOW = 2 /* too far ahead: NOT applied, counted */
} atomik_apply_outcome;

typedef struct atomik_stamped_delta {
  uint64_t origin;
  uint64_t seq;
  uint32_t addr;
  uint64_t delta;
} atomik_stamped_delta;

/* One entry of a version vector: every seq <= mark of origin is applied. */
typedef struct atomik_version_entry {
  uint64_t origin;
  uint64_t mark;
} atomik_version_entry;

typedef struct atomik_digest {
  uint64_t lo;
  uint64_t hi;
} atomik_digest;

typedef struct atomik_batch_outcome {
  uint64_t applied;
  uint64_t duplicates;
  uint64_t beyond_window;
} atomik_batch_outcome;

ATOMIK_EXPORT void atomik_stream_options_init(atomik_stream_options* options);

typedef struct atomik_stream atomik_stream;

/* options NULL: the defaults. ATOMIK_INVALID_ARGUMENT names a bad field. */
ATOMIK_EXPORT atomik_status
atomik_stream_new(const atomik_stream_options* options, atomik_stream** out);
ATOMIK_EXPORT void atomik_stream_free(atomik_stream* stream);
ATOMIK_EXPORT atomik_status atomik_stream_load(atomik_stream* stream,
                                               uint32_t addr, uint64_t value);
ATOMIK_EXPORT atomik_status atomik_stream_read(const atomik_stream* stream,
                                               uint32_t addr, uint64_t* out);
/* A local delta, stamped with this stream's origin and its next seq;
 * *out (may be NULL) = the stamp. */
ATOMIK_EXPORT atomik_status atomik_stream_accum(atomik_stream* stream,
                                                uint32_t addr, uint64_t delta,
                                                atomik_stamped_delta* out);
/* A remote delta; *outcome (may be NULL) says whether it was applied. */
ATOMIK_EXPORT atomik_status atomik_stream_apply(atomik_stream* stream,
                                                uint64_t origin, uint64_t seq,
                                                uint32_t addr, uint64_t delta,
                                                atomik_apply_outcome* outcome);
/* A buffer of 16-byte DeltaMessages from origin (len a multiple of 16):
 * validated whole, then applied; ATOMIK_INVALID_ARGUMENT on a length that
 * is not a multiple of 16, with nothing applied. *outcome may be NULL. */
ATOMIK_EXPORT atomik_status atomik_stream_apply_messages(
    atomik_stream* stream, uint64_t origin, const uint8_t* bytes, size_t len,
    atomik_batch_outcome* outcome);
/* The applied (origin, mark) pairs, ascending origin: writes at most `cap`
 * entries to out and the full count to *count. ATOMIK_OUT_OF_RANGE if cap
 * is too small (*count is still set: call again with a bigger buffer). */
ATOMIK_EXPORT atomik_status atomik_stream_version_vector(
    const atomik_stream* stream, atomik_version_entry* out, size_t cap,
    size_t* count);
/* The replica digest: equal digests mean equal tables (same digest key). */
ATOMIK_EXPORT atomik_status atomik_stream_digest(const atomik_stream* stream,
                                                 atomik_digest* out);

/* What a peer with version vector `remote` lacks (owned by the caller;
 * atomik_catchup_free). */
typedef struct atomik_catchup atomik_catchup;

ATOMIK_EXPORT atomik_status atomik_stream_missing(
    const atomik_stream* stream, const atomik_version_entry* remote, size_t n,
    atomik_catchup** out);
ATOMIK_EXPORT void atomik_catchup_free(atomik_catchup* catchup);
/* *out = 1 when the retained log cannot cover the gap: send a snapshot. */
ATOMIK_EXPORT atomik_status
atomik_catchup_needs_state_transfer(const atomik_catchup* catchup, int* out);
/* Why a state transfer is needed ("" otherwise); owned by catchup. */
ATOMIK_EXPORT const char* atomik_catchup_reason(const atomik_catchup* catchup);
/* The deltas to send, in (origin, seq) order: *deltas points into catchup
 * (valid until atomik_catchup_free), *count entries. */
ATOMIK_EXPORT atomik_status
atomik_catchup_deltas(const atomik_catchup* catchup,
                      const atomik_stamped_delta** deltas, size_t* count);

/* ------------------------------------------------------------------------
 * PersistentTable: the durable table, WAL + checkpoints
 * (persistent_table.hpp)
 * ---------------------------------------------------------------------- */

typedef enum atomik_sync_policy {
  ATOMIK_SYNC_EVERY_RECORD = 0, /* acknowledged after fdatasync */
  ATOMIK_SYNC_GROUP = 1,        /* fdatasync per group of records */
  ATOMIK_SYNC_NONE = 2          /* after write(): survives a process crash */
} atomik_sync_policy;

typedef enum atomik_recovery_mode {
  ATOMIK_RECOVERY_STRICT = 0, /* stop at the first bad record */
  ATOMIK_RECOVERY_SKIP = 1    /* drop bad records, counted */
} atomik_recovery_mode;

typedef struct atomik_ptable_options {
  uint64_t num_contexts; /* 0: sparse */
  atomik_sync_policy sync;
  atomik_recovery_mode recovery;
  uint32_t undo_levels;
  uint64_t origin; /* 0: a random nonzero id, kept in the directory */
} atomik_ptable_options;

ATOMIK_EXPORT void atomik_ptable_options_init(atomik_ptable_options* options);

typedef struct atomik_ptable atomik_ptable;

/* Opens (creating if needed) the table in directory dir and recovers it.
 * options NULL: the defaults. Errors: the C++ open's (IoError, Corruption,
 * FailedPrecondition when another process holds the directory's lock). */
ATOMIK_EXPORT atomik_status atomik_ptable_open(
    const char* dir, const atomik_ptable_options* options, atomik_ptable** out);
/* Closes (if not closed) and releases the table; a close error is lost:
 * call atomik_ptable_close first to see it. */
ATOMIK_EXPORT void atomik_ptable_free(atomik_ptable* table);
/* Durable once this returns OK (per the sync policy). */
ATOMIK_EXPORT atomik_status atomik_ptable_load(atomik_ptable* table,
                                               uint32_t addr, uint64_t value);
ATOMIK_EXPORT atomik_status atomik_ptable_accum(atomik_ptable* table,
                                                uint32_t addr, uint64_t delta);
ATOMIK_EXPORT atomik_status atomik_ptable_read(const atomik_ptable* table,
                                               uint32_t addr, uint64_t* out);
/* Closes the epoch of every context; *epoch (may be NULL) = the new epoch
 * number (1 for the first swap). */
ATOMIK_EXPORT atomik_status atomik_ptable_swap(atomik_ptable* table,
                                               uint64_t* epoch);
/* Forces pending writes to disk. */
ATOMIK_EXPORT atomik_status atomik_ptable_sync(atomik_ptable* table);
/* Syncs and closes; later calls fail with ATOMIK_FAILED_PRECONDITION. The
 * handle must still be freed. */
ATOMIK_EXPORT atomik_status atomik_ptable_close(atomik_ptable* table);

/* ------------------------------------------------------------------------
 * NodeClient: talks to an `atomik node` over TCP (node.hpp, docs/protocol.md)
 * ---------------------------------------------------------------------- */

typedef struct atomik_node_client atomik_node_client;

/* Connects to address "HOST:PORT" within timeout_ms (0: 5000). key is the
 * node's 32-byte shared key, or NULL with key_len 0 for an unkeyed node.
 * ATOMIK_UNAVAILABLE when nobody answers; INVALID_ARGUMENT on a bad
 * address or key length. */
ATOMIK_EXPORT atomik_status atomik_node_client_connect(
    const char* address, const uint8_t* key, size_t key_len,
    uint32_t timeout_ms, atomik_node_client** out);
ATOMIK_EXPORT void atomik_node_client_free(atomik_node_client* client);
/* Returns once the node has made the delta durable. */
ATOMIK_EXPORT atomik_status atomik_node_client_accum(atomik_node_client* client,
                                                     uint32_t addr,
                                                     uint64_t delta);
ATOMIK_EXPORT atomik_status atomik_node_client_read(atomik_node_client* client,
                                                    uint32_t addr,
                                                    uint64_t* out);
/* Closes the node's epoch; *epoch (may be NULL) = the new epoch number. */
ATOMIK_EXPORT atomik_status atomik_node_client_swap(atomik_node_client* client,
                                                    uint64_t* epoch);
/* The node's status as one JSON object; *json is malloc'd: release it
 * with atomik_string_free. */
ATOMIK_EXPORT atomik_status
atomik_node_client_status(atomik_node_client* client, char** json);
ATOMIK_EXPORT atomik_status
atomik_node_client_digest(atomik_node_client* client, atomik_digest* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* NOLINTEND(readability-identifier-naming) */
/* NOLINTEND(modernize-deprecated-headers, modernize-use-using) */

#endif /* ATOMIK_ATOMIK_H_ */
