// SPDX-License-Identifier: Apache-2.0
// atomik/fingerprint.hpp: Fingerprint and FingerprintGate, strong,
// position-aware, incremental change detection.
//
// A Fingerprint reduces a byte string to a 128-bit value that changes when
// any byte changes, when chunks are swapped or rotated, when the same bit
// flips in two chunks and when zeros are appended: the XOR over chunk index i
// of a keyed XXH3-128 hash of chunk i bound to i, plus the length
// (docs/format/fingerprint.md). It keeps the reference package's API
// (atomik_core.Fingerprint: load, update, changed, value, delta, width,
// reset, accumulate_delta) and adds update_range: rewriting bytes in place
// costs two chunk hashes per touched chunk, not a pass over the data.
//
//   atomik::Fingerprint fp;                     // 8 KiB chunks, unkeyed
//   fp.load(as_bytes(std::span(buf)));          // the reference
//   buf[100] ^= 1;
//   fp.update(as_bytes(std::span(buf)));
//   if (fp.changed()) act();
//
//   atomik::FingerprintGate gate;               // the seed's loop as a class
//   for (auto& s : samples) if (gate.check(s)) act(s);   // skips repeats
//
// A migration mode (Fingerprint::legacy(width)) reproduces the reference's
// XOR-fold value bit for bit; it is weak and exists only to compare against
// stored reference fingerprints.
//
// Differences from the reference, on purpose: the default mode is strong
// and 128-bit; reset() makes the current data the reference (the reference
// left value() at the old reference); accumulate_delta() exists only in the
// legacy mode (in the strong mode a chunk's contribution depends on its
// position: use update_range()).
//
// The key is not a MAC key: it stops an adversary who does not know it from
// building collisions cheaply, nothing more (see the format page).
//
// Thread safety: none for non-const calls (like std::vector); const calls
// may run concurrently. Only the string helpers and error paths allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "atomik/export.h"
#include "atomik/status.hpp"

namespace atomik {

// A 128-bit fingerprint value (high, low). Compare with ==; the canonical
// byte order is big-endian (high first), so to_hex() reads as the number.
// No ordering operators: fingerprints are for equality only.
struct ATOMIK_EXPORT FingerprintValue {
  std::uint64_t high = 0;
  std::uint64_t low = 0;

  bool is_zero() const noexcept { return (high | low) == 0; }
  // 32 lowercase hex digits, high first.
  std::string to_hex() const;

  friend bool operator==(const FingerprintValue&,
                         const FingerprintValue&) = default;
  friend FingerprintValue operator^(FingerprintValue a,
                                    FingerprintValue b) noexcept {
    return {a.high ^ b.high, a.low ^ b.low};
  }
};

// Written to disk/wire; never change or reuse. See docs/format/fingerprint.md.
enum class FingerprintMode : std::uint8_t {
  kChunkedXxh3 = 1,    // strong: XXH3-128 per chunk, bound to its index
  kLegacyXorFold = 2,  // weak: the reference's XOR-fold, for migration only
};

// Written to disk/wire; never change. See docs/format/fingerprint.md.
inline constexpr std::uint8_t kFingerprintFormatVersion = 1;
inline constexpr std::size_t kCanonicalFingerprintSize = 20;
inline constexpr std::size_t kDefaultFingerprintChunkSize = 8192;
inline constexpr std::size_t kMinFingerprintChunkSize = 64;
inline constexpr std::size_t kMaxFingerprintChunkSize = std::size_t{1} << 30;

using CanonicalFingerprint = std::array<std::byte, kCanonicalFingerprintSize>;

struct FingerprintOptions {
  FingerprintMode mode = FingerprintMode::kChunkedXxh3;
  // Strong mode: a power of two in [64, 2^30]. Larger chunks stream closer
  // to XXH3's speed; smaller ones make update_range cheaper.
  std::size_t chunk_size = kDefaultFingerprintChunkSize;
  // Strong mode: 0 = unkeyed. A fingerprint made with one key compares
  // equal only to fingerprints made with the same key. Not a MAC key.
  std::uint64_t key = 0;
  // Legacy mode only: a multiple of 8 in [8, 128], as the reference's width.
  unsigned width = 64;
};

// A canonical fingerprint taken apart (parse_canonical).
struct ParsedFingerprint {
  FingerprintMode mode = FingerprintMode::kChunkedXxh3;
  // Strong: the chunk size in bytes; legacy: the width in bits.
  std::uint64_t param = 0;
  bool keyed = false;
  FingerprintValue value;
};

class ATOMIK_EXPORT Fingerprint {
 public:
  // Strong mode, 8 KiB chunks, unkeyed; the fingerprint of empty data.
  Fingerprint() noexcept;

