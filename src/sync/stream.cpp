// SPDX-License-Identifier: Apache-2.0
// DeltaStream: per-origin exactly-once apply, retained log, catch-up,
// digest, state transfer. See include/atomik/stream.hpp and docs/design.md.
#include "atomik/stream.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "codec/byte_order.hpp"
#include "codec/hex.hpp"
#include "sync/digest_hash.hpp"
#include "sync/origin.hpp"

namespace atomik {
namespace {

constexpr std::uint64_t kMinWindow = 64;
constexpr std::uint64_t kMaxWindow = std::uint64_t{1} << 24;
constexpr std::uint64_t kMaxRetain = std::uint64_t{1} << 28;

// A retained delta; slot s & (retain - 1) holds seq s while s is retained,
// so a slot is valid for seq s exactly when entry.seq == s.
struct LogEntry {
  Seq seq = 0;
  std::uint64_t delta = 0;
  Addr addr = 0;
};

// One origin's applied seqs (1..mark plus a bitset ring for
// (mark, mark + window]) and its retained log.
struct Lane {
  Seq mark = 0;
  std::uint64_t above = 0;  // bits set in `bits`
  std::vector<std::uint64_t> bits;
  std::vector<LogEntry> log;

  bool bit(Seq s, std::uint64_t wmask) const noexcept {
    const std::uint64_t i = s & wmask;
    return ((bits[i >> 6] >> (i & 63)) & 1U) != 0;
  }
  void set_bit(Seq s, std::uint64_t wmask) noexcept {
    const std::uint64_t i = s & wmask;
    bits[i >> 6] |= std::uint64_t{1} << (i & 63);
  }
  void clear_bit(Seq s, std::uint64_t wmask) noexcept {
    const std::uint64_t i = s & wmask;
    bits[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
  }
  ApplyOutcome classify(Seq s, std::uint64_t window) const noexcept {
    if (s <= mark) return ApplyOutcome::kDuplicate;
    if (s - mark > window) return ApplyOutcome::kBeyondWindow;
    if (above != 0 && bit(s, window - 1)) return ApplyOutcome::kDuplicate;
    return ApplyOutcome::kApplied;
  }
  // Records s, which classify() said is new.
  void record(Seq s, std::uint64_t window) noexcept {
    const std::uint64_t wmask = window - 1;
    if (s == mark + 1) {
      ++mark;
      while (above != 0 && bit(mark + 1, wmask)) {
        clear_bit(mark + 1, wmask);
        --above;
        ++mark;
      }
    } else {
      set_bit(s, wmask);
      ++above;
    }
  }
};

Status validate_options(const StreamOptions& o) {
  const char* ctx = "DeltaStream::create";
  if (o.window < kMinWindow || o.window > kMaxWindow ||
      !std::has_single_bit(o.window)) {
    return Status::invalid_argument(ctx,
                                    "window " + std::to_string(o.window) +
                                        " is not a power of two in [64, 2^24]");
  }
  if (o.retain_per_origin != 0 &&
      (o.retain_per_origin < o.window || o.retain_per_origin > kMaxRetain ||
       !std::has_single_bit(o.retain_per_origin))) {
    return Status::invalid_argument(
        ctx, "retain_per_origin " + std::to_string(o.retain_per_origin) +
                 " is neither 0 nor a power of two in [window " +
                 std::to_string(o.window) + ", 2^28]");
  }
  if (o.max_origins == 0) {
    return Status::invalid_argument(ctx, "max_origins 0 (need at least 1)");
  }
  if (o.dense_contexts > DeltaTable<>::kMaxDenseContexts) {
    return Status::invalid_argument(
        ctx, "dense_contexts " + std::to_string(o.dense_contexts) + " > 2^32");
  }
  return Status();
}

}  // namespace

const char* to_string(ApplyOutcome outcome) noexcept {
  switch (outcome) {
    case ApplyOutcome::kApplied:
      return "applied";
    case ApplyOutcome::kDuplicate:
      return "duplicate";
    case ApplyOutcome::kBeyondWindow:
      return "beyond-window";
  }
  return "unknown";
}

Result<DeltaMessage> StampedDelta::to_message() const {
  if (seq > UINT32_MAX) {
    return Status::out_of_range(
        "StampedDelta::to_message",
        "seq " + std::to_string(seq) +
            " does not fit the 16-byte message's 32-bit seq; use frames");
  }
  return DeltaMessage{addr, delta, static_cast<std::uint32_t>(seq)};
}

std::string Digest::to_hex() const {
  return codec::hex_digits(hi, 16) + codec::hex_digits(lo, 16);
}

std::string VersionVector::to_string() const {
  std::string s = "{";
  for (const auto& [o, m] : marks_) {
    if (s.size() > 1) s += ", ";
    s += std::to_string(o) + ":" + std::to_string(m);
  }
  return s + "}";
}

struct DeltaStream::Impl {
  StreamOptions opt;
  DeltaTable<> table;
  std::unordered_map<OriginId, Lane> lanes;
  OriginId cached_origin = 0;
  Lane* cached_lane = nullptr;
  Digest digest;
  std::vector<StampedDelta> pending;
  StreamStats stats;

