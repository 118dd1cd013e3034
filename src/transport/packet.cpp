// SPDX-License-Identifier: Apache-2.0
// Node protocol packets: see packet.hpp and docs/format/node_protocol.md.
#include "transport/packet.hpp"

#include <sodium.h>

#include <cstring>

#include "codec/byte_order.hpp"
#include "codec/checksum.hpp"
#include "codec/hex.hpp"

namespace atomik::transport {
namespace {

using codec::load_le;
using codec::store_le;

constexpr char kSessionLabel[] = "AKNP-session";

std::string num(std::uint64_t v) { return std::to_string(v); }

}  // namespace

HeaderError parse_header(std::span<const std::byte, kPacketHeaderSize> b,
                         std::uint32_t max_body, PacketHeader* out,
                         std::string* why) {
  const auto magic = load_le<std::uint32_t>(b.data());
  if (magic != kPacketMagic) {
    *why = "magic: expected " + codec::hex32(kPacketMagic) + ", got " +
           codec::hex32(magic);
    return HeaderError::kBadHeader;
  }
  const auto version = static_cast<std::uint8_t>(b[4]);
  if (version != kPacketVersion) {
    *why = "version: expected 1, got " + num(version);
    return HeaderError::kBadHeader;
  }
  const auto type = static_cast<std::uint8_t>(b[5]);
  if (type < 1 || type > kMaxPacketType) {
    *why = "type: expected 1.." + num(kMaxPacketType) + ", got " + num(type);
    return HeaderError::kBadHeader;
  }
  const auto tag_len = load_le<std::uint16_t>(b.data() + 6);
  if (tag_len != 0 && tag_len != kTagSize) {
    *why = "tag_len: expected 0 or 32, got " + num(tag_len);
    return HeaderError::kBadHeader;
  }
  const auto body_len = load_le<std::uint32_t>(b.data() + 8);
  const auto reserved = load_le<std::uint32_t>(b.data() + 12);
  if (reserved != 0) {
    *why = "reserved: expected 0, got " + num(reserved);
    return HeaderError::kBadHeader;
  }
  if (body_len > max_body) {
    *why = "body_len " + num(body_len) + " > limit " + num(max_body);
    return HeaderError::kOversized;
  }
  out->type = static_cast<PacketType>(type);
  out->tag_len = tag_len;
  out->body_len = body_len;
  out->counter = load_le<std::uint64_t>(b.data() + 16);
  return HeaderError::kNone;
}

void write_header(const PacketHeader& h,
                  std::span<std::byte, kPacketHeaderSize> out) {
  store_le<std::uint32_t>(out.data(), kPacketMagic);
  out[4] = static_cast<std::byte>(kPacketVersion);
  out[5] = static_cast<std::byte>(h.type);
  store_le<std::uint16_t>(out.data() + 6, h.tag_len);
  store_le<std::uint32_t>(out.data() + 8, h.body_len);
  store_le<std::uint32_t>(out.data() + 12, 0);
  store_le<std::uint64_t>(out.data() + 16, h.counter);
}

Tag compute_tag(const Key& key, Direction dir,
                std::span<const std::byte> header,
                std::span<const std::byte> body,
                std::span<const std::byte> extra) {
  crypto_generichash_state st;
  crypto_generichash_init(&st,
                          reinterpret_cast<const unsigned char*>(key.data()),
                          key.size(), kTagSize);
  const auto d = static_cast<unsigned char>(dir);
  crypto_generichash_update(&st, &d, 1);
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(header.data()),
      header.size());
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
  if (!extra.empty()) {
    crypto_generichash_update(
        &st, reinterpret_cast<const unsigned char*>(extra.data()),
        extra.size());
  }
  Tag t{};
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(t.data()),
                           t.size());
  return t;
}

