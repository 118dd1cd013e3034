// SPDX-License-Identifier: Apache-2.0
// Replica: PersistentTable + per-origin retained log + cached digest.
//
// The table keeps the only copy of the states and the only per-origin marks;
// this file adds what replication needs on top of them. `mu` serialises
// every call, so the retained log always matches the table's marks.
#include "atomik/replica.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "atomik/log.hpp"
#include "codec/byte_order.hpp"
#include "codec/hex.hpp"
#include "sync/digest_hash.hpp"
#include "sync/origin.hpp"

namespace atomik {
namespace {

// The newest contiguous deltas of one origin, at most `cap` of them, in a
// ring that grows by doubling: an origin with few deltas costs little.
struct Retained {
  Seq first = 0;  // seq of the oldest entry (when count > 0)
  std::size_t head = 0;
  std::size_t count = 0;
  std::vector<FrameRecord> buf;  // size 0 or a power of two

  bool has(Seq s) const {
    return count != 0 && s >= first && s - first < count;
  }
  const FrameRecord& at(Seq s) const {
    return buf[(head + (s - first)) & (buf.size() - 1)];
  }
  void clear() {
    count = 0;
    head = 0;
    buf.clear();
    buf.shrink_to_fit();
  }
  // Appends seq's delta. A seq that does not follow the newest entry starts
  // the ring over (older entries would leave a hole).
  void push(Seq seq, const FrameRecord& r, std::uint64_t cap) {
    if (count != 0 && seq != first + count) {
      count = 0;
      head = 0;
    }
    if (count == 0) first = seq;
    if (count == buf.size()) {
      if (buf.size() < cap) {
        std::vector<FrameRecord> next(std::max<std::size_t>(4, buf.size() * 2));
        for (std::size_t i = 0; i < count; ++i) {
          next[i] = buf[(head + i) & (buf.size() - 1)];
        }
        buf = std::move(next);
        head = 0;
      } else {  // full: drop the oldest
        head = (head + 1) & (buf.size() - 1);
        ++first;
        --count;
      }
    }
    buf[(head + count) & (buf.size() - 1)] = r;
    ++count;
  }
  // push() of rs[i] at seq + i for every i, without push()'s checks per
  // delta once the ring is full and the run continues it: each delta then
  // takes the oldest one's slot (the steady state of a busy origin).
  void push_run(Seq seq, std::span<const FrameRecord> rs, std::uint64_t cap) {
    std::size_t i = 0;
    for (; i < rs.size(); ++i) {
      if (count != 0 && count == buf.size() && buf.size() >= cap &&
          seq + i == first + count) {
        break;
      }
      push(seq + i, rs[i], cap);
    }
    // Full: the newest go where the oldest were, in at most two copies.
    if (i == rs.size()) return;
    const std::size_t n = rs.size() - i;
    first += n;
    if (n >= buf.size()) {  // all overwritten: the newest, oldest at 0
      std::copy(rs.end() - static_cast<long>(buf.size()), rs.end(),
                buf.begin());
      head = 0;
      return;
    }
    while (i < rs.size()) {
      const std::size_t m = std::min(rs.size() - i, buf.size() - head);
      std::copy_n(rs.begin() + static_cast<long>(i), m,
                  buf.begin() + static_cast<long>(head));
      head = (head + m) & (buf.size() - 1);
      i += m;
    }
  }
};

bool power_of_two(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

struct Replica::Impl {
  ReplicaOptions opt;
  mutable std::mutex mu;
  std::unique_ptr<PersistentTable> table;
  OriginId self = 0;
  // One entry per known origin (own included): its retained deltas. The
  // marks themselves live in the table.
  std::unordered_map<OriginId, Retained> lanes;
  // The (addr, delta) pairs of the batch being logged (mu held), kept so
  // that large batches reuse its memory instead of page-faulting in a new
  // buffer each time.
  std::vector<std::pair<std::uint32_t, std::uint64_t>> scratch;
  ReplicaStats st;

  // scratch, emptied, with room for n pairs; the memory of an unusually
  // large earlier batch (over 2 MiB) is given back first.
  std::vector<std::pair<std::uint32_t, std::uint64_t>>& scratch_for(
      std::size_t n) {
    constexpr std::size_t kKeep = std::size_t{1} << 17;
    if (scratch.capacity() > kKeep && n <= kKeep) {
      std::vector<std::pair<std::uint32_t, std::uint64_t>>().swap(scratch);
    }
    scratch.clear();
    scratch.reserve(n);
    return scratch;
  }
  mutable Digest digest_cache;
  mutable bool digest_valid = false;
  std::atomic<bool> failure_logged{false};

  void log(const std::string& s) const {
    if (opt.log) {
      opt.log(s);
    } else {
      atomik::log(LogLevel::kWarn, "replica", s);
    }
  }

  // Passes `s` through; the first I/O error (the table is failed from then
  // on) is logged once.
  Status note(Status s) {
    if (s.code() == Code::kIoError && !failure_logged.exchange(true)) {
      log("table '" + table->dir() + "' failed: " + s.to_string() +
          "; reads and writes are refused until it is reopened");
    }
    return s;
  }

  // kResourceExhausted when `origin` is new and the table is full.
  Status admit_origin(OriginId origin) {
    if (lanes.size() < opt.max_origins || lanes.contains(origin)) {
      return Status();
    }
    const std::uint64_t k = ++st.origins_refused;
    Status s = Status::resource_exhausted(
        "Replica", "delta of origin " + codec::hex64(origin) +
                       " refused: the table '" + table->dir() + "' holds " +
                       std::to_string(lanes.size()) + " origins, max_origins " +
                       std::to_string(opt.max_origins));
    // Logged at 1, 2, 4, ... refusals: a peer repeats them every sync.
    if ((k & (k - 1)) == 0) {
      log(s.to_string() + " (" + std::to_string(k) + " refusals)");
    }
    return s;
  }

  // apply_run() of this table's own origin (see replica.hpp). mu held.
  Result<ReplicaApply> apply_own(Seq base_seq,
                                 std::span<const FrameRecord> deltas) {
    ReplicaApply out;
    const Seq mark = table->mark(self);
    Retained& own = lanes[self];
    std::uint64_t differ = 0;
    for (std::size_t i = 0; i < deltas.size(); ++i) {
      const Seq q = base_seq + i;
      if (q > mark) break;
      if (own.has(q) && !(own.at(q) == deltas[i])) ++differ;
    }
    if (differ != 0) {
      st.own_conflicts += differ;
      log("origin " + codec::hex64(self) +
          " (own): a peer holds other contents for " + std::to_string(differ) +
          " own seqs from " + std::to_string(base_seq) +
          " (this table reused seqs after losing its WAL tail): DIVERGED");
    }
    const Seq end = base_seq + deltas.size();
    if (deltas.empty() || end <= mark + 1) {
      st.duplicates += deltas.size();
      out.duplicate = deltas.size();
      return out;
    }
    if (base_seq > mark + 1) {
      ++st.gaps;
      out.gap = true;
      return out;
    }
    const auto skip = static_cast<std::size_t>(mark + 1 - base_seq);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> v;
    for (std::size_t i = skip; i < deltas.size(); ++i) {
      v.emplace_back(deltas[i].addr, deltas[i].delta);
    }
    auto applied = table->restore_own_batch(mark + 1, v, /*wait=*/false);
    if (!applied.ok()) return note(applied.status());
    for (std::size_t i = skip; i < deltas.size(); ++i) {
      own.push(base_seq + i, deltas[i], opt.retain_per_origin);
    }
    st.own_recovered += v.size();
    st.duplicates += skip;
    digest_valid = false;
    log("recovered own seqs " + std::to_string(mark + 1) + ".." +
        std::to_string(end - 1) +
        " from a peer (lost here, e.g. a lost WAL tail)");
    out.applied = v.size();
    out.duplicate = skip;
    return out;
  }

  Digest compute_digest(
      std::span<const std::pair<Addr, std::uint64_t>> states) const {
    Digest d;
    for (const auto& [a, v] : states) {
      sync::digest_update(d, opt.digest_key, a, 0, v);
    }
    return d;
  }
};

Replica::Replica(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replica::~Replica() = default;

Result<std::unique_ptr<Replica>> Replica::open(const std::string& dir,
                                               const ReplicaOptions& options) {
  if (!power_of_two(options.retain_per_origin) ||
      options.retain_per_origin < 1024 ||
      options.retain_per_origin > (std::uint64_t{1} << 28)) {
    return Status::invalid_argument(
        "Replica::open", "retain_per_origin " +
                             std::to_string(options.retain_per_origin) +
                             ": need a power of two in [1024, 2^28]");
  }
  if (options.max_origins == 0) {
    return Status::invalid_argument("Replica::open",
                                    "max_origins 0 (need at least 1)");
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  Impl& m = *impl;
  bool foreign = false;  // replayed records other than deltas
  const PersistentTable::ReplayObserver observe =
      [&](WalRecordType type, std::uint64_t origin, std::uint64_t seq,
          std::uint32_t addr, std::uint64_t value) {
        Retained& r = m.lanes[origin];
        if (type == WalRecordType::kDelta) {
          r.push(seq, FrameRecord{addr, value}, m.opt.retain_per_origin);
        } else {
          // A load/undo record holds no delta a peer could apply: the
          // origin's retained log restarts after it.
          r.clear();
          foreign = true;
        }
      };
  auto t = PersistentTable::open_observed(dir, options.storage, observe);
  if (!t.ok()) return t.status();
  m.table = std::move(*t);
  m.self = m.table->origin();
  for (const auto& [o, k] : m.table->version_vector()) (void)m.lanes[o];
  (void)m.lanes[m.self];
  // Every repair recovery made (a torn tail cut, damaged records skipped in
  // kSkip) is logged: file, offset, bytes, records. `atomik wal verify`
  // reports the same lines.
  const RecoveryReport& rep = m.table->recovery_report();
  if (rep.torn || rep.first_bad || rep.records_dropped != 0) {
    m.log("'" + m.table->dir() +
          "': WAL repaired at start-up: " + rep.summary());
    for (const std::string& p : rep.problems) m.log("  " + p);
  }
  if (foreign) {
    m.log("'" + m.table->dir() +
          "': the WAL holds load/undo records; peers lacking the deltas "
          "before them need a state transfer");
  }
  if (m.lanes.size() > m.opt.max_origins) {
    m.log("'" + m.table->dir() + "' holds " + std::to_string(m.lanes.size()) +
          " origins, above max_origins " + std::to_string(m.opt.max_origins) +
          ": all kept, no new origin is accepted");
  }
  return std::unique_ptr<Replica>(new Replica(std::move(impl)));
}

Result<Seq> Replica::accum_batch(std::span<const FrameRecord> deltas,
                                 bool wait) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  std::vector<std::pair<std::uint32_t, std::uint64_t>>& v =
      m.scratch_for(deltas.size());
  for (const FrameRecord& r : deltas) v.emplace_back(r.addr, r.delta);
  auto first = m.table->accum_batch(v, /*wait=*/false);
  if (!first.ok()) return m.note(first.status());
  m.lanes[m.self].push_run(*first, deltas, m.opt.retain_per_origin);
  m.st.local += deltas.size();
  m.digest_valid = false;
  if (wait) ATOMIK_RETURN_IF_ERROR(m.note(m.table->sync()));
  return *first;
}

Result<ReplicaApply> Replica::apply_run(OriginId origin, Seq base_seq,
                                        std::span<const FrameRecord> deltas) {
  Impl& m = *impl_;
  ReplicaApply out;
  if (base_seq == 0) {
    return Status::invalid_argument(
        "Replica::apply_run", "origin " + codec::hex64(origin) + ": seq 0");
  }
  std::lock_guard<std::mutex> lk(m.mu);
  if (origin == m.self) return m.apply_own(base_seq, deltas);
  const Seq mark = m.table->mark(origin);
  const Seq end = base_seq + deltas.size();  // one past the last
  if (auto it = m.lanes.find(origin); it != m.lanes.end()) {
    for (std::size_t i = 0; i < deltas.size() && base_seq + i <= mark; ++i) {
      const Seq q = base_seq + i;
      if (it->second.has(q) && !(it->second.at(q) == deltas[i])) {
        ++out.conflicts;
      }
    }
  }
  if (out.conflicts != 0) {
    m.st.conflicts += out.conflicts;
    m.log("origin " + codec::hex64(origin) + ": " +
          std::to_string(out.conflicts) + " applied seqs from " +
          std::to_string(base_seq) +
          " arrived again with other contents: DIVERGED");
  }
  if (deltas.empty() || end <= mark + 1) {
    m.st.duplicates += deltas.size();
    out.duplicate = deltas.size();
    return out;
  }
  if (base_seq > mark + 1) {
    ++m.st.gaps;
    out.gap = true;
    return out;
  }
  ATOMIK_RETURN_IF_ERROR(m.admit_origin(origin));
  const auto skip = static_cast<std::size_t>(mark + 1 - base_seq);
  std::vector<std::pair<std::uint32_t, std::uint64_t>>& v =
      m.scratch_for(deltas.size() - skip);
  for (std::size_t i = skip; i < deltas.size(); ++i) {
    v.emplace_back(deltas[i].addr, deltas[i].delta);
  }
  auto applied = m.table->apply_batch(origin, mark + 1, v, /*wait=*/false);
  if (!applied.ok()) {
    return m.note(applied.status())
        .with_context("origin " + codec::hex64(origin) + " seqs " +
                      std::to_string(mark + 1) + "..");
  }
  m.lanes[origin].push_run(base_seq + skip, deltas.subspan(skip),
                           m.opt.retain_per_origin);
  m.st.duplicates += skip;
  m.st.applied += v.size();
  m.digest_valid = false;
  out.applied = v.size();
  out.duplicate = skip;
  return out;
}

Status Replica::sync() { return impl_->note(impl_->table->sync()); }

Result<std::uint64_t> Replica::read(Addr addr) const {
  return impl_->table->read(addr);
}

Result<std::vector<std::pair<Addr, std::uint64_t>>> Replica::snapshot() const {
  return impl_->table->snapshot();
}

Result<ReplicaState> Replica::state() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);  // every change takes it
  auto snap = m.table->snapshot();
  if (!snap.ok()) return snap.status();
  ReplicaState s;
  s.states = std::move(*snap);
  for (const auto& [o, k] : m.table->version_vector()) {
    s.version_vector.set(o, k);
  }
  if (!m.digest_valid) {
    m.digest_cache = m.compute_digest(s.states);
    m.digest_valid = true;
  }
  s.digest = m.digest_cache;
  return s;
}

VersionVector Replica::version_vector() const {
  VersionVector vv;
  for (const auto& [o, k] : impl_->table->version_vector()) vv.set(o, k);
  return vv;
}

Seq Replica::mark(OriginId origin) const { return impl_->table->mark(origin); }

Digest Replica::digest() const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  if (!m.digest_valid) {
    auto snap = m.table->snapshot();
    if (!snap.ok()) return Digest{};  // failed: reads say why
    m.digest_cache = m.compute_digest(*snap);
    m.digest_valid = true;
  }
  return m.digest_cache;
}

std::pair<VersionVector, Digest> Replica::advertised(Seq own_limit) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  VersionVector vv;
  for (const auto& [o, k] : m.table->version_vector()) vv.set(o, k);
  const Seq own = vv.get(m.self);
  if (!m.digest_valid) {
    auto snap = m.table->snapshot();
    if (!snap.ok()) return {vv, Digest{}};  // failed: reads say why
    m.digest_cache = m.compute_digest(*snap);
    m.digest_valid = true;
  }
  Digest d = m.digest_cache;
  if (own > own_limit) {
    vv.set(m.self, own_limit);
    // Take the newer own deltas out of the digest, address by address (in
    // the table's group: XOR, or a sum modulo 2^word_bits).
    const TableShape shape = m.table->shape();
    std::map<Addr, std::uint64_t> undo;
    const Retained& lane = m.lanes.at(m.self);
    for (Seq q = own_limit + 1; q <= own; ++q) {
      if (!lane.has(q)) return {vv, d};
      const FrameRecord& r = lane.at(q);
      undo[r.addr] = shape.combine(undo[r.addr], r.delta);
    }
    for (const auto& [a, x] : undo) {
      const std::uint64_t now = m.table->read(a).value_or(0);
      sync::digest_update(d, m.opt.digest_key, a, now,
                          shape.combine(now, shape.inverse(x)));
    }
  }
  return {vv, d};
}

