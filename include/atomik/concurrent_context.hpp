// SPDX-License-Identifier: Apache-2.0
// atomik/concurrent_context.hpp: ConcurrentContext<W, G>, fan-in of deltas
// from many threads into one context (seed pattern 1), with read() and
// swap() that return states which existed (consistent cuts).
//
// Each writer thread owns a cache-line-sized cell and folds its deltas into
// it with plain atomic loads and stores (no lock prefix, no shared line), so
// writers never contend. A cell has one slot per epoch parity; a writer
// announces itself, reads the epoch and writes the slot of its parity
// (atomik/fan_in_cell.hpp). read(), swap(), load(), accumulator() and
// delta_count() close an epoch: they advance it, issue an asymmetric fence
// (membarrier) and wait for writers still in the old epoch, then sum the old
// slots. Each is linearizable: it returns the state at the instant the epoch
// advanced, and every delta lands in exactly one epoch. The argument and the
// costs are in docs/design.md ("Consistent cuts").
//
//   atomik::ConcurrentContext<> ctx;                 // 64-bit XOR
//   std::jthread t([&] { ctx.accum(0xFF); });        // from any thread
//   auto w = ctx.writer();                           // or a claimed cell,
//   if (w.ok()) w->accum(0xFF00);                    // the fastest path
//   std::uint64_t epoch_state = ctx.swap();
//
// Thread safety and progress:
// - Writer::accum() is wait-free. accum() is wait-free once the calling
//   thread holds a cell of this context; its first call registers (a mutex,
//   an allocation). Threads beyond max_writers, and an accum() made while
//   the thread's cell is mid-accum (from a signal handler), use one shared
//   fallback cell: lock-free (compare-and-swap loops), not wait-free.
// - read(), swap(), load(), accumulator(), delta_count() and reference()
//   serialise on an internal mutex that writers never take. A closing call
//   blocks while a writer it must wait for is preempted mid-accum (a few
//   instructions), so it is not wait-free itself.
// - accum() from a signal handler is safe once the thread has made an
//   accum() on this context (the handler's delta goes to the fallback cell
//   if it interrupted one); the first accum() of a thread is not
//   async-signal-safe, and the closing calls never are.
//
// Cells: `max_writers` cells (default 64). A thread claims one on its first
// accum() and returns it when the thread exits; a Writer returns its cell
// when destroyed. An accum() from a thread_local destructor that runs after
// the thread's registrations are gone uses the fallback cell.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "atomik/context.hpp"
#include "atomik/export.h"
#include "atomik/fan_in_cell.hpp"
#include "atomik/group.hpp"
#include "atomik/status.hpp"
#include "atomik/word.hpp"