bool tag_equal(std::span<const std::byte> a, std::span<const std::byte> b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Key session_key(const Key& shared, const Nonce& connector,
                const Nonce& acceptor) {
  crypto_generichash_state st;
  crypto_generichash_init(&st,
                          reinterpret_cast<const unsigned char*>(shared.data()),
                          shared.size(), kKeySize);
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(kSessionLabel),
      sizeof kSessionLabel - 1);
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(connector.data()),
      connector.size());
  crypto_generichash_update(
      &st, reinterpret_cast<const unsigned char*>(acceptor.data()),
      acceptor.size());
  Key k{};
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(k.data()),
                           k.size());
  return k;
}

Nonce random_nonce() {
  static const int init = sodium_init();
  (void)init;
  Nonce n{};
  randombytes_buf(n.data(), n.size());
  return n;
}

std::vector<std::byte> encode_hello(const Hello& h) {
  std::vector<std::byte> b(kHelloBodySize);
  store_le<std::uint16_t>(b.data(), h.version);
  store_le<std::uint16_t>(b.data() + 2, h.flags);
  // group 0 = XOR and word_bits 0 = 64: the bytes of versions 1-2.
  b[4] = static_cast<std::byte>(
      h.shape.group == TableGroup::kXor ? 0 : static_cast<int>(h.shape.group));
  b[5] =
      static_cast<std::byte>(h.shape.word_bits == 64 ? 0 : h.shape.word_bits);
  store_le<std::uint16_t>(b.data() + 6, 0);
  store_le<std::uint64_t>(b.data() + 8, h.origin);
  std::memcpy(b.data() + 16, h.nonce.data(), kNonceSize);
  return b;
}

Result<Hello> decode_hello(std::span<const std::byte> b) {
  if (b.size() != kHelloBodySize) {
    return Status::corruption(
        "HELLO", "body of " + num(b.size()) + " bytes, expected 32");
  }
  Hello h;
  h.version = load_le<std::uint16_t>(b.data());
  h.flags = load_le<std::uint16_t>(b.data() + 2);
  if (h.version != kPacketVersion) {
    return Status::unimplemented(
        "HELLO", "protocol version " + num(h.version) + ", expected 1");
  }
  if ((h.flags & ~kHelloFlagClient) != 0 ||
      load_le<std::uint16_t>(b.data() + 6) != 0) {
    return Status::corruption("HELLO", "unknown flags or reserved bits set");
  }
  const auto group = static_cast<std::uint8_t>(b[4]);
  const auto bits = static_cast<std::uint8_t>(b[5]);
  // One spelling per shape (0 for XOR and for 64 bits), so that a decoded
  // HELLO re-encodes to the same bytes.
  h.shape.group =
      group == 0 ? TableGroup::kXor : static_cast<TableGroup>(group);
  h.shape.word_bits = bits == 0 ? std::uint8_t{64} : bits;
  if (group == static_cast<std::uint8_t>(TableGroup::kXor) || bits == 64 ||
      !validate_shape(h.shape, "HELLO").ok()) {
    return Status::corruption("HELLO", "group " + num(group) + " word_bits " +
                                           num(bits) + " unknown");
  }
  h.origin = load_le<std::uint64_t>(b.data() + 8);
  const bool client = (h.flags & kHelloFlagClient) != 0;
  if (client != (h.origin == 0)) {
    return Status::corruption("HELLO", "origin must be 0 exactly for a client");
  }
  std::memcpy(h.nonce.data(), b.data() + 16, kNonceSize);
  return h;
}

std::vector<std::byte> encode_sync(const SyncBody& s) {
  const auto& e = s.vv.entries();
  std::vector<std::byte> b(kSyncFixedSize + kSyncEntrySize * e.size());
  b[0] = static_cast<std::byte>((s.reply_wanted ? kSyncFlagReplyWanted : 0) |
                                (s.state_wanted ? kSyncFlagStateWanted : 0));
  store_le<std::uint64_t>(b.data() + 8, s.digest.lo);
  store_le<std::uint64_t>(b.data() + 16, s.digest.hi);
  store_le<std::uint32_t>(b.data() + 4, static_cast<std::uint32_t>(e.size()));
  std::size_t at = kSyncFixedSize;
  for (const auto& [o, m] : e) {
    store_le<std::uint64_t>(b.data() + at, o);
    store_le<std::uint64_t>(b.data() + at + 8, m);
    at += kSyncEntrySize;
  }
  return b;
}

