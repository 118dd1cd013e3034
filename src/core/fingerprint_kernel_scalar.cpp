// SPDX-License-Identifier: Apache-2.0
// The portable fingerprint kernel: xxHash's scalar code path.
#define XXH_VECTOR 0  // XXH_SCALAR
#define ATOMIK_FP_KERNEL_NAME "scalar"
#define ATOMIK_FP_KERNEL_FN scalar_kernel
#include "core/fingerprint_kernel_impl.inc"

namespace atomik::core {

void make_secret(unsigned char* out, std::uint64_t key) noexcept {
  XXH3_generateSecret_fromSeed(out, key);
}

const unsigned char* default_secret() noexcept { return XXH3_kSecret; }

}  // namespace atomik::core
