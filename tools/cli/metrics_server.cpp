// SPDX-License-Identifier: Apache-2.0
// MetricsServer over cpp-httplib (libcpp-httplib-dev): GET /metrics and
// GET /healthz (200 or 503 with a reason); every other path answers 404 and
// other methods 405 (the library's defaults).
#include "cli/metrics_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "atomik/node.hpp"

namespace atomik::cli {

namespace {
// Prometheus' text exposition format 0.0.4.
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
// Scrapes are rare and short: two workers bound the threads a burst of
// connections can start.
constexpr std::size_t kWorkers = 2;
}  // namespace

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> done{false};  // listen_after_bind returned
  std::string address;
  Render render;
  Health health;
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(
    const std::string& listen, Render render, Health health) {
  auto hp = parse_host_port(listen);
  if (!hp.ok()) return hp.status().with_context("--metrics");
  auto impl = std::make_unique<Impl>();
  impl->render = std::move(render);
  impl->health = std::move(health);
  Impl* m = impl.get();
  m->server.new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  // The library's default also sets SO_REUSEPORT, with which a second
  // node binds a port already serving metrics and the two share its
  // scrapes. SO_REUSEADDR alone: a busy port is a bind error.
  m->server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  m->server.Get("/metrics", [m](const httplib::Request&, httplib::Response& r) {
    r.set_content(m->render(), kMetricsType);
  });
  // 503 with the reason: a probe (load balancer, readiness check) takes the
  // node out of service while its table failed or its writes are held.
  m->server.Get("/healthz", [m](const httplib::Request&, httplib::Response& r) {
    const std::string why = m->health ? m->health() : std::string();
    r.status = why.empty() ? 200 : 503;
    r.set_content(why.empty() ? "ok\n" : why + "\n",
                  "text/plain; charset=utf-8");
  });
  const auto& [host, port] = *hp;
  int bound = port;
  if (port == 0) {
    bound = m->server.bind_to_any_port(host);
  } else if (!m->server.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return Status::unavailable("--metrics " + listen,
                               "cannot bind (address in use or not local)");
  }
  m->address = host + ":" + std::to_string(bound);
  m->thread = std::thread([m] {
    m->server.listen_after_bind();
    m->done = true;
  });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  // stop() does nothing before the server thread marked itself running:
  // wait for that (it follows the thread's start at once) or its end.
  while (!impl_->server.is_running() && !impl_->done) {
    std::this_thread::yield();
  }
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string MetricsServer::address() const { return impl_->address; }

}  // namespace atomik::cli
