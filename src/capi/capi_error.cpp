// SPDX-License-Identifier: Apache-2.0
// capi/capi_error.cpp: the thread-local last error, code names, version and
// string release of the C API (atomik/atomik.h).
#include "capi/capi_error.hpp"

#include <cstdlib>
#include <string>

#include "atomik/version.hpp"

namespace atomik::capi {
namespace {

static_assert(static_cast<int>(Code::kInvalidArgument) ==
              ATOMIK_INVALID_ARGUMENT);
static_assert(static_cast<int>(Code::kNotFound) == ATOMIK_NOT_FOUND);
static_assert(static_cast<int>(Code::kResourceExhausted) ==
              ATOMIK_RESOURCE_EXHAUSTED);
static_assert(static_cast<int>(Code::kFailedPrecondition) ==
              ATOMIK_FAILED_PRECONDITION);
static_assert(static_cast<int>(Code::kOutOfRange) == ATOMIK_OUT_OF_RANGE);
static_assert(static_cast<int>(Code::kUnimplemented) == ATOMIK_UNIMPLEMENTED);
static_assert(static_cast<int>(Code::kUnavailable) == ATOMIK_UNAVAILABLE);
static_assert(static_cast<int>(Code::kCorruption) == ATOMIK_CORRUPTION);
static_assert(static_cast<int>(Code::kIoError) == ATOMIK_IO_ERROR);

// The last failure on this thread. Written only on failure paths.
thread_local std::string t_last_error;

// Set when the last failure's message could not be stored (no memory):
// atomik_last_error() then returns a fixed text instead of a stale one.
thread_local bool t_message_lost = false;

// Stores "<Code>: <fn>: <message>" as this thread's last error.
void record(atomik_status code, const char* fn,
            std::string_view message) noexcept {
  try {
    std::string s = atomik_status_name(code);
    s += ": ";
    s += fn;
    if (!message.empty()) {
      s += ": ";
      s += message;
    }
    t_last_error = std::move(s);
    t_message_lost = false;
  } catch (...) {
    t_message_lost = true;
  }
}

}  // namespace

atomik_status fail(const char* fn, const Status& status) noexcept {
  const auto code = static_cast<atomik_status>(status.code());
  record(code, fn, status.message());
  return code;
}

atomik_status fail(const char* fn, atomik_status code,
                   std::string_view detail) noexcept {
  record(code, fn, detail);
  return code;
}

atomik_status null_argument(const char* fn, const char* what) noexcept {
  try {
    return fail(fn, ATOMIK_INVALID_ARGUMENT, std::string(what) + " is NULL");
  } catch (...) {
    return fail(fn, ATOMIK_INVALID_ARGUMENT, "NULL argument");
  }
}

atomik_status too_wide(const char* fn, const char* what, std::uint64_t value,
                       unsigned width) noexcept {
  try {
    return fail(fn, ATOMIK_OUT_OF_RANGE,
                std::string(what) + " " + std::to_string(value) +
                    " does not fit in " + std::to_string(width) + " bits");
  } catch (...) {
    return fail(fn, ATOMIK_OUT_OF_RANGE, "value too wide");
  }
}

atomik_status out_of_memory(const char* fn) noexcept {
  return fail(fn, ATOMIK_RESOURCE_EXHAUSTED, "out of memory");
}

atomik_status unexpected_exception(const char* fn, const char* what) noexcept {
  record(ATOMIK_INTERNAL, fn, what);
  return ATOMIK_INTERNAL;
}

}  // namespace atomik::capi

extern "C" {

const char* atomik_last_error(void) {
  if (atomik::capi::t_message_lost) {
    return "ResourceExhausted: out of memory while recording the last error";
  }
  return atomik::capi::t_last_error.c_str();
}

const char* atomik_status_name(atomik_status status) {
  switch (atomik::capi::raw_enum(status)) {
    case ATOMIK_OK:
      return "OK";
    case ATOMIK_INVALID_ARGUMENT:
      return "InvalidArgument";
    case ATOMIK_NOT_FOUND:
      return "NotFound";
    case ATOMIK_RESOURCE_EXHAUSTED:
      return "ResourceExhausted";
    case ATOMIK_FAILED_PRECONDITION:
      return "FailedPrecondition";
    case ATOMIK_OUT_OF_RANGE:
      return "OutOfRange";
    case ATOMIK_UNIMPLEMENTED:
      return "Unimplemented";
    case ATOMIK_INTERNAL:
      return "Internal";
    case ATOMIK_UNAVAILABLE:
      return "Unavailable";
    case ATOMIK_CORRUPTION:
      return "Corruption";
    case ATOMIK_IO_ERROR:
      return "IoError";
    default:
      return "Unknown";
  }
}

const char* atomik_version(void) { return atomik::kVersionString; }

// NOLINTNEXTLINE(cppcoreguidelines-no-malloc): strings are malloc'd for C.
void atomik_string_free(char* s) { std::free(s); }

}  // extern "C"
