// SPDX-License-Identifier: Apache-2.0
// PersistentTable: GroupTable + UndoHistory per address + WAL + checkpoints.
// The calls on an open table; open() and replay are in persistent_recover.cpp.
#include "atomik/persistent_table.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "codec/hex.hpp"
#include "storage/persistent_table_impl.hpp"

namespace atomik {

PersistentTable::PersistentTable(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

PersistentTable::~PersistentTable() {
  if (impl_ && impl_->wal) (void)impl_->wal->close();
}

Status PersistentTable::Impl::write_local(const char* op, WalRecordType type,
                                          Addr addr, std::uint64_t value) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(mu);
    ATOMIK_RETURN_IF_ERROR(usable());
    ATOMIK_RETURN_IF_ERROR(check_addr(op, addr));
    ATOMIK_RETURN_IF_ERROR(check_value(op, value));
    auto l = log_local(type, addr, value);
    if (!l.ok()) return l.status();
    lsn = *l;
  }
  return wait(lsn);
}

Status PersistentTable::Impl::check_foreign(const char* op, OriginId origin,
                                            Seq seq) const {
  if (seq == 0) {
    return Status::invalid_argument(std::string("PersistentTable::") + op,
                                    "seq 0");
  }
  if (origin == self_origin) {
    return Status::invalid_argument(
        std::string("PersistentTable::") + op,
        "origin is this table's own origin " + codec::hex64(origin));
  }
  return Status();
}

Status PersistentTable::Impl::check_in_order(const char* op, OriginId origin,
                                             Seq seq) {
  const std::uint64_t mark = mark_of(origin);
  if (seq <= mark + 1) return Status();
  return Status::failed_precondition(
      std::string("PersistentTable::") + op,
      "origin " + codec::hex64(origin) + ": seq " + std::to_string(seq) +
          " skips ahead of " + std::to_string(mark + 1) +
          " (deliver in order)");
}

Result<std::uint64_t> PersistentTable::Impl::roll_for_checkpoint() {
  if (!wal) return next_segment;
  auto seg = wal->roll();
  if (!seg.ok()) failed = seg.status();
  return seg;
}

Status PersistentTable::load(std::uint32_t addr, std::uint64_t value) {
  return impl_->write_local("load", WalRecordType::kLoad, addr, value);
}

Status PersistentTable::accum(std::uint32_t addr, std::uint64_t delta) {
  return impl_->write_local("accum", WalRecordType::kDelta, addr, delta);
}

Result<bool> PersistentTable::apply(std::uint64_t origin, std::uint64_t seq,
                                    std::uint32_t addr, std::uint64_t delta) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_foreign("apply", origin, seq));
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("apply", addr));
    ATOMIK_RETURN_IF_ERROR(impl_->check_value("apply", delta));
    ATOMIK_RETURN_IF_ERROR(impl_->ensure_wal());
    if (seq <= impl_->mark_of(origin)) return false;
    ATOMIK_RETURN_IF_ERROR(impl_->check_in_order("apply", origin, seq));
    const WalRecord r{.type = WalRecordType::kDelta,
                      .origin = origin,
                      .seq = seq,
                      .addr = addr,
                      .value = delta};
    auto l = impl_->wal->append_async(r);
    if (!l.ok()) {
      impl_->failed = l.status();
      return l.status();
    }
    (void)impl_->apply_record(r);
    lsn = *l;
  }
  ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return true;
}

// Added for Node.
Result<std::uint64_t> PersistentTable::accum_batch(
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
    bool wait) {
  Lsn lsn = 0;
  std::uint64_t first = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_batch("accum_batch", deltas));
    first = impl_->self_seq + 1;
    if (!deltas.empty()) {
      auto l = impl_->log_run(impl_->self_origin, first, deltas);
      if (!l.ok()) return l.status();
      lsn = *l;
    }
  }
  if (wait && lsn != 0) ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return first;
}

