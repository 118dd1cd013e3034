// SPDX-License-Identifier: Apache-2.0
// One HTTP GET for the metrics tests (cpp-httplib), loopback only.
#pragma once

#include <httplib.h>

#include <string>
#include <utility>

namespace atomik::testing {

// GET http://address path: (status, body); status -1 if nothing answered
// (2 s to connect, 5 s to read).
inline std::pair<int, std::string> http_get(const std::string& address,
                                            const std::string& path) {
  const auto colon = address.rfind(':');
  httplib::Client c(address.substr(0, colon),
                    std::stoi(address.substr(colon + 1)));
  c.set_connection_timeout(2);
  c.set_read_timeout(5);
  auto r = c.Get(path);
  if (!r) return {-1, ""};
  return {r->status, r->body};
}

}  // namespace atomik::testing
