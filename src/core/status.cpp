// SPDX-License-Identifier: Apache-2.0
#include "atomik/status.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace atomik {

std::string code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kNotFound:
      return "NotFound";
    case Code::kResourceExhausted:
      return "ResourceExhausted";
    case Code::kFailedPrecondition:
      return "FailedPrecondition";
    case Code::kOutOfRange:
      return "OutOfRange";
    case Code::kUnimplemented:
      return "Unimplemented";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIoError:
      return "IoError";
    default:
      return "Unknown(" + std::to_string(static_cast<int>(code)) + ")";
  }
}

namespace detail {
void dcheck_fail(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: ATOMIK_DCHECK failed: %s\n", file, line, cond);
  std::abort();
}
}  // namespace detail

Status::Status(Code code, std::string_view context, std::string_view detail)
    : state_(std::make_unique<State>()) {
  state_->code = code;
  state_->message.assign(context);
  if (!detail.empty()) {
    state_->message.append(": ");
    state_->message.append(detail);
  }
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  }
  return *this;
}

Status Status::from_errno(std::string_view context, int err) {
  char buf[256];
  // GNU strerror_r: thread-safe, returns a pointer to the message.
  std::string detail = ::strerror_r(err, buf, sizeof buf);
  detail += " (errno " + std::to_string(err) + ")";
  Code code = (err == ENOENT) ? Code::kNotFound : Code::kIoError;
  return Status(code, context, detail);
}

std::string Status::to_string() const {
  if (ok()) return "OK";
  return code_name(state_->code) + ": " + state_->message;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return Status();
  return Status(state_->code, context, state_->message);
}

}  // namespace atomik
