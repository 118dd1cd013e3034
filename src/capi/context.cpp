// SPDX-License-Identifier: Apache-2.0
// capi/context.cpp: atomik_context_*, the C face of Context<W, G>.
//
// A handle holds one of the eight Context<W, G> types (8/16/32/64 bits, XOR
// or addition) in a std::variant; each call dispatches on it. The accum path
// is a NULL check, a width check and the C++ accum: no allocation, no
// thread-local write (the error path alone builds a message).
#include "atomik/context.hpp"

#include <cstdint>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

struct atomik_context {  // NOLINT(readability-identifier-naming): C name
  using Variant = std::variant<
      atomik::Context<std::uint64_t>, atomik::Context<std::uint8_t>,
      atomik::Context<std::uint16_t>, atomik::Context<std::uint32_t>,
      atomik::Context<std::uint8_t, atomik::AddGroup>,
      atomik::Context<std::uint16_t, atomik::AddGroup>,
      atomik::Context<std::uint32_t, atomik::AddGroup>,
      atomik::Context<std::uint64_t, atomik::AddGroup>>;
  Variant v;
  std::uint64_t max = 0;  // the largest value that fits the width
  unsigned width = 0;
  atomik_group group = ATOMIK_GROUP_XOR;
};

namespace {

using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;
using atomik::capi::too_wide;

template <typename C>
using WordOf = typename std::decay_t<C>::Word;

// std::visit without its bad_variant_access path (a handle's variant is
// never valueless: Context construction cannot throw). 64-bit XOR, the
// common case, is alternative 0 and so the first test.
template <std::size_t I = 0, typename F, typename V>
decltype(auto) dispatch(F&& f, V& v) noexcept {
  if constexpr (I + 1 == std::variant_size_v<std::remove_const_t<V>>) {
    return f(*std::get_if<I>(&v));
  } else {
    if (v.index() == I) return f(*std::get_if<I>(&v));
    return dispatch<I + 1>(std::forward<F>(f), v);
  }
}

atomik_context::Variant make_variant(unsigned width, atomik_group group) {
  const bool add = group == ATOMIK_GROUP_ADD;
  switch (width) {
    case 8:
      return add ? atomik_context::Variant(
                       atomik::Context<std::uint8_t, atomik::AddGroup>())
                 : atomik_context::Variant(atomik::Context<std::uint8_t>());
    case 16:
      return add ? atomik_context::Variant(
                       atomik::Context<std::uint16_t, atomik::AddGroup>())
                 : atomik_context::Variant(atomik::Context<std::uint16_t>());
    case 32:
      return add ? atomik_context::Variant(
                       atomik::Context<std::uint32_t, atomik::AddGroup>())
                 : atomik_context::Variant(atomik::Context<std::uint32_t>());
    default:
      return add ? atomik_context::Variant(
                       atomik::Context<std::uint64_t, atomik::AddGroup>())
                 : atomik_context::Variant(atomik::Context<std::uint64_t>());
  }
}

}  // namespace

extern "C" {

atomik_status atomik_context_new(unsigned width, atomik_group group,
                                 atomik_context** out) {
  static constexpr const char* kFn = "atomik_context_new";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    if (width != 8 && width != 16 && width != 32 && width != 64) {
      return fail(
          kFn, ATOMIK_INVALID_ARGUMENT,
          "width " + std::to_string(width) + " is not one of 8, 16, 32, 64");
    }
    const int raw_group = atomik::capi::raw_enum(group);
    if (raw_group != ATOMIK_GROUP_XOR && raw_group != ATOMIK_GROUP_ADD) {
      return fail(kFn, ATOMIK_INVALID_ARGUMENT,
                  "group " + std::to_string(raw_group) +
                      " is not ATOMIK_GROUP_XOR (0) or ATOMIK_GROUP_ADD (1)");
    }
    auto* ctx = new atomik_context{
        make_variant(width, group),
        width == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1,
        width, group};
    *out = ctx;
    return ATOMIK_OK;
  });
}

void atomik_context_free(atomik_context* ctx) { delete ctx; }

