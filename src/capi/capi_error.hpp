// SPDX-License-Identifier: Apache-2.0
// capi/capi_error.hpp: how every C entry point reports failure.
//
// A failing call stores "<Code>: <function>: <message>" in a thread-local
// string (atomik_last_error) and returns the code. guarded() runs a body and
// turns any escaping exception into a code, so no exception crosses the C
// boundary: std::bad_alloc -> ATOMIK_RESOURCE_EXHAUSTED, anything else ->
// ATOMIK_INTERNAL. The success path touches no thread-local state.
#pragma once

#include <cstdint>
#include <cstring>
#include <new>
#include <string_view>
#include <type_traits>

#include "atomik/atomik.h"
#include "atomik/status.hpp"

namespace atomik::capi {

// Records `status` (not OK) with the C function's name and returns its code.
[[gnu::cold]] atomik_status fail(const char* fn, const Status& status) noexcept;
// Records a message built from parts, without a Status.
[[gnu::cold]] atomik_status fail(const char* fn, atomik_status code,
                                 std::string_view detail) noexcept;
// The message for a NULL handle or out-parameter `what`.
[[gnu::cold]] atomik_status null_argument(const char* fn,
                                          const char* what) noexcept;
// A value wider than the object's width: out of range, never masked.
[[gnu::cold]] atomik_status too_wide(const char* fn, const char* what,
                                     std::uint64_t value,
                                     unsigned width) noexcept;
// For guarded(): the codes of an exception in flight.
[[gnu::cold]] atomik_status out_of_memory(const char* fn) noexcept;
[[gnu::cold]] atomik_status unexpected_exception(const char* fn,
                                                 const char* what) noexcept;

// The int a C caller stored in an enum parameter or field. C lets any int
// through; in C++ loading an enum object whose value is outside the
// enumerators' range is undefined, so the bytes are copied instead and the
// int is validated before any cast.
template <typename E>
int raw_enum(const E& e) noexcept {
  static_assert(std::is_enum_v<E> && sizeof(E) == sizeof(int));
  int v = 0;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

// Runs `body` (returning atomik_status); no exception escapes.
template <typename F>
atomik_status guarded(const char* fn, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return out_of_memory(fn);
  } catch (const std::exception& e) {
    return unexpected_exception(fn, e.what());
  } catch (...) {
    return unexpected_exception(fn, "unknown exception");
  }
}

// OK, or the recorded failure of `status`.
inline atomik_status check(const char* fn, const Status& status) noexcept {
  return status.ok() ? ATOMIK_OK : fail(fn, status);
}

}  // namespace atomik::capi
