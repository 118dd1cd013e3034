// SPDX-License-Identifier: Apache-2.0
// Key-file and keyless-listen checks of the CLI (key_file.hpp).
#include "cli/key_file.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

#include "atomik/node.hpp"

namespace atomik::cli {

Result<std::vector<std::byte>> read_key_file_checked(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::not_found("--key-file", "'" + path + "' does not exist");
    }
    return Status::from_errno("--key-file '" + path + "'", err);
  }
  if (S_ISDIR(st.st_mode)) {
    return Status::invalid_argument(
        "--key-file", "'" + path + "' is a directory, expected a key file");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::invalid_argument("--key-file",
                                    "'" + path + "' is not a regular file");
  }
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 0777u;
  if ((mode & 077u) != 0) {
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", mode);
    return Status::invalid_argument(
        "--key-file", "'" + path + "': permissions " + octal +
                          " are too open (group or others may access the "
                          "key): chmod 600 '" +
                          path + "'");
  }
  return read_node_key_file(path);
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  }
  return false;
}

}  // namespace atomik::cli