  // A fingerprint with `options`, holding the fingerprint of empty data as
  // both reference and current value. Fails with kInvalidArgument naming the
  // bad field (chunk size not a power of two or outside [64, 2^30]; width
  // not a multiple of 8 in [8, 128]; a key in legacy mode).
  static Result<Fingerprint> create(const FingerprintOptions& options);
  // The reference's XOR-fold, exactly: Fingerprint(width) in atomik_core.
  // Weak (see the header comment). kInvalidArgument for a bad width.
  static Result<Fingerprint> legacy(unsigned width = 64);

  // --- The reference's API ---------------------------------------------
  // Fingerprints `data` and makes it both the reference and the current
  // data (changed() is false after). Returns the value. O(data.size()).
  FingerprintValue load(std::span<const std::byte> data) noexcept;
  // Fingerprints `data` as the current data; the reference stays.
  // changed() tells whether it differs from the reference. Returns the
  // value of `data`. O(data.size()).
  FingerprintValue update(std::span<const std::byte> data) noexcept;
  // True if the current data's fingerprint differs from the reference's.
  bool changed() const noexcept { return !delta().is_zero(); }
  // The current data's fingerprint.
  FingerprintValue value() const noexcept { return raw_ ^ lterm_; }
  // The reference's fingerprint (set by load() or reset()).
  FingerprintValue reference() const noexcept { return reference_; }
  // reference() XOR value(): zero iff unchanged.
  FingerprintValue delta() const noexcept { return reference_ ^ value(); }
  // 128 in the strong mode; the legacy width otherwise.
  unsigned width() const noexcept;
  // Makes the current data the reference: changed() becomes false and
  // value() still describes the current data.
  void reset() noexcept { reference_ = value(); }
  // Legacy mode only, as the reference: the current value is XORed with
  // old_chunk ^ new_chunk (W-bit chunk values). kFailedPrecondition in the
  // strong mode (use update_range); kInvalidArgument if a value does not
  // fit in the width. Nothing changes on failure.
  Status accumulate_delta(FingerprintValue old_chunk,
                          FingerprintValue new_chunk);

  // --- Incremental updates (the data's length stays the same) ----------
  // The bytes [offset, offset + n) of the current data were old_bytes and
  // are now new_bytes (n = old_bytes.size()). Strong mode: the range must
  // cover whole chunks (offset a multiple of chunk_size(); n a multiple of
  // chunk_size() unless the range ends at length()), because a chunk's hash
  // needs all its bytes; legacy mode: any range. Afterwards value() equals a
  // full recompute over the edited data. Cost: two chunk hashes per chunk.
  // Errors, nothing changed: kInvalidArgument (sizes differ, misaligned
  // range), kOutOfRange (the range ends past length()).
  Status update_range(std::uint64_t offset,
                      std::span<const std::byte> old_bytes,
                      std::span<const std::byte> new_bytes);
  // The same for an edit made in place: `data_after` is the whole current
  // data after the edit (data_after.size() == length()) and old_bytes the
  // bytes that [offset, offset + old_bytes.size()) held before. Any offset
  // and size. Cost: two chunk hashes per touched chunk; no allocation.
  // Errors, nothing changed: kInvalidArgument (data_after.size() !=
  // length()), kOutOfRange (the range ends past length()).
  Status update_range_in_place(std::span<const std::byte> data_after,
                               std::uint64_t offset,
                               std::span<const std::byte> old_bytes);

