// SPDX-License-Identifier: Apache-2.0
// atomik/stream.hpp: DeltaStream, exactly-once replication of XOR deltas.
//
// A DeltaStream is a DeltaTable (64-bit words, XOR) plus, for every origin
// replica it has heard from, a record of which of that origin's sequence
// numbers it has applied. XOR is not idempotent (a delta applied twice is
// undone), so the reference package's "apply whatever arrives" diverges
// under retransmission; a DeltaStream applies each (origin, seq) exactly
// once, in any order, and can prove two replicas equal with a 16-byte digest.
//
//   auto a = atomik::DeltaStream::create({.origin = 1}).value();
//   auto b = atomik::DeltaStream::create({.origin = 2}).value();
//   atomik::StampedDelta d = a.accum(7, 0xFF).value();  // origin 1, seq 1
//   b.apply(d);                         // kApplied
//   b.apply(d);                         // kDuplicate: ignored and counted
//   a.digest() == b.digest();           // true
//   atomik::CatchUp c = a.missing(b.version_vector());  // what b lacks
//
// Per origin the stream keeps a contiguous high-water mark (every seq in
// 1..mark applied; anything at or below it is a duplicate forever) and a
// bitset window of `window` seqs above the mark: an arrival inside the window
// is applied at once (XOR commutes, so nothing needs holding back) and
// remembered; an arrival beyond the window is NOT applied and reported as
// kBeyondWindow (the sender or a later catch-up resends it). Applied deltas
// are kept in a bounded per-origin retained log that serves missing(); a
// peer that needs a delta already dropped gets `needs_state_transfer`, and
// snapshot() / install_state_transfer() move the whole state instead.
//
// Differences from the reference (atomik_core.DeltaStream), on purpose:
//   - apply() deduplicates by (origin, seq); the reference's apply-everything
//     exists only as StreamOptions::mode = ApplyMode::kRawCompat.
//   - accum() returns the stamped delta (64-bit seq, origin) rather than a
//     DeltaMessage; StampedDelta::to_message() gives the 16-byte form.
//   - apply(DeltaMessage) without an origin treats the message as coming
//     from one legacy peer, origin kLegacyOrigin (0): use
//     apply(origin, DeltaMessage) when several reference peers send to you.
//   - load() is local state (not replicated): load the same initial states on
//     every replica, or express initial states as deltas.
//
// Fast path: apply_messages() (a buffer of 16-byte messages) and
// apply_frame() validate a whole batch, then apply it with prefetching,
// 3-5x faster than one apply() per message on large tables.
// Scope: 64-bit words composed by XOR (the wire message's delta). Counter
// streams (AddGroup) are not provided yet: TODO(#8).
//
// Thread safety: none (like std::vector); one thread owns a stream. Copies
// are full deep copies (table, dedup state, logs).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/frame.hpp"
#include "atomik/message.hpp"
#include "atomik/status.hpp"
#include "atomik/table.hpp"
#include "atomik/types.hpp"

namespace atomik {

// The origin that apply(const DeltaMessage&) attributes 16-byte reference
// messages to.
inline constexpr OriginId kLegacyOrigin = 0;

// One delta with its origin and sequence number.
struct ATOMIK_EXPORT StampedDelta {
  OriginId origin = 0;
  Seq seq = 0;
  Addr addr = 0;
  std::uint64_t delta = 0;

