// SPDX-License-Identifier: Apache-2.0
// atomik/status.hpp: Status and Result<T>, the one channel for runtime
// failures.
//
// A Status is OK (no allocation) or carries a fixed Code and a message that
// says what failed, where, and what was expected versus found:
//
//   atomik::Status s = table.accum(addr, delta);
//   if (!s.ok()) std::cerr << s.to_string() << "\n";
//   // -> "OutOfRange: DeltaTable::accum: address 300 >= num_contexts 256"
//
//   atomik::Result<std::uint64_t> r = table.read(addr);
//   if (r.ok()) use(*r); else report(r.status());
//
// Thread safety: const methods may be called concurrently; a non-const call
// on one object needs external synchronisation (like std::string).
// No exceptions cross the public API except std::bad_alloc.
// Error codes and sample messages are listed in docs/errors.md.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "atomik/export.h"

// ATOMIK_DCHECK(cond): a broken internal precondition is a bug, not a Status.
// Active unless NDEBUG; aborts with file and line.
#ifndef NDEBUG
#define ATOMIK_DCHECK(cond)      \
  ((cond) ? static_cast<void>(0) \
          : ::atomik::detail::dcheck_fail(#cond, __FILE__, __LINE__))
#else
#define ATOMIK_DCHECK(cond) static_cast<void>(0)
#endif

namespace atomik {

// Canonical error codes. Written into logs and exit paths; never renumber.
enum class Code : std::uint8_t {
  kOk = 0,
  kInvalidArgument = 3,     // bad caller or CLI input
  kNotFound = 5,            // a named file, segment or key does not exist
  kResourceExhausted = 8,   // a configured limit was reached
  kFailedPrecondition = 9,  // the object is not in a state that allows the call
  kOutOfRange = 11,         // an address, offset or value outside its range
  kUnimplemented = 12,      // unknown format version or feature
  kUnavailable = 14,        // a peer or the network cannot be reached
  kCorruption = 15,         // bad bytes from disk or wire
  kIoError = 16,            // the OS refused a file or socket operation
};

// Returns the code's name, e.g. "Corruption"; "Unknown(N)" for other values.
ATOMIK_EXPORT std::string code_name(Code code);

namespace detail {
[[noreturn]] ATOMIK_EXPORT void dcheck_fail(const char* cond, const char* file,
                                            int line);
}  // namespace detail

// Out-of-line members carry ATOMIK_EXPORT one by one: GCC takes no
// visibility attribute between `class` and [[nodiscard]].
class [[nodiscard]] Status {
 public:
  // An OK status. Costs nothing: no allocation.
  Status() noexcept = default;
  ATOMIK_EXPORT Status(const Status& other);
  ATOMIK_EXPORT Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status ok_status() { return Status(); }
  // Each factory joins `context` and `detail` as "context: detail", the way
  // leveldb builds Status::Corruption(context, detail).
  static Status invalid_argument(std::string_view context,
                                 std::string_view detail = {}) {
    return Status(Code::kInvalidArgument, context, detail);
  }
  static Status not_found(std::string_view context,
                          std::string_view detail = {}) {
    return Status(Code::kNotFound, context, detail);
  }
  static Status resource_exhausted(std::string_view context,
                                   std::string_view detail = {}) {
    return Status(Code::kResourceExhausted, context, detail);
  }
  static Status failed_precondition(std::string_view context,
                                    std::string_view detail = {}) {
    return Status(Code::kFailedPrecondition, context, detail);
  }
  static Status out_of_range(std::string_view context,
                             std::string_view detail = {}) {
    return Status(Code::kOutOfRange, context, detail);
  }
  static Status unimplemented(std::string_view context,
                              std::string_view detail = {}) {
    return Status(Code::kUnimplemented, context, detail);
  }
  static Status unavailable(std::string_view context,
                            std::string_view detail = {}) {
    return Status(Code::kUnavailable, context, detail);
  }
  static Status corruption(std::string_view context,
                           std::string_view detail = {}) {
    return Status(Code::kCorruption, context, detail);
  }
  static Status io_error(std::string_view context,
                         std::string_view detail = {}) {
    return Status(Code::kIoError, context, detail);
  }
  // An I/O failure from errno: "context: strerror(err) (errno N)".
  ATOMIK_EXPORT static Status from_errno(std::string_view context, int err);

  bool ok() const noexcept { return state_ == nullptr; }
  Code code() const noexcept { return state_ ? state_->code : Code::kOk; }
  // The message without the code name; empty when OK.
  std::string_view message() const noexcept {
    return state_ ? std::string_view(state_->message) : std::string_view();
  }
  // "OK", or "<CodeName>: <message>".
  ATOMIK_EXPORT std::string to_string() const;

  // Returns a copy whose message is "context: <old message>"; OK stays OK.
  // Used to add where a failure happened as it travels up.
  ATOMIK_EXPORT Status with_context(std::string_view context) const;

  bool is_corruption() const noexcept { return code() == Code::kCorruption; }
  bool is_not_found() const noexcept { return code() == Code::kNotFound; }
  bool is_invalid_argument() const noexcept {
    return code() == Code::kInvalidArgument;
  }

  friend bool operator==(const Status& a, const Status& b) noexcept {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    Code code = Code::kOk;
    std::string message;
  };
  ATOMIK_EXPORT Status(Code code, std::string_view context,
                       std::string_view detail);

  std::unique_ptr<State> state_;
};

// A value or a non-OK Status, shaped like std::expected (absent from GCC 12's
// C++20 library). Reading value() of a failed Result is a bug (DCHECK).
template <typename T>
class [[nodiscard]] Result {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): implicit, like std::expected.
  Result(T value) : value_(std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {
    ATOMIK_DCHECK(!status_.ok());
    if (status_.ok()) {
      status_ =
          Status::failed_precondition("Result", "built from an OK Status");
    }
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const noexcept { return status_; }

  T& value() & {
    ATOMIK_DCHECK(ok());
    return *value_;
  }
  const T& value() const& {
    ATOMIK_DCHECK(ok());
    return *value_;
  }
  T&& value() && {
    ATOMIK_DCHECK(ok());
    return std::move(*value_);
  }
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

// Returns early from the enclosing function with `expr`'s Status if not OK.
#define ATOMIK_RETURN_IF_ERROR(expr)                         \
  do {                                                       \
    ::atomik::Status atomik_status_tmp_ = (expr);            \
    if (!atomik_status_tmp_.ok()) return atomik_status_tmp_; \
  } while (false)

}  // namespace atomik
