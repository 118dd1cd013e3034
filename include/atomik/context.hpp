// SPDX-License-Identifier: Apache-2.0
// atomik/context.hpp: Context<W, G>, one reference state and one accumulator.
//
// The four operations of delta-state algebra, with the reference package's
// names and semantics (atomik_core.AtomikContext):
//   load(v)   reference = v; accumulator and delta count cleared
//   accum(d)  accumulator = G::combine(accumulator, d); delta count + 1
//   read()    G::combine(reference, accumulator), the current state
//   swap()    returns read(); the state (or a given value) becomes the new
//             reference; accumulator and delta count cleared (closes an epoch)
//
//   atomik::Context<std::uint64_t> ctx;      // XOR by default
//   ctx.load(0xCAFE);
//   ctx.accum(0x00FF);
//   ctx.read();                               // 0xCA01
//   ctx.accum(0x00FF);                        // self-inverse: back to 0xCAFE
//
// Differences from the reference, on purpose: values are typed words, so a
// value that does not fit the width cannot be passed (no silent masking);
// there is no `with` block that wipes state.
//
// Thread safety: none; one thread at a time (like std::vector). For many
// writers use ConcurrentContext (concurrent_context.hpp) or SharedContext.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "atomik/group.hpp"
#include "atomik/word.hpp"

namespace atomik {

namespace detail {

// Folds a span of deltas with group H, the building block of accum_batch
// (Context, ConcurrentContext).
// Four independent lanes let the compiler keep several vector registers
// busy; for Word128 a plain loop is used.
template <DeltaWord V, typename H>
constexpr V fold(std::span<const V> deltas) noexcept {
  V lanes[4] = {H::template identity<V>(), H::template identity<V>(),
                H::template identity<V>(), H::template identity<V>()};
  std::size_t i = 0;
  const std::size_t n = deltas.size();
  for (; i + 4 <= n; i += 4) {
    lanes[0] = H::combine(lanes[0], deltas[i]);
    lanes[1] = H::combine(lanes[1], deltas[i + 1]);
    lanes[2] = H::combine(lanes[2], deltas[i + 2]);
    lanes[3] = H::combine(lanes[3], deltas[i + 3]);
  }
  for (; i < n; ++i) lanes[0] = H::combine(lanes[0], deltas[i]);
  return H::combine(H::combine(lanes[0], lanes[1]),
                    H::combine(lanes[2], lanes[3]));
}

}  // namespace detail

template <DeltaWord W, typename G = XorGroup>
requires DeltaGroup<G, W>
class Context {
 public:
  using Word = W;
  using Group = G;

  // A context with reference `initial_state`, a clean accumulator and a
  // delta count of 0.
  constexpr explicit Context(
      W initial_state = G::template identity<W>()) noexcept
      : reference_(initial_state) {}

  // reference = value; accumulator = identity; delta count = 0.
  constexpr void load(W value) noexcept {
    reference_ = value;
    accumulator_ = G::template identity<W>();
    delta_count_ = 0;
  }

  // accumulator = combine(accumulator, delta); delta count + 1. O(1).
  constexpr void accum(W delta) noexcept {
    accumulator_ = G::combine(accumulator_, delta);
    ++delta_count_;
  }

  // Folds every delta of `deltas` in, as if accum() were called on each in
  // order; delta count + deltas.size(). O(n), streams at memory speed (the
  // loop is written so the compiler vectorises it).
  constexpr void accum_batch(std::span<const W> deltas) noexcept {
    accumulator_ = G::combine(accumulator_, detail::fold<W, G>(deltas));
    delta_count_ += deltas.size();
  }

  // The current state: combine(reference, accumulator).
  constexpr W read() const noexcept {
    return G::combine(reference_, accumulator_);
  }

  // Closes an epoch: returns the current state, makes `new_reference` (or,
  // if none, the current state) the reference, clears accumulator and count.
  constexpr W swap(std::optional<W> new_reference = std::nullopt) noexcept {
    const W state = read();
    reference_ = new_reference.value_or(state);
    accumulator_ = G::template identity<W>();
    delta_count_ = 0;
    return state;
  }

  // Undoes `delta`: accumulates its inverse (for XOR, the delta itself; for
  // addition, its negation). Counts as one delta, as in the reference.
  constexpr void rollback(W delta) noexcept { accum(G::inverse(delta)); }

  // accumulator = combine(accumulator, other.accumulator); delta counts add.
  // The references are not compared: merging moves other's pending deltas
  // here, whatever state they were made against (the reference's semantics).
  constexpr void merge(const Context& other) noexcept {
    accumulator_ = G::combine(accumulator_, other.accumulator_);
    delta_count_ += other.delta_count_;
  }

  // Back to a new context: reference, accumulator and count all cleared.
  constexpr void reset() noexcept { load(G::template identity<W>()); }

  constexpr W accumulator() const noexcept { return accumulator_; }
  constexpr W reference() const noexcept { return reference_; }
  // True when no net delta is pending (accumulator == identity). Note that a
  // delta applied twice under XOR leaves the context clean again.
  constexpr bool is_clean() const noexcept {
    return accumulator_ == G::template identity<W>();
  }
  // accum/rollback calls (and merged counts) since the last load/swap/reset.
  constexpr std::uint64_t delta_count() const noexcept { return delta_count_; }
  static constexpr unsigned width() noexcept { return kWordBits<W>; }

  // Equal when the states and widths are equal (the reference's __eq__).
  friend constexpr bool operator==(const Context& a,
                                   const Context& b) noexcept {
    return a.read() == b.read();
  }

 private:
  W reference_;
  W accumulator_ = G::template identity<W>();
  std::uint64_t delta_count_ = 0;
};

using Context8 = Context<std::uint8_t>;
using Context16 = Context<std::uint16_t>;
using Context32 = Context<std::uint32_t>;
using Context64 = Context<std::uint64_t>;
using Context128 = Context<Word128>;
using Counter64 = Context<std::uint64_t, AddGroup>;

}  // namespace atomik