  // The 16-byte reference message (origin dropped). Fails with kOutOfRange
  // if seq does not fit its 32 bits (never truncates).
  Result<DeltaMessage> to_message() const;
  friend bool operator==(const StampedDelta&, const StampedDelta&) = default;
};

// 16-byte table digest (docs/format/digest.md): the XOR over addresses whose
// state is not 0 of XXH3-128(key, addr_le32 || state_le64). Equal tables with
// equal keys have equal digests; the empty table's digest is all zero.
struct ATOMIK_EXPORT Digest {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  // 32 lower-case hex digits, hi first.
  std::string to_hex() const;
  friend bool operator==(const Digest&, const Digest&) = default;
};

// Which seqs of one origin have been applied: 1..mark, plus `above` (sorted,
// each in (mark, mark + window]).
struct OriginDedupState {
  Seq mark = 0;
  std::vector<Seq> above;
  friend bool operator==(const OriginDedupState&,
                         const OriginDedupState&) = default;
};
// The whole dedup state of a stream: what a WAL checkpoint must save so that
// replay after restore stays exactly-once.
using DedupState = std::map<OriginId, OriginDedupState>;

enum class ApplyMode : std::uint8_t {
  kExactlyOnce = 0,  // dedup by (origin, seq): the default
  kRawCompat = 1,    // the reference's behaviour: every apply XORs, even
                     // duplicates (diverges under retransmission; for
                     // compatibility tests and demonstrations only)
};

enum class ApplyOutcome : std::uint8_t {
  kApplied = 0,       // new: folded into the table and recorded
  kDuplicate = 1,     // already applied: ignored, counted
  kBeyondWindow = 2,  // seq > mark + window: NOT applied, not recorded,
                      // counted; resend it after the gap below it fills
};

// Returns "applied", "duplicate" or "beyond-window".
ATOMIK_EXPORT const char* to_string(ApplyOutcome outcome) noexcept;

struct StreamOptions {
  // This replica's origin id; 0 means "draw a random nonzero id".
  OriginId origin = 0;
  // 0: a sparse table (any 32-bit address, contexts created on first use,
  // as the reference's DeltaStream). N > 0: a dense table of addresses
  // 0..N-1 (faster; other addresses are kOutOfRange).
  std::uint64_t dense_contexts = 0;
  // Out-of-order window per origin, in seqs: a power of two in [64, 2^24].
  std::uint64_t window = 1024;
  // Retained log per origin, in deltas (24 bytes each): 0 (no log: missing()
  // can only report needs_state_transfer) or a power of two >= window, at
  // most 2^28.
  std::uint64_t retain_per_origin = 65536;
  // Origins tracked at most (own and legacy included). A delta from a new
  // origin beyond this is refused (kResourceExhausted): memory is bounded
  // by max_origins * (retain_per_origin * 24 + window / 8) bytes, about
  // 400 MB with the defaults; lower it for untrusted peers.
  std::uint64_t max_origins = 256;
  // Keep digest() current in O(1) per delta (two keyed hashes). Off: digest()
  // recomputes in O(table).
  bool track_digest = true;
  // The digest's hash key (seed). Replicas compare digests only if equal.
  std::uint64_t digest_key = 0x61746f6d696b3031;  // "atomik01"
  // Local deltas queued for pending(); accum() fails with
  // kResourceExhausted beyond this many undrained ones. 0: no queue.
  std::uint64_t max_pending = 1 << 20;
  ApplyMode mode = ApplyMode::kExactlyOnce;
};

struct StreamStats {
  std::uint64_t local = 0;          // accum() calls stamped
  std::uint64_t applied = 0;        // remote deltas applied (first time)
  std::uint64_t duplicates = 0;     // remote deltas ignored as duplicates
  std::uint64_t beyond_window = 0;  // remote deltas refused (beyond window)
};

// Counts of one batch apply (apply_messages, apply_frame).
struct BatchOutcome {
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t beyond_window = 0;
};

// The answer of missing(): the deltas a peer lacks, or that it cannot be
// caught up from the retained log.
struct CatchUp {
  // True when some delta the peer lacks has been dropped from the retained
  // log: send a snapshot() instead (install_state_transfer on the peer).
  bool needs_state_transfer = false;
  // When needs_state_transfer: which origin and seqs were dropped.
  std::string reason;
  // Deltas the peer lacks, grouped by origin, ascending seq within one. When
  // needs_state_transfer, the deltas that are still retained (useful, but
  // not enough).
  std::vector<StampedDelta> deltas;
};

// A whole stream state for a state transfer or a checkpoint: every non-zero
// state, the dedup state, and the digest of `states` under the sender's key.
struct StreamSnapshot {
  std::vector<std::pair<Addr, std::uint64_t>> states;  // ascending address
  DedupState dedup;
  Digest digest;
};

// The byte form of a snapshot, to send a state transfer or write a
// checkpoint (docs/format/wire.md section 9): little-endian, XXH3-64
// checksummed. O(snapshot).
ATOMIK_EXPORT std::vector<std::byte> encode_snapshot(const StreamSnapshot& s);
// Validates and decodes encode_snapshot's bytes: kResourceExhausted above
// max_bytes, kCorruption (naming the offset) for a bad checksum, count or
// layout, kUnimplemented for another version. Counts are checked against
// the bytes present before anything is allocated. The digest is checked
// later, by restore() / install_state_transfer(). O(bytes).
ATOMIK_EXPORT Result<StreamSnapshot> decode_snapshot(
    std::span<const std::byte> bytes,
    std::size_t max_bytes = std::size_t{1} << 30);

class ATOMIK_EXPORT DeltaStream {
 public:
  // A sparse stream with a random origin id and default options: the
  // reference's DeltaStream() (seed pattern 5).
  DeltaStream();
  // Validates `options` (window and retain sizes, dense size); fails with
  // kInvalidArgument naming the bad field.
  static Result<DeltaStream> create(const StreamOptions& options);