namespace atomik {

namespace detail {

// A context's per-thread registration, kept in a thread-local cache.
struct ThreadCell {
  std::uint64_t context_id = 0;
  void* cell = nullptr;  // nullptr: use the shared cell
  std::atomic<std::uint32_t>* claimed = nullptr;  // returned at thread exit
};

// The calling thread's most recent registration (the fast path). Cleared
// when the thread's registrations are destroyed at thread exit.
ATOMIK_EXPORT inline thread_local ThreadCell tls_last_cell;

// A fresh, never reused context id (ids start at 1).
ATOMIK_EXPORT std::uint64_t next_context_id() noexcept;
// Looks up the calling thread's cell for `context_id`; also refreshes
// tls_last_cell. Returns false if the thread has none yet. During thread
// exit, after the registrations are destroyed, returns true with
// cell == nullptr (use the shared cell; claim nothing more).
ATOMIK_EXPORT bool find_thread_cell(std::uint64_t context_id, ThreadCell* out);
// Records a registration so the cell is returned when the thread exits
// (if the context is still alive then).
ATOMIK_EXPORT void remember_thread_cell(const ThreadCell& cell);
// Marks a context alive/dead for thread-exit cleanup.
ATOMIK_EXPORT void register_context(std::uint64_t context_id);
ATOMIK_EXPORT void unregister_context(std::uint64_t context_id);

}  // namespace detail

template <DeltaWord W = std::uint64_t, typename G = XorGroup>
requires DeltaGroup<G, W> &&
    std::atomic<W>::is_always_lock_free class ConcurrentContext {
  static constexpr W identity() noexcept { return G::template identity<W>(); }
  static W combine(W a, W b) noexcept { return G::combine(a, b); }

  struct alignas(64) Cell {
    std::atomic<std::uint32_t> busy{0};  // 1 while an accum is in flight
    std::atomic<W> value[2]{identity(), identity()};  // per epoch parity
    std::atomic<std::uint64_t> count[2]{0, 0};
    std::atomic<std::uint32_t> claimed{0};

    // Single writer. False when mid-accum on this thread (see
    // detail::epoch_cell_add): the caller uses the shared cell.
    bool add(W delta, std::uint64_t n, const std::atomic<std::uint64_t>& epoch,
             bool fenced) noexcept {
      return detail::epoch_cell_add<W>(
          busy, value, count, epoch, fenced, delta, n,
          [](W a, W b) { return G::combine(a, b); });
    }
  };

 public:
  using Word = W;
  using Group = G;
  static constexpr std::size_t kDefaultMaxWriters = 64;

  // A writer that owns one cell. Move-only; must not outlive its context.
  // Not thread-safe itself: one Writer per thread.
  class Writer {
   public:
    Writer(Writer&& other) noexcept
        : ctx_(other.ctx_), cell_(std::exchange(other.cell_, nullptr)) {}
    Writer& operator=(Writer&& other) noexcept {
      if (this != &other) {
        release();
        ctx_ = other.ctx_;
        cell_ = std::exchange(other.cell_, nullptr);
      }
      return *this;
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() { release(); }

    // Folds one delta into this writer's cell. Wait-free, a few ns: two
    // stores and a load on the cell's own line, one load of the epoch.
    void accum(W delta) noexcept {
      if (!cell_->add(delta, 1, ctx_->epoch_, ctx_->fenced_)) [[unlikely]] {
        ctx_->accum_shared(delta, 1);
      }
    }
    // Folds a span of deltas in with one store; counts deltas.size().
    void accum_batch(std::span<const W> deltas) noexcept {
      const W folded = detail::fold<W, G>(deltas);
      if (!cell_->add(folded, deltas.size(), ctx_->epoch_, ctx_->fenced_))
          [[unlikely]] {
        ctx_->accum_shared(folded, deltas.size());
      }
    }

   private:
    friend class ConcurrentContext;
    Writer(ConcurrentContext* ctx, Cell* cell) noexcept
        : ctx_(ctx), cell_(cell) {}
    void release() noexcept {
      if (cell_ != nullptr) cell_->claimed.store(0, std::memory_order_release);
      cell_ = nullptr;
    }
    ConcurrentContext* ctx_;
    Cell* cell_;
  };

  // A context with reference `initial_state` and `max_writers` cells.
  // max_writers == 0 is treated as 1.
  explicit ConcurrentContext(W initial_state = identity(),
                             std::size_t max_writers = kDefaultMaxWriters)
      : id_(detail::next_context_id()),
        num_cells_(max_writers == 0 ? 1 : max_writers),
        fenced_(!detail::private_membarrier_ready()),
        cells_(std::make_unique<Cell[]>(num_cells_)),
        base_value_{std::vector<W>(num_cells_, identity()),
                    std::vector<W>(num_cells_, identity())},
        base_count_{std::vector<std::uint64_t>(num_cells_, 0),
                    std::vector<std::uint64_t>(num_cells_, 0)},
        reference_(initial_state) {
    detail::register_context(id_);
  }
  ConcurrentContext(const ConcurrentContext&) = delete;
  ConcurrentContext& operator=(const ConcurrentContext&) = delete;
  ~ConcurrentContext() { detail::unregister_context(id_); }

  // Claims a cell for the caller's exclusive use. Fails with
  // kResourceExhausted when all max_writers cells are claimed; nothing changes.
  Result<Writer> writer() {
    for (std::size_t i = 0; i < num_cells_; ++i) {
      if (try_claim(i)) return Writer(this, &cells_[i]);
    }
    return Status::resource_exhausted(
        "ConcurrentContext::writer",
        "all " + std::to_string(num_cells_) +
            " cells are claimed; raise max_writers");
  }

  // Folds `delta` in from any thread. Wait-free after the thread's first call
  // on this context, when the thread holds a cell (see the header comment).
  void accum(W delta) noexcept {
    const detail::ThreadCell& last = detail::tls_last_cell;
    // tls_last_cell only ever caches a real cell (never the shared one), so
    // one compare decides the fast path.
    if (last.context_id == id_) [[likely]] {
      if (static_cast<Cell*>(last.cell)->add(delta, 1, epoch_, fenced_))
          [[likely]] {
        return;
      }
      accum_shared(delta, 1);
      return;
    }
    accum_slow(delta);
  }

  // Undo: folds in G::inverse(delta).
  void rollback(W delta) noexcept { accum(G::inverse(delta)); }

  // The current state: reference combined with every delta whose accum()
  // took effect before this call's linearization point. Linearizable (a
  // state that existed at one instant during the call). Cost: O(max_writers)
  // plus one membarrier; waits for writers caught mid-accum.
  W read() const {
    std::lock_guard<std::mutex> lock(mu_);
    fold_pending_locked();
    return combine(reference_, pending_value_);
  }

  // Closes an epoch: returns the state, makes `new_reference` (or the state)
  // the reference, and starts a new epoch. Each delta is in exactly one
  // epoch. Linearizable, same cost as read().
  W swap(std::optional<W> new_reference = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu_);
    fold_pending_locked();
    const W state = combine(reference_, pending_value_);
    pending_value_ = identity();
    pending_count_ = 0;
    reference_ = new_reference.value_or(state);
    return state;
  }

  // reference = value; deltas so far are discarded (a new epoch starts).
  void load(W value) {
    std::lock_guard<std::mutex> lock(mu_);
    fold_pending_locked();
    pending_value_ = identity();
    pending_count_ = 0;
    reference_ = value;
  }

  W reference() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reference_;
  }
  // The combined delta of the current epoch (linearizable, cost of read()).
  W accumulator() const {
    std::lock_guard<std::mutex> lock(mu_);
    fold_pending_locked();
    return pending_value_;
  }
  bool is_clean() const { return accumulator() == identity(); }
  // Deltas in the current epoch: exact, counted at the same instant as the
  // value (linearizable, cost of read()).
  std::uint64_t delta_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    fold_pending_locked();
    return pending_count_;
  }
  std::size_t max_writers() const noexcept { return num_cells_; }
  static constexpr unsigned width() noexcept { return kWordBits<W>; }

 private:
  bool try_claim(std::size_t i) noexcept {
    std::uint32_t expected = 0;
    return cells_[i].claimed.compare_exchange_strong(
        expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
  }

  void accum_slow(W delta) noexcept {
    detail::ThreadCell tc;
    if (!detail::find_thread_cell(id_, &tc)) {
      tc.context_id = id_;
      for (std::size_t i = 0; i < num_cells_; ++i) {
        if (try_claim(i)) {
          tc.cell = &cells_[i];
          tc.claimed = &cells_[i].claimed;
          break;
        }
      }
      detail::remember_thread_cell(
          tc);  // also when cell == nullptr: don't retry every call
    }
    if (tc.cell != nullptr &&
        static_cast<Cell*>(tc.cell)->add(delta, 1, epoch_, fenced_)) {
      return;
    }
    accum_shared(delta, 1);
  }

  // The fallback cell, many writers. A writer enters parity p by raising
  // inflight[p] and re-checking the epoch (seq_cst, so a closer that
  // advanced the epoch sees the raise); the closer waits for inflight of the
  // closed parity to drain. Lock-free: a writer retries only when an epoch
  // closed under it.
  void accum_shared(W delta, std::uint64_t n) noexcept {
    for (;;) {
      const std::uint64_t e = epoch_.load(std::memory_order_seq_cst);
      const std::size_t p = e & 1U;
      shared_.inflight[p].fetch_add(1, std::memory_order_seq_cst);
      if (epoch_.load(std::memory_order_seq_cst) == e) {
        W old = shared_.value[p].load(std::memory_order_relaxed);
        while (!shared_.value[p].compare_exchange_weak(
            old, combine(old, delta), std::memory_order_relaxed,
            std::memory_order_relaxed)) {
        }
        shared_.count[p].fetch_add(n, std::memory_order_relaxed);
        shared_.inflight[p].fetch_sub(1, std::memory_order_release);
        return;
      }
      shared_.inflight[p].fetch_sub(1, std::memory_order_relaxed);
    }
  }

  // Closes the current epoch and adds its deltas to pending_*: advances the
  // epoch (the linearization point), fences, waits for writers still in the
  // old epoch, then sums the old parity's slots against their baselines.
  // mu_ must be held.
  void fold_pending_locked() const {
    const std::uint64_t e = epoch_.load(std::memory_order_relaxed);
    const std::size_t p = e & 1U;
    epoch_.store(e + 1, std::memory_order_seq_cst);
    if (!fenced_) {
      detail::private_asymmetric_fence();
    }
    W acc = identity();
    std::uint64_t n = 0;
    std::vector<W>& base_v = base_value_[p];
    std::vector<std::uint64_t>& base_n = base_count_[p];
    for (std::size_t i = 0; i < num_cells_; ++i) {
      const Cell& c = cells_[i];
      if (c.busy.load(std::memory_order_seq_cst) != 0) {
        // A writer mid-accum; it may be in the old epoch. Seeing busy == 0
        // later means that accum ended (any accum after it reads the new
        // epoch).
        while (c.busy.load(std::memory_order_acquire) != 0) {
          std::this_thread::yield();
        }
      }
      const W v = c.value[p].load(std::memory_order_acquire);
      const std::uint64_t k = c.count[p].load(std::memory_order_acquire);
      acc = combine(acc, combine(v, G::inverse(base_v[i])));
      n += k - base_n[i];
      base_v[i] = v;
      base_n[i] = k;
    }
    while (shared_.inflight[p].load(std::memory_order_acquire) != 0) {
      std::this_thread::yield();
    }
    const W sv = shared_.value[p].load(std::memory_order_acquire);
    const std::uint64_t sn = shared_.count[p].load(std::memory_order_acquire);
    acc = combine(acc, combine(sv, G::inverse(base_shared_value_[p])));
    n += sn - base_shared_count_[p];
    base_shared_value_[p] = sv;
    base_shared_count_[p] = sn;
    pending_value_ = combine(pending_value_, acc);
    pending_count_ += n;
  }

  const std::uint64_t id_;
  const std::size_t num_cells_;
  // Writers read epoch_ and fenced_ on every accum; only closers store to
  // epoch_ (under mu_), so the line stays shared in every writer's cache.
  alignas(64) mutable std::atomic<std::uint64_t> epoch_{0};
  const bool fenced_;  // writers use seq_cst (no membarrier in this process)
  std::unique_ptr<Cell[]> cells_;
  struct alignas(64) SharedCell {
    std::atomic<std::uint64_t> inflight[2]{0, 0};
    std::atomic<W> value[2]{identity(), identity()};
    std::atomic<std::uint64_t> count[2]{0, 0};
  };
  SharedCell shared_;

  // Control plane, guarded by mu_. Mutable: read() closes an internal epoch
  // (moving baselines and pending_*) without changing the state it reports.
  alignas(64) mutable std::mutex mu_;
  mutable std::vector<W> base_value_[2];  // per parity, per cell
  mutable std::vector<std::uint64_t> base_count_[2];
  mutable W base_shared_value_[2] = {identity(), identity()};
  mutable std::uint64_t base_shared_count_[2] = {0, 0};
  // Deltas of the epochs closed since the last swap()/load().
  mutable W pending_value_ = identity();
  mutable std::uint64_t pending_count_ = 0;
  W reference_;
};

}  // namespace atomik
