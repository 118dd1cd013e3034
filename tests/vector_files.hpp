// SPDX-License-Identifier: Apache-2.0
// Reading tests/vectors files (tests only).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace atomik::testing {

// Reads tests/vectors/`name`, a .hex file: '#' lines are comments, the rest
// hex byte pairs separated by whitespace. A missing file fails the test.
inline std::vector<std::byte> read_hex(const std::string& name) {
  std::ifstream in(std::string(ATOMIK_TEST_VECTORS_DIR) + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::byte> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string tok;
    while (ls >> tok) {
      out.push_back(static_cast<std::byte>(std::stoul(tok, nullptr, 16)));
    }
  }
  return out;
}

}  // namespace atomik::testing