  DeltaStream(const DeltaStream& other);
  DeltaStream& operator=(const DeltaStream& other);
  DeltaStream(DeltaStream&&) noexcept;
  DeltaStream& operator=(DeltaStream&&) noexcept;
  ~DeltaStream();

  // --- the reference's plain API -----------------------------------------
  // Sets addr's state to `initial_state` locally (not replicated, not
  // stamped). Fails (kOutOfRange) for a dense address out of range; nothing
  // changes.
  Status load(Addr addr, std::uint64_t initial_state);
  // The state at addr; 0 for a sparse address never written. Dense out of
  // range: kOutOfRange.
  Result<std::uint64_t> read(Addr addr) const;
  // A local delta: folded into the table, stamped (own origin, next seq),
  // retained, and queued for pending(). Fails (kOutOfRange address,
  // kResourceExhausted queue full) without changing anything.
  Result<StampedDelta> accum(Addr addr, std::uint64_t delta);
  // Returns the local deltas stamped since the last call, oldest first, and
  // clears the queue.
  std::vector<StampedDelta> pending();

  // --- exactly-once apply --------------------------------------------------
  // Applies origin's delta `seq` exactly once (see the file comment). Fails
  // without changing anything on seq 0 (kInvalidArgument), a dense
  // address out of range (kOutOfRange) or a new origin beyond max_origins
  // (kResourceExhausted). In kRawCompat mode every call
  // applies (kApplied) and nothing is recorded.
  Result<ApplyOutcome> apply(OriginId origin, Seq seq, Addr addr,
                             std::uint64_t delta);
  Result<ApplyOutcome> apply(const StampedDelta& d) {
    return apply(d.origin, d.seq, d.addr, d.delta);
  }
  // A 16-byte message from a known peer.
  Result<ApplyOutcome> apply(OriginId origin, const DeltaMessage& m) {
    return apply(origin, m.seq, m.addr, m.delta);
  }
  // A 16-byte message with no origin: attributed to kLegacyOrigin.
  Result<ApplyOutcome> apply(const DeltaMessage& m) {
    return apply(kLegacyOrigin, m.seq, m.addr, m.delta);
  }
  // Batch forms, the fast path (prefetches ahead; see docs/performance.md).
  // apply_messages: back-to-back 16-byte reference messages from `origin`.
  // apply_frame: a validated frame (origin, seqs base_seq + i). Every
  // message is checked first (whole 16-byte messages, seq != 0, dense
  // address in range); on failure (kInvalidArgument / kOutOfRange naming the
  // message index and offset) nothing is applied. O(n).
  Result<BatchOutcome> apply_messages(OriginId origin,
                                      std::span<const std::byte> bytes);
  Result<BatchOutcome> apply_frame(const FrameView& frame);
  // apply_records: records of `origin` with seqs base_seq, base_seq + 1, ...
  // (base_seq > 0, no overflow), checked the same way first.
  Result<BatchOutcome> apply_records(OriginId origin, Seq base_seq,
                                     std::span<const FrameRecord> records);
  // What apply(origin, seq, ...) would return for this seq, without changing
  // anything (e.g. to drop duplicates before writing them to a log). Seq 0,
  // which apply() rejects, classifies as kDuplicate (never applied).
  ApplyOutcome classify(OriginId origin, Seq seq) const;

