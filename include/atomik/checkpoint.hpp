// SPDX-License-Identifier: Apache-2.0
// atomik/checkpoint.hpp: the checkpoint file, a whole table's state at the
// end of an epoch (docs/format/checkpoint.md).
//
// CheckpointData holds the table's non-zero states, the per-origin
// high-water marks that make WAL replay idempotent, and the undo histories.
// write_checkpoint() writes it atomically (temp file, fsync, rename, fsync of
// the directory); read_checkpoint() validates every byte before returning.
//
//   atomik::CheckpointData cp;
//   cp.epoch = 1; cp.states = {{7, 0xFF}};
//   atomik::Status s = atomik::write_checkpoint(fs, "data", cp);
//   atomik::Result<atomik::CheckpointData> back =
//       atomik::read_checkpoint(fs, "data/CHECKPOINT");
//
// Thread safety: free functions; callers keep one writer per directory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomik/export.h"
#include "atomik/file.hpp"
#include "atomik/status.hpp"
#include "atomik/table_shape.hpp"

namespace atomik {

// File names inside a table directory. Written to disk; never change.
inline constexpr const char* kCheckpointFileName = "CHECKPOINT";
inline constexpr const char* kCheckpointTempName = "CHECKPOINT.tmp";

// One address's undo history (UndoHistory::undo_deltas()/redo_deltas()).
struct UndoState {
  std::uint32_t addr = 0;
  std::uint32_t max_levels = 0;
  std::vector<std::uint64_t> undo;  // oldest first
  std::vector<std::uint64_t> redo;  // next-to-redo first
  friend bool operator==(const UndoState&, const UndoState&) = default;
};

struct CheckpointData {
  std::uint64_t epoch = 0;              // epochs closed
  std::uint64_t wal_first_segment = 1;  // first WAL segment not covered
  std::uint64_t self_origin = 0;
  std::uint64_t self_seq = 0;
  std::uint64_t num_contexts = 0;  // dense size; 0 = sparse
  TableShape shape = {};           // group, word_bits (version 1: xor/64)
  std::vector<std::pair<std::uint32_t, std::uint64_t>> states;   // addr asc
  std::vector<std::pair<std::uint64_t, std::uint64_t>> origins;  // asc
  std::vector<UndoState> undo;                                   // addr asc
  friend bool operator==(const CheckpointData&,
                         const CheckpointData&) = default;
};

// The file bytes for `data`. Fails with kInvalidArgument (naming the field)
// if `data` breaks a rule of the format (unsorted, zero state, too many undo
// levels...). Cost O(size).
ATOMIK_EXPORT Result<std::vector<std::byte>> encode_checkpoint(
    const CheckpointData& data);
// Decodes and validates `bytes`; `name` is used in messages. kCorruption
// naming the field and its offset, or the checksum; kUnimplemented for
// another version. Cost O(size).
ATOMIK_EXPORT Result<CheckpointData> decode_checkpoint(
    std::span<const std::byte> bytes, std::string_view name);
// Writes `data` as dir/CHECKPOINT atomically. On failure the temp file is
// removed (best effort) and the old CHECKPOINT is untouched.
ATOMIK_EXPORT Status write_checkpoint(FileSystem& fs, const std::string& dir,
                                      const CheckpointData& data);
// Reads and decodes a checkpoint file. kNotFound if it does not exist.
ATOMIK_EXPORT Result<CheckpointData> read_checkpoint(FileSystem& fs,
                                                     const std::string& path);

}  // namespace atomik
