// SPDX-License-Identifier: Apache-2.0
// The process-wide log sink and level (atomik/log.hpp).
#include "atomik/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace atomik {
namespace {

std::atomic<std::uint8_t> g_level{static_cast<std::uint8_t>(LogLevel::kInfo)};

// The sink and the lock that makes records arrive one at a time. Leaked on
// purpose, so a record logged during static destruction still finds them.
struct SinkState {
  std::mutex mu;
  LogSink sink;
};
SinkState& sink_state() {
  static auto* s = new SinkState();
  return *s;
}

// "2026-12-06T13:40:01.123Z": UTC, milliseconds.
std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch())
                      .count() %
                  1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n =
      std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

void default_sink(const LogRecord& r) {
  const std::string ts = utc_timestamp();
  std::fprintf(stderr, "%s %s %.*s: %.*s\n", ts.c_str(),
               std::string(log_level_name(r.level)).c_str(),
               static_cast<int>(r.component.size()), r.component.data(),
               static_cast<int>(r.message.size()), r.message.data());
}

}  // namespace

void set_log_sink(LogSink sink) {
  SinkState& s = sink_state();
  std::lock_guard<std::mutex> lk(s.mu);
  s.sink = std::move(sink);
}

void set_log_level(LogLevel level) {
  g_level.store(static_cast<std::uint8_t>(level), std::memory_order_relaxed);
}

LogLevel log_level() {
  return static_cast<LogLevel>(g_level.load(std::memory_order_relaxed));
}

bool log_enabled(LogLevel level) {
  return level != LogLevel::kOff && static_cast<std::uint8_t>(level) >=
                                        g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view component, std::string_view message) {
  if (!log_enabled(level)) return;
  const std::string clean = redact_secrets(message);
  const LogRecord r{level, component, clean};
  SinkState& s = sink_state();
  std::lock_guard<std::mutex> lk(s.mu);
  if (s.sink) {
    s.sink(r);
  } else {
    default_sink(r);
  }
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "unknown";
}

Result<LogLevel> parse_log_level(std::string_view name) {
  for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(LogLevel::kOff);
       ++i) {
    const auto l = static_cast<LogLevel>(i);
    if (name == log_level_name(l)) return l;
  }
  if (name == "warning") return LogLevel::kWarn;
  return Status::invalid_argument(
      "log level", "'" + std::string(name) +
                       "': expected trace, debug, info, warn, error or off");
}

std::string redact_secrets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t scheme = text.find("://", i);
    if (scheme == std::string_view::npos) break;
    const std::size_t auth = scheme + 3;
    // The authority ends at the first '/', whitespace or quote; its
    // credentials end at its last '@'.
    std::size_t end = auth;
    while (end < text.size() && text[end] != '/' && text[end] != ' ' &&
           text[end] != '\t' && text[end] != '\n' && text[end] != '\'' &&
           text[end] != '"') {
      ++end;
    }
    const std::string_view authority = text.substr(auth, end - auth);
    const std::size_t at = authority.rfind('@');
    const std::size_t colon =
        at == std::string_view::npos ? at : authority.find(':');
    out.append(text.substr(i, auth - i));
    // "[user[:password]@]host" is a usage template, not credentials.
    const bool templ =
        authority.substr(0, colon).find('[') != std::string_view::npos;
    if (at != std::string_view::npos && colon != std::string_view::npos &&
        colon < at && !templ) {
      out.append(authority.substr(0, colon + 1));
      out.append("***");
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    i = end;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace atomik