  // --- Identity, canonical form ----------------------------------------
  // The length in bytes of the current data.
  std::uint64_t length() const noexcept { return length_; }
  FingerprintMode mode() const noexcept { return mode_; }
  // Strong mode: the chunk size; legacy: width / 8.
  std::size_t chunk_size() const noexcept;
  bool keyed() const noexcept { return key_ != 0; }
  // True if both have the same mode, parameters and key and their current
  // values are equal.
  bool equals(const Fingerprint& other) const noexcept;
  // The canonical 20 bytes of value() (docs/format/fingerprint.md).
  CanonicalFingerprint canonical() const noexcept;
  // The 40 hex digits of canonical().
  std::string canonical_hex() const;
  // Decodes a canonical fingerprint. kInvalidArgument for a size other than
  // 20; kUnimplemented for another version; kCorruption for a bad field.
  static Result<ParsedFingerprint> parse_canonical(
      std::span<const std::byte> bytes);
  // The same from 40 hex digits; kInvalidArgument names a bad character.
  static Result<ParsedFingerprint> parse_canonical_hex(std::string_view hex);

 private:
  Fingerprint(FingerprintMode mode, std::uint8_t param,
              std::uint64_t key) noexcept;
  // The raw per-mode state of `data` (strong: the chunk XOR; legacy: fold).
  FingerprintValue compute_raw(std::span<const std::byte> data) const noexcept;
  // L(length) of the format page (strong mode); zero in the legacy mode.
  FingerprintValue length_term(std::uint64_t length) const noexcept;

  FingerprintMode mode_ = FingerprintMode::kChunkedXxh3;
  std::uint8_t param_ = 13;  // strong: log2(chunk size); legacy: width / 8
  std::uint64_t key_ = 0;
  std::uint64_t length_ = 0;
  FingerprintValue raw_;    // strong: XOR of bound chunk hashes; legacy: fold
  FingerprintValue lterm_;  // length_term(length_), cached
  FingerprintValue reference_;  // a finished value
};

// The fingerprint of `data` with `options` in one call (the value a
// Fingerprint::load would return). kInvalidArgument for bad options.
ATOMIK_EXPORT Result<FingerprintValue> fingerprint(
    std::span<const std::byte> data, const FingerprintOptions& options = {});

// The seed's loop as a class: feed samples, learn whether each differs from
// the previous one, act only then. Keeps one fingerprint and three counters
// (O(1) bytes per watched stream, never a copy of the data).
//
//   atomik::FingerprintGate gate;
//   if (gate.check(sample)) publish(sample);   // else: skipped, counted
class ATOMIK_EXPORT FingerprintGate {
 public:
  FingerprintGate() noexcept = default;
  // kInvalidArgument for bad options (as Fingerprint::create).
  static Result<FingerprintGate> create(const FingerprintOptions& options);

  // Fingerprints `sample`; returns true (changed: act) if it is the first
  // sample or differs from the previous one, false (skip) otherwise. The
  // sample becomes the one the next call compares with. O(sample.size()),
  // no allocation.
  bool check(std::span<const std::byte> sample) noexcept;

  std::uint64_t checks() const noexcept { return checks_; }
  std::uint64_t changes() const noexcept { return changes_; }
  std::uint64_t skips() const noexcept { return checks_ - changes_; }
  // The last sample's fingerprint; nullopt before the first check.
  std::optional<FingerprintValue> last() const noexcept;
  // The fingerprint in use (mode, chunk size, canonical form of the last).
  const Fingerprint& fingerprint() const noexcept { return fp_; }

 private:
  explicit FingerprintGate(Fingerprint fp) noexcept : fp_(fp) {}
  Fingerprint fp_;
  std::uint64_t checks_ = 0;
  std::uint64_t changes_ = 0;
};

}  // namespace atomik
