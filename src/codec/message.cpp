// SPDX-License-Identifier: Apache-2.0
#include "atomik/message.hpp"

#include <string>

#include "codec/byte_order.hpp"

namespace atomik {

Status DeltaMessage::length_error(std::size_t got) {
  return Status::invalid_argument(
      "DeltaMessage::from_bytes",
      "expected 16 bytes, got " + std::to_string(got));
}

}  // namespace atomik
