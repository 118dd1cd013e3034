// SPDX-License-Identifier: Apache-2.0
// Fingerprint and FingerprintGate (include/atomik/fingerprint.hpp). The
// hashing runs in one of the kernels of fingerprint_kernel.hpp; this file
// validates, dispatches and keeps the state. Construction and canonical
// form: docs/format/fingerprint.md.
#include "atomik/fingerprint.hpp"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "atomik/log.hpp"
#include "atomik/word.hpp"
#include "core/fingerprint_kernel.hpp"

namespace atomik {
namespace fp = core;

namespace core {

namespace {
// Picks the kernel once; out of line so that active_kernel() inlines.
[[gnu::noinline]] const Kernel* choose_kernel() noexcept {
  const Kernel* best = scalar_kernel();
  if (const Kernel* k = sse2_kernel(); k != nullptr) best = k;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (const Kernel* k = avx2_kernel();
      k != nullptr && __builtin_cpu_supports("avx2")) {
    best = k;
  }
#endif
  // Read once, inside this static initialiser (thread-safe in C++11+).
  // NOLINTNEXTLINE(concurrency-mt-unsafe): nothing here calls setenv.
  if (const char* env = std::getenv("ATOMIK_FINGERPRINT_KERNEL");
      env != nullptr && *env != '\0') {
    const Kernel* forced = nullptr;
    const std::string want(env);
    if (want == "scalar") forced = scalar_kernel();
    if (want == "sse2") forced = sse2_kernel();
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (want == "avx2" && __builtin_cpu_supports("avx2")) {
      forced = avx2_kernel();
    }
#endif
    if (forced != nullptr) {
      best = forced;
    } else {
      log(LogLevel::kWarn, "fingerprint",
          std::string("ATOMIK_FINGERPRINT_KERNEL=") + env +
              " is not available here; using " + best->name);
    }
  }
  return best;
}
}  // namespace

const Kernel& active_kernel() noexcept {
  static const Kernel* const chosen = choose_kernel();
  return *chosen;
}

}  // namespace core

namespace {

constexpr std::uint8_t kModeStrong =
    static_cast<std::uint8_t>(FingerprintMode::kChunkedXxh3);
constexpr std::uint8_t kModeLegacy =
    static_cast<std::uint8_t>(FingerprintMode::kLegacyXorFold);
constexpr std::uint8_t kDefaultChunkLog2 = 13;  // 8 KiB
static_assert(std::size_t{1} << kDefaultChunkLog2 ==
              kDefaultFingerprintChunkSize);

// The XXH3 secret for a key: XXH3's default for key 0 (no work), else
// derived into `buf` (about 10 ns).
struct Secret {
  alignas(64) unsigned char buf[fp::kSecretSize] = {};
  const unsigned char* ptr = nullptr;
  explicit Secret(std::uint64_t key) noexcept {
    if (key == 0) {
      ptr = fp::default_secret();
    } else {
      fp::make_secret(buf, key);
      ptr = buf;
    }
  }
};

const unsigned char* bytes_of(std::span<const std::byte> s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

FingerprintValue to_value(fp::U128 v) noexcept { return {v.hi, v.lo}; }

// kOutOfRange unless [offset, offset + n) lies within `length` bytes.
Status check_range(const char* ctx, std::uint64_t offset, std::uint64_t n,
                   std::uint64_t length) {
  if (offset > length || n > length - offset) {
    return Status::out_of_range(
        ctx, "range at offset " + std::to_string(offset) + " of " +
                 std::to_string(n) + " bytes ends past the data length " +
                 std::to_string(length));
  }
  return Status();
}

// XORs `data` into the W/8 little-endian lanes of the legacy fold as if it
// sat at byte `offset` of the data: byte k lands in lane (offset + k) mod
// (W/8). Returns the lanes as a 128-bit value (lane j = bits 8j..8j+7).
FingerprintValue legacy_fold(std::span<const std::byte> data,
                             std::uint64_t offset,
                             unsigned width_bytes) noexcept {
  unsigned char lanes[16] = {};
  const unsigned char* p = bytes_of(data);
  std::size_t n = data.size();
  auto lane = static_cast<std::size_t>(offset % width_bytes);
  // Bytes until the lanes are aligned.
  while (n > 0 && lane != 0) {
    lanes[lane] ^= *p++;
    --n;
    lane = (lane + 1) % width_bytes;
  }
  if (width_bytes == 8 || width_bytes == 16) {
    // Whole 8-byte words: the 64-bit reference's common case, vectorised.
    std::uint64_t w[2] = {0, 0};
    std::size_t i = 0;
    const std::size_t step = width_bytes;
    for (; n - i >= step; i += step) {
      std::uint64_t a = 0;
      std::memcpy(&a, p + i, 8);
      w[0] ^= a;
      if (step == 16) {
        std::uint64_t b = 0;
        std::memcpy(&b, p + i + 8, 8);
        w[1] ^= b;
      }
    }
    if constexpr (std::endian::native != std::endian::little) {
      w[0] = __builtin_bswap64(w[0]);
      w[1] = __builtin_bswap64(w[1]);
    }
    for (unsigned j = 0; j < 8; ++j) {
      lanes[j] ^= static_cast<unsigned char>(w[0] >> (8 * j));
      lanes[8 + j] ^= static_cast<unsigned char>(w[1] >> (8 * j));
    }
    p += i;
    n -= i;
  }
  for (std::size_t k = 0; k < n; ++k) {
    lanes[lane] ^= p[k];
    lane = (lane + 1) % width_bytes;
  }
  FingerprintValue v;
  for (unsigned j = 0; j < 8; ++j) {
    v.low |= std::uint64_t{lanes[j]} << (8 * j);
    v.high |= std::uint64_t{lanes[8 + j]} << (8 * j);
  }
  return v;
}

bool fits_width(FingerprintValue v, unsigned width_bits) noexcept {
  if (width_bits >= 128) return true;
  if (width_bits > 64) return (v.high >> (width_bits - 64)) == 0;
  if (v.high != 0) return false;
  return width_bits == 64 || (v.low >> width_bits) == 0;
}

// Status from a message held in a std::string. (cppcheck 2.10 reports the
// factories' string_view parameter as a dangling view when the message is a
// local; they copy it. This keeps the check usable without suppressions.)
Status make_status(Code code, const char* context, const std::string& detail) {
  return code == Code::kCorruption ? Status::corruption(context, detail)
                                   : Status::invalid_argument(context, detail);
}

Status validate(const FingerprintOptions& o) {
  if (o.mode == FingerprintMode::kChunkedXxh3) {
    if (!std::has_single_bit(o.chunk_size) ||
        o.chunk_size < kMinFingerprintChunkSize ||
        o.chunk_size > kMaxFingerprintChunkSize) {
      return Status::invalid_argument(
          "Fingerprint::create", "chunk_size " + std::to_string(o.chunk_size) +
                                     " must be a power of two in [64, 2^30]");
    }
    return Status();
  }
  if (o.mode == FingerprintMode::kLegacyXorFold) {
    if (o.width < 8 || o.width > 128 || o.width % 8 != 0) {
      return Status::invalid_argument(
          "Fingerprint::create", "legacy width " + std::to_string(o.width) +
                                     " must be a multiple of 8 in [8, 128]");
    }
    if (o.key != 0) {
      return Status::invalid_argument(
          "Fingerprint::create",
          "the legacy XOR-fold mode takes no key (got a non-zero key)");
    }
    return Status();
  }
  return Status::invalid_argument(
      "Fingerprint::create",
      "unknown mode " + std::to_string(static_cast<int>(o.mode)));
}

}  // namespace

std::string FingerprintValue::to_hex() const {
  // 32 digits, high half first, without to_hex's "0x".
  return atomik::to_hex(Word128{low, high}).substr(2);
}

// --- Fingerprint --------------------------------------------------------

Fingerprint::Fingerprint() noexcept
    : Fingerprint(FingerprintMode::kChunkedXxh3, kDefaultChunkLog2, 0) {}

Fingerprint::Fingerprint(FingerprintMode mode, std::uint8_t param,
                         std::uint64_t key) noexcept
    : mode_(mode), param_(param), key_(key) {
  lterm_ = length_term(0);
  reference_ = value();
}

Result<Fingerprint> Fingerprint::create(const FingerprintOptions& options) {
  ATOMIK_RETURN_IF_ERROR(validate(options));
  if (options.mode == FingerprintMode::kLegacyXorFold) {
    return Fingerprint(options.mode,
                       static_cast<std::uint8_t>(options.width / 8), 0);
  }
  return Fingerprint(
      options.mode,
      static_cast<std::uint8_t>(std::countr_zero(options.chunk_size)),
      options.key);
}

Result<Fingerprint> Fingerprint::legacy(unsigned width) {
  FingerprintOptions o;
  o.mode = FingerprintMode::kLegacyXorFold;
  o.width = width;
  return create(o);
}

std::size_t Fingerprint::chunk_size() const noexcept {
  return mode_ == FingerprintMode::kChunkedXxh3 ? std::size_t{1} << param_
                                                : std::size_t{param_};
}

unsigned Fingerprint::width() const noexcept {
  return mode_ == FingerprintMode::kChunkedXxh3 ? 128u : 8u * param_;
}

FingerprintValue Fingerprint::length_term(std::uint64_t length) const noexcept {
  if (mode_ != FingerprintMode::kChunkedXxh3) return {};
  const Secret s(key_);
  return to_value(fp::active_kernel().length_term(length, param_, s.ptr));
}

FingerprintValue Fingerprint::compute_raw(
    std::span<const std::byte> data) const noexcept {
  if (mode_ == FingerprintMode::kLegacyXorFold) {
    return legacy_fold(data, 0, param_);
  }
  // The hot path of a full fingerprint: one kernel call, no other calls
  // when unkeyed (the per-call cost shows at 1 KiB).
  const fp::Kernel& k = fp::active_kernel();
  alignas(64) unsigned char buf[fp::kSecretSize];
  const unsigned char* secret = k.default_secret;
  if (key_ != 0) {
    fp::make_secret(buf, key_);
    secret = buf;
  }
  return to_value(k.chunk_xor(bytes_of(data), data.size(),
                              std::size_t{1} << param_, 0, secret));
}

FingerprintValue Fingerprint::load(std::span<const std::byte> data) noexcept {
  const FingerprintValue v = update(data);
  reference_ = v;
  return v;
}

FingerprintValue Fingerprint::update(std::span<const std::byte> data) noexcept {
  FingerprintValue raw;
  if (mode_ == FingerprintMode::kChunkedXxh3 && key_ == 0) [[likely]] {
    // The hot path (unkeyed): one kernel call, nothing else.
    const fp::Kernel& k = fp::active_kernel();
    raw = to_value(k.chunk_xor(bytes_of(data), data.size(),
                               std::size_t{1} << param_, 0, k.default_secret));
  } else {
    raw = compute_raw(data);
  }
  if (length_ != data.size()) lterm_ = length_term(data.size());
  raw_ = raw;
  length_ = data.size();
  return raw ^ lterm_;  // not value(): no reload of what was just stored
}

Status Fingerprint::accumulate_delta(FingerprintValue old_chunk,
                                     FingerprintValue new_chunk) {
  if (mode_ != FingerprintMode::kLegacyXorFold) {
    return Status::failed_precondition(
        "Fingerprint::accumulate_delta",
        "only the legacy XOR-fold mode has position-free chunk deltas; use "
        "update_range");
  }
  for (const FingerprintValue& v : {old_chunk, new_chunk}) {
    if (!fits_width(v, width())) {
      const std::string detail = "chunk value 0x" + v.to_hex() +
                                 " does not fit in " + std::to_string(width()) +
                                 " bits";
      return make_status(Code::kInvalidArgument,
                         "Fingerprint::accumulate_delta", detail);
    }
  }
  raw_ = raw_ ^ old_chunk ^ new_chunk;
  return Status();
}

Status Fingerprint::update_range(std::uint64_t offset,
                                 std::span<const std::byte> old_bytes,
                                 std::span<const std::byte> new_bytes) {
  const char* ctx = "Fingerprint::update_range";
  if (old_bytes.size() != new_bytes.size()) {
    return Status::invalid_argument(
        ctx, "old_bytes has " + std::to_string(old_bytes.size()) +
                 " bytes, new_bytes has " + std::to_string(new_bytes.size()) +
                 " (an in-place edit keeps the length; use update() for a "
                 "new length)");
  }
  const std::uint64_t n = old_bytes.size();
  ATOMIK_RETURN_IF_ERROR(check_range(ctx, offset, n, length_));
  if (n == 0) return Status();
  if (mode_ == FingerprintMode::kLegacyXorFold) {
    raw_ = raw_ ^ legacy_fold(old_bytes, offset, param_) ^
           legacy_fold(new_bytes, offset, param_);
    return Status();
  }
  const std::uint64_t cs = chunk_size();
  if (offset % cs != 0) {
    return Status::invalid_argument(
        ctx, "offset " + std::to_string(offset) +
                 " is not a multiple of chunk_size " + std::to_string(cs) +
                 " (pass whole chunks, or use update_range_in_place)");
  }
  if (n % cs != 0 && offset + n != length_) {
    return Status::invalid_argument(
        ctx, "range of " + std::to_string(n) + " bytes at offset " +
                 std::to_string(offset) + " ends inside a chunk (chunk_size " +
                 std::to_string(cs) + ", data length " +
                 std::to_string(length_) +
                 "); pass whole chunks, or use update_range_in_place");
  }
  const Secret s(key_);
  const fp::Kernel& k = fp::active_kernel();
  const std::uint64_t first = offset / cs;
  const fp::U128 a = k.chunk_xor(bytes_of(old_bytes), old_bytes.size(),
                                 chunk_size(), first, s.ptr);
  const fp::U128 b = k.chunk_xor(bytes_of(new_bytes), new_bytes.size(),
                                 chunk_size(), first, s.ptr);
  raw_ = raw_ ^ to_value(a) ^ to_value(b);
  return Status();
}

Status Fingerprint::update_range_in_place(
    std::span<const std::byte> data_after, std::uint64_t offset,
    std::span<const std::byte> old_bytes) {
  const char* ctx = "Fingerprint::update_range_in_place";
  if (data_after.size() != length_) {
    return Status::invalid_argument(
        ctx, "data_after has " + std::to_string(data_after.size()) +
                 " bytes, the fingerprinted data has " +
                 std::to_string(length_) +
                 " (an in-place edit keeps the length; use update())");
  }
  const std::uint64_t n = old_bytes.size();
  ATOMIK_RETURN_IF_ERROR(check_range(ctx, offset, n, length_));
  if (n == 0) return Status();
  if (mode_ == FingerprintMode::kLegacyXorFold) {
    raw_ = raw_ ^ legacy_fold(old_bytes, offset, param_) ^
           legacy_fold(data_after.subspan(offset, n), offset, param_);
    return Status();
  }
  const Secret s(key_);
  const fp::Kernel& k = fp::active_kernel();
  const std::uint64_t cs = chunk_size();
  const unsigned char* after = bytes_of(data_after);
  const unsigned char* old = bytes_of(old_bytes);
  const std::uint64_t end = offset + n;
  FingerprintValue delta;
  for (std::uint64_t c = offset / cs; c <= (end - 1) / cs; ++c) {
    const std::uint64_t c_begin = c * cs;
    const std::uint64_t c_end = std::min(c_begin + cs, length_);
    const std::uint64_t e_begin = std::max(c_begin, offset);
    const std::uint64_t e_end = std::min(c_end, end);
    // New chunk: straight from data_after.
    delta = delta ^ to_value(k.chunk_xor(after + c_begin, c_end - c_begin, cs,
                                         c, s.ptr));
    // Old chunk: data_after around the edit, old_bytes inside it.
    const fp::Piece pieces[3] = {
        {after + c_begin, e_begin - c_begin},
        {old + (e_begin - offset), e_end - e_begin},
        {after + e_end, c_end - e_end},
    };
    delta = delta ^ to_value(k.chunk_term_pieces(pieces, 3, c, s.ptr));
  }
  raw_ = raw_ ^ delta;
  return Status();
}

bool Fingerprint::equals(const Fingerprint& other) const noexcept {
  return mode_ == other.mode_ && param_ == other.param_ && key_ == other.key_ &&
         value() == other.value();
}

CanonicalFingerprint Fingerprint::canonical() const noexcept {
  CanonicalFingerprint out{};
  out[0] = std::byte{kFingerprintFormatVersion};
  out[1] = static_cast<std::byte>(mode_);
  out[2] = std::byte{param_};
  out[3] = std::byte{static_cast<std::uint8_t>(key_ != 0 ? 1 : 0)};
  const FingerprintValue v = value();
  for (unsigned i = 0; i < 8; ++i) {
    out[4 + i] = static_cast<std::byte>(v.high >> (56 - 8 * i));
    out[12 + i] = static_cast<std::byte>(v.low >> (56 - 8 * i));
  }
  return out;
}

std::string Fingerprint::canonical_hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * kCanonicalFingerprintSize);
  for (std::byte b : canonical()) {
    const auto u = std::to_integer<unsigned>(b);
    s.push_back(kDigits[u >> 4]);
    s.push_back(kDigits[u & 15]);
  }
  return s;
}

