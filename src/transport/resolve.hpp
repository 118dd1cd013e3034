// SPDX-License-Identifier: Apache-2.0
// Host name resolution for node and client addresses. Private to src/.
#pragma once

#include <string>

#include "atomik/status.hpp"

namespace atomik::transport {

// The numeric address (e.g. "127.0.0.1" or "::1") for `host`: `host` itself
// if it is already numeric, else the first IPv4 result of getaddrinfo(3)
// (IPv6 if there is no IPv4 one), e.g. "localhost" -> "127.0.0.1".
// kUnavailable (a lookup failure, not a malformed argument) naming the host
// and the resolver's reason if it does not resolve. Blocks while the
// resolver runs (/etc/hosts, DNS).
Result<std::string> resolve_host(const std::string& host);

}  // namespace atomik::transport
