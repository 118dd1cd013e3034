// SPDX-License-Identifier: Apache-2.0
// atomik/table.hpp: DeltaTable<W, G>, many addresses, each a Context.
//
// The reference package's AtomikTable (dense: a fixed array of contexts,
// out-of-range addresses are an error) and the address map of its
// DeltaStream (sparse: a context is created on first load/accum, and an
// unknown address reads as the identity, 0).
//
//   auto table = atomik::DeltaTable<>::dense(256);
//   atomik::Status s = table.accum(7, 0xFF);        // OK
//   s = table.accum(300, 1);                        // OutOfRange, names 300
//   and 256 atomik::Result<std::uint64_t> v = table.read(7);
//
//   auto sparse = atomik::DeltaTable<>::sparse();   // any 32-bit address
//
// Failure behaviour: every call that fails changes nothing (batch_accum
// validates every address before applying any delta).
// Thread safety: none (like std::vector); wrap it or shard it per thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "atomik/context.hpp"
#include "atomik/status.hpp"
#include "atomik/types.hpp"

namespace atomik {

namespace detail {
// Asks the kernel to back [p, p + bytes) with 2 MiB pages (madvise
// MADV_HUGEPAGE) before the memory is first touched: a dense table of
// millions of contexts is written at random addresses, and on 4 KiB pages
// nearly every delta also misses the TLB. A hint only: without huge pages
// (or below 4 MiB) nothing changes.
ATOMIK_EXPORT void advise_huge_pages(void* p, std::size_t bytes) noexcept;
}  // namespace detail

template <DeltaWord W = std::uint64_t, typename G = XorGroup>
requires DeltaGroup<G, W>
class DeltaTable {
 public:
  using Word = W;
  using Group = G;
  using ContextType = Context<W, G>;
  static constexpr std::uint64_t kMaxDenseContexts = std::uint64_t{1} << 32;

  // Addresses 0..num_contexts-1, all allocated now (24 bytes each for 64-bit
  // words). Fails with kInvalidArgument above 2^32 contexts.
  static Result<DeltaTable> dense(std::uint64_t num_contexts) {
    if (num_contexts > kMaxDenseContexts) {
      return Status::invalid_argument(
          "DeltaTable::dense", "num_contexts " + std::to_string(num_contexts) +
                                   " > 2^32 (addresses are 32-bit)");
    }
    DeltaTable t;
    t.dense_ = true;
    const auto n = static_cast<std::size_t>(num_contexts);
    t.contexts_.reserve(n);
    detail::advise_huge_pages(t.contexts_.data(), n * sizeof(ContextType));
    t.contexts_.resize(n);
    return t;
  }
  // Any 32-bit address; memory grows with the addresses used.
  static DeltaTable sparse() { return DeltaTable(); }

  // reference(addr) = value, accumulator cleared. Sparse: creates the context.
  Status load(Addr addr, W value) {
    ContextType* c = find_or_create(addr, "load");
    if (c == nullptr) return out_of_range("load", addr);
    c->load(value);
    return Status();
  }
  // Folds `delta` into addr's accumulator. O(1).
  Status accum(Addr addr, W delta) {
    ContextType* c = find_or_create(addr, "accum");
    if (c == nullptr) return out_of_range("accum", addr);
    c->accum(delta);
    return Status();
  }
  // Undo at addr: accumulates G::inverse(delta).
  Status rollback(Addr addr, W delta) { return accum(addr, G::inverse(delta)); }
  // The state at addr. Sparse: identity for an address never written.
  Result<W> read(Addr addr) const {
    const ContextType* c = find(addr);
    if (c != nullptr) return c->read();
    if (dense_) return out_of_range("read", addr);
    return G::template identity<W>();
  }
  // Closes addr's epoch (Context::swap). Sparse: creates the context.
  Result<W> swap(Addr addr, std::optional<W> new_reference = std::nullopt) {
    ContextType* c = find_or_create(addr, "swap");
    if (c == nullptr) return out_of_range("swap", addr);
    return c->swap(new_reference);
  }
  // A copy of addr's context. Sparse: a fresh context if never written.
  Result<ContextType> context(Addr addr) const {
    const ContextType* c = find(addr);
    if (c != nullptr) return *c;
    if (dense_) return out_of_range("context", addr);
    return ContextType();
  }
  // Applies every (addr, delta) pair, or none: all addresses are checked
  // first; the first bad one is named with its index.
  Status batch_accum(std::span<const std::pair<Addr, W>> deltas) {
    if (dense_) {
      for (std::size_t i = 0; i < deltas.size(); ++i) {
        if (deltas[i].first >= contexts_.size()) {
          return out_of_range("batch_accum", deltas[i].first)
              .with_context("entry " + std::to_string(i));
        }
      }
    }
    for (const auto& [addr, delta] : deltas) {
      find_or_create(addr, "batch_accum")->accum(delta);
    }
    return Status();
  }
  // (addr, state) for every state that is not the identity, by address.
  std::vector<std::pair<Addr, W>> snapshot() const {
    std::vector<std::pair<Addr, W>> out;
    for_each([&](Addr a, const ContextType& c) {
      if (c.read() != G::template identity<W>()) out.emplace_back(a, c.read());
    });
    std::sort(out.begin(), out.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    return out;
  }
  // Calls f(addr, const ContextType&) for every context held (dense: all,
  // in address order; sparse: those created, in no set order).
  template <typename F>
  void for_each(F&& f) const {
    if (dense_) {
      for (std::size_t i = 0; i < contexts_.size(); ++i) {
        f(static_cast<Addr>(i), contexts_[i]);
      }
    } else {
      for (const auto& [a, c] : sparse_) f(a, c);
    }
  }
  // Dense: the fixed size. Sparse: contexts created so far.
  std::uint64_t num_contexts() const noexcept {
    return dense_ ? contexts_.size() : sparse_.size();
  }
  bool is_dense() const noexcept { return dense_; }
  // A dense table's contexts, contiguous by address (for prefetching in
  // batch loops); nullptr for a sparse table. Valid until the table is
  // moved or assigned.
  const ContextType* dense_data() const noexcept {
    return dense_ ? contexts_.data() : nullptr;
  }
  static constexpr unsigned width() noexcept { return kWordBits<W>; }

 private:
  DeltaTable() = default;
  const ContextType* find(Addr addr) const {
    if (dense_) return addr < contexts_.size() ? &contexts_[addr] : nullptr;
    auto it = sparse_.find(addr);
    return it == sparse_.end() ? nullptr : &it->second;
  }
  ContextType* find_or_create(Addr addr, const char* /*op*/) {
    if (dense_) return addr < contexts_.size() ? &contexts_[addr] : nullptr;
    return &sparse_[addr];
  }
  // Out of line and cold: keeps accum()/load() small enough to inline into
  // hot loops (WAL replay).
  [[gnu::noinline, gnu::cold]] Status out_of_range(const char* op,
                                                   Addr addr) const {
    return Status::out_of_range(std::string("DeltaTable::") + op,
                                "address " + std::to_string(addr) +
                                    " >= num_contexts " +
                                    std::to_string(contexts_.size()));
  }

  bool dense_ = false;
  std::vector<ContextType> contexts_;
  std::unordered_map<Addr, ContextType> sparse_;
};

}  // namespace atomik
