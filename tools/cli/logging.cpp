// SPDX-License-Identifier: Apache-2.0
// The CLI's log sink: atomik::log records through spdlog (logging.hpp).
//
// Text lines:  2026-12-06T13:40:01.123Z warn node: 127.0.0.1:7400: ...
// JSON lines:  {"time":"2026-12-06T13:40:01.123Z","component":"node",
//               "level":"warn","message":"127.0.0.1:7400: ..."}
// spdlog writes the UTC time; nlohmann-json builds (and escapes) the rest of
// the JSON object; invalid UTF-8 from a peer is replaced, never thrown on.
#include "cli/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "atomik/log.hpp"

namespace atomik::cli {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      break;
  }
  return spdlog::level::off;
}

}  // namespace

void add_log_options(CLI::App* c, LogArgs* args) {
  c->add_option("--log-level", args->level,
                "Least severe log records written: trace, debug, info, "
                "warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  c->add_option("--log-format", args->format,
                "Log lines on stderr: text or json (one object per line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

void install_logging(const LogArgs& args) {
  const auto level = parse_log_level(args.level);
  const bool json = args.format == "json";
  auto logger = std::make_shared<spdlog::logger>(
      "atomik", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // The time is the only field spdlog formats; the rest is the message.
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ",%v)"
           : "%Y-%m-%dT%H:%M:%S.%eZ %v",
      spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::trace);  // atomik::log filters first
  logger->flush_on(spdlog::level::trace);   // every line reaches stderr
  set_log_sink([logger, json](const LogRecord& r) {
    std::string line;
    if (json) {
      const nlohmann::json j = {{"level", std::string(log_level_name(r.level))},
                                {"component", std::string(r.component)},
                                {"message", std::string(r.message)}};
      line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line.erase(0, 1);  // the pattern holds the object's opening brace
    } else {
      line = std::string(log_level_name(r.level)) + " " +
             std::string(r.component) + ": " + std::string(r.message);
    }
    logger->log(to_spdlog(r.level), "{}", line);
  });
  set_log_level(level.ok() ? *level : LogLevel::kInfo);
}

}  // namespace atomik::cli