CatchUp Replica::missing(const VersionVector& remote, Seq own_limit) const {
  const Impl& m = *impl_;
  CatchUp c;
  std::lock_guard<std::mutex> lk(m.mu);
  for (const auto& [o, ours] : m.table->version_vector()) {
    const Seq mark = o == m.self ? std::min(ours, own_limit) : ours;
    const Seq theirs = remote.get(o);
    if (theirs >= mark) continue;
    auto it = m.lanes.find(o);
    Seq from = theirs + 1;
    if (it == m.lanes.end() || !it->second.has(from)) {
      const Seq kept = it == m.lanes.end() || it->second.count == 0
                           ? mark + 1
                           : it->second.first;
      if (!c.needs_state_transfer) {
        c.reason = "origin " + codec::hex64(o) + ": seqs " +
                   std::to_string(from) + ".." +
                   std::to_string(std::min(kept, mark + 1) - 1) +
                   " are no longer retained";
      }
      c.needs_state_transfer = true;
      from = kept;
    }
    for (Seq s = from; s <= mark; ++s) {
      if (it == m.lanes.end() || !it->second.has(s)) break;
      const FrameRecord& r = it->second.at(s);
      c.deltas.push_back(StampedDelta{o, s, r.addr, r.delta});
    }
  }
  return c;
}

