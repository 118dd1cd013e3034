// SPDX-License-Identifier: Apache-2.0
// capi/node_client.cpp: atomik_node_client_*, the C face of NodeClient
// (node.hpp): a blocking client of an `atomik node` over TCP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "atomik/atomik.h"
#include "atomik/node.hpp"
#include "capi/capi_error.hpp"

struct atomik_node_client {  // NOLINT(readability-identifier-naming): C name
  std::unique_ptr<atomik::NodeClient> c;
};

namespace {
using atomik::capi::check;
using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;

constexpr std::uint32_t kDefaultTimeoutMs = 5000;
}  // namespace

extern "C" {

atomik_status atomik_node_client_connect(const char* address,
                                         const uint8_t* key, size_t key_len,
                                         uint32_t timeout_ms,
                                         atomik_node_client** out) {
  static constexpr const char* kFn = "atomik_node_client_connect";
  return guarded(kFn, [&] {
    if (address == nullptr) return null_argument(kFn, "address");
    if (out == nullptr) return null_argument(kFn, "out");
    if (key == nullptr && key_len != 0) return null_argument(kFn, "key");
    const std::span<const std::byte> k(reinterpret_cast<const std::byte*>(key),
                                       key == nullptr ? 0 : key_len);
    auto c = atomik::NodeClient::connect(
        address, k, timeout_ms == 0 ? kDefaultTimeoutMs : timeout_ms);
    if (!c.ok()) return fail(kFn, c.status());
    *out = new atomik_node_client{std::move(*c)};
    return ATOMIK_OK;
  });
}

void atomik_node_client_free(atomik_node_client* client) { delete client; }

atomik_status atomik_node_client_accum(atomik_node_client* client,
                                       uint32_t addr, uint64_t delta) {
  static constexpr const char* kFn = "atomik_node_client_accum";
  return guarded(kFn, [&] {
    if (client == nullptr) return null_argument(kFn, "client");
    return check(kFn, client->c->accum(addr, delta));
  });
}

atomik_status atomik_node_client_read(atomik_node_client* client, uint32_t addr,
                                      uint64_t* out) {
  static constexpr const char* kFn = "atomik_node_client_read";
  return guarded(kFn, [&] {
    if (client == nullptr) return null_argument(kFn, "client");
    if (out == nullptr) return null_argument(kFn, "out");
    auto r = client->c->read(addr);
    if (!r.ok()) return fail(kFn, r.status());
    *out = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_node_client_swap(atomik_node_client* client,
                                      uint64_t* epoch) {
  static constexpr const char* kFn = "atomik_node_client_swap";
  return guarded(kFn, [&] {
    if (client == nullptr) return null_argument(kFn, "client");
    auto r = client->c->swap();
    if (!r.ok()) return fail(kFn, r.status());
    if (epoch != nullptr) *epoch = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_node_client_status(atomik_node_client* client,
                                        char** json) {
  static constexpr const char* kFn = "atomik_node_client_status";
  return guarded(kFn, [&] {
    if (client == nullptr) return null_argument(kFn, "client");
    if (json == nullptr) return null_argument(kFn, "json");
    auto r = client->c->status_json();
    if (!r.ok()) return fail(kFn, r.status());
    // malloc'd so a C caller releases it with atomik_string_free (free()).
    // NOLINTNEXTLINE(cppcoreguidelines-no-malloc)
    auto* s = static_cast<char*>(std::malloc(r->size() + 1));
    if (s == nullptr) throw std::bad_alloc();
    std::memcpy(s, r->c_str(), r->size() + 1);
    *json = s;
    return ATOMIK_OK;
  });
}

atomik_status atomik_node_client_digest(atomik_node_client* client,
                                        atomik_digest* out) {
  static constexpr const char* kFn = "atomik_node_client_digest";
  return guarded(kFn, [&] {
    if (client == nullptr) return null_argument(kFn, "client");
    if (out == nullptr) return null_argument(kFn, "out");
    auto r = client->c->digest();
    if (!r.ok()) return fail(kFn, r.status());
    *out = atomik_digest{r->lo, r->hi};
    return ATOMIK_OK;
  });
}

}  // extern "C"
