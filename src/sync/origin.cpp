// SPDX-License-Identifier: Apache-2.0
#include "sync/origin.hpp"

#include <random>

namespace atomik::sync {

std::uint64_t random_origin() {
  std::random_device rd;
  std::uint64_t id = 0;
  while (id == 0) {
    id = (static_cast<std::uint64_t>(rd()) << 32) ^
         static_cast<std::uint64_t>(rd());
  }
  return id;
}

}  // namespace atomik::sync