namespace {

// Deltas of `origin` after..its mark, from the retained log. m.mu held.
template <typename ImplT>
Result<std::vector<FrameRecord>> retained_locked(const ImplT& m,
                                                 OriginId origin, Seq after) {
  const Seq mark = m.table->mark(origin);
  std::vector<FrameRecord> out;
  if (after >= mark) return out;
  auto it = m.lanes.find(origin);
  if (it == m.lanes.end() || !it->second.has(after + 1)) {
    return Status::out_of_range("Replica::retained_since",
                                "seqs " + std::to_string(after + 1) + ".." +
                                    std::to_string(mark) + " of origin " +
                                    codec::hex64(origin) +
                                    " are no longer all retained");
  }
  out.reserve(mark - after);
  for (Seq s = after + 1; s <= mark; ++s) out.push_back(it->second.at(s));
  return out;
}

}  // namespace

Result<std::vector<FrameRecord>> Replica::own_since(Seq after) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  return retained_locked(m, m.self, after);
}

Result<std::vector<FrameRecord>> Replica::retained_since(OriginId origin,
                                                         Seq after) const {
  const Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  return retained_locked(m, origin, after);
}

Result<bool> Replica::install(
    std::span<const std::pair<Addr, std::uint64_t>> states,
    std::span<const std::pair<OriginId, Seq>> marks, const Digest& digest,
    bool repair) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  VersionVector theirs;
  for (const auto& [o, k] : marks) theirs.set(o, k);
  const auto mine = m.table->version_vector();
  bool useful = false;
  for (const auto& [o, k] : marks) useful = useful || k > m.table->mark(o);
  if (!useful && !repair) return false;
  if (m.compute_digest(states) != digest) {
    return Status::corruption("Replica::install",
                              "the state transfer's digest does not match its "
                              "states");
  }
  // Origins new to this table count against max_origins.
  std::size_t fresh = 0;
  for (const auto& [o, k] : theirs.entries()) {
    if (!m.lanes.contains(o)) ++fresh;
  }
  if (fresh != 0 && m.lanes.size() + fresh > m.opt.max_origins) {
    ++m.st.origins_refused;
    return Status::resource_exhausted(
        "Replica::install",
        "the state transfer brings " + std::to_string(fresh) +
            " new origins to " + std::to_string(m.lanes.size()) +
            ", above max_origins " + std::to_string(m.opt.max_origins));
  }
  // Deltas we hold that the sender lacks: re-applied on top of its states
  // (in the table's group).
  const TableShape shape = m.table->shape();
  std::map<Addr, std::uint64_t> merged(states.begin(), states.end());
  VersionVector next = theirs;
  for (const auto& [o, ours] : mine) {
    const Seq t = theirs.get(o);
    if (ours <= t) continue;
    auto it = m.lanes.find(o);
    for (Seq s = t + 1; s <= ours; ++s) {
      if (it == m.lanes.end() || !it->second.has(s)) {
        return Status::failed_precondition(
            "Replica::install", "origin " + codec::hex64(o) + " seq " +
                                    std::to_string(s) +
                                    ": held here, lacking in the state "
                                    "transfer and no longer retained");
      }
      const FrameRecord& r = it->second.at(s);
      merged[r.addr] = shape.combine(merged[r.addr], r.delta);
    }
    next.set(o, ours);
  }
  std::vector<std::pair<std::uint32_t, std::uint64_t>> st;
  st.reserve(merged.size());
  for (const auto& [a, v] : merged) {
    if (v != 0) st.emplace_back(a, v);
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> vv(
      next.entries().begin(), next.entries().end());
  ATOMIK_RETURN_IF_ERROR(m.note(m.table->install_state(st, vv)));
  // Origins the transfer moved forward have no retained deltas below their
  // new marks.
  for (const auto& [o, k] : next.entries()) {
    Retained& lane = m.lanes[o];
    if (k > (lane.count == 0 ? 0 : lane.first + lane.count - 1)) lane.clear();
    // A repair replaced contents the retained deltas may disagree with:
    // peers behind get a state transfer rather than them (own deltas stay:
    // this replica acknowledged them).
    if (repair && o != m.self) lane.clear();
  }
  if (repair) {
    m.log("divergence repair installed: states replaced, version vector " +
          next.to_string());
  }
  ++m.st.installs;
  m.digest_valid = false;
  return true;
}

