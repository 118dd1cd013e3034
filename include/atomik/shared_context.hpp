// SPDX-License-Identifier: Apache-2.0
// atomik/shared_context.hpp: SharedContext<W, G>, one context in a named
// POSIX shared-memory segment that separate processes accum into (seed
// pattern 1 across processes).
//
// Same design as ConcurrentContext: each handle owns a cache-line cell in the
// segment (two slots, one per epoch parity) and folds deltas in with plain
// atomic loads and stores; read() and swap() close an epoch and return the
// state at that instant (linearizable across processes; docs/design.md,
// "Consistent cuts"). A cell is owned through an open-file-description lock
// on the segment, which the kernel drops when the owner's last descriptor
// closes, so a cell is reused only after its owner is gone (pid reuse and
// pid namespaces do not matter). A writer process killed at any point loses
// at most the delta it was storing. The control plane (read/swap/load) uses
// a process-shared, robust mutex and double-buffered baselines, so a process
// killed mid-swap leaves the last complete epoch boundary in force, and the
// last swap's result stays readable (last_swap()). Layout:
// docs/format/shared_segment.md.
//
//   auto ctx = atomik::SharedContext<>::create("/counters", 0);   // process A
//   auto peer = atomik::SharedContext<>::open("/counters");        // process B
//   if (peer.ok()) peer->accum(0xFF);
//   std::uint64_t state = *ctx->read();
//   atomik::SharedContext<>::unlink("/counters");
//
// Thread safety: one handle per thread (a handle owns one cell). Open more
// handles for more threads; up to max_writers handles get their own cell,
// later ones share one fallback cell guarded by a robust process-shared
// mutex (blocking, exact). A handle belongs to the process that opened it:
// a forked child must open its own (destroying an inherited handle in the
// child leaves the parent's cell alone). accum() from a signal handler is
// safe on a handle that owns a cell (a nested call goes to the fallback
// cell), not on one without.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atomik/export.h"
#include "atomik/fan_in_cell.hpp"
#include "atomik/group.hpp"
#include "atomik/status.hpp"
#include "atomik/word.hpp"

namespace atomik {

struct SharedContextOptions {
  // Cells in the segment: handles that write without sharing a cache line.
  std::size_t max_writers = 64;
};

// What SharedContext::last_swap() returns.
struct SharedSwapRecord {
  std::uint64_t number = 0;  // swaps committed on the segment, 0 = none yet
  std::uint64_t state = 0;   // the state the last swap returned (64-bit word)
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

  // The fallback path (no own cell, or a nested accum): takes the
  // segment's fallback mutex.
  void accum_shared(std::uint64_t delta) noexcept;
  Result<std::uint64_t> read() const;
  Result<std::uint64_t> swap(std::optional<std::uint64_t> new_reference);
  Status load(std::uint64_t value);
  Result<std::uint64_t> reference() const;
  Result<std::uint64_t> delta_count() const;
  Result<SharedSwapRecord> last_swap() const;
  std::size_t max_writers() const noexcept;
  bool has_own_cell() const noexcept;
  // This handle's cell for the inline writer path (nullptrs without one).
  // Only this handle stores to them.
  struct CellView {
    std::atomic<std::uint32_t>* busy = nullptr;
    std::atomic<std::uint64_t>* value = nullptr;  // [2], per epoch parity
    std::atomic<std::uint64_t>* count = nullptr;  // [2]
    const std::atomic<std::uint64_t>* epoch = nullptr;
    bool fenced = true;
  };
  CellView own_cell() const noexcept;

 private:
  // The mapping, the claimed cell and the locks (src/core/shared_context.cpp).
  struct Impl;
  explicit SharedSegment(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
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
  // Attaches to an existing segment and claims a free cell (see
  // has_own_cell()). Fails with kNotFound if it does not exist,
  // kInvalidArgument if it holds another width or group, kCorruption if it
  // is too small, not an atomik segment or has a bad header_size,
  // kUnimplemented for another layout version, kUnavailable while its
  // creator is still initialising it (retry; forever if the creator died
  // then: unlink and create again), kIoError if a cell lock fails.
  static Result<SharedContext> open(std::string_view name) {
    auto seg = detail::SharedSegment::open(name, kWordBits<W>, G::kId);
    if (!seg.ok()) return seg.status();
    return SharedContext(std::move(*seg));
  }
  // Removes the name; attached handles keep working until closed.
  static Status unlink(std::string_view name) {
    return detail::SharedSegment::unlink(name);
  }

  // Folds `delta` into this handle's cell. Wait-free with an own cell (two
  // stores and a load on the cell's line, one load of the epoch); blocking
  // (the fallback mutex) without one. Cells hold 64-bit words; narrower
  // widths are reduced modulo 2^width when read.
  void accum(W delta) noexcept {
    const auto d = static_cast<std::uint64_t>(delta);
    if (cell_.busy != nullptr &&
        detail::epoch_cell_add<std::uint64_t>(
            *cell_.busy, cell_.value, cell_.count, *cell_.epoch, cell_.fenced,
            d, 1, [](std::uint64_t a, std::uint64_t b) {
              return G::combine(a, b);
            })) [[likely]] {
      return;
    }
    seg_->accum_shared(d);
  }
  void rollback(W delta) noexcept { accum(G::inverse(delta)); }

  // The state at one instant during the call, combining every process's
  // cells (linearizable). kIoError only if the segment's lock fails;
  // kCorruption if the segment's epoch bookkeeping is damaged. Cost:
  // O(max_writers), one membarrier, and a wait for writers caught mid-accum (a
  // writer killed mid-accum is detected through its dropped cell lock).
  Result<W> read() const { return narrow(seg_->read()); }
  // Closes an epoch across all processes; see ConcurrentContext::swap.
  // Linearizable; cost of read(). The result is also kept in the segment
  // (last_swap()), so it survives the swapping process.
  Result<W> swap(std::optional<W> new_reference = std::nullopt) {
    std::optional<std::uint64_t> r;
    if (new_reference) r = static_cast<std::uint64_t>(*new_reference);
    return narrow(seg_->swap(r));
  }
  Status load(W value) { return seg_->load(static_cast<std::uint64_t>(value)); }
  Result<W> reference() const { return narrow(seg_->reference()); }
  // Deltas in the current epoch, counted at the same instant as the value
  // (linearizable; cost of read()).
  Result<std::uint64_t> delta_count() const { return seg_->delta_count(); }
  // The number of swaps committed on the segment and the state the last one
  // returned, so a process can recover an epoch whose swapper died after
  // committing it. The state is a 64-bit word; narrow it to W yourself.
  Result<SharedSwapRecord> last_swap() const { return seg_->last_swap(); }
  std::size_t max_writers() const noexcept { return seg_->max_writers(); }
  // False when every cell was taken at open and this handle shares the
  // fallback cell.
  bool has_own_cell() const noexcept { return seg_->has_own_cell(); }
  static constexpr unsigned width() noexcept { return kWordBits<W>; }

 private:
  explicit SharedContext(std::unique_ptr<detail::SharedSegment> seg)
      : seg_(std::move(seg)), cell_(seg_->own_cell()) {}
  static Result<W> narrow(Result<std::uint64_t> r) {
    if (!r.ok()) return r.status();
    return static_cast<W>(*r);
  }
  std::unique_ptr<detail::SharedSegment> seg_;
  // This handle's cell, inside seg_'s mapping (busy == nullptr: none).
  detail::SharedSegment::CellView cell_;
};

}  // namespace atomik
