// SPDX-License-Identifier: Apache-2.0
// The AVX2 fingerprint kernel. This file alone is compiled with -mavx2
// (cmake/AtomikSources.cmake); active_kernel() calls it only after
// __builtin_cpu_supports("avx2"). Absent on other targets.
#if defined(__AVX2__)
#define XXH_VECTOR 2  // XXH_AVX2
#define ATOMIK_FP_KERNEL_NAME "avx2"
#include "core/fingerprint_kernel_impl.inc"

namespace atomik::core {
const Kernel* avx2_kernel() noexcept {
  static const Kernel k{ATOMIK_FP_KERNEL_NAME, XXH3_kSecret, chunk_xor,
                        chunk_term_pieces,     length_term,  xxh3_128};
  return &k;
}
}  // namespace atomik::core
#else
#include "core/fingerprint_kernel.hpp"
namespace atomik::core {
const Kernel* avx2_kernel() noexcept { return nullptr; }
}  // namespace atomik::core
#endif
