// SPDX-License-Identifier: Apache-2.0
// atomik/replica.hpp: Replica, the one owner of a replicated table.
//
// A Replica holds everything a process knows about one replicated table, in
// one place: the durable state (a PersistentTable: WAL + checkpoints), the
// exactly-once marks (one contiguous high-water mark per origin, kept by the
// table and written to its checkpoint), the retained log of recent deltas per
// origin (what catch-up sends a peer that lacks them) and the table digest.
// Transports (Node's TCP/UDP, RedisReplicator) keep no replicated state of
// their own: they hand frames to apply_run() and ask missing() what a peer
// lacks.
//
//   atomik::ReplicaOptions o;
//   auto r = atomik::Replica::open("/tmp/a", o).value();
//   atomik::FrameRecord d{7, 0xFF};
//   Seq first = r->accum_batch({&d, 1}).value();  // own origin, seq first
//   r->sync();                                     // durable
//   r->apply_run(peer, 1, recs);                   // a peer's deltas, once
//   atomik::CatchUp c = r->missing(their_vv);      // what the peer lacks
//
// Recovery reads the WAL once: the table's replay feeds the retained log, so
// catch-up covers every delta since the last checkpoint after a restart.
//
// Origins: a table accepts at most ReplicaOptions::max_origins distinct
// origins (default kDefaultMaxOrigins). A delta from one more is refused
// before anything is written (kResourceExhausted naming the limit, a log
// line, ReplicaStats::origins_refused); origins already in the table at open
// are always accepted, even above the limit. An origin costs a map entry and
// its retained deltas (16 bytes each, allocated as they arrive): an origin
// with one delta costs well under 1 KiB.
//
// Thread safety: every method may be called from any thread (one internal
// mutex). Failure: a table whose log failed (write, fsync) is failed: every
// later call, reads included, returns that error (see PersistentTable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/frame.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/status.hpp"
#include "atomik/stream.hpp"

namespace atomik {

// The default of ReplicaOptions::max_origins.
inline constexpr std::uint64_t kDefaultMaxOrigins = std::uint64_t{1} << 16;

struct ReplicaOptions {
  // The table's shape, durability, recovery mode and FileSystem.
  PersistentOptions storage;
  // Deltas retained per origin for catch-up (a power of two >= 1024); a
  // peer that lacks older ones needs a state transfer.
  std::uint64_t retain_per_origin = std::uint64_t{1} << 16;
  // Distinct origins accepted (>= 1); see the file comment.
  std::uint64_t max_origins = kDefaultMaxOrigins;
  // The digest's hash key (docs/format/digest.md). Replicas compare digests
  // only if their keys are equal.
  std::uint64_t digest_key = 0x61746f6d696b3031;  // "atomik01"
  // Receives one line per refusal, repair or state change worth a log
  // line (no trailing newline). Empty: the line goes to atomik::log
  // (atomik/log.hpp) as a warning of component "replica".
  std::function<void(const std::string&)> log;
};

struct ReplicaStats {
  std::uint64_t local = 0;            // own deltas logged
  std::uint64_t applied = 0;          // remote deltas applied (first time)
  std::uint64_t duplicates = 0;       // remote deltas already applied
  std::uint64_t gaps = 0;             // runs refused: they skip seqs
  std::uint64_t origins_refused = 0;  // runs refused: above max_origins
  std::uint64_t installs = 0;         // state transfers installed
  std::uint64_t own_recovered = 0;    // own deltas a peer returned (lost here)
  std::uint64_t own_conflicts = 0;  // own seqs a peer holds other contents for
  // Remote (origin, seq)s already applied here that arrived again with other
  // contents (two contents for one (origin, seq): a divergence).
  std::uint64_t conflicts = 0;
  std::uint64_t incarnations = 0;  // new own origins started (reincarnate)
  std::uint64_t origins = 0;       // distinct origins known now
};

// The states, marks and digest at one instant (Replica::state()).
struct ReplicaState {
  std::vector<std::pair<Addr, std::uint64_t>> states;  // non-zero, by address
  VersionVector version_vector;
  Digest digest;
};

// What apply_run() did.
struct ReplicaApply {
  std::uint64_t applied = 0;    // deltas applied (first time)
  std::uint64_t duplicate = 0;  // deltas already applied (or own)
  bool gap = false;  // nothing applied: the run skips seqs of its origin
  // Already applied deltas of another origin whose retained contents differ
  // from the run's (logged, counted in ReplicaStats::conflicts).
  std::uint64_t conflicts = 0;
};

class ATOMIK_EXPORT Replica {
 public:
  // Opens (creating if needed) the table in `dir` with options.storage,
  // replaying its WAL once into the table and the retained log. Fails with
  // kInvalidArgument for a bad option, or PersistentTable::open's error.
  static Result<std::unique_ptr<Replica>> open(const std::string& dir,
                                               const ReplicaOptions& options);
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;
  ~Replica();