atomik_status atomik_context_load(atomik_context* ctx, uint64_t value) {
  static constexpr const char* kFn = "atomik_context_load";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (value > ctx->max) return too_wide(kFn, "value", value, ctx->width);
  dispatch(
      [value](auto& c) { c.load(static_cast<WordOf<decltype(c)>>(value)); },
      ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_accum(atomik_context* ctx, uint64_t delta) {
  static constexpr const char* kFn = "atomik_context_accum";
  if (ctx == nullptr) [[unlikely]] {
    return null_argument(kFn, "ctx");
  }
  if (delta > ctx->max) [[unlikely]] {
    return too_wide(kFn, "delta", delta, ctx->width);
  }
  dispatch(
      [delta](auto& c) { c.accum(static_cast<WordOf<decltype(c)>>(delta)); },
      ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_accum_batch(atomik_context* ctx,
                                         const uint64_t* deltas, size_t n) {
  static constexpr const char* kFn = "atomik_context_accum_batch";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (n == 0) return ATOMIK_OK;
  if (deltas == nullptr) return null_argument(kFn, "deltas");
  const std::span<const std::uint64_t> all(deltas, n);
  if (ctx->width < 64) {
    // Checked first so a bad entry leaves the context unchanged.
    for (std::size_t i = 0; i < n; ++i) {
      if (all[i] > ctx->max) {
        return fail(kFn, ATOMIK_OUT_OF_RANGE,
                    "deltas[" + std::to_string(i) + "] " +
                        std::to_string(all[i]) + " does not fit in " +
                        std::to_string(ctx->width) + " bits");
      }
    }
  }
  dispatch(
      [all](auto& c) {
        using W = WordOf<decltype(c)>;
        if constexpr (std::is_same_v<W, std::uint64_t>) {
          c.accum_batch(all);
        } else {
          for (const std::uint64_t d : all) c.accum(static_cast<W>(d));
        }
      },
      ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_rollback(atomik_context* ctx, uint64_t delta) {
  static constexpr const char* kFn = "atomik_context_rollback";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (delta > ctx->max) return too_wide(kFn, "delta", delta, ctx->width);
  dispatch(
      [delta](auto& c) { c.rollback(static_cast<WordOf<decltype(c)>>(delta)); },
      ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_read(const atomik_context* ctx, uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_read";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out =
      dispatch([](const auto& c) -> std::uint64_t { return c.read(); }, ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_swap(atomik_context* ctx, uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_swap";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  const std::uint64_t state =
      dispatch([](auto& c) -> std::uint64_t { return c.swap(); }, ctx->v);
  if (out != nullptr) *out = state;
  return ATOMIK_OK;
}

atomik_status atomik_context_swap_to(atomik_context* ctx,
                                     uint64_t new_reference, uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_swap_to";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (new_reference > ctx->max) {
    return too_wide(kFn, "new_reference", new_reference, ctx->width);
  }
  const std::uint64_t state = dispatch(
      [new_reference](auto& c) -> std::uint64_t {
        return c.swap(static_cast<WordOf<decltype(c)>>(new_reference));
      },
      ctx->v);
  if (out != nullptr) *out = state;
  return ATOMIK_OK;
}

atomik_status atomik_context_merge(atomik_context* dst,
                                   const atomik_context* src) {
  static constexpr const char* kFn = "atomik_context_merge";
  if (dst == nullptr) return null_argument(kFn, "dst");
  if (src == nullptr) return null_argument(kFn, "src");
  if (dst->v.index() != src->v.index()) {
    return fail(kFn, ATOMIK_INVALID_ARGUMENT,
                "dst is " + std::to_string(dst->width) + "-bit " +
                    (dst->group == ATOMIK_GROUP_ADD ? "add" : "xor") +
                    ", src is " + std::to_string(src->width) + "-bit " +
                    (src->group == ATOMIK_GROUP_ADD ? "add" : "xor"));
  }
  dispatch(
      [src](auto& c) {
        c.merge(*std::get_if<std::decay_t<decltype(c)>>(&src->v));
      },
      dst->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_reset(atomik_context* ctx) {
  if (ctx == nullptr) return null_argument("atomik_context_reset", "ctx");
  dispatch([](auto& c) { c.reset(); }, ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_accumulator(const atomik_context* ctx,
                                         uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_accumulator";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = dispatch(
      [](const auto& c) -> std::uint64_t { return c.accumulator(); }, ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_reference(const atomik_context* ctx,
                                       uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_reference";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = dispatch([](const auto& c) -> std::uint64_t { return c.reference(); },
                  ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_delta_count(const atomik_context* ctx,
                                         uint64_t* out) {
  static constexpr const char* kFn = "atomik_context_delta_count";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = dispatch([](const auto& c) { return c.delta_count(); }, ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_is_clean(const atomik_context* ctx, int* out) {
  static constexpr const char* kFn = "atomik_context_is_clean";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = dispatch([](const auto& c) { return c.is_clean() ? 1 : 0; }, ctx->v);
  return ATOMIK_OK;
}

atomik_status atomik_context_width(const atomik_context* ctx, unsigned* out) {
  static constexpr const char* kFn = "atomik_context_width";
  if (ctx == nullptr) return null_argument(kFn, "ctx");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = ctx->width;
  return ATOMIK_OK;
}

}  // extern "C"
