// SPDX-License-Identifier: Apache-2.0
// Node protocol packets (docs/format/node_protocol.md): the 24-byte packet
// header, the bodies of HELLO / SYNC / REQUEST / RESPONSE, and the keyed
// BLAKE2b tags (libsodium). Private to src/. Pure functions: no sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "atomik/status.hpp"
#include "atomik/stream.hpp"
#include "atomik/table_shape.hpp"

namespace atomik::transport {

// Written to the wire; never change. See docs/format/node_protocol.md.
inline constexpr std::size_t kPacketHeaderSize = 24;
inline constexpr std::uint32_t kPacketMagic = 0x504e4b41;  // "AKNP" LE
inline constexpr std::uint8_t kPacketVersion = 1;
inline constexpr std::size_t kTagSize = 32;
inline constexpr std::size_t kNonceSize = 16;
inline constexpr std::size_t kHelloBodySize = 32;
inline constexpr std::size_t kSyncFixedSize = 24;
inline constexpr std::size_t kSyncEntrySize = 16;
inline constexpr std::size_t kRequestBodySize = 24;
inline constexpr std::size_t kResponseFixedSize = 24;
inline constexpr std::size_t kKeySize = 32;

// Written to the wire; never change. See docs/format/node_protocol.md.
enum class PacketType : std::uint8_t {
  kHello = 1,
  kDeltas = 2,
  kSync = 3,
  kRequest = 4,
  kResponse = 5,
  // State transfer, body version 1: nothing covers its marks but the tag,
  // so it is accepted only on keyed links (decode_snapshot_v1).
  kSnapshotV1 = 6,
  kSnapshot = 7,  // state transfer, body version 2: checksummed
};
inline constexpr std::uint8_t kMaxPacketType = 7;

// Which way a packet goes (part of the tagged bytes).
enum class Direction : std::uint8_t {
  kFromConnector = 0,  // the side that opened the TCP connection
  kFromAcceptor = 1,
  kDatagram = 2,  // UDP
};

struct PacketHeader {
  PacketType type = PacketType::kHello;
  std::uint16_t tag_len = 0;  // 0 or kTagSize
  std::uint32_t body_len = 0;
  std::uint64_t counter = 0;
};

enum class HeaderError : std::uint8_t {
  kNone,
  kBadHeader,  // magic, version, type, reserved, tag_len
  kOversized,  // body_len > limit
};

// Checks a 24-byte header. `*why` gets a message naming field, expected and
// got.
HeaderError parse_header(std::span<const std::byte, kPacketHeaderSize> bytes,
                         std::uint32_t max_body, PacketHeader* out,
                         std::string* why);
void write_header(const PacketHeader& h,
                  std::span<std::byte, kPacketHeaderSize> out);

using Key = std::array<std::byte, kKeySize>;
using Tag = std::array<std::byte, kTagSize>;
using Nonce = std::array<std::byte, kNonceSize>;

// BLAKE2b-256 keyed with `key` over: dir (1 byte) || header || body ||
// extra (the HELLO reply binds the connector's nonce this way).
Tag compute_tag(const Key& key, Direction dir,
                std::span<const std::byte> header,
                std::span<const std::byte> body,
                std::span<const std::byte> extra = {});
// Constant-time comparison.
bool tag_equal(std::span<const std::byte> a, std::span<const std::byte> b);
// BLAKE2b-256 keyed with the shared key over "AKNP-session" || connector
// nonce || acceptor nonce.
Key session_key(const Key& shared, const Nonce& connector,
                const Nonce& acceptor);
Nonce random_nonce();

struct Hello {
  std::uint16_t version = kPacketVersion;
  std::uint16_t flags = 0;  // bit 0: sender is a client (no origin)
  OriginId origin = 0;
  Nonce nonce{};
  // The sender's table shape (protocol version 3; xor/64 is sent as the
  // zero bytes every earlier version sent). Clients send xor/64.
  TableShape shape = {};
};
inline constexpr std::uint16_t kHelloFlagClient = 1;
std::vector<std::byte> encode_hello(const Hello& h);
Result<Hello> decode_hello(std::span<const std::byte> body);

// SYNC.flags bits (docs/format/node_protocol.md section 3).
inline constexpr std::uint8_t kSyncFlagReplyWanted = 1;
// Version 3: the sender asks for the receiver's whole state (a SNAPSHOT),
// to repair a divergence it yields in.
inline constexpr std::uint8_t kSyncFlagStateWanted = 2;

struct SyncBody {
  bool reply_wanted = false;
  bool state_wanted = false;
  Digest digest;
  VersionVector vv;
};
std::vector<std::byte> encode_sync(const SyncBody& s);
// Fails on a bad size, unsorted/duplicate origins or a zero mark.
Result<SyncBody> decode_sync(std::span<const std::byte> body);

enum class RequestOp : std::uint8_t {
  kAccum = 1,
  kRead = 2,
  kSwap = 3,
  kStatus = 4,
  kDigest = 5,
};
struct Request {
  RequestOp op = RequestOp::kRead;
  std::uint32_t addr = 0;
  std::uint64_t value = 0;
  std::uint64_t id = 0;
};
std::vector<std::byte> encode_request(const Request& r);
Result<Request> decode_request(std::span<const std::byte> body);

struct Response {
  std::uint64_t id = 0;
  std::uint8_t code = 0;  // StatusCode of the result (0 = ok)
  std::uint64_t value = 0;
  std::string text;  // error message, or the status JSON / digest hex
};
std::vector<std::byte> encode_response(const Response& r);
Result<Response> decode_response(std::span<const std::byte> body);

// SNAPSHOT: the sender's whole state for a peer its retained log cannot
// catch up: states (ascending address), marks (ascending origin), digest.
// Version 2 (type 7) ends in an XXH3-128 checksum of everything before it,
// so a flipped bit in a mark is refused on keyless links too (the digest
// covers only the states).
inline constexpr std::size_t kSnapshotFixedSize = 24;
inline constexpr std::size_t kSnapshotChecksumSize = 16;
struct SnapshotBody {
  Digest digest;
  std::vector<std::pair<Addr, std::uint64_t>> states;
  std::vector<std::pair<OriginId, Seq>> marks;
};
// Bytes of a version-2 body with `states` states and `marks` marks.
std::uint64_t snapshot_body_size(std::uint64_t states, std::uint64_t marks);
std::vector<std::byte> encode_snapshot(const SnapshotBody& s);
// Version 2. Fails (kCorruption) on a checksum mismatch (checked before
// anything else is read), bad sizes, unsorted addresses/origins or zero
// marks/states.
Result<SnapshotBody> decode_snapshot(std::span<const std::byte> body);
// Version 1 (type 6), kept so that keyed peers of the previous version can
// still transfer state. `authenticated`: the packet's tag was verified.
// Without it fails with kUnimplemented (the marks cannot be verified);
// otherwise as decode_snapshot without the checksum.
std::vector<std::byte> encode_snapshot_v1(const SnapshotBody& s);
Result<SnapshotBody> decode_snapshot_v1(std::span<const std::byte> body,
                                        bool authenticated);

// A whole packet: header (counter, tag_len from `key`), body, tag.
std::vector<std::byte> seal_packet(PacketType type, std::uint64_t counter,
                                   std::span<const std::byte> body,
                                   const Key* key, Direction dir,
                                   std::span<const std::byte> extra = {});

}  // namespace atomik::transport
