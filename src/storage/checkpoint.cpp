// SPDX-License-Identifier: Apache-2.0
// Checkpoint files (docs/format/checkpoint.md).
#include "atomik/checkpoint.hpp"

#include <cstdint>
#include <cstring>

#include "codec/hex.hpp"
#include "storage/wal_record.hpp"

namespace atomik {
namespace {

using storage::load_le;
using storage::store_le;

// Written to disk; never change. See docs/format/checkpoint.md.
constexpr char kMagic[8] = {'A', 'T', 'M', 'K', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t kVersion = 2;    // word_bits 8..64, group xor/add
constexpr std::uint32_t kVersionV1 = 1;  // still read: word_bits 64, xor
constexpr std::size_t kHeadSize = 24;
constexpr std::size_t kFixedBody = 48;
constexpr std::uint8_t kV1WordBits = 64;
constexpr std::uint8_t kV1GroupXor = 1;
constexpr std::uint32_t kMaxUndoLevels = 1u << 24;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
  void u16(std::uint16_t v) { put(v); }
  void u32(std::uint32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  std::vector<std::byte>& bytes() { return out_; }

 private:
  template <typename T>
  void put(T v) {
    const std::size_t at = out_.size();
    out_.resize(at + sizeof v);
    store_le<T>(out_.data() + at, v);
  }
  std::vector<std::byte> out_;
};

class Reader {
 public:
  Reader(std::span<const std::byte> b, std::string_view name)
      : b_(b), name_(name) {}
  std::size_t offset() const { return off_; }
  std::size_t left() const { return b_.size() - off_; }
  template <typename T>
  Status get(T* v, const char* field) {
    if (left() < sizeof(T)) {
      return error(field, "needs " + std::to_string(sizeof(T)) + " bytes, " +
                              std::to_string(left()) + " left");
    }
    *v = load_le<T>(b_.data() + off_);
    off_ += sizeof(T);
    return Status();
  }
  // Checks that `count` items of `item_size` bytes fit before allocating;
  // `count` is the u64 just read.
  Status fits(std::uint64_t count, std::size_t item_size, const char* field) {
    if (count > left() / item_size) {
      return error(field,
                   "count " + std::to_string(count) + " needs " +
                       std::to_string(item_size) + " bytes each, " +
                       std::to_string(left()) + " left",
                   off_ - 8);
    }
    return Status();
  }
  // `at`: the field's offset; by default where reading stands.
  Status error(const char* field, const std::string& why,
               std::size_t at = SIZE_MAX) const {
    return Status::corruption("checkpoint " + std::string(name_),
                              std::string(field) + " at offset " +
                                  std::to_string(at == SIZE_MAX ? off_ : at) +
                                  ": " + why);
  }

 private:
  std::span<const std::byte> b_;
  std::string_view name_;
  std::size_t off_ = 0;
};

Status invalid(const std::string& why) {
  return Status::invalid_argument("encode_checkpoint", why);
}

}  // namespace

Result<std::vector<std::byte>> encode_checkpoint(const CheckpointData& d) {
  for (std::size_t i = 0; i < d.states.size(); ++i) {
    if (d.states[i].second == 0) {
      return invalid("state " + std::to_string(i) + " is 0 (identity)");
    }
    if (i > 0 && d.states[i].first <= d.states[i - 1].first) {
      return invalid("states not in strictly increasing address order");
    }
    if (d.num_contexts != 0 && d.states[i].first >= d.num_contexts) {
      return invalid("state address out of range");
    }
  }
  if (!validate_shape(d.shape, "shape").ok()) {
    return invalid("shape " + d.shape.to_string() + " invalid");
  }
  for (const auto& [a, v] : d.states) {
    if ((v & ~d.shape.mask()) != 0) {
      return invalid("state of address " + std::to_string(a) +
                     " exceeds word_bits");
    }
  }
  for (std::size_t i = 0; i < d.origins.size(); ++i) {
    if (d.origins[i].second == 0) return invalid("origin seq 0");
    if (i > 0 && d.origins[i].first <= d.origins[i - 1].first) {
      return invalid("origins not strictly increasing");
    }
  }
  for (std::size_t i = 0; i < d.undo.size(); ++i) {
    const UndoState& u = d.undo[i];
    if (u.max_levels > kMaxUndoLevels ||
        u.undo.size() + u.redo.size() > u.max_levels) {
      return invalid("undo history of address " + std::to_string(u.addr) +
                     " exceeds its max_levels");
    }
    if (i > 0 && u.addr <= d.undo[i - 1].addr) {
      return invalid("undo histories not in strictly increasing order");
    }
  }
  Writer w;
  for (char c : kMagic) w.u8(static_cast<std::uint8_t>(c));
  w.u32(kVersion);
  w.u32(0);
  w.u64(0);  // body_length, patched below
  w.u64(d.epoch);
  w.u64(d.wal_first_segment);
  w.u64(d.self_origin);
  w.u64(d.self_seq);
  w.u8(d.shape.word_bits);
  w.u8(static_cast<std::uint8_t>(d.shape.group));
  w.u16(0);
  w.u32(0);
  w.u64(d.num_contexts);
  w.u64(d.states.size());
  for (const auto& [a, v] : d.states) {
    w.u32(a);
    w.u64(v);
  }
  w.u64(d.origins.size());
  for (const auto& [o, s] : d.origins) {
    w.u64(o);
    w.u64(s);
  }
  w.u64(d.undo.size());
  for (const UndoState& u : d.undo) {
    w.u32(u.addr);
    w.u32(u.max_levels);
    w.u32(static_cast<std::uint32_t>(u.undo.size()));
    w.u32(static_cast<std::uint32_t>(u.redo.size()));
    for (std::uint64_t x : u.undo) w.u64(x);
    for (std::uint64_t x : u.redo) w.u64(x);
  }
  std::vector<std::byte>& out = w.bytes();
  store_le<std::uint64_t>(out.data() + 16, out.size() - kHeadSize);
  const std::uint64_t ck = storage::checksum64(out);
  w.u64(ck);
  return std::move(out);
}

Result<CheckpointData> decode_checkpoint(std::span<const std::byte> bytes,
                                         std::string_view name) {
  Reader r(bytes, name);
  if (bytes.size() < kHeadSize + kFixedBody + 24 + 8) {
    return r.error("file", "size " + std::to_string(bytes.size()) +
                               " is below the minimum " +
                               std::to_string(kHeadSize + kFixedBody + 32));
  }
  if (std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return r.error("magic", "not a checkpoint (bad magic)");
  }
  const auto stored = load_le<std::uint64_t>(bytes.data() + bytes.size() - 8);
  const std::uint64_t computed =
      storage::checksum64(bytes.first(bytes.size() - 8));
  if (stored != computed) {
    return Status::corruption("checkpoint " + std::string(name),
                              "checksum mismatch (stored " +
                                  codec::hex64(stored) + ", computed " +
                                  codec::hex64(computed) + ")");
  }
  std::uint64_t skip8 = 0;
  ATOMIK_RETURN_IF_ERROR(r.get(&skip8, "magic"));
  std::uint32_t version = 0, flags = 0;
  ATOMIK_RETURN_IF_ERROR(r.get(&version, "version"));
  if (version != kVersion && version != kVersionV1) {
    return Status::unimplemented(
        "checkpoint " + std::string(name),
        "version " + std::to_string(version) + ", this build reads " +
            std::to_string(kVersionV1) + " and " + std::to_string(kVersion));
  }
  ATOMIK_RETURN_IF_ERROR(r.get(&flags, "flags"));
  if (flags != 0) return r.error("flags", "must be 0");
  std::uint64_t body_length = 0;
  ATOMIK_RETURN_IF_ERROR(r.get(&body_length, "body_length"));
  if (body_length != bytes.size() - kHeadSize - 8) {
    return r.error("body_length",
                   std::to_string(body_length) + " but the file holds " +
                       std::to_string(bytes.size() - kHeadSize - 8));
  }
  // From here the body alone (without the checksum) is read.
  Reader b(bytes.first(bytes.size() - 8), name);
  for (int i = 0; i < 3; ++i) ATOMIK_RETURN_IF_ERROR(b.get(&skip8, "head"));
  CheckpointData d;
  ATOMIK_RETURN_IF_ERROR(b.get(&d.epoch, "epoch"));
  ATOMIK_RETURN_IF_ERROR(b.get(&d.wal_first_segment, "wal_first_segment"));
  if (d.wal_first_segment == 0) return b.error("wal_first_segment", "is 0");
  ATOMIK_RETURN_IF_ERROR(b.get(&d.self_origin, "self_origin"));
  ATOMIK_RETURN_IF_ERROR(b.get(&d.self_seq, "self_seq"));
  std::uint8_t bits = 0, group = 0;
  std::uint16_t res16 = 0;
  std::uint32_t res32 = 0;
  ATOMIK_RETURN_IF_ERROR(b.get(&bits, "word_bits"));
  ATOMIK_RETURN_IF_ERROR(b.get(&group, "group"));
  d.shape =
      TableShape{.group = static_cast<TableGroup>(group), .word_bits = bits};
  if ((version == kVersionV1 &&
       (bits != kV1WordBits || group != kV1GroupXor)) ||
      !validate_shape(d.shape, "checkpoint").ok()) {
    return Status::unimplemented(
        "checkpoint " + std::string(name),
        "version " + std::to_string(version) + ": word_bits " +
            std::to_string(bits) + " group " + std::to_string(group) +
            (version == kVersionV1
                 ? ": version 1 holds 64-bit XOR tables only"
                 : ": this build reads word_bits 8..64, group 1 (xor) or "
                   "2 (add)"));
  }
  const std::uint64_t mask = d.shape.mask();
  ATOMIK_RETURN_IF_ERROR(b.get(&res16, "reserved"));
  ATOMIK_RETURN_IF_ERROR(b.get(&res32, "reserved2"));
  if (res16 != 0 || res32 != 0) return b.error("reserved", "must be 0");
  ATOMIK_RETURN_IF_ERROR(b.get(&d.num_contexts, "num_contexts"));
  if (d.num_contexts > (std::uint64_t{1} << 32)) {
    return b.error("num_contexts", "above 2^32");
  }

  std::uint64_t n = 0;
  ATOMIK_RETURN_IF_ERROR(b.get(&n, "state_count"));
  ATOMIK_RETURN_IF_ERROR(b.fits(n, 12, "state_count"));
  d.states.reserve(static_cast<std::size_t>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint32_t a = 0;
    std::uint64_t v = 0;
    ATOMIK_RETURN_IF_ERROR(b.get(&a, "state addr"));
    if (!d.states.empty() && a <= d.states.back().first) {
      return b.error("state addr", "addresses not strictly increasing");
    }
    if (d.num_contexts != 0 && a >= d.num_contexts) {
      return b.error("state addr", "address " + std::to_string(a) +
                                       " >= num_contexts " +
                                       std::to_string(d.num_contexts));
    }
    ATOMIK_RETURN_IF_ERROR(b.get(&v, "state value"));
    if (v == 0) return b.error("state value", "0 (identity is never stored)");
    if ((v & ~mask) != 0) {
      return b.error("state value", codec::hex64(v) + " exceeds word_bits " +
                                        std::to_string(bits));
    }
    d.states.emplace_back(a, v);
  }
  ATOMIK_RETURN_IF_ERROR(b.get(&n, "origin_count"));
  ATOMIK_RETURN_IF_ERROR(b.fits(n, 16, "origin_count"));
  for (std::uint64_t i = 0; i < n; ++i) {
    std::uint64_t o = 0, s = 0;
    ATOMIK_RETURN_IF_ERROR(b.get(&o, "origin"));
    if (!d.origins.empty() && o <= d.origins.back().first) {
      return b.error("origin", "origins not strictly increasing");
    }
    ATOMIK_RETURN_IF_ERROR(b.get(&s, "origin seq"));
    if (s == 0) return b.error("origin seq", "0");
    if (o == d.self_origin && s != d.self_seq) {
      return b.error("origin seq", "own origin's mark " + std::to_string(s) +
                                       " != self_seq " +
                                       std::to_string(d.self_seq));
    }
    d.origins.emplace_back(o, s);
  }
  ATOMIK_RETURN_IF_ERROR(b.get(&n, "undo_count"));
  ATOMIK_RETURN_IF_ERROR(b.fits(n, 16, "undo_count"));
  for (std::uint64_t i = 0; i < n; ++i) {
    UndoState u;
    std::uint32_t nu = 0, nr = 0;
    ATOMIK_RETURN_IF_ERROR(b.get(&u.addr, "undo addr"));
    if (!d.undo.empty() && u.addr <= d.undo.back().addr) {
      return b.error("undo addr", "addresses not strictly increasing");
    }
    ATOMIK_RETURN_IF_ERROR(b.get(&u.max_levels, "undo max_levels"));
    if (u.max_levels > kMaxUndoLevels) {
      return b.error("undo max_levels", "above 2^24");
    }
    ATOMIK_RETURN_IF_ERROR(b.get(&nu, "undo_n"));
    ATOMIK_RETURN_IF_ERROR(b.get(&nr, "redo_n"));
    if (std::uint64_t{nu} + nr > u.max_levels) {
      return b.error("undo_n", std::to_string(nu) + " + " + std::to_string(nr) +
                                   " levels exceed max_levels " +
                                   std::to_string(u.max_levels));
    }
    ATOMIK_RETURN_IF_ERROR(b.fits(std::uint64_t{nu} + nr, 8, "undo deltas"));
    u.undo.resize(nu);
    u.redo.resize(nr);
    for (auto& x : u.undo) ATOMIK_RETURN_IF_ERROR(b.get(&x, "undo delta"));
    for (auto& x : u.redo) ATOMIK_RETURN_IF_ERROR(b.get(&x, "redo delta"));
    for (const auto* deltas : {&u.undo, &u.redo}) {
      for (std::uint64_t x : *deltas) {
        if ((x & ~mask) != 0) {
          return b.error("undo delta", codec::hex64(x) + " exceeds word_bits " +
                                           std::to_string(bits));
        }
      }
    }
    d.undo.push_back(std::move(u));
  }
  if (b.left() != 0) {
    return b.error(
        "end", std::to_string(b.left()) + " bytes left after the last field");
  }
  return d;
}

Status write_checkpoint(FileSystem& fs, const std::string& dir,
                        const CheckpointData& data) {
  auto bytes = encode_checkpoint(data);
  if (!bytes.ok()) return bytes.status();
  const std::string tmp = dir + "/" + kCheckpointTempName;
  const std::string dst = dir + "/" + kCheckpointFileName;
  Status s;
  {
    auto f = fs.open_writable(tmp, /*truncate=*/true);
    if (!f.ok()) return f.status().with_context("write_checkpoint");
    s = (*f)->append(*bytes);
    if (s.ok()) s = (*f)->sync();
    const Status c = (*f)->close();
    if (s.ok()) s = c;
  }
  if (s.ok()) s = fs.rename(tmp, dst);
  if (!s.ok()) {
    (void)fs.remove(tmp);
    return s.with_context("write_checkpoint");
  }
  // After the rename the new checkpoint is in place; a failed directory sync
  // means it may not survive a power loss: report it.
  return fs.sync_dir(dir).with_context("write_checkpoint");
}

Result<CheckpointData> read_checkpoint(FileSystem& fs,
                                       const std::string& path) {
  auto bytes = fs.read_file(path);
  if (!bytes.ok()) return bytes.status();
  return decode_checkpoint(*bytes, path);
}

}  // namespace atomik
