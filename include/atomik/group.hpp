// SPDX-License-Identifier: Apache-2.0
// atomik/group.hpp: the abelian groups that deltas compose in.
//
// A group G provides combine(a, b), inverse(a) and identity<W>(). Both groups
// here are commutative and associative, so deltas may be applied in any
// order, grouped any way, and undone by applying their inverse:
//   XorGroup: combine = a ^ b, inverse(a) = a (self-inverse: applying a delta
//             twice removes it again), identity 0. The default.
//   AddGroup: combine = a + b modulo 2^bits, inverse(a) = -a, identity 0.
//             For counters: XOR cannot count (5 "+1" "+1" under XOR is 5).
#pragma once

#include <concepts>
#include <string_view>

#include "atomik/word.hpp"

namespace atomik {

struct XorGroup {
  // Written into shared-memory headers and checkpoints; never change.
  static constexpr std::uint8_t kId = 1;
  static constexpr std::string_view kName = "xor";
  template <DeltaWord W>
  static constexpr W identity() noexcept {
    return W{};
  }
  template <DeltaWord W>
  static constexpr W combine(W a, W b) noexcept {
    return static_cast<W>(a ^ b);
  }
  template <DeltaWord W>
  static constexpr W inverse(W a) noexcept {
    return a;
  }
};

struct AddGroup {
  // Written into shared-memory headers and checkpoints; never change.
  static constexpr std::uint8_t kId = 2;
  static constexpr std::string_view kName = "add";
  template <DeltaWord W>
  static constexpr W identity() noexcept {
    return W{};
  }
  template <DeltaWord W>
  static constexpr W combine(W a, W b) noexcept {
    return static_cast<W>(a + b);
  }
  template <DeltaWord W>
  static constexpr W inverse(W a) noexcept {
    if constexpr (std::same_as<W, Word128>) {
      return -a;
    } else {
      return static_cast<W>(W{0} - a);
    }
  }
};

template <typename G, typename W>
concept DeltaGroup = DeltaWord<W> && requires(W a) {
  { G::template combine<W>(a, a) } -> std::same_as<W>;
  { G::template inverse<W>(a) } -> std::same_as<W>;
  { G::template identity<W>() } -> std::same_as<W>;
  { G::kId } -> std::convertible_to<std::uint8_t>;
};

}  // namespace atomik
