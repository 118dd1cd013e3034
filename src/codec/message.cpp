// SPDX-License-Identifier: Apache-2.0
#include "atomik/message.hpp"

#include <cstdio>
#include <string>

#include "codec/byte_order.hpp"

namespace atomik {

Status DeltaMessage::length_error(std::size_t got) {
  return Status::invalid_argument(
      "DeltaMessage::from_bytes",
      "expected 16 bytes, got " + std::to_string(got));
}

namespace codec {
std::string hex64(std::uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(v));
  return buf;
}
}  // namespace codec

}  // namespace atomik
