// SPDX-License-Identifier: Apache-2.0
// The SSE2 fingerprint kernel (x86-64 baseline); absent elsewhere.
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 1  // XXH_SSE2
#define ATOMIK_FP_KERNEL_NAME "sse2"
#define ATOMIK_FP_KERNEL_FN sse2_kernel
#include "core/fingerprint_kernel_impl.inc"
#else
#include "core/fingerprint_kernel.hpp"
namespace atomik::core {
const Kernel* sse2_kernel() noexcept { return nullptr; }
}  // namespace atomik::core
#endif
