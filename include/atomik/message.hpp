// SPDX-License-Identifier: Apache-2.0
// atomik/message.hpp: DeltaMessage, the reference's 16-byte delta message.
//
// A DeltaMessage is one delta for one address plus the sender's sequence
// number. Its wire form is byte-identical to the reference package's
// (atomik_core.DeltaMessage.to_bytes): 16 bytes in network byte order
// (big-endian), u32 addr, u64 delta, u32 seq. The reference's `epoch` field
// is not on the wire and is not part of this type. Our own traffic uses the
// framed batches of atomik/frame.hpp (64-bit seqs, origin id, checksum); the
// 16-byte form exists so reference peers and tools can talk to us. See
// docs/format/wire.md.
//
//   atomik::DeltaMessage m{.addr = 1, .delta = 0x0123456789abcdef, .seq = 7};
//   std::array<std::byte, 16> wire = m.to_bytes();  // 00000001 0123.. 00000007
//   atomik::Result<atomik::DeltaMessage> back =
//       atomik::DeltaMessage::from_bytes(wire);     // == m
//
// Thread safety: a plain value type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "atomik/export.h"
#include "atomik/status.hpp"
#include "atomik/types.hpp"

namespace atomik {

struct ATOMIK_EXPORT DeltaMessage {
  // Written to the wire; never change. See docs/format/wire.md.
  static constexpr std::size_t kWireSize = 16;

  Addr addr = 0;
  std::uint64_t delta = 0;
  std::uint32_t seq = 0;

  // The 16-byte big-endian form: addr (4) | delta (8) | seq (4).
  constexpr std::array<std::byte, kWireSize> to_bytes() const noexcept {
    std::array<std::byte, kWireSize> out{};
    store_be(out.data(), addr);
    store_be(out.data() + 4, delta);
    store_be(out.data() + 12, seq);
    return out;
  }

  // Decodes exactly 16 bytes. Any other length fails with kInvalidArgument
  // "DeltaMessage::from_bytes: expected 16 bytes, got N" (the reference's
  // ValueError). Every 16-byte input is a valid message.
  static Result<DeltaMessage> from_bytes(std::span<const std::byte> bytes) {
    if (bytes.size() != kWireSize) {
      return length_error(bytes.size());
    }
    DeltaMessage m;
    m.addr = load_be<std::uint32_t>(bytes.data());
    m.delta = load_be<std::uint64_t>(bytes.data() + 4);
    m.seq = load_be<std::uint32_t>(bytes.data() + 12);
    return m;
  }

  friend constexpr bool operator==(const DeltaMessage&,
                                   const DeltaMessage&) = default;

 private:
  template <typename T>
  static constexpr T load_be(const std::byte* p) noexcept {
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      v = static_cast<T>((v << 8) | static_cast<T>(p[i]));
    }
    return v;
  }
  template <typename T>
  static constexpr void store_be(std::byte* p, T v) noexcept {
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      p[i] = static_cast<std::byte>(v >> (8 * (sizeof(T) - 1 - i)));
    }
  }
  // Out of line (src/codec/message.cpp): keeps the hot path small.
  static Status length_error(std::size_t got);
};

}  // namespace atomik