Result<SyncBody> decode_sync(std::span<const std::byte> b) {
  if (b.size() < kSyncFixedSize) {
    return Status::corruption(
        "SYNC", "body of " + num(b.size()) + " bytes, expected >= 24");
  }
  const auto flags = static_cast<std::uint8_t>(b[0]);
  if ((flags & ~(kSyncFlagReplyWanted | kSyncFlagStateWanted)) != 0 ||
      b[1] != std::byte{0} || b[2] != std::byte{0} || b[3] != std::byte{0}) {
    return Status::corruption("SYNC", "unknown flags or reserved bits set");
  }
  const auto n = load_le<std::uint32_t>(b.data() + 4);
  if (b.size() != kSyncFixedSize + kSyncEntrySize * std::uint64_t{n}) {
    return Status::corruption(
        "SYNC", "count " + num(n) + " needs " +
                    num(kSyncFixedSize + kSyncEntrySize * std::uint64_t{n}) +
                    " bytes, body has " + num(b.size()));
  }
  SyncBody s;
  s.reply_wanted = (flags & kSyncFlagReplyWanted) != 0;
  s.state_wanted = (flags & kSyncFlagStateWanted) != 0;
  s.digest.lo = load_le<std::uint64_t>(b.data() + 8);
  s.digest.hi = load_le<std::uint64_t>(b.data() + 16);
  OriginId prev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* p = b.data() + kSyncFixedSize + kSyncEntrySize * i;
    const auto o = load_le<std::uint64_t>(p);
    const auto m = load_le<std::uint64_t>(p + 8);
    if ((i > 0 && o <= prev) || m == 0) {
      return Status::corruption("SYNC", "entry " + num(i) +
                                            ": origins must ascend and marks "
                                            "be nonzero");
    }
    prev = o;
    s.vv.set(o, m);
  }
  return s;
}

std::vector<std::byte> encode_request(const Request& r) {
  std::vector<std::byte> b(kRequestBodySize);
  b[0] = static_cast<std::byte>(r.op);
  store_le<std::uint32_t>(b.data() + 4, r.addr);
  store_le<std::uint64_t>(b.data() + 8, r.value);
  store_le<std::uint64_t>(b.data() + 16, r.id);
  return b;
}

Result<Request> decode_request(std::span<const std::byte> b) {
  if (b.size() != kRequestBodySize) {
    return Status::corruption(
        "REQUEST", "body of " + num(b.size()) + " bytes, expected 24");
  }
  const auto op = static_cast<std::uint8_t>(b[0]);
  if (op < 1 || op > 5 || b[1] != std::byte{0} || b[2] != std::byte{0} ||
      b[3] != std::byte{0}) {
    return Status::corruption(
        "REQUEST", "op " + num(op) + " unknown or reserved bytes set");
  }
  Request r;
  r.op = static_cast<RequestOp>(op);
  r.addr = load_le<std::uint32_t>(b.data() + 4);
  r.value = load_le<std::uint64_t>(b.data() + 8);
  r.id = load_le<std::uint64_t>(b.data() + 16);
  return r;
}

std::vector<std::byte> encode_response(const Response& r) {
  std::vector<std::byte> b(kResponseFixedSize + r.text.size());
  store_le<std::uint64_t>(b.data(), r.id);
  b[8] = static_cast<std::byte>(r.code);
  store_le<std::uint64_t>(b.data() + 16, r.value);
  if (!r.text.empty()) {
    std::memcpy(b.data() + kResponseFixedSize, r.text.data(), r.text.size());
  }
  return b;
}