Result<ParsedFingerprint> Fingerprint::parse_canonical(
    std::span<const std::byte> bytes) {
  const char* ctx = "Fingerprint::parse_canonical";
  if (bytes.size() != kCanonicalFingerprintSize) {
    return Status::invalid_argument(
        ctx, "expected " + std::to_string(kCanonicalFingerprintSize) +
                 " bytes, got " + std::to_string(bytes.size()));
  }
  const auto at = [&](std::size_t i) {
    return std::to_integer<std::uint8_t>(bytes[i]);
  };
  if (at(0) != kFingerprintFormatVersion) {
    return Status::unimplemented(ctx,
                                 "byte 0: version " + std::to_string(at(0)) +
                                     ", this build reads " +
                                     std::to_string(kFingerprintFormatVersion));
  }
  ParsedFingerprint p;
  for (unsigned i = 0; i < 8; ++i) {
    p.value.high = (p.value.high << 8) | at(4 + i);
    p.value.low = (p.value.low << 8) | at(12 + i);
  }
  const std::uint8_t mode = at(1);
  const std::uint8_t param = at(2);
  const std::uint8_t flags = at(3);
  if (mode == kModeStrong) {
    if (param < 6 || param > 30) {
      return Status::corruption(ctx, "byte 2: log2(chunk size) " +
                                         std::to_string(param) +
                                         ", expected 6..30");
    }
    if (flags > 1) {
      const std::string detail = "byte 3: flags " + atomik::to_hex(flags) +
                                 ", expected 0 or 1 (bit 0 = keyed)";
      return make_status(Code::kCorruption, ctx, detail);
    }
    p.mode = FingerprintMode::kChunkedXxh3;
    p.param = std::uint64_t{1} << param;
    p.keyed = flags == 1;
    return p;
  }
  if (mode == kModeLegacy) {
    if (param < 1 || param > 16) {
      return Status::corruption(ctx, "byte 2: legacy width " +
                                         std::to_string(param) +
                                         " bytes, expected 1..16");
    }
    if (flags != 0) {
      const std::string detail = "byte 3: flags " + atomik::to_hex(flags) +
                                 ", expected 0 in the legacy mode";
      return make_status(Code::kCorruption, ctx, detail);
    }
    if (!fits_width(p.value, 8u * param)) {
      const std::string detail = "value 0x" + p.value.to_hex() +
                                 " does not fit in width " +
                                 std::to_string(8u * param) + " bits";
      return make_status(Code::kCorruption, ctx, detail);
    }
    p.mode = FingerprintMode::kLegacyXorFold;
    p.param = std::uint64_t{8} * param;
    return p;
  }
  return Status::corruption(ctx, "byte 1: mode " + std::to_string(mode) +
                                     ", expected 1 (chunked XXH3) or 2 "
                                     "(legacy XOR-fold)");
}