// Added for Node.
Result<std::uint64_t> PersistentTable::apply_batch(
    std::uint64_t origin, std::uint64_t base_seq,
    std::span<const std::pair<std::uint32_t, std::uint64_t>> deltas,
    bool wait) {
  Lsn lsn = 0;
  std::uint64_t applied = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(
        impl_->check_foreign("apply_batch", origin, base_seq));
    ATOMIK_RETURN_IF_ERROR(impl_->check_batch("apply_batch", deltas));
    ATOMIK_RETURN_IF_ERROR(impl_->ensure_wal());
    ATOMIK_RETURN_IF_ERROR(
        impl_->check_in_order("apply_batch", origin, base_seq));
    const std::uint64_t mark = impl_->mark_of(origin);
    if (!deltas.empty() && base_seq + (deltas.size() - 1) < base_seq) {
      return Status::invalid_argument(
          "PersistentTable::apply_batch",
          "seqs from " + std::to_string(base_seq) + " overflow 64 bits");
    }
    const auto skip = static_cast<std::size_t>(
        std::min<std::uint64_t>(mark + 1 - base_seq, deltas.size()));
    if (skip < deltas.size()) {
      auto l = impl_->log_run(origin, base_seq + skip, deltas.subspan(skip));
      if (!l.ok()) return l.status();
      lsn = *l;
      applied = deltas.size() - skip;
    }
  }
  if (wait && lsn != 0) ATOMIK_RETURN_IF_ERROR(impl_->wait(lsn));
  return applied;
}

// Added for Node.
Status PersistentTable::install_state(
    std::span<const std::pair<std::uint32_t, std::uint64_t>> states,
    std::span<const std::pair<std::uint64_t, std::uint64_t>> marks) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  for (const auto& [a, v] : states) {
    ATOMIK_RETURN_IF_ERROR(m.check_addr("install_state", a));
    ATOMIK_RETURN_IF_ERROR(m.check_value("install_state", v));
  }
  std::map<std::uint64_t, std::uint64_t> nm;
  for (const auto& [o, k] : marks) {
    if (k != 0) nm[o] = k;
  }
  const auto own = nm.find(m.self_origin);
  const std::uint64_t own_mark = own == nm.end() ? 0 : own->second;
  if (own_mark != m.self_seq) {
    return Status::failed_precondition(
        "PersistentTable::install_state",
        "the state gives this table's own origin mark " +
            std::to_string(own_mark) + ", its own seq is " +
            std::to_string(m.self_seq) + " (re-apply own deltas first)");
  }
  auto made = storage::GroupTable::make(m.opt.shape(), m.opt.num_contexts);
  if (!made.ok()) return made.status();
  storage::GroupTable t = std::move(*made);
  for (const auto& [a, v] : states) t.load(a, v);
  auto rolled = m.roll_for_checkpoint();
  if (!rolled.ok()) return rolled.status();
  const std::uint64_t first = *rolled;
  CheckpointData d = m.checkpoint_data(m.epoch, first);
  d.states = t.snapshot();
  d.origins.assign(nm.begin(), nm.end());
  d.undo.clear();
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.table = std::move(t);
  m.marks = std::move(nm);
  m.cached_mark = nullptr;
  m.undo.clear();
  m.delete_segments_below(first);
  return Status();
}

// Rolls the WAL and checkpoints the table under new_origin (own seq 0), so
// every later own delta and every restart uses the new origin.
Status PersistentTable::reincarnate(std::uint64_t new_origin) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  if (new_origin == 0 || m.marks.contains(new_origin) ||
      new_origin == m.self_origin) {
    return Status::invalid_argument(
        "PersistentTable::reincarnate",
        "origin " + std::to_string(new_origin) +
            " is 0 or already known to the table '" + m.dir + "'");
  }
  auto rolled = m.roll_for_checkpoint();
  if (!rolled.ok()) return rolled.status();
  const std::uint64_t first = *rolled;
  CheckpointData d = m.checkpoint_data(m.epoch, first);
  d.self_origin = new_origin;
  d.self_seq = 0;
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.self_origin = new_origin;
  m.self_seq = 0;
  m.cached_mark = nullptr;
  m.delete_segments_below(first);
  return Status();
}

Result<std::uint64_t> PersistentTable::read(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (!impl_->failed.ok()) return impl_->failed;
  return impl_->table.read(addr);
}

