// SPDX-License-Identifier: Apache-2.0
// atomik/log.hpp: the one logger the library writes through.
//
// Every library component (node, replica, redis, wal, ...) reports
// refusals, repairs and connection events as a LogRecord: a level, a
// component name and a message. Records go to one process-wide LogSink;
// the default sink writes one timestamped line per record to stderr:
//
//   2026-12-06T13:40:01.123Z warn node: packet from 127.0.0.1:5 rejected: ...
//
// An embedder installs its own sink (the `atomik` CLI installs one backed by
// spdlog, with text or JSON lines) and a level below which nothing is
// formatted:
//
//   atomik::set_log_sink([](const atomik::LogRecord& r) {
//     my_logger(r.level, r.component, r.message);
//   });
//   atomik::set_log_level(atomik::LogLevel::kWarn);
//
// Every message passes redact_secrets() before a sink sees it, so a URL's
// password never reaches a log.
//
// Thread safety: every function may be called from any thread. Sinks are
// called one record at a time (under a lock); a sink must not log itself.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "atomik/export.h"
#include "atomik/status.hpp"

namespace atomik {

// Severity, lowest first. kOff only as a threshold: nothing is logged.
enum class LogLevel : std::uint8_t {
  kTrace = 0,
  kDebug = 1,
  kInfo = 2,
  kWarn = 3,
  kError = 4,
  kOff = 5,
};

// One log event. The views are valid only during the sink call.
struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  std::string_view component;  // "node", "replica", "redis", "wal", ...
  std::string_view message;    // one line, no trailing newline, redacted
};

using LogSink = std::function<void(const LogRecord&)>;

// Installs `sink` for every later record; an empty sink restores the
// default (timestamped lines on stderr). Records being written finish with
// the sink they started with.
ATOMIK_EXPORT void set_log_sink(LogSink sink);

// Records below `level` are dropped before their message is built (see
// log_enabled). Default kInfo.
ATOMIK_EXPORT void set_log_level(LogLevel level);
ATOMIK_EXPORT LogLevel log_level();

// True when a record at `level` would reach the sink: one atomic load.
// Callers test it before formatting a message, so a disabled level costs
// nothing else.
ATOMIK_EXPORT bool log_enabled(LogLevel level);

// Sends one record to the sink if log_enabled(level), after
// redact_secrets(message).
ATOMIK_EXPORT void log(LogLevel level, std::string_view component,
                       std::string_view message);

// "trace", "debug", "info", "warn", "error", "off".
ATOMIK_EXPORT std::string_view log_level_name(LogLevel level);

// The level named by log_level_name() (also "warning"). kInvalidArgument
// naming the accepted values otherwise.
ATOMIK_EXPORT Result<LogLevel> parse_log_level(std::string_view name);

// `text` with the password of every "scheme://user:password@" replaced by
// "***" ("redis://u:secret@h" -> "redis://u:***@h"). O(text).
ATOMIK_EXPORT std::string redact_secrets(std::string_view text);

}  // namespace atomik
