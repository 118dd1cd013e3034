// SPDX-License-Identifier: Apache-2.0
// A small blocking Redis client over hiredis: see redis_client.hpp.
#include "transport/redis_client.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cstring>
#include <string>
#include <utility>

namespace atomik::transport {

void ReplyDeleter::operator()(redisReply* r) const noexcept {
  freeReplyObject(r);
}

ReplyType reply_type(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return ReplyType::kString;
    case REDIS_REPLY_ARRAY:
      return ReplyType::kArray;
    case REDIS_REPLY_INTEGER:
      return ReplyType::kInteger;
    case REDIS_REPLY_STATUS:
      return ReplyType::kStatus;
    case REDIS_REPLY_ERROR:
      return ReplyType::kError;
    default:
      return ReplyType::kNil;
  }
}
std::string_view reply_str(const redisReply* r) {
  if (r->str == nullptr) return {};
  return {r->str, r->len};
}
long long reply_integer(const redisReply* r) { return r->integer; }
std::size_t reply_size(const redisReply* r) {
  return r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}
const redisReply* reply_at(const redisReply* r, std::size_t i) {
  return r->element[i];
}

namespace {

// The context's error text ("no connection" without one).
std::string context_error(const redisContext* c) {
  if (c == nullptr) return "no connection";
  return {c->errstr, ::strnlen(c->errstr, sizeof c->errstr)};
}

// How much of its reply buffer a link keeps while idle. hiredis frees a
// buffer with more than 16 KiB unused after every reply, so each entry of a
// megabyte (a frame of 65536 deltas) was read into a buffer grown from
// nothing and page-faulted in again; this keeps up to a few such entries.
constexpr std::size_t kReaderKeepBytes = std::size_t{8} << 20;

timeval to_timeval(std::uint32_t ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

bool transient_error(std::string_view e) {
  for (std::string_view p :
       {"LOADING", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "ASK "}) {
    if (e.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace

RedisLink::RedisLink(LinkConfig config)
    : config_(std::move(config)),
      host_(config_.endpoint.host),
      port_(config_.endpoint.port) {}

RedisLink::~RedisLink() { close(); }

void RedisLink::close() {
  if (ctx_ != nullptr) redisFree(ctx_);
  ctx_ = nullptr;
}

std::string RedisLink::where() const {
  return host_ + ":" + std::to_string(port_);
}

Status RedisLink::set_timeout(std::uint32_t ms) {
  if (ms == timeout_ms_) return Status();
  if (redisSetTimeout(ctx_, to_timeval(ms)) != REDIS_OK) {
    const std::string err = context_error(ctx_);
    close();
    return Status::unavailable("Redis at " + where(),
                               "cannot set timeout: " + err);
  }
  timeout_ms_ = ms;
  return Status();
}

Status RedisLink::connect() {
  if (ctx_ != nullptr) return Status();
  return connect_to(host_, port_);
}

Status RedisLink::connect_to(const std::string& host, std::uint16_t port) {
  close();
  host_ = host;
  port_ = port;
  redisContext* c = redisConnectWithTimeout(
      host.c_str(), port, to_timeval(config_.connect_timeout_ms));
  if (c == nullptr) {
    return Status::unavailable("Redis at " + where(),
                               "cannot allocate a connection");
  }
  if (c->err != 0) {
    const std::string err = c->errstr;
    redisFree(c);
    return Status::unavailable("Redis at " + where(), "connect failed: " + err);
  }
  if (c->reader != nullptr) c->reader->maxbuf = kReaderKeepBytes;
  ctx_ = c;
  timeout_ms_ = 0;
  ATOMIK_RETURN_IF_ERROR(set_timeout(config_.command_timeout_ms));
  const RedisEndpoint& ep = config_.endpoint;
  if (!ep.password.empty()) {
    std::vector<std::string_view> args = {"AUTH"};
    if (!ep.user.empty()) args.push_back(ep.user);
    args.push_back(ep.password);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    Reply r(static_cast<redisReply*>(redisCommandArgv(
        ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      const std::string err = context_error(ctx_);
      close();
      return Status::unavailable("Redis at " + where(),
                                 "AUTH: connection error: " + err);
    }
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string err(reply_str(r.get()));
      close();
      if (transient_error(err)) {
        return Status::unavailable("Redis at " + where(), err);
      }
      return Status::failed_precondition(
          "Redis AUTH failed at " + where(),
          err + " (check --redis-user / --redis-password-file)");
    }
  }
  if (!config_.cluster) {
    // PING (and SELECT): also proves the server is past LOADING.
    const std::string db = std::to_string(ep.db);
    for (int step = 0; step < 2; ++step) {
      Reply r(static_cast<redisReply*>(
          step == 0 ? redisCommand(ctx_, "PING")
                    : redisCommand(ctx_, "SELECT %s", db.c_str())));
      if (!r) {
        const std::string err = context_error(ctx_);
        close();
        return Status::unavailable("Redis at " + where(),
                                   "connection error: " + err);
      }
      if (r->type == REDIS_REPLY_ERROR) {
        const std::string err(reply_str(r.get()));
        close();
        if (err.rfind("NOAUTH", 0) == 0) {
          return Status::failed_precondition(
              "Redis AUTH failed at " + where(),
              err + " (a password is required: --redis-password-file)");
        }
        if (transient_error(err)) {
          return Status::unavailable("Redis at " + where(), err);
        }
        return Status::failed_precondition("Redis at " + where(), err);
      }
    }
  }
  ++connects_;
  return Status();
}

Result<Reply> RedisLink::run(const std::vector<std::string_view>& args,
                             std::uint32_t extra_timeout_ms) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  const std::string cmd(args.empty() ? std::string_view() : args[0]);
  for (int redirects = 0;; ++redirects) {
    ATOMIK_RETURN_IF_ERROR(connect());
    ATOMIK_RETURN_IF_ERROR(
        set_timeout(config_.command_timeout_ms + extra_timeout_ms));
    Reply r(static_cast<redisReply*>(redisCommandArgv(
        ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      const std::string err = context_error(ctx_);
      close();
      return Status::unavailable("Redis " + cmd + " at " + where(),
                                 "connection error: " + err);
    }
    if (r->type != REDIS_REPLY_ERROR) return r;
    const std::string err(reply_str(r.get()));
    if (config_.cluster && err.rfind("MOVED ", 0) == 0 && redirects < 5) {
      // "MOVED <slot> <host>:<port>"
      const std::size_t sp = err.rfind(' ');
      const std::size_t colon = err.rfind(':');
      if (sp != std::string::npos && colon != std::string::npos && colon > sp) {
        const std::string host = err.substr(sp + 1, colon - sp - 1);
        const int port = std::atoi(err.c_str() + colon + 1);
        if (port > 0 && port < 65536) {
          ATOMIK_RETURN_IF_ERROR(
              connect_to(host, static_cast<std::uint16_t>(port)));
          continue;
        }
      }
    }
    if (err.rfind("NOAUTH", 0) == 0) {
      close();
      return Status::failed_precondition("Redis " + cmd + " at " + where(),
                                         err);
    }
    if (transient_error(err) || err.rfind("MOVED", 0) == 0) {
      close();
      return Status::unavailable("Redis " + cmd + " at " + where(), err);
    }
    return Status::failed_precondition("Redis " + cmd + " at " + where(), err);
  }
}

Result<std::vector<Reply>> RedisLink::pipeline(
    const std::vector<std::vector<std::string_view>>& commands) {
  ATOMIK_RETURN_IF_ERROR(connect());
  ATOMIK_RETURN_IF_ERROR(set_timeout(config_.command_timeout_ms));
  for (const auto& args : commands) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      close();
      return Status::unavailable("Redis at " + where(),
                                 "cannot queue a pipelined command");
    }
  }
  std::vector<Reply> out;
  Status first_error;
  for (const auto& command : commands) {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
      const std::string err = context_error(ctx_);
      close();
      return Status::unavailable("Redis at " + where(),
                                 "connection error: " + err);
    }
    Reply r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR && first_error.ok()) {
      const std::string err(reply_str(r.get()));
      const std::string cmd(command.empty() ? std::string_view() : command[0]);
      first_error =
          transient_error(err) || err.rfind("MOVED", 0) == 0
              ? Status::unavailable("Redis " + cmd + " at " + where(), err)
              : Status::failed_precondition("Redis " + cmd + " at " + where(),
                                            err);
    }
    out.push_back(std::move(r));
  }
  if (!first_error.ok()) return first_error;
  return out;
}

}  // namespace atomik::transport
