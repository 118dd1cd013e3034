// SPDX-License-Identifier: Apache-2.0
// detail::advise_huge_pages (atomik/table.hpp): the huge-page hint for dense
// tables.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

#include "atomik/table.hpp"

namespace atomik::detail {

void advise_huge_pages(void* p, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  if (p == nullptr || bytes < 2 * kHuge) return;
  // Only whole 2 MiB pages inside the range (the allocation owns them).
  const std::size_t head =
      (kHuge - reinterpret_cast<std::uintptr_t>(p) % kHuge) % kHuge;
  const std::size_t len = (bytes - head) & ~(kHuge - 1);
  if (len == 0) return;
  // A hint: where huge pages are off or unsupported the call fails and the
  // table works as before on 4 KiB pages, so the result is not checked.
  (void)::madvise(static_cast<char*>(p) + head, len, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace atomik::detail
