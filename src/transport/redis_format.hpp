// SPDX-License-Identifier: Apache-2.0
// Private: the Redis snapshot and REDIS_STATE byte layouts
// (docs/format/redis.md) and stream-ID helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomik/status.hpp"

namespace atomik::transport {

// Written to Redis / disk; never change. See docs/format/redis.md.
inline constexpr std::uint8_t kSnapshotVersion = 1;
inline constexpr std::uint8_t kStateVersion = 2;  // reads 1 and 2
inline constexpr std::size_t kSnapshotHeaderSize = 32;
inline constexpr std::size_t kStateHeaderSize = 16;  // + origins in v2
// At most this many own origins in REDIS_STATE (docs/format/redis.md).
inline constexpr std::uint32_t kMaxStateOrigins = 4096;
inline constexpr const char* kStateFileName = "REDIS_STATE";
inline constexpr const char* kStateTempName = "REDIS_STATE.tmp";

// A Redis stream ID MS-SEQ.
struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  friend bool operator==(const StreamId&, const StreamId&) = default;
  friend bool operator<(const StreamId& a, const StreamId& b) {
    return a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq;
  }
  std::string to_string() const;
};
// Parses "MS-SEQ" (or "MS", seq 0). kInvalidArgument otherwise.
Result<StreamId> parse_stream_id(std::string_view s);

struct SnapshotData {
  std::uint64_t num_contexts = 0;
  std::vector<StreamId> positions;                              // per shard
  std::vector<std::pair<std::uint64_t, std::uint64_t>> vv;      // ascending
  std::vector<std::pair<std::uint32_t, std::uint64_t>> states;  // ascending
  friend bool operator==(const SnapshotData&, const SnapshotData&) = default;
};
// kInvalidArgument if a rule of the format is broken (order, zeros, count).
Result<std::vector<std::byte>> encode_redis_snapshot(const SnapshotData& s);
// Bounded, validating; kCorruption naming the offset, kUnimplemented for
// another version.
Result<SnapshotData> decode_redis_snapshot(std::span<const std::byte> bytes);
// "ms-seq,ms-seq,...".
std::string positions_text(const std::vector<StreamId>& positions);

struct ShardState {
  StreamId read;
  std::uint64_t pub_seq = 0;
  std::uint64_t pub_vseq = 0;
  friend bool operator==(const ShardState&, const ShardState&) = default;
};
// REDIS_STATE: the positions, and the own origins whose deltas are not
// all published, oldest first: the publish positions count origins[0]
// (empty when read from a version 1 file, which did not record them: the
// table's origin at start).
struct StateFile {
  std::vector<std::uint64_t> origins;
  std::vector<ShardState> shards;
  friend bool operator==(const StateFile&, const StateFile&) = default;
};
// Writes version 2; `origins` must hold 1..kMaxStateOrigins non-zero ids.
std::vector<std::byte> encode_state(const StateFile& state);
// Reads version 1 or 2; kCorruption (naming `name` and the offset) on
// damage, kUnimplemented for a later version.
Result<StateFile> decode_state(std::span<const std::byte> bytes,
                               std::string_view name);

}  // namespace atomik::transport
