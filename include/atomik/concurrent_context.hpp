// atomik/concurrent_context.hpp: ConcurrentContext<W, G>, lock-free fan-in
// of deltas from many threads into one context (seed pattern 1).
//
// Each writer thread owns a cache-line-sized cell and folds its deltas into
// it with a plain atomic load and store (no lock prefix, no shared line), so
// writers never contend. read() and swap() combine the cells. The cells only
// ever grow (in group terms), so instead of clearing them swap() remembers
// each cell's value as a baseline: an epoch holds exactly the deltas stored
// between two swaps' reads of that cell. Every delta therefore lands in
// exactly one epoch, none is lost, none counted twice, while writers run.
//
//   atomik::ConcurrentContext<> ctx;                 // 64-bit XOR
//   std::jthread t([&] { ctx.accum(0xFF); });        // from any thread
//   auto w = ctx.writer();                           // or a claimed cell,
//   if (w.ok()) w->accum(0xFF00);                    // the fastest path
//   std::uint64_t epoch_state = ctx.swap();
//
// Thread safety: accum() and Writer::accum() are wait-free and may run on
// any number of threads. load(), read(), swap() and the accessors serialise
// with each other on an internal mutex (the control plane only; writers
// never take it). read() includes every delta whose accum() returned before
// read() began. delta_count() is exact when no writer is mid-accum.
//
// Cells: `max_writers` cells (default 64). A thread claims one on its first
// accum() and returns it when the thread exits; a Writer returns its cell
// when destroyed. With every cell claimed, further threads fall back to one
// shared atomic cell: slower, still lock-free and exact.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/context.hpp"
#include "atomik/export.h"
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

// The calling thread's most recent registration (the fast path).
ATOMIK_EXPORT inline thread_local ThreadCell tls_last_cell;

