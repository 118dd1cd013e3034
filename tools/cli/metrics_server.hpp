// SPDX-License-Identifier: Apache-2.0
// MetricsServer: the HTTP endpoint of `atomik node --metrics HOST:PORT`.
// Serves GET /metrics (the Prometheus text exposition a callback renders at
// each scrape) and GET /healthz (200 "ok", or 503 and the one line a
// callback returns: NodeStatus::health()), with Debian's cpp-httplib on a
// small thread pool of its own, so a scrape never runs on the node's
// network thread.
//
//   auto m = MetricsServer::start(
//       "127.0.0.1:0", [&] { return node->status().to_prometheus(); },
//       [&] { return node->status().health(); });
//   std::printf("metrics on %s\n", (*m)->address().c_str());
//
// Thread safety: `render` and `health` are called from the server's threads,
// possibly two at once; it must be thread-safe (Node::status() is).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "atomik/status.hpp"

namespace atomik::cli {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  // "" when healthy, else one line saying why not (GET /healthz: 503).
  using Health = std::function<std::string()>;
  // Binds HOST:PORT (port 0: a free one) and starts serving (no `health`:
  // /healthz always answers 200 ok). Fails with
  // kInvalidArgument (bad address) or kUnavailable (bind failed: port in
  // use, address not local); nothing keeps running on failure.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen,
                                                      Render render,
                                                      Health health = {});
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  // Stops serving and joins the server's threads.
  ~MetricsServer();
  // "127.0.0.1:41234": the bound address (the chosen port when 0 was asked).
  std::string address() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace atomik::cli