  // Dense tables only: the context of address 0. A dense DeltaTable keeps
  // its contexts in one array (checked in rebase()), so batch apply can
  // prefetch contexts ahead and read states without a Result.
  const DeltaTable<>::ContextType* dense_base = nullptr;

  Impl(const StreamOptions& o, DeltaTable<> t) : opt(o), table(std::move(t)) {
    rebase();
  }
  Impl(const Impl& other)
      : opt(other.opt),
        table(other.table),
        lanes(other.lanes),
        digest(other.digest),
        pending(other.pending),
        stats(other.stats) {
    rebase();
  }

  // Recomputes dense_base after the table was built or replaced. O(table).
  void rebase() {
    dense_base = nullptr;
    if (!table.is_dense() || table.num_contexts() == 0) return;
    const DeltaTable<>::ContextType* first = nullptr;
    const DeltaTable<>::ContextType* last = nullptr;
    table.for_each([&](Addr, const DeltaTable<>::ContextType& c) {
      if (first == nullptr) first = &c;
      last = &c;
    });
    // Contiguous storage is what makes dense_base[addr] valid.
    ATOMIK_DCHECK(last - first + 1 ==
                  static_cast<std::ptrdiff_t>(table.num_contexts()));
    if (last - first + 1 == static_cast<std::ptrdiff_t>(table.num_contexts())) {
      dense_base = first;
    }
  }
  std::uint64_t state_of(Addr addr) const {
    return dense_base != nullptr ? dense_base[addr].read()
                                 : table.read(addr).value_or(0);
  }

  const Lane* find_lane(OriginId origin) const {
    auto it = lanes.find(origin);
    return it == lanes.end() ? nullptr : &it->second;
  }
  Lane& lane(OriginId origin) {
    if (cached_lane != nullptr && cached_origin == origin) return *cached_lane;
    auto [it, inserted] = lanes.try_emplace(origin);
    if (inserted) {
      it->second.bits.assign(opt.window / 64, 0);
      it->second.log.resize(opt.retain_per_origin);
    }
    cached_origin = origin;
    cached_lane = &it->second;
    return it->second;
  }
  // A new origin beyond max_origins is refused: memory stays bounded by
  // max_origins * (retain_per_origin * 24 + window / 8) bytes.
  Status check_origin(const char* op, OriginId origin) const {
    if (lanes.size() >= opt.max_origins && !lanes.contains(origin)) {
      return Status::resource_exhausted(
          std::string("DeltaStream::") + op,
          "origin " + std::to_string(origin) + " would be origin number " +
              std::to_string(lanes.size() + 1) + ", above max_origins " +
              std::to_string(opt.max_origins));
    }
    return Status();
  }
  Status check_addr(const char* op, Addr addr) const {
    if (table.is_dense() && addr >= table.num_contexts()) {
      return Status::out_of_range(std::string("DeltaStream::") + op,
                                  "address " + std::to_string(addr) +
                                      " >= num_contexts " +
                                      std::to_string(table.num_contexts()));
    }
    return Status();
  }
  // Folds delta in at a checked address, keeping the digest current.
  void fold(Addr addr, std::uint64_t delta) {
    if (opt.track_digest) {
      const std::uint64_t old_state = state_of(addr);
      sync::digest_update(digest, opt.digest_key, addr, old_state,
                          old_state ^ delta);
    }
    (void)table.accum(addr, delta);
  }
  void retain(Lane& l, Seq seq, Addr addr, std::uint64_t delta) {
    if (!l.log.empty()) {
      l.log[seq & (l.log.size() - 1)] = LogEntry{seq, delta, addr};
    }
  }

