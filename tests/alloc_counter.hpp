// SPDX-License-Identifier: Apache-2.0
// alloc_counter.hpp: counts heap allocations by replacing malloc, calloc
// and realloc (glibc's __libc_* do the work), which also catches operator
// new (libstdc++ allocates through malloc). Used to show that a path
// allocates nothing. Include in exactly one file of an executable.
// Not available under sanitizers (they own malloc): kAllocCounterActive is
// false there and nothing is replaced.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace atomik::testing {

#if defined(ATOMIK_SANITIZED)
inline constexpr bool kAllocCounterActive = false;
#else
inline constexpr bool kAllocCounterActive = true;
#endif

inline std::atomic<std::uint64_t> g_alloc_count{0};
inline std::atomic<std::uint64_t> g_alloc_bytes{0};

// Heap allocations (malloc, calloc, realloc) so far, on any thread.
inline std::uint64_t alloc_count() {
  return g_alloc_count.load(std::memory_order_relaxed);
}
// Bytes those allocations asked for (realloc counts its new size whole).
inline std::uint64_t alloc_bytes() {
  return g_alloc_bytes.load(std::memory_order_relaxed);
}

}  // namespace atomik::testing

#if !defined(ATOMIK_SANITIZED)
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t n, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);

// NOLINTBEGIN: replacing the C allocator needs its exact C names.
void* malloc(std::size_t size) {
  atomik::testing::g_alloc_count.fetch_add(1, std::memory_order_relaxed);
  atomik::testing::g_alloc_bytes.fetch_add(size, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t n, std::size_t size) {
  atomik::testing::g_alloc_count.fetch_add(1, std::memory_order_relaxed);
  atomik::testing::g_alloc_bytes.fetch_add(n * size, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t size) {
  atomik::testing::g_alloc_count.fetch_add(1, std::memory_order_relaxed);
  atomik::testing::g_alloc_bytes.fetch_add(size, std::memory_order_relaxed);
  return __libc_realloc(p, size);
}
// NOLINTEND
}
#endif