  // --- catch-up -------------------------------------------------------------
  // Contiguous marks of every origin heard from (own origin included).
  VersionVector version_vector() const;
  // The retained deltas a peer with version vector `remote` lacks: for every
  // origin, applied seqs above remote's mark (including out-of-order ones
  // above our own mark). O(deltas returned + origins).
  CatchUp missing(const VersionVector& remote) const;
  // Precise catch-up: as above, but also skips the seqs the peer holds above
  // its marks (its dedup_state()), so after loss plus reordering only the
  // lost deltas are resent. O(deltas returned + remote state + origins).
  CatchUp missing(const DedupState& remote) const;

  // --- digest and state transfer --------------------------------------------
  // The 16-byte table digest: O(1) when track_digest, else O(table).
  Digest digest() const;
  // Recomputes the digest from the table, O(table); equals digest().
  Digest compute_digest() const;
  // The whole state: states, dedup state, digest. O(table + dedup state).
  StreamSnapshot snapshot() const;
  // Replaces this stream's table and dedup state with `s` (a checkpoint
  // restore). Verifies s.digest against the states first (kCorruption on
  // mismatch) and dense bounds (kOutOfRange); on failure nothing changes.
  // Own origin id, options and retained log entries are kept. O(table).
  Status restore(const StreamSnapshot& s);
  // Installs a state transfer from a peer that this replica is too far
  // behind: the peer's states and dedup state, then re-applies this
  // replica's own deltas the peer has not seen (from its retained log), so
  // nothing this replica knew is lost. Fails with kFailedPrecondition if
  // those deltas are no longer retained (then the peer must first receive
  // them another way), kCorruption on a digest mismatch; on failure nothing
  // changes. O(table + extra deltas).
  Status install_state_transfer(const StreamSnapshot& s);

  // --- dedup state (for the WAL) ---------------------------------------------
  // The applied-seq record of every origin.
  DedupState dedup_state() const;
  // Replaces the applied-seq record (the table is untouched). Fails with
  // kInvalidArgument (an `above` seq not in (mark, mark + window], unsorted,
  // or duplicated) without changing anything. O(state).
  Status restore_dedup_state(const DedupState& state);

  // --- introspection ---------------------------------------------------------
  // This replica's origin id (never 0).
  OriginId origin() const noexcept;
  // The options in force (origin filled in if it was drawn at random).
  const StreamOptions& options() const noexcept;
  // Counters since creation: local, applied, duplicates, beyond_window.
  const StreamStats& stats() const noexcept;
  // The table (read-only): contexts() of the reference via for_each.
  const DeltaTable<>& table() const noexcept;

 private:
  struct Impl;
  explicit DeltaStream(std::unique_ptr<Impl> impl);
  template <typename AddrAt, typename SeqAt, typename DeltaAt>
  BatchOutcome apply_run(OriginId origin, std::size_t n, AddrAt addr_at,
                         SeqAt seq_at, DeltaAt delta_at);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atomik
