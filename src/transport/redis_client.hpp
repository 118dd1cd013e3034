// SPDX-License-Identifier: Apache-2.0
// Private: a small blocking Redis client over hiredis (0.14, RESP2) with
// AUTH/SELECT on connect, per-command timeouts, reconnect on demand and
// MOVED redirects for Redis Cluster. Used only by src/transport/redis_*.cpp.
// Thread safety: one RedisLink per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "atomik/redis.hpp"
#include "atomik/status.hpp"

struct redisContext;
struct redisReply;

namespace atomik::transport {

// An owned hiredis reply.
struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reply accessors (hiredis's struct stays out of the callers' way).
enum class ReplyType { kString, kArray, kInteger, kNil, kStatus, kError };
ReplyType reply_type(const redisReply* r);
std::string_view reply_str(const redisReply* r);
long long reply_integer(const redisReply* r);
std::size_t reply_size(const redisReply* r);
const redisReply* reply_at(const redisReply* r, std::size_t i);

struct LinkConfig {
  RedisEndpoint endpoint;  // host, port, db, user, password
  bool cluster = false;
  std::uint32_t connect_timeout_ms = 2000;
  std::uint32_t command_timeout_ms = 5000;
};

class RedisLink {
 public:
  explicit RedisLink(LinkConfig config);
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;
  ~RedisLink();

  // Connects (TCP, AUTH, SELECT unless cluster) if not connected.
  // kUnavailable if Redis cannot be reached or is loading;
  // kFailedPrecondition "Redis AUTH failed at H:P: <reply>" on a refused
  // password.
  Status connect();
  // Runs one command (binary-safe arguments), connecting first. A Redis
  // error reply is kFailedPrecondition "Redis <CMD> at H:P: <reply>"
  // (kUnavailable for LOADING/TRYAGAIN/CLUSTERDOWN/MASTERDOWN); a
  // connection error closes the link and is kUnavailable. MOVED is followed
  // (cluster mode), up to 5 times. `extra_timeout_ms` is added to the
  // command timeout (XREAD BLOCK).
  Result<Reply> run(const std::vector<std::string_view>& args,
                    std::uint32_t extra_timeout_ms = 0);
  // Runs several commands in one round trip (no redirects); the replies in
  // order. Any error reply or connection error fails the whole call.
  Result<std::vector<Reply>> pipeline(
      const std::vector<std::vector<std::string_view>>& commands);
  bool connected() const { return ctx_ != nullptr; }
  void close();
  // "host:port" of the server currently (or last) used.
  std::string where() const;
  std::uint64_t connects() const { return connects_; }

 private:
  Status connect_to(const std::string& host, std::uint16_t port);
  Status set_timeout(std::uint32_t ms);
  LinkConfig config_;
  std::string host_;
  std::uint16_t port_ = 0;
  redisContext* ctx_ = nullptr;
  std::uint32_t timeout_ms_ = 0;
  std::uint64_t connects_ = 0;
};

}  // namespace atomik::transport