Result<Response> decode_response(std::span<const std::byte> b) {
  if (b.size() < kResponseFixedSize) {
    return Status::corruption(
        "RESPONSE", "body of " + num(b.size()) + " bytes, expected >= 24");
  }
  for (std::size_t i = 9; i < 16; ++i) {  // reader rule 6 (fuzz_packet)
    if (b[i] != std::byte{0}) {
      return Status::corruption("RESPONSE",
                                "reserved byte " + num(i) + " is not 0");
    }
  }
  Response r;
  r.id = load_le<std::uint64_t>(b.data());
  r.code = static_cast<std::uint8_t>(b[8]);
  r.value = load_le<std::uint64_t>(b.data() + 16);
  r.text.assign(reinterpret_cast<const char*>(b.data()) + kResponseFixedSize,
                b.size() - kResponseFixedSize);
  return r;
}

namespace {

// The version-1 body: counts, digest, states, marks (no checksum).
void write_snapshot_fields(const SnapshotBody& s, std::byte* b) {
  store_le<std::uint32_t>(b, static_cast<std::uint32_t>(s.states.size()));
  store_le<std::uint32_t>(b + 4, static_cast<std::uint32_t>(s.marks.size()));
  store_le<std::uint64_t>(b + 8, s.digest.lo);
  store_le<std::uint64_t>(b + 16, s.digest.hi);
  std::size_t at = kSnapshotFixedSize;
  for (const auto& [a, v] : s.states) {
    store_le<std::uint32_t>(b + at, a);
    store_le<std::uint64_t>(b + at + 4, v);
    at += 12;
  }
  for (const auto& [o, m] : s.marks) {
    store_le<std::uint64_t>(b + at, o);
    store_le<std::uint64_t>(b + at + 8, m);
    at += 16;
  }
}

// Parses counts, digest, states and marks from `b` (the body without any
// checksum), which must be exactly their size.
Result<SnapshotBody> read_snapshot_fields(std::span<const std::byte> b,
                                          std::uint64_t extra) {
  if (b.size() < kSnapshotFixedSize) {
    return Status::corruption("SNAPSHOT", "body of " + num(b.size() + extra) +
                                              " bytes, expected >= " +
                                              num(kSnapshotFixedSize + extra));
  }
  const std::uint64_t ns = load_le<std::uint32_t>(b.data());
  const std::uint64_t nm = load_le<std::uint32_t>(b.data() + 4);
  const std::uint64_t want = kSnapshotFixedSize + 12 * ns + 16 * nm;
  if (b.size() != want) {
    return Status::corruption(
        "SNAPSHOT", num(ns) + " states and " + num(nm) + " marks need " +
                        num(want + extra) + " bytes, body has " +
                        num(b.size() + extra));
  }
  SnapshotBody s;
  s.digest.lo = load_le<std::uint64_t>(b.data() + 8);
  s.digest.hi = load_le<std::uint64_t>(b.data() + 16);
  std::size_t at = kSnapshotFixedSize;
  s.states.reserve(static_cast<std::size_t>(ns));
  for (std::uint64_t i = 0; i < ns; ++i, at += 12) {
    const auto a = load_le<std::uint32_t>(b.data() + at);
    const auto v = load_le<std::uint64_t>(b.data() + at + 4);
    if ((i > 0 && a <= s.states.back().first) || v == 0) {
      return Status::corruption("SNAPSHOT",
                                "state " + num(i) +
                                    ": addresses must ascend, values be "
                                    "nonzero");
    }
    s.states.emplace_back(a, v);
  }
  for (std::uint64_t i = 0; i < nm; ++i, at += 16) {
    const auto o = load_le<std::uint64_t>(b.data() + at);
    const auto m = load_le<std::uint64_t>(b.data() + at + 8);
    if ((i > 0 && o <= s.marks.back().first) || m == 0) {
      return Status::corruption(
          "SNAPSHOT",
          "mark " + num(i) + ": origins must ascend, marks be nonzero");
    }
    s.marks.emplace_back(o, m);
  }
  return s;
}

}  // namespace