Result<ParsedFingerprint> Fingerprint::parse_canonical_hex(
    std::string_view hex) {
  const char* ctx = "Fingerprint::parse_canonical_hex";
  if (hex.size() != 2 * kCanonicalFingerprintSize) {
    return Status::invalid_argument(
        ctx, "expected " + std::to_string(2 * kCanonicalFingerprintSize) +
                 " hex digits, got " + std::to_string(hex.size()));
  }
  CanonicalFingerprint bytes{};
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    unsigned d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return Status::invalid_argument(
          ctx, "character " + std::to_string(i) + " is not a hex digit");
    }
    const auto cur = std::to_integer<unsigned>(bytes[i / 2]);
    bytes[i / 2] = static_cast<std::byte>(i % 2 == 0 ? d << 4 : cur | d);
  }
  return parse_canonical(bytes);
}

Result<FingerprintValue> fingerprint(std::span<const std::byte> data,
                                     const FingerprintOptions& options) {
  Result<Fingerprint> fp = Fingerprint::create(options);
  if (!fp.ok()) return fp.status();
  return fp->load(data);
}

// --- FingerprintGate ----------------------------------------------------

Result<FingerprintGate> FingerprintGate::create(
    const FingerprintOptions& options) {
  Result<Fingerprint> fp = Fingerprint::create(options);
  if (!fp.ok()) return fp.status();
  return FingerprintGate(*fp);
}

bool FingerprintGate::check(std::span<const std::byte> sample) noexcept {
  const bool first = checks_ == 0;
  fp_.update(sample);
  const bool changed = first || fp_.changed();
  fp_.reset();  // this sample is what the next one is compared with
  ++checks_;
  if (changed) ++changes_;
  return changed;
}

std::optional<FingerprintValue> FingerprintGate::last() const noexcept {
  if (checks_ == 0) return std::nullopt;
  return fp_.value();
}

}  // namespace atomik
