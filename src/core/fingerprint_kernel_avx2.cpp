// SPDX-License-Identifier: Apache-2.0
// The AVX2 fingerprint kernel. This file alone is compiled with -mavx2
// (cmake/AtomikSources.cmake); active_kernel() calls it only after
// __builtin_cpu_supports("avx2"). Absent on other targets.
#if defined(__AVX2__)
#define XXH_VECTOR 2  // XXH_AVX2
#define ATOMIK_FP_KERNEL_NAME "avx2"
#define ATOMIK_FP_KERNEL_FN avx2_kernel
#include "core/fingerprint_kernel_impl.inc"
#else
#include "core/fingerprint_kernel.hpp"
namespace atomik::core {
const Kernel* avx2_kernel() noexcept { return nullptr; }
}  // namespace atomik::core
#endif