std::uint64_t snapshot_body_size(std::uint64_t states, std::uint64_t marks) {
  return kSnapshotFixedSize + 12 * states + 16 * marks + kSnapshotChecksumSize;
}

std::vector<std::byte> encode_snapshot(const SnapshotBody& s) {
  std::vector<std::byte> b(static_cast<std::size_t>(
      snapshot_body_size(s.states.size(), s.marks.size())));
  write_snapshot_fields(s, b.data());
  const std::size_t end = b.size() - kSnapshotChecksumSize;
  const Word128 h = codec::checksum128({b.data(), end});
  store_le<std::uint64_t>(b.data() + end, h.lo);
  store_le<std::uint64_t>(b.data() + end + 8, h.hi);
  return b;
}

Result<SnapshotBody> decode_snapshot(std::span<const std::byte> b) {
  if (b.size() < kSnapshotFixedSize + kSnapshotChecksumSize) {
    return Status::corruption(
        "SNAPSHOT", "body of " + num(b.size()) + " bytes, expected >= " +
                        num(kSnapshotFixedSize + kSnapshotChecksumSize));
  }
  // The checksum covers counts, digest, states and marks: verify it before
  // trusting any of them.
  const std::size_t end = b.size() - kSnapshotChecksumSize;
  const Word128 h = codec::checksum128({b.data(), end});
  const auto lo = load_le<std::uint64_t>(b.data() + end);
  const auto hi = load_le<std::uint64_t>(b.data() + end + 8);
  if (lo != h.lo || hi != h.hi) {
    return Status::corruption(
        "SNAPSHOT", "offset " + num(end) + ": checksum mismatch (stored " +
                        codec::hex128(hi, lo) + ", computed " +
                        codec::hex128(h.hi, h.lo) +
                        "); state transfer not installed");
  }
  return read_snapshot_fields(b.first(end), kSnapshotChecksumSize);
}

std::vector<std::byte> encode_snapshot_v1(const SnapshotBody& s) {
  std::vector<std::byte> b(kSnapshotFixedSize + 12 * s.states.size() +
                           16 * s.marks.size());
  write_snapshot_fields(s, b.data());
  return b;
}

Result<SnapshotBody> decode_snapshot_v1(std::span<const std::byte> b,
                                        bool authenticated) {
  if (!authenticated) {
    return Status::unimplemented(
        "SNAPSHOT",
        "version 1 (packet type 6) on a keyless link: nothing verifies its "
        "marks; refused (the sender must run protocol version 2, which "
        "sends type 7, or use --key-file)");
  }
  return read_snapshot_fields(b, 0);
}

std::vector<std::byte> seal_packet(PacketType type, std::uint64_t counter,
                                   std::span<const std::byte> body,
                                   const Key* key, Direction dir,
                                   std::span<const std::byte> extra) {
  const std::size_t tag_len = key != nullptr ? kTagSize : 0;
  std::vector<std::byte> out(kPacketHeaderSize + body.size() + tag_len);
  PacketHeader h{type, static_cast<std::uint16_t>(tag_len),
                 static_cast<std::uint32_t>(body.size()), counter};
  write_header(h, std::span<std::byte, kPacketHeaderSize>(out.data(),
                                                          kPacketHeaderSize));
  if (!body.empty()) {
    std::memcpy(out.data() + kPacketHeaderSize, body.data(), body.size());
  }
  if (key != nullptr) {
    const Tag t =
        compute_tag(*key, dir, {out.data(), kPacketHeaderSize}, body, extra);
    std::memcpy(out.data() + kPacketHeaderSize + body.size(), t.data(),
                kTagSize);
  }
  return out;
}

}  // namespace atomik::transport
