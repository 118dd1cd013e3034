// SPDX-License-Identifier: Apache-2.0
// fuzz_packet: libFuzzer target for the node protocol packet decoders
// (src/transport/packet.hpp, docs/format/node_protocol.md). See
// docs/fuzzing.md.
//
// The input is read as a TCP byte stream of packets, the way a node's reader
// walks it (reader rules 1-2, 6): a 24-byte header, then body_len +
// tag_len bytes; the body is decoded by the header's type. Checked:
//   1. parse_header accepts exactly the headers of the grammar (magic,
//      version, type 1..7, tag_len 0/32, reserved 0, body_len <= limit);
//      a rejected header has a message; an accepted one is written back
//      byte for byte by write_header.
//   2. Every body decoder that succeeds round-trips: encode_X(decode_X(b))
//      == b (HELLO, SYNC, REQUEST, RESPONSE, SNAPSHOT; a DELTAS body's frame
//      re-encodes with encode_frame). Every failure is kCorruption or
//      kUnimplemented (HELLO version).
//   3. A whole unkeyed packet equals seal_packet(type, counter, body); for a
//      tagged one, seal_packet with a fixed key reproduces header and body
//      and a tag equal to compute_tag (tag_equal agrees with memcmp).
// Each decoder also runs on the whole input as a body (no header), so the
// mutator reaches them directly. ASan catches reads outside the input.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "atomik/frame.hpp"
#include "fuzz_check.hpp"
#include "transport/packet.hpp"