  // restore_dedup_state() in two steps, so restore() can check everything
  // before it changes anything. check_dedup: the state's seqs and size.
  Status check_dedup(const DedupState& state) const;
  // Replaces the lanes with `state` (checked). Each origin's retained log
  // is swapped, not copied, out of `from` (the lanes before, moved there by
  // the caller); a new origin gets an empty log. Cannot fail but for memory.
  void install_dedup(const DedupState& state,
                     std::unordered_map<OriginId, Lane>& from);

  // What restore() replaced, so install_state_transfer() can put it back:
  // moved here, not copied (the retained logs are up to max_origins *
  // retain_per_origin * 24 bytes).
  struct Saved {
    DeltaTable<> table = DeltaTable<>::sparse();
    std::unordered_map<OriginId, Lane> lanes;
    Digest digest;
    StreamStats stats;
  };
  Status restore(const StreamSnapshot& s, Saved* saved);
  void put_back(Saved& saved);
};

DeltaStream::DeltaStream()
    : impl_(
          std::make_unique<Impl>(StreamOptions{.origin = sync::random_origin()},
                                 DeltaTable<>::sparse())) {}

DeltaStream::DeltaStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<DeltaStream> DeltaStream::create(const StreamOptions& options) {
  ATOMIK_RETURN_IF_ERROR(validate_options(options));
  StreamOptions o = options;
  if (o.origin == 0) o.origin = sync::random_origin();
  if (o.dense_contexts == 0) {
    return DeltaStream(std::make_unique<Impl>(o, DeltaTable<>::sparse()));
  }
  Result<DeltaTable<>> t = DeltaTable<>::dense(o.dense_contexts);
  if (!t.ok()) return t.status();
  return DeltaStream(std::make_unique<Impl>(o, std::move(*t)));
}

DeltaStream::DeltaStream(const DeltaStream& other)
    : impl_(std::make_unique<Impl>(*other.impl_)) {}
DeltaStream& DeltaStream::operator=(const DeltaStream& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
DeltaStream::DeltaStream(DeltaStream&&) noexcept = default;
DeltaStream& DeltaStream::operator=(DeltaStream&&) noexcept = default;
DeltaStream::~DeltaStream() = default;

Status DeltaStream::load(Addr addr, std::uint64_t initial_state) {
  ATOMIK_RETURN_IF_ERROR(impl_->check_addr("load", addr));
  if (impl_->opt.track_digest) {
    sync::digest_update(impl_->digest, impl_->opt.digest_key, addr,
                        impl_->table.read(addr).value_or(0), initial_state);
  }
  return impl_->table.load(addr, initial_state);
}

Result<std::uint64_t> DeltaStream::read(Addr addr) const {
  return impl_->table.read(addr);
}

Result<StampedDelta> DeltaStream::accum(Addr addr, std::uint64_t delta) {
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.check_addr("accum", addr));
  if (m.opt.max_pending != 0 && m.pending.size() >= m.opt.max_pending) {
    return Status::resource_exhausted(
        "DeltaStream::accum",
        std::to_string(m.pending.size()) +
            " undrained local deltas reached max_pending; call pending()");
  }
  ATOMIK_RETURN_IF_ERROR(m.check_origin("accum", m.opt.origin));
  Lane& l = m.lane(m.opt.origin);
  const StampedDelta d{m.opt.origin, l.mark + 1, addr, delta};
  if (m.opt.max_pending != 0) m.pending.push_back(d);
  l.record(d.seq, m.opt.window);
  m.retain(l, d.seq, addr, delta);
  m.fold(addr, delta);
  ++m.stats.local;
  return d;
}

std::vector<StampedDelta> DeltaStream::pending() {
  std::vector<StampedDelta> out;
  out.swap(impl_->pending);
  return out;
}

Result<ApplyOutcome> DeltaStream::apply(OriginId origin, Seq seq, Addr addr,
                                        std::uint64_t delta) {
  Impl& m = *impl_;
  if (m.table.is_dense() && addr >= m.table.num_contexts()) {
    return m.check_addr("apply", addr);
  }
  if (m.opt.mode == ApplyMode::kRawCompat) {
    m.fold(addr, delta);
    ++m.stats.applied;
    return ApplyOutcome::kApplied;
  }
  if (seq == 0) {
    return Status::invalid_argument(
        "DeltaStream::apply",
        "origin " + std::to_string(origin) +
            ": seq 0 is not a delta (seqs start at 1; the reference's "
            "unsequenced messages need ApplyMode::kRawCompat)");
  }
  if (m.cached_lane == nullptr || m.cached_origin != origin) {
    ATOMIK_RETURN_IF_ERROR(m.check_origin("apply", origin));
  }
  Lane& l = m.lane(origin);
  const ApplyOutcome c = l.classify(seq, m.opt.window);
  if (c == ApplyOutcome::kDuplicate) {
    ++m.stats.duplicates;
    return c;
  }
  if (c == ApplyOutcome::kBeyondWindow) {
    ++m.stats.beyond_window;
    return c;
  }
  l.record(seq, m.opt.window);
  m.retain(l, seq, addr, delta);
  m.fold(addr, delta);
  ++m.stats.applied;
  return ApplyOutcome::kApplied;
}

namespace {
// How many messages ahead batch apply prefetches the target context.
constexpr std::size_t kPrefetchAhead = 16;

}  // namespace

// The shared loop of apply_messages and apply_frame, after validation:
// n deltas; addr_at(i) and delta_at(i), seq_at(i) read record i.
template <typename AddrAt, typename SeqAt, typename DeltaAt>
BatchOutcome DeltaStream::apply_run(OriginId origin, std::size_t n,
                                    AddrAt addr_at, SeqAt seq_at,
                                    DeltaAt delta_at) {
  Impl& m = *impl_;
  BatchOutcome out;
  const DeltaTable<>::ContextType* base = m.dense_base;
  auto prefetch = [&](std::size_t i) {
    if (base != nullptr && i < n) __builtin_prefetch(base + addr_at(i), 1, 3);
  };
  for (std::size_t i = 0; i < kPrefetchAhead; ++i) prefetch(i);
  if (m.opt.mode == ApplyMode::kRawCompat) {
    for (std::size_t i = 0; i < n; ++i) {
      prefetch(i + kPrefetchAhead);
      m.fold(addr_at(i), delta_at(i));
    }
    out.applied = n;
    m.stats.applied += n;
    return out;
  }
  Lane& l = m.lane(origin);
  const std::uint64_t window = m.opt.window;
  for (std::size_t i = 0; i < n; ++i) {
    prefetch(i + kPrefetchAhead);
    const Seq seq = seq_at(i);
    const ApplyOutcome c = l.classify(seq, window);
    if (c == ApplyOutcome::kDuplicate) {
      ++out.duplicates;
      continue;
    }
    if (c == ApplyOutcome::kBeyondWindow) {
      ++out.beyond_window;
      continue;
    }
    const Addr addr = addr_at(i);
    const std::uint64_t delta = delta_at(i);
    l.record(seq, window);
    m.retain(l, seq, addr, delta);
    m.fold(addr, delta);
    ++out.applied;
  }
  m.stats.applied += out.applied;
  m.stats.duplicates += out.duplicates;
  m.stats.beyond_window += out.beyond_window;
  return out;
}

Result<BatchOutcome> DeltaStream::apply_messages(
    OriginId origin, std::span<const std::byte> bytes) {
  Impl& m = *impl_;
  const char* ctx = "DeltaStream::apply_messages";
  if (bytes.size() % DeltaMessage::kWireSize != 0) {
    return Status::invalid_argument(
        ctx, std::to_string(bytes.size()) +
                 " bytes is not a whole number of 16-byte messages");
  }
  const std::size_t n = bytes.size() / DeltaMessage::kWireSize;
  const std::byte* p = bytes.data();
  const bool raw = m.opt.mode == ApplyMode::kRawCompat;
  if (!raw) ATOMIK_RETURN_IF_ERROR(m.check_origin("apply_messages", origin));
  for (std::size_t i = 0; i < n; ++i) {  // validate all before applying any
    const std::byte* q = p + i * DeltaMessage::kWireSize;
    if (m.table.is_dense() &&
        codec::load_be<std::uint32_t>(q) >= m.table.num_contexts()) {
      return m.check_addr("apply_messages", codec::load_be<std::uint32_t>(q))
          .with_context("message " + std::to_string(i) + " at offset " +
                        std::to_string(i * DeltaMessage::kWireSize));
    }
    if (!raw && codec::load_be<std::uint32_t>(q + 12) == 0) {
      return Status::invalid_argument(
          ctx, "message " + std::to_string(i) + " at offset " +
                   std::to_string(i * DeltaMessage::kWireSize) +
                   ": seq 0 is not a delta");
    }
  }
  return apply_run(
      origin, n,
      [p](std::size_t i) {
        return codec::load_be<std::uint32_t>(p + i * DeltaMessage::kWireSize);
      },
      [p](std::size_t i) {
        return Seq{codec::load_be<std::uint32_t>(
            p + i * DeltaMessage::kWireSize + 12)};
      },
      [p](std::size_t i) {
        return codec::load_be<std::uint64_t>(p + i * DeltaMessage::kWireSize +
                                             4);
      });
}

Result<BatchOutcome> DeltaStream::apply_frame(const FrameView& frame) {
  Impl& m = *impl_;
  const std::byte* p = frame.record_bytes().data();
  const std::size_t n = frame.count();
  if (m.opt.mode != ApplyMode::kRawCompat) {
    ATOMIK_RETURN_IF_ERROR(
        m.check_origin("apply_frame", frame.header().origin));
  }
  if (m.table.is_dense()) {
    for (std::size_t i = 0; i < n; ++i) {
      const Addr a = codec::load_le<std::uint32_t>(p + i * kFrameRecordSize);
      if (a >= m.table.num_contexts()) {
        return m.check_addr("apply_frame", a)
            .with_context("record " + std::to_string(i));
      }
    }
  }
  const Seq base_seq = frame.header().base_seq;
  return apply_run(
      frame.header().origin, n,
      [p](std::size_t i) {
        return codec::load_le<std::uint32_t>(p + i * kFrameRecordSize);
      },
      [base_seq](std::size_t i) { return base_seq + i; },
      [p](std::size_t i) {
        return codec::load_le<std::uint64_t>(p + i * kFrameRecordSize + 4);
      });
}

Result<BatchOutcome> DeltaStream::apply_records(
    OriginId origin, Seq base_seq, std::span<const FrameRecord> records) {
  Impl& m = *impl_;
  const std::size_t n = records.size();
  if (m.opt.mode != ApplyMode::kRawCompat) {
    ATOMIK_RETURN_IF_ERROR(m.check_origin("apply_records", origin));
  }
  if (n > 0 && (base_seq == 0 || base_seq + (n - 1) < base_seq)) {
    return Status::invalid_argument("DeltaStream::apply_records",
                                    "base_seq " + std::to_string(base_seq) +
                                        " with " + std::to_string(n) +
                                        " records (seq 0 or overflow)");
  }
  if (m.table.is_dense()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (records[i].addr >= m.table.num_contexts()) {
        return m.check_addr("apply_records", records[i].addr)
            .with_context("record " + std::to_string(i));
      }
    }
  }
  const FrameRecord* r = records.data();
  return apply_run(
      origin, n, [r](std::size_t i) { return r[i].addr; },
      [base_seq](std::size_t i) { return base_seq + i; },
      [r](std::size_t i) { return r[i].delta; });
}

ApplyOutcome DeltaStream::classify(OriginId origin, Seq seq) const {
  if (impl_->opt.mode == ApplyMode::kRawCompat) return ApplyOutcome::kApplied;
  const Lane* l = impl_->find_lane(origin);
  if (seq == 0) return ApplyOutcome::kDuplicate;
  if (l == nullptr) {
    return seq > impl_->opt.window ? ApplyOutcome::kBeyondWindow
                                   : ApplyOutcome::kApplied;
  }
  return l->classify(seq, impl_->opt.window);
}

VersionVector DeltaStream::version_vector() const {
  VersionVector vv;
  for (const auto& [o, l] : impl_->lanes) {
    if (l.mark > 0) vv.set(o, l.mark);
  }
  return vv;
}

CatchUp DeltaStream::missing(const VersionVector& remote) const {
  DedupState marks_only;
  for (const auto& [o, mark] : remote.entries()) marks_only[o].mark = mark;
  return missing(marks_only);
}

CatchUp DeltaStream::missing(const DedupState& remote) const {
  const Impl& m = *impl_;
  CatchUp out;
  std::vector<OriginId> origins;
  origins.reserve(m.lanes.size());
  for (const auto& [o, l] : m.lanes) origins.push_back(o);
  std::sort(origins.begin(), origins.end());
  const std::uint64_t window = m.opt.window;
  const std::uint64_t retain = m.opt.retain_per_origin;
  auto dropped = [&](OriginId o, Seq s) {
    if (!out.needs_state_transfer) {
      out.needs_state_transfer = true;
      out.reason = "origin " + std::to_string(o) + " seq " + std::to_string(s) +
                   " is needed by the peer but no longer retained (retain_" +
                   "per_origin " + std::to_string(retain) + ")";
    }
  };
  static const std::vector<Seq> none_above;
  for (OriginId o : origins) {
    const Lane& l = m.lanes.at(o);
    auto it = remote.find(o);
    const Seq r = it == remote.end() ? 0 : it->second.mark;
    const std::vector<Seq>& has =
        it == remote.end() ? none_above : it->second.above;
    std::size_t hi = 0;  // seqs are visited in ascending order
    auto emit = [&](Seq s) {
      while (hi < has.size() && has[hi] < s) ++hi;
      if (hi < has.size() && has[hi] == s) return;  // the peer holds it
      if (retain == 0) {
        dropped(o, s);
        return;
      }
      const LogEntry& e = l.log[s & (retain - 1)];
      if (e.seq != s) {
        dropped(o, s);
        return;
      }
      out.deltas.push_back(StampedDelta{o, s, e.addr, e.delta});
    };
    if (l.mark > r) {
      Seq first = r + 1;
      if (retain == 0 || l.mark - r > retain) {
        // Conservative: some needed seq is certainly no longer retained.
        dropped(o, first);
        first = retain == 0 ? l.mark + 1 : l.mark - retain + 1;
      }
      for (Seq s = first; s <= l.mark; ++s) emit(s);
    }
    if (l.above != 0) {
      for (Seq s = std::max(l.mark, r) + 1; s <= l.mark + window; ++s) {
        if (l.bit(s, window - 1)) emit(s);
      }
    }
  }
  return out;
}

Digest DeltaStream::compute_digest() const {
  const Impl& m = *impl_;
  Digest d;
  m.table.for_each([&](Addr a, const DeltaTable<>::ContextType& c) {
    sync::digest_update(d, m.opt.digest_key, a, 0, c.read());
  });
  return d;
}

Digest DeltaStream::digest() const {
  return impl_->opt.track_digest ? impl_->digest : compute_digest();
}

DedupState DeltaStream::dedup_state() const {
  const Impl& m = *impl_;
  DedupState out;
  for (const auto& [o, l] : m.lanes) {
    if (l.mark == 0 && l.above == 0) continue;
    OriginDedupState& s = out[o];
    s.mark = l.mark;
    if (l.above != 0) {
      for (Seq q = l.mark + 1; q <= l.mark + m.opt.window; ++q) {
        if (l.bit(q, m.opt.window - 1)) s.above.push_back(q);
      }
    }
  }
  return out;
}

Status DeltaStream::restore_dedup_state(const DedupState& state) {
  Impl& m = *impl_;
  ATOMIK_RETURN_IF_ERROR(m.check_dedup(state));
  std::unordered_map<OriginId, Lane> old = std::move(m.lanes);
  m.install_dedup(state, old);
  return Status();
}

Status DeltaStream::Impl::check_dedup(const DedupState& state) const {
  const Impl& m = *this;
  const std::uint64_t window = m.opt.window;
  for (const auto& [o, s] : state) {
    Seq prev = s.mark;
    for (Seq q : s.above) {
      if (q <= prev || q - s.mark > window || q == s.mark + 1) {
        return Status::invalid_argument(
            "DeltaStream::restore_dedup_state",
            "origin " + std::to_string(o) + ": above-mark seq " +
                std::to_string(q) + " not strictly increasing in (mark+1, " +
                "mark+window] = (" + std::to_string(s.mark + 1) + ", " +
                std::to_string(s.mark + window) + "]");
      }
      prev = q;
    }
  }
  if (state.size() > m.opt.max_origins) {
    return Status::resource_exhausted("DeltaStream::restore_dedup_state",
                                      std::to_string(state.size()) +
                                          " origins > max_origins " +
                                          std::to_string(m.opt.max_origins));
  }
  return Status();
}

void DeltaStream::Impl::install_dedup(
    const DedupState& state, std::unordered_map<OriginId, Lane>& from) {
  const std::uint64_t window = opt.window;
  std::unordered_map<OriginId, Lane> next;
  for (const auto& [o, s] : state) {
    Lane& l = next[o];
    l.mark = s.mark;
    l.bits.assign(window / 64, 0);
    for (Seq q : s.above) l.set_bit(q, window - 1);
    l.above = s.above.size();
    auto old = from.find(o);
    if (old != from.end()) {
      l.log.swap(old->second.log);
    } else {
      l.log.resize(opt.retain_per_origin);
    }
  }
  lanes = std::move(next);
  cached_lane = nullptr;
}

StreamSnapshot DeltaStream::snapshot() const {
  StreamSnapshot s;
  s.states = impl_->table.snapshot();
  s.dedup = dedup_state();
  s.digest = digest();
  return s;
}

Status DeltaStream::restore(const StreamSnapshot& s) {
  return impl_->restore(s, nullptr);
}

Status DeltaStream::Impl::restore(const StreamSnapshot& s, Saved* saved) {
  const char* ctx = "DeltaStream::restore";
  Digest d;
  for (std::size_t i = 0; i < s.states.size(); ++i) {
    const auto& [a, v] = s.states[i];
    if (i > 0 && a <= s.states[i - 1].first) {
      return Status::corruption(ctx, "state " + std::to_string(i) +
                                         ": address " + std::to_string(a) +
                                         " not above the previous one");
    }
    ATOMIK_RETURN_IF_ERROR(check_addr("restore", a));
    sync::digest_update(d, opt.digest_key, a, 0, v);
  }
  if (!(d == s.digest)) {
    return Status::corruption(ctx, "digest mismatch (snapshot says " +
                                       s.digest.to_hex() + ", states hash to " +
                                       d.to_hex() +
                                       "; same digest_key on both replicas?)");
  }
  // Everything that can fail is checked before anything changes.
  ATOMIK_RETURN_IF_ERROR(check_dedup(s.dedup));
  Result<DeltaTable<>> t = table.is_dense()
                               ? DeltaTable<>::dense(table.num_contexts())
                               : Result<DeltaTable<>>(DeltaTable<>::sparse());
  if (!t.ok()) return t.status();
  for (const auto& [a, v] : s.states) (void)t->load(a, v);
  Saved dropped;
  Saved& old = saved != nullptr ? *saved : dropped;
  old.table = std::move(table);
  old.lanes = std::move(lanes);
  old.digest = digest;
  old.stats = stats;
  table = std::move(*t);
  install_dedup(s.dedup, old.lanes);
  rebase();
  digest = d;
  return Status();
}

// Undoes restore(): the retained logs swap back into the lanes they came
// from; re-applying own deltas only rewrote log slots with the entries they
// already held, so the logs are as they were. (apply() does not touch
// `pending`, which only accum() fills.)
void DeltaStream::Impl::put_back(Saved& saved) {
  for (auto& [o, l] : saved.lanes) {
    auto it = lanes.find(o);
    if (it != lanes.end()) l.log.swap(it->second.log);
  }
  lanes = std::move(saved.lanes);
  cached_lane = nullptr;
  table = std::move(saved.table);
  rebase();
  digest = saved.digest;
  stats = saved.stats;
}

Status DeltaStream::install_state_transfer(const StreamSnapshot& s) {
  VersionVector theirs;
  for (const auto& [o, st] : s.dedup) theirs.set(o, st.mark);
  CatchUp extras = missing(theirs);
  if (extras.needs_state_transfer) {
    return Status::failed_precondition(
        "DeltaStream::install_state_transfer",
        "this replica holds deltas the snapshot lacks and can no longer "
        "re-apply them: " +
            extras.reason);
  }
  Impl& m = *impl_;
  Impl::Saved saved;
  ATOMIK_RETURN_IF_ERROR(m.restore(s, &saved));
  for (const StampedDelta& d : extras.deltas) {
    Result<ApplyOutcome> r = apply(d);
    Status st =
        r.ok() ? Status() : r.status().with_context("re-applying own deltas");
    if (r.ok() && *r == ApplyOutcome::kBeyondWindow) {
      st = Status::failed_precondition(
          "DeltaStream::install_state_transfer",
          "origin " + std::to_string(d.origin) + " seq " +
              std::to_string(d.seq) + " falls beyond the window after install");
    }
    if (!st.ok()) {
      m.put_back(saved);
      return st;
    }
  }
  return Status();
}

OriginId DeltaStream::origin() const noexcept { return impl_->opt.origin; }
const StreamOptions& DeltaStream::options() const noexcept {
  return impl_->opt;
}
const StreamStats& DeltaStream::stats() const noexcept { return impl_->stats; }
const DeltaTable<>& DeltaStream::table() const noexcept { return impl_->table; }

}  // namespace atomik
