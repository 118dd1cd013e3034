// SPDX-License-Identifier: Apache-2.0
// parse_redis_url: redis://[user[:password]@]host[:port][/db] (docs/redis.md).
#include <string>
#include <string_view>

#include "atomik/log.hpp"
#include "atomik/redis.hpp"

namespace atomik {

Result<RedisEndpoint> parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  // The password never appears in a message.
  const std::string shown = "redis URL '" + redact_secrets(url) + "'";
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument(shown, why);
  };
  if (url.rfind(kScheme, 0) != 0) {
    return bad("expected redis://[user[:password]@]host[:port][/db]");
  }
  RedisEndpoint ep;
  std::string rest = url.substr(kScheme.size());
  const std::size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = cred.find(':');
    if (colon == std::string::npos) {
      ep.user = cred;
    } else {
      ep.user = cred.substr(0, colon);
      ep.password = cred.substr(colon + 1);
    }
  }
  const std::size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (db.size() > 5 ||
          db.find_first_not_of("0123456789") != std::string::npos) {
        return bad("database '" + db + "' is not a number");
      }
      ep.db = static_cast<std::uint32_t>(std::stoul(db));
    }
  }
  const std::size_t colon = hostport.rfind(':');
  if (colon != std::string::npos) {
    const std::string port = hostport.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      return bad("port '" + port + "' is not in 1..65535");
    }
    ep.port = static_cast<std::uint16_t>(std::stoul(port));
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return bad("missing host");
  ep.host = hostport;
  return ep;
}

}  // namespace atomik