  // Own deltas: logged under this table's origin with the next seqs and
  // retained; returns the first seq. Durable after sync() (or at once when
  // `wait`). An address out of range fails before anything is logged.
  Result<Seq> accum_batch(std::span<const FrameRecord> deltas,
                          bool wait = false);
  // Remote deltas of `origin` with seqs base_seq, base_seq + 1, ...: the
  // already applied prefix is skipped (counted as duplicates), the rest is
  // logged, applied and retained. A run that skips seqs applies nothing
  // (gap). Deltas of this table's own origin at or below its own seq count
  // as duplicates (compared with the retained ones: other contents are
  // logged and counted in own_conflicts); ones above it are own deltas
  // this table lost (a lost WAL tail) that a peer still holds: they are
  // applied (own_recovered) and later own deltas continue after them.
  // Already applied deltas of other origins are compared with the retained
  // ones too: other contents are logged and counted (conflicts).
  // Fails
  // (nothing applied) with kResourceExhausted for a new origin above
  // max_origins, kOutOfRange for an address out of range, kInvalidArgument
  // for base_seq 0, or the table's I/O error. Durable after sync().
  Result<ReplicaApply> apply_run(OriginId origin, Seq base_seq,
                                 std::span<const FrameRecord> deltas);
  // Makes everything logged so far durable.
  Status sync();

  // The state at addr (0 if never written); the table's error if failed.
  Result<std::uint64_t> read(Addr addr) const;
  // Every non-zero state, by address. O(table).
  Result<std::vector<std::pair<Addr, std::uint64_t>>> snapshot() const;
  // states, version vector and digest at one instant (what a state transfer
  // sends). O(table).
  Result<ReplicaState> state() const;
  // Origin -> highest seq applied (own origin included).
  VersionVector version_vector() const;
  // The mark of one origin (0 if unknown).
  Seq mark(OriginId origin) const;
  // The table digest. Computed from the table when asked after a change
  // (O(table)), then cached until the next change.
  Digest digest() const;
  // The version vector and digest at one instant, both as if own deltas
  // with seqs above own_limit were not applied yet (what a node advertises
  // while they wait for the disk). Those deltas must still be retained
  // (they are: retain_per_origin >= 1024 and they are the newest);
  // otherwise the digest includes them. O(origins + deltas above the limit).
  std::pair<VersionVector, Digest> advertised(Seq own_limit) const;
  // The retained deltas a peer with version vector `remote` lacks (own
  // deltas up to own_limit only; pass the durable own seq so nothing not
  // yet durable leaves the process). needs_state_transfer when some of
  // them are no longer retained. O(deltas returned + origins).
  CatchUp missing(const VersionVector& remote, Seq own_limit) const;
  // Own deltas with seqs after..own seq that are still retained, oldest
  // first; kOutOfRange if some of them are no longer retained.
  Result<std::vector<FrameRecord>> own_since(Seq after) const;
  // The same for any origin, e.g. an own origin of an earlier incarnation.
  Result<std::vector<FrameRecord>> retained_since(OriginId origin,
                                                  Seq after) const;

  // Installs a state transfer: `states` (non-zero, ascending address) with
  // their digest `digest` under this replica's key, and `marks`. Own deltas
  // the sender lacks are re-applied from the retained log, so nothing this
  // replica acknowledged is lost. Returns false (nothing done) when the
  // transfer holds nothing new. Fails with kCorruption (digest mismatch),
  // kFailedPrecondition (own deltas it lacks are no longer retained), or
  // the table's error; on failure nothing changes. Durable on return.
  //
  // With `repair` (a divergence repair: equal version vectors, unequal
  // digests, and this replica is the side that yields) a transfer that
  // holds nothing new is installed too: its states replace this replica's,
  // with own and other deltas it lacks re-applied as above. Returns true
  // then when it was installed.
  Result<bool> install(std::span<const std::pair<Addr, std::uint64_t>> states,
                       std::span<const std::pair<OriginId, Seq>> marks,
                       const Digest& digest, bool repair = false);
  // Starts a new incarnation: a fresh random origin id (one the table does
  // not know) under which later own deltas are logged from seq 1, so no
  // (origin, seq) this replica may have sent before a loss is ever reused.
  // The old origin stays in the version vector as any other origin (its
  // retained deltas still catch peers up). Durable on return. Returns the
  // new origin; fails with the table's error (nothing changed).
  Result<OriginId> reincarnate();
  // Closes an epoch (PersistentTable::swap).
  Result<EpochState> swap();
  // Syncs and closes the table. Idempotent.
  Status close();

  OriginId origin() const;
  // The table's group and word width (ReplicaOptions::storage).
  TableShape shape() const;
  const std::string& dir() const;
  ReplicaStats stats() const;
  // The table's WAL writer counters (PersistentTable::wal_stats()).
  WalWriterStats wal_stats() const;
  const RecoveryReport& recovery_report() const;

 private:
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atomik
