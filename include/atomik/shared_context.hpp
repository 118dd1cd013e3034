// atomik/shared_context.hpp: SharedContext<W, G>, one context in a named
// POSIX shared-memory segment that separate processes accum into (seed
// pattern 1 across processes).
//
// Same design as ConcurrentContext: each handle owns a cache-line cell in the
// segment and folds deltas in with a plain atomic load and store; read() and
// swap() combine the cells against baselines. A writer process killed at any
// point loses at most the delta it was storing: each store publishes a whole
// word, and a later handle takes over a dead process's cell (its value stays
// in the sum). The control plane (read/swap/load) uses a process-shared,
// robust mutex and double-buffered baselines, so a process killed mid-swap
// leaves the last complete epoch boundary in force. Layout:
// docs/format/shared_segment.md.
//
//   auto ctx = atomik::SharedContext<>::create("/counters", 0);   // process A
//   auto peer = atomik::SharedContext<>::open("/counters");        // process B
//   if (peer.ok()) peer->accum(0xFF);
//   std::uint64_t state = ctx->read();
//   atomik::SharedContext<>::unlink("/counters");
//
// Thread safety: one handle per thread (a handle owns one cell). Open more
// handles for more threads; up to max_writers handles get their own cell,
// later ones share one atomic cell (slower, still exact).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atomik/export.h"
#include "atomik/group.hpp"
#include "atomik/status.hpp"
#include "atomik/word.hpp"

namespace atomik {

struct SharedContextOptions {
  // Cells in the segment: handles that write without sharing a cache line.
  std::size_t max_writers = 64;
};

namespace detail {

// The untyped segment: words are stored as 64-bit values masked to `bits`.
class ATOMIK_EXPORT SharedSegment {
 public:
  static Result<std::unique_ptr<SharedSegment>> create(
      std::string_view name, unsigned bits, std::uint8_t group_id,
      std::uint64_t initial_state, const SharedContextOptions& options);
  static Result<std::unique_ptr<SharedSegment>> open(std::string_view name,
                                                     unsigned bits,
                                                     std::uint8_t group_id);
  static Status unlink(std::string_view name);
  ~SharedSegment();
  SharedSegment(const SharedSegment&) = delete;
  SharedSegment& operator=(const SharedSegment&) = delete;

  void accum(std::uint64_t delta) noexcept;
  Result<std::uint64_t> read() const;
  Result<std::uint64_t> swap(std::optional<std::uint64_t> new_reference);
  Status load(std::uint64_t value);
  Result<std::uint64_t> reference() const;
  Result<std::uint64_t> delta_count() const;
  std::size_t max_writers() const noexcept;
  bool has_own_cell() const noexcept { return cell_ >= 0; }
  // This handle's cell (value and count words), or nullptr without one.
  // Only this handle stores to them.
  std::atomic<std::uint64_t>* own_value() const noexcept;
  std::atomic<std::uint64_t>* own_count() const noexcept;

 private:
  struct Layout;
  SharedSegment() = default;
  Status lock() const;
  void unlock() const;
  void claim_cell();
  std::uint64_t combine(std::uint64_t a, std::uint64_t b) const noexcept;
  std::uint64_t inverse(std::uint64_t a) const noexcept;
  // Epoch delta since the active baselines; with `advance`, writes the values
  // read as the next baselines and flips to them. Lock must be held.
  std::uint64_t epoch_delta(bool advance,
                            std::optional<std::uint64_t> new_reference,
                            bool use_state_as_reference);

  std::string name_;
  int fd_ = -1;
  void* base_ = nullptr;
  std::size_t size_ = 0;
  Layout* layout_ = nullptr;
  long cell_ = -1;
  std::uint64_t mask_ = 0;
  std::uint8_t group_id_ = 0;
};

}  // namespace detail

template <DeltaWord W = std::uint64_t, typename G = XorGroup>
requires DeltaGroup<G, W> &&(sizeof(W) <= 8) class SharedContext {
 public:
  using Word = W;
  using Group = G;

  // Creates segment `name` ("/name", as for shm_open) holding a context with
  // reference `initial_state`, and attaches to it. Fails with
  // kFailedPrecondition if the name exists (nothing is changed: open it, or
  // unlink it), kInvalidArgument for a bad name or max_writers, kIoError if
  // the OS refuses.
  static Result<SharedContext> create(
      std::string_view name, W initial_state = G::template identity<W>(),
      const SharedContextOptions& options = {}) {
    auto seg = detail::SharedSegment::create(
        name, kWordBits<W>, G::kId, static_cast<std::uint64_t>(initial_state),
        options);
    if (!seg.ok()) return seg.status();
    return SharedContext(std::move(*seg));
  }
  // Attaches to an existing segment. Fails with kNotFound if it does not
  // exist, kInvalidArgument if it holds another width or group, kCorruption
  // if it is too small or not an atomik segment, kUnavailable while its
  // creator is still initialising it.
  static Result<SharedContext> open(std::string_view name) {
    auto seg = detail::SharedSegment::open(name, kWordBits<W>, G::kId);
    if (!seg.ok()) return seg.status();
    return SharedContext(std::move(*seg));
  }
  // Removes the name; attached handles keep working until closed.
  static Status unlink(std::string_view name) {
    return detail::SharedSegment::unlink(name);
  }

  // Folds `delta` into this handle's cell. Wait-free.
  // Cells hold 64-bit words; narrower widths are reduced modulo 2^width
  // when read.
  void accum(W delta) noexcept {
    const auto d = static_cast<std::uint64_t>(delta);
    if (value_ != nullptr) [[likely]] {
      value_->store(G::combine(value_->load(std::memory_order_relaxed), d),
                    std::memory_order_release);
      count_->store(count_->load(std::memory_order_relaxed) + 1,
                    std::memory_order_release);
      return;
    }
    seg_->accum(d);
  }
  void rollback(W delta) noexcept { accum(G::inverse(delta)); }

  // The state, combining every process's cells. kIoError only if the
  // segment's lock fails.
  Result<W> read() const { return narrow(seg_->read()); }
  // Closes an epoch across all processes; see ConcurrentContext::swap.
  Result<W> swap(std::optional<W> new_reference = std::nullopt) {
    std::optional<std::uint64_t> r;
    if (new_reference) r = static_cast<std::uint64_t>(*new_reference);
    return narrow(seg_->swap(r));
  }
  Status load(W value) { return seg_->load(static_cast<std::uint64_t>(value)); }
  Result<W> reference() const { return narrow(seg_->reference()); }
  Result<std::uint64_t> delta_count() const { return seg_->delta_count(); }
  std::size_t max_writers() const noexcept { return seg_->max_writers(); }
  // False when every cell was taken at open and this handle shares the
  // fallback cell.
  bool has_own_cell() const noexcept { return seg_->has_own_cell(); }
  static constexpr unsigned width() noexcept { return kWordBits<W>; }

 private:
  explicit SharedContext(std::unique_ptr<detail::SharedSegment> seg)
      : seg_(std::move(seg)),
        value_(seg_->own_value()),
        count_(seg_->own_count()) {}
  static Result<W> narrow(Result<std::uint64_t> r) {
    if (!r.ok()) return r.status();
    return static_cast<W>(*r);
  }
  std::unique_ptr<detail::SharedSegment> seg_;
  // This handle's cell, inside seg_'s mapping (nullptr: shared cell).
  std::atomic<std::uint64_t>* value_;
  std::atomic<std::uint64_t>* count_;
};

}  // namespace atomik