// A fresh, never reused context id (ids start at 1).
ATOMIK_EXPORT std::uint64_t next_context_id() noexcept;
// Looks up the calling thread's cell for `context_id`; also refreshes
// tls_last_cell. Returns false if the thread has none yet.
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
  struct alignas(64) Cell {
    std::atomic<W> value{G::template identity<W>()};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint32_t> claimed{0};

    // Single writer: a plain load and store, no read-modify-write.
    void add(W delta) noexcept {
      value.store(G::combine(value.load(std::memory_order_relaxed), delta),
                  std::memory_order_release);
      count.store(count.load(std::memory_order_relaxed) + 1,
                  std::memory_order_release);
    }
    void add_batch(W folded, std::uint64_t n) noexcept {
      value.store(G::combine(value.load(std::memory_order_relaxed), folded),
                  std::memory_order_release);
      count.store(count.load(std::memory_order_relaxed) + n,
                  std::memory_order_release);
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
        : cell_(std::exchange(other.cell_, nullptr)) {}
    Writer& operator=(Writer&& other) noexcept {
      if (this != &other) {
        release();
        cell_ = std::exchange(other.cell_, nullptr);
      }
      return *this;
    }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer() { release(); }

    // Folds one delta into this writer's cell. Wait-free, ~1 ns.
    void accum(W delta) noexcept { cell_->add(delta); }
    // Folds a span of deltas in with one store; counts deltas.size().
    void accum_batch(std::span<const W> deltas) noexcept {
      cell_->add_batch(Context<W, G>::template fold<W, G>(deltas),
                       deltas.size());
    }

   private:
    friend class ConcurrentContext;
    explicit Writer(Cell* cell) noexcept : cell_(cell) {}
    void release() noexcept {
      if (cell_ != nullptr) cell_->claimed.store(0, std::memory_order_release);
      cell_ = nullptr;
    }
    Cell* cell_;
  };

  // A context with reference `initial_state` and `max_writers` cells.
  // max_writers == 0 is treated as 1.
  explicit ConcurrentContext(W initial_state = G::template identity<W>(),
                             std::size_t max_writers = kDefaultMaxWriters)
      : id_(detail::next_context_id()),
        num_cells_(max_writers == 0 ? 1 : max_writers),
        cells_(std::make_unique<Cell[]>(num_cells_)),
        base_value_(num_cells_, G::template identity<W>()),
        base_count_(num_cells_, 0),
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
      if (try_claim(i)) return Writer(&cells_[i]);
    }
    return Status::resource_exhausted(
        "ConcurrentContext::writer",
        "all " + std::to_string(num_cells_) +
            " cells are claimed; raise max_writers");
  }

  // Folds `delta` in from any thread. Wait-free after the thread's first call
  // on this context (which claims a cell, or falls back to the shared cell).
  void accum(W delta) noexcept {
    const detail::ThreadCell& last = detail::tls_last_cell;
    // tls_last_cell only ever caches a real cell (never the shared one), so
    // one compare decides the fast path.
    if (last.context_id == id_) [[likely]] {
      static_cast<Cell*>(last.cell)->add(delta);
      return;
    }
    accum_slow(delta);
  }

  // Undo: folds in G::inverse(delta).
  void rollback(W delta) noexcept { accum(G::inverse(delta)); }

  // The current state: reference combined with every cell's epoch delta.
  W read() const {
    std::lock_guard<std::mutex> lock(mu_);
    return G::combine(reference_, epoch_delta_locked(nullptr, nullptr));
  }

  // Closes an epoch: returns the state, makes `new_reference` (or the state)
  // the reference, and starts a new epoch. Each delta is in exactly one epoch.
  W swap(std::optional<W> new_reference = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu_);
    const W state =
        G::combine(reference_, epoch_delta_locked(&base_value_, &base_count_));
    reference_ = new_reference.value_or(state);
    return state;
  }

  // reference = value; deltas so far are discarded (a new epoch starts).
  void load(W value) {
    std::lock_guard<std::mutex> lock(mu_);
    (void)epoch_delta_locked(&base_value_, &base_count_);
    reference_ = value;
  }

  W reference() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reference_;
  }
  // The combined delta of the current epoch.
  W accumulator() const {
    std::lock_guard<std::mutex> lock(mu_);
    return epoch_delta_locked(nullptr, nullptr);
  }
  bool is_clean() const { return accumulator() == G::template identity<W>(); }
  // Deltas in the current epoch (exact when no accum() is in flight).
  std::uint64_t delta_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::uint64_t n =
        shared_count_.load(std::memory_order_acquire) - base_shared_count_;
    for (std::size_t i = 0; i < num_cells_; ++i) {
      n += cells_[i].count.load(std::memory_order_acquire) - base_count_[i];
    }
    return n;
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
    if (tc.cell != nullptr) {
      static_cast<Cell*>(tc.cell)->add(delta);
      return;
    }
    // Shared fallback cell: many writers, so a read-modify-write.
    W old = shared_value_.load(std::memory_order_relaxed);
    while (!shared_value_.compare_exchange_weak(old, G::combine(old, delta),
                                                std::memory_order_release,
                                                std::memory_order_relaxed)) {
    }
    shared_count_.fetch_add(1, std::memory_order_release);
  }

  // Combines each cell's value less its baseline. If `new_base` is given,
  // the values read become the new baselines (swap/load). mu_ must be held.
  W epoch_delta_locked(std::vector<W>* new_base,
                       std::vector<std::uint64_t>* new_count) const {
    W acc = G::template identity<W>();
    for (std::size_t i = 0; i < num_cells_; ++i) {
      const W v = cells_[i].value.load(std::memory_order_acquire);
      acc = G::combine(acc, G::combine(v, G::inverse(base_value_[i])));
      if (new_base != nullptr) {
        (*new_base)[i] = v;
        (*new_count)[i] = cells_[i].count.load(std::memory_order_acquire);
      }
    }
    const W shared = shared_value_.load(std::memory_order_acquire);
    acc = G::combine(acc, G::combine(shared, G::inverse(base_shared_value_)));
    if (new_base != nullptr) {
      base_shared_value_ = shared;
      base_shared_count_ = shared_count_.load(std::memory_order_acquire);
    }
    return acc;
  }

  const std::uint64_t id_;
  const std::size_t num_cells_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<W> shared_value_{G::template identity<W>()};
  std::atomic<std::uint64_t> shared_count_{0};

  // Control plane, guarded by mu_. Mutable: read() refreshes nothing but
  // must lock; swap()/load() move the baselines.
  alignas(64) mutable std::mutex mu_;
  mutable std::vector<W> base_value_;
  mutable std::vector<std::uint64_t> base_count_;
  mutable W base_shared_value_ = G::template identity<W>();
  mutable std::uint64_t base_shared_count_ = 0;
  W reference_;
};

}  // namespace atomik