Result<OriginId> Replica::reincarnate() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lk(m.mu);
  OriginId next = sync::random_origin();
  while (m.lanes.contains(next)) next = sync::random_origin();
  ATOMIK_RETURN_IF_ERROR(m.note(m.table->reincarnate(next)));
  const OriginId old = m.self;
  m.self = next;
  (void)m.lanes[next];
  ++m.st.incarnations;
  m.log("new incarnation: own origin " + codec::hex64(old) + " -> " +
        codec::hex64(next) + " (own seq " + std::to_string(m.table->mark(old)) +
        " of the old origin is never reused)");
  return next;
}

Result<EpochState> Replica::swap() {
  auto e = impl_->table->swap();
  if (!e.ok()) return impl_->note(e.status());
  return e;
}

Status Replica::close() { return impl_->table->close(); }

OriginId Replica::origin() const { return impl_->self; }

TableShape Replica::shape() const { return impl_->table->shape(); }

const std::string& Replica::dir() const { return impl_->table->dir(); }

ReplicaStats Replica::stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  ReplicaStats s = impl_->st;
  s.origins = impl_->lanes.size();
  return s;
}

WalWriterStats Replica::wal_stats() const {
  // PersistentTable locks its own mutex: the Replica's stays free.
  return impl_->table->wal_stats();
}

const RecoveryReport& Replica::recovery_report() const {
  return impl_->table->recovery_report();
}

}  // namespace atomik
