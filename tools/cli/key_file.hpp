// SPDX-License-Identifier: Apache-2.0
// The CLI's checks around a node's authentication: --key-file is read only
// from a regular file no other user can read (as ssh treats private keys),
// and a keyless node may listen only on loopback unless --insecure-no-key.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "atomik/status.hpp"

namespace atomik::cli {

// read_node_key_file(path) after checking that `path` is a regular file
// whose mode gives group and others no access (mode & 077 == 0).
// kInvalidArgument naming the path and the problem ("is a directory",
// "permissions 0644 are too open: chmod 600 ..."); kNotFound if missing.
Result<std::vector<std::byte>> read_key_file_checked(const std::string& path);

// True for "localhost", 127.0.0.0/8 and ::1 (the host of HOST:PORT).
bool is_loopback_host(const std::string& host);

}  // namespace atomik::cli
