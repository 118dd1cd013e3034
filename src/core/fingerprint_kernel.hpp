// SPDX-License-Identifier: Apache-2.0
// Private: the fingerprint kernels (docs/format/fingerprint.md), compiled
// three times from fingerprint_kernel_impl.inc (scalar, SSE2, AVX2) and
// chosen at run time. All kernels give the same bits; fingerprint_test
// checks it. Only plain types cross this interface, so the AVX2 translation
// unit shares no inline function with the rest of the program.
#pragma once

#include <cstddef>
#include <cstdint>

namespace atomik::core {

// Written to disk/wire; never change. See docs/format/fingerprint.md.
inline constexpr std::size_t kSecretSize = 192;
inline constexpr std::uint8_t kModeChunkedXxh3 = 1;
inline constexpr std::uint8_t kVersion = 1;

struct U128 {
  std::uint64_t hi;
  std::uint64_t lo;
};

// One piece of a chunk assembled from several buffers (update in place).
struct Piece {
  const unsigned char* data;
  std::size_t size;
};

struct Kernel {
  const char* name;  // "scalar", "sse2", "avx2"
  // XXH3's default secret (the secret of key 0), kSecretSize bytes.
  const unsigned char* default_secret;
  // XOR over the chunks of data[0, len) (chunk_size bytes each, the last
  // possibly shorter) of bind(XXH3_128bits_withSecret(chunk), index), the
  // first chunk having index first_index. {0, 0} for len == 0.
  U128(*chunk_xor)
  (const unsigned char* data, std::size_t len, std::size_t chunk_size,
   std::uint64_t first_index, const unsigned char* secret);
  // bind(XXH3_128(concatenation of pieces), index): one chunk in pieces.
  U128(*chunk_term_pieces)
  (const Piece* pieces, std::size_t count, std::uint64_t index,
   const unsigned char* secret);
  // L(n) for chunk size 2^chunk_log2.
  U128(*length_term)
  (std::uint64_t length, unsigned chunk_log2, const unsigned char* secret);
  // Plain XXH3_128bits(data, len), seed 0, compiled exactly as chunk_xor:
  // the baseline of bench/fingerprint_bench.cpp.
  U128 (*xxh3_128)(const void* data, std::size_t len);
};

// Each returns nullptr when its path is not compiled in (non-x86, or a
// compiler without the flag).
const Kernel* scalar_kernel() noexcept;
const Kernel* sse2_kernel() noexcept;
const Kernel* avx2_kernel() noexcept;

// The kernel in use: AVX2 if compiled in and the CPU has it, else SSE2,
// else scalar. ATOMIK_FINGERPRINT_KERNEL=scalar|sse2|avx2 in the
// environment forces one (ignored, with one stderr line, if unavailable).
const Kernel& active_kernel() noexcept;

// The 192-byte XXH3 secret for `key` (XXH3_generateSecret_fromSeed; key 0
// gives XXH3's default secret).
void make_secret(unsigned char* out, std::uint64_t key) noexcept;
// XXH3's default secret (the secret of key 0), kSecretSize bytes.
const unsigned char* default_secret() noexcept;

}  // namespace atomik::core
