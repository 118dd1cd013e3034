// SPDX-License-Identifier: Apache-2.0
// resolve_host(): getaddrinfo(3), preferring IPv4.
#include "transport/resolve.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>

namespace atomik::transport {

Result<std::string> resolve_host(const std::string& host) {
  in6_addr probe{};
  if (::inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
      ::inet_pton(AF_INET6, host.c_str(), &probe) == 1) {
    return host;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::unavailable(
        "address", "cannot resolve host '" + host +
                       "': " + (rc != 0 ? ::gai_strerror(rc) : "no address"));
  }
  const std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res,
                                                             ::freeaddrinfo);
  const addrinfo* pick = nullptr;
  for (const addrinfo* a = res; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      pick = a;
      break;
    }
    if (a->ai_family == AF_INET6 && pick == nullptr) pick = a;
  }
  if (pick == nullptr) {
    return Status::invalid_argument(
        "address", "host '" + host + "' has no IPv4 or IPv6 address");
  }
  char buf[INET6_ADDRSTRLEN] = {};
  const void* src =
      pick->ai_family == AF_INET
          ? static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in*>(pick->ai_addr)->sin_addr)
          : static_cast<const void*>(
                &reinterpret_cast<const sockaddr_in6*>(pick->ai_addr)
                     ->sin6_addr);
  if (::inet_ntop(pick->ai_family, src, buf, sizeof buf) == nullptr) {
    return Status::invalid_argument("address",
                                    "host '" + host + "': inet_ntop failed");
  }
  return std::string(buf);
}

}  // namespace atomik::transport