Result<std::vector<std::pair<std::uint32_t, std::uint64_t>>>
PersistentTable::snapshot() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (!impl_->failed.ok()) return impl_->failed;
  return impl_->table.snapshot();
}

Status PersistentTable::accum_undoable(std::uint32_t addr,
                                       std::uint64_t delta) {
  Lsn lsn = 0;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    ATOMIK_RETURN_IF_ERROR(impl_->check_addr("accum_undoable", addr));
    ATOMIK_RETURN_IF_ERROR(impl_->check_value("accum_undoable", delta));
    auto l = impl_->log_local(WalRecordType::kUndoDelta, addr, delta);
    if (!l.ok()) return l.status();
    lsn = *l;
  }
  return impl_->wait(lsn);
}

Result<std::optional<std::uint64_t>> PersistentTable::undo(std::uint32_t addr) {
  return impl_->history_step(addr, WalRecordType::kUndo);
}

Result<std::optional<std::uint64_t>> PersistentTable::redo(std::uint32_t addr) {
  return impl_->history_step(addr, WalRecordType::kRedo);
}

std::size_t PersistentTable::undo_depth(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->undo.find(addr);
  return it == impl_->undo.end() ? 0 : it->second.undo_depth();
}

std::size_t PersistentTable::redo_depth(std::uint32_t addr) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->undo.find(addr);
  return it == impl_->undo.end() ? 0 : it->second.redo_depth();
}

Result<EpochState> PersistentTable::swap() {
  std::lock_guard<std::mutex> lk(impl_->mu);
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.usable());
  // Nothing logged since open: the checkpoint covers up to next_segment.
  auto rolled = m.roll_for_checkpoint();
  if (!rolled.ok()) return rolled.status();
  const std::uint64_t first = *rolled;
  const std::uint64_t e = m.epoch + 1;
  CheckpointData d = m.checkpoint_data(e, first);
  ATOMIK_RETURN_IF_ERROR(write_checkpoint(*m.fs, m.dir, d));
  m.epoch = e;
  if (m.wal) {
    auto l = m.wal->append_async(
        WalRecord{.type = WalRecordType::kEpoch, .value = e});
    if (!l.ok()) {
      m.failed = l.status();
      return l.status();
    }
  }
  m.delete_segments_below(first);
  return EpochState{e, std::move(d.states)};
}

Status PersistentTable::sync() {
  WalWriter* w = nullptr;  // created once, never replaced while open
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    ATOMIK_RETURN_IF_ERROR(impl_->usable());
    w = impl_->wal.get();
  }
  if (w == nullptr) return Status();
  Status s = w->sync();
  if (!s.ok()) {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->failed = s;
  }
  return s;
}

Status PersistentTable::close() {
  std::lock_guard<std::mutex> lk(impl_->mu);
  if (impl_->closed) return impl_->failed;
  impl_->closed = true;
  Status s;
  if (impl_->wal) s = impl_->wal->close();
  impl_->lock.reset();  // after the WAL's last write
  if (!s.ok() && impl_->failed.ok()) impl_->failed = s;
  return s;
}

std::uint64_t PersistentTable::epoch() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->epoch;
}
std::uint64_t PersistentTable::origin() const { return impl_->self_origin; }
TableShape PersistentTable::shape() const { return impl_->opt.shape(); }
std::vector<std::pair<std::uint64_t, std::uint64_t>>
PersistentTable::version_vector() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return {impl_->marks.begin(), impl_->marks.end()};
}
std::uint64_t PersistentTable::mark(std::uint64_t origin) const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  auto it = impl_->marks.find(origin);
  return it == impl_->marks.end() ? 0 : it->second;
}
std::size_t PersistentTable::origin_count() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->marks.size();
}
const RecoveryReport& PersistentTable::recovery_report() const {
  return impl_->report;
}
WalWriterStats PersistentTable::wal_stats() const {
  std::lock_guard<std::mutex> lk(impl_->mu);
  return impl_->wal ? impl_->wal->stats() : WalWriterStats();
}
const std::string& PersistentTable::dir() const { return impl_->dir; }

}  // namespace atomik
