// SPDX-License-Identifier: Apache-2.0
// capi/message.cpp: atomik_delta_message_*, the 16-byte wire message
// (DeltaMessage, docs/format/wire.md), bytes identical to the C++ codec.
#include "atomik/message.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

static_assert(ATOMIK_DELTA_MESSAGE_SIZE == atomik::DeltaMessage::kWireSize);

namespace {
using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;
}  // namespace

extern "C" {

atomik_status atomik_delta_message_encode(
    const atomik_delta_message* msg, uint8_t out[ATOMIK_DELTA_MESSAGE_SIZE]) {
  static constexpr const char* kFn = "atomik_delta_message_encode";
  if (msg == nullptr) return null_argument(kFn, "msg");
  if (out == nullptr) return null_argument(kFn, "out");
  const atomik::DeltaMessage m{msg->addr, msg->delta, msg->seq};
  const auto bytes = m.to_bytes();
  std::memcpy(out, bytes.data(), bytes.size());
  return ATOMIK_OK;
}

atomik_status atomik_delta_message_decode(const uint8_t* bytes, size_t len,
                                          atomik_delta_message* out) {
  static constexpr const char* kFn = "atomik_delta_message_decode";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    if (bytes == nullptr && len != 0) return null_argument(kFn, "bytes");
    const std::span<const std::byte> in(
        reinterpret_cast<const std::byte*>(bytes), bytes == nullptr ? 0 : len);
    auto m = atomik::DeltaMessage::from_bytes(in);
    if (!m.ok()) return fail(kFn, m.status());
    *out = atomik_delta_message{m->addr, m->delta, m->seq};
    return ATOMIK_OK;
  });
}

}  // extern "C"