namespace {

namespace t = atomik::transport;
using atomik::Code;
using atomik::Result;
using atomik::fuzz::hex;
using atomik::fuzz::same_bytes;

constexpr std::uint32_t kMaxBody = 1 << 20;

void check_failure(const atomik::Status& s, const char* what,
                   std::span<const std::byte> body) {
  ATOMIK_FUZZ_CHECK(
      s.code() == Code::kCorruption || s.code() == Code::kUnimplemented,
      std::string(what) + ": " + s.to_string() + " for " + hex(body));
  ATOMIK_FUZZ_CHECK(!s.message().empty(), what);
}

template <typename T, typename Decode, typename Encode>
void round_trip(std::span<const std::byte> body, const char* what,
                Decode decode, Encode encode) {
  Result<T> r = decode(body);
  if (!r.ok()) {
    check_failure(r.status(), what, body);
    return;
  }
  const std::vector<std::byte> again = encode(*r);
  ATOMIK_FUZZ_CHECK(same_bytes(again, body),
                    std::string(what) + " decoded from " + hex(body) +
                        " re-encodes as " + hex(again));
}

void decode_body(t::PacketType type, std::span<const std::byte> body) {
  switch (type) {
    case t::PacketType::kHello:
      round_trip<t::Hello>(body, "HELLO", t::decode_hello, t::encode_hello);
      break;
    case t::PacketType::kDeltas: {
      Result<atomik::FrameView> v = atomik::parse_frame(body);
      if (!v.ok()) return;  // fuzz_frame checks frame errors
      std::vector<atomik::FrameRecord> recs(v->count());
      for (std::size_t i = 0; i < recs.size(); ++i) recs[i] = v->record(i);
      Result<std::vector<std::byte>> again =
          atomik::encode_frame(v->header(), recs, v->auth_tag());
      ATOMIK_FUZZ_CHECK(again.ok() && same_bytes(*again, body.first(v->size())),
                        "DELTAS frame round trip " + hex(body));
      break;
    }
    case t::PacketType::kSync:
      round_trip<t::SyncBody>(body, "SYNC", t::decode_sync, t::encode_sync);
      break;
    case t::PacketType::kRequest:
      round_trip<t::Request>(body, "REQUEST", t::decode_request,
                             t::encode_request);
      break;
    case t::PacketType::kResponse:
      round_trip<t::Response>(body, "RESPONSE", t::decode_response,
                              t::encode_response);
      break;
    case t::PacketType::kSnapshot:
      round_trip<t::SnapshotBody>(body, "SNAPSHOT", t::decode_snapshot,
                                  t::encode_snapshot);
      break;
    case t::PacketType::kSnapshotV1:
      round_trip<t::SnapshotBody>(
          body, "SNAPSHOT v1",
          [](std::span<const std::byte> b) {
            return t::decode_snapshot_v1(b, /*authenticated=*/true);
          },
          t::encode_snapshot_v1);
      break;
  }
}

// Invariant 1 independently of parse_header: is this header valid?
bool header_valid(std::span<const std::byte, t::kPacketHeaderSize> b) {
  std::uint32_t magic = 0, body_len = 0, reserved = 0;
  std::uint16_t tag_len = 0;
  std::memcpy(&magic, b.data(), 4);
  std::memcpy(&tag_len, b.data() + 6, 2);
  std::memcpy(&body_len, b.data() + 8, 4);
  std::memcpy(&reserved, b.data() + 12, 4);
  const auto version = static_cast<std::uint8_t>(b[4]);
  const auto type = static_cast<std::uint8_t>(b[5]);
  return magic == t::kPacketMagic && version == 1 && type >= 1 &&
         type <= t::kMaxPacketType &&
         (tag_len == 0 || tag_len == t::kTagSize) && reserved == 0 &&
         body_len <= kMaxBody;
}

// Returns the bytes the packet at the start of `in` takes, or 0 when the
// stream stops there (bad header or truncated packet).
std::size_t one_packet(std::span<const std::byte> in) {
  if (in.size() < t::kPacketHeaderSize) return 0;
  const std::span<const std::byte, t::kPacketHeaderSize> hb(
      in.data(), t::kPacketHeaderSize);
  t::PacketHeader h;
  std::string why;
  const t::HeaderError e = t::parse_header(hb, kMaxBody, &h, &why);
  ATOMIK_FUZZ_CHECK((e == t::HeaderError::kNone) == header_valid(hb),
                    "parse_header: " + why + " for " + hex(hb));
  if (e != t::HeaderError::kNone) {
    ATOMIK_FUZZ_CHECK(!why.empty(), "rejected header without a reason");
    return 0;
  }
  std::byte written[t::kPacketHeaderSize];
  t::write_header(h, written);
  ATOMIK_FUZZ_CHECK(
      same_bytes(written, hb),
      "write_header(parse_header(" + hex(hb) + ")) = " + hex(written));
  const std::size_t total =
      t::kPacketHeaderSize + std::size_t{h.body_len} + h.tag_len;
  if (in.size() < total) return 0;  // truncated: the reader waits for more
  // An exactly sized copy, so ASan sees any read past the body.
  const std::vector<std::byte> body(
      in.begin() + t::kPacketHeaderSize,
      in.begin() + static_cast<long>(t::kPacketHeaderSize + h.body_len));
  decode_body(h.type, body);

  const std::span<const std::byte> whole = in.first(total);
  if (h.tag_len == 0) {
    const std::vector<std::byte> sealed = t::seal_packet(
        h.type, h.counter, body, nullptr, t::Direction::kFromConnector);
    ATOMIK_FUZZ_CHECK(
        same_bytes(sealed, whole),
        "seal_packet gives " + hex(sealed) + " for " + hex(whole));
  } else {
    t::Key key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
      key[i] = static_cast<std::byte>(i);
    }
    const std::vector<std::byte> sealed = t::seal_packet(
        h.type, h.counter, body, &key, t::Direction::kFromAcceptor);
    const t::Tag tag =
        t::compute_tag(key, t::Direction::kFromAcceptor, hb, body);
    ATOMIK_FUZZ_CHECK(
        sealed.size() == total &&
            same_bytes(std::span(sealed).first(total - t::kTagSize),
                       whole.first(total - t::kTagSize)) &&
            same_bytes(std::span(sealed).last(t::kTagSize), tag),
        "keyed seal_packet of " + hex(whole));
    const std::span<const std::byte> stored = whole.last(t::kTagSize);
    ATOMIK_FUZZ_CHECK(t::tag_equal(stored, tag) == same_bytes(stored, tag),
                      "tag_equal disagrees with memcmp");
  }
  return total;
}

}  // namespace

// random_nonce() runs sodium_init() once (libsodium picks its BLAKE2b
// implementation there), so every input sees the same code paths.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)t::random_nonce();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::span<const std::byte> in = atomik::fuzz::as_bytes(data, size);
  std::span<const std::byte> rest = in;
  while (std::size_t n = one_packet(rest)) rest = rest.subspan(n);
  // Every decoder on the whole input as a body.
  for (std::uint8_t type = 1; type <= t::kMaxPacketType; ++type) {
    decode_body(static_cast<t::PacketType>(type), in);
  }
  return 0;
}
