// SPDX-License-Identifier: Apache-2.0
// atomik/fan_in_cell.hpp: the writer side of the epoch protocol shared by
// ConcurrentContext and SharedContext (internal; namespace atomik::detail).
//
// A cell belongs to one writer. It holds two slots, one per epoch parity,
// and an announcement word `busy` that is 1 while an accum is in flight. A
// writer announces itself (busy = 1), reads the global epoch, folds its delta
// into the slot of that epoch's parity and clears the announcement. A
// closer (read/swap/load) advances the epoch, issues an asymmetric fence and
// waits until every announcement it saw is cleared, after which the slots of
// the old parity are final. The argument is in docs/design.md ("Consistent
// cuts").
//
// Writers cost two extra stores to their own cache line and one load of a
// read-mostly line: no lock and no read-modify-write. Whether the
// announcement needs a real fence depends on the process:
//   - with membarrier (Linux >= 4.14) the closer makes every writer's
//     program order visible with one system call, and writers need only a
//     compiler barrier;
//   - without it, or in a ThreadSanitizer build (TSan cannot see what
//     membarrier orders), writers use sequentially consistent accesses,
//     which cost one locked instruction on x86 but are correct everywhere.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "atomik/export.h"

namespace atomik::detail {

// True if writers in this process may use a compiler barrier only, because
// closers in this process issue MEMBARRIER_CMD_PRIVATE_EXPEDITED. Registers
// the process on first use (again after fork). False under TSan or when the
// kernel lacks the command. Thread-safe.
ATOMIK_EXPORT bool private_membarrier_ready() noexcept;
// The closer's half for in-process writers: membarrier when
// private_membarrier_ready(), else a seq_cst fence. Aborts with a message if
// a registered membarrier fails (the kernel guarantees it does not).
ATOMIK_EXPORT void private_asymmetric_fence() noexcept;
// As above across processes: registers this process for
// MEMBARRIER_CMD_GLOBAL_EXPEDITED so that closers in other processes can
// order its writers. False under TSan or without kernel support.
ATOMIK_EXPORT bool global_membarrier_ready() noexcept;
// True if the kernel supports MEMBARRIER_CMD_GLOBAL_EXPEDITED (a closer must
// issue it whenever some writer may rely on it, whatever its own build).
ATOMIK_EXPORT bool global_membarrier_supported() noexcept;
// Issues MEMBARRIER_CMD_GLOBAL_EXPEDITED when supported, else a seq_cst fence.
ATOMIK_EXPORT void global_asymmetric_fence() noexcept;

// Folds `delta` (`n` deltas) into one writer's cell: `busy` is the cell's
// announcement word (1 while an accum is in flight), `value`/`count` its two
// slots (index = epoch parity). Only the cell's owner thread calls this.
// Wait-free: no loop, no read-modify-write; every store is of a constant or
// to a fixed slot, so no store-to-load chain runs through the announcement.
// Returns false, changing nothing, when the cell is already mid-accum on
// this thread (a signal handler interrupted an accum): the caller must then
// use its shared fallback path.
template <typename V, typename Combine>
inline bool epoch_cell_add(std::atomic<std::uint32_t>& busy,
                           std::atomic<V>* value,
                           std::atomic<std::uint64_t>* count,
                           const std::atomic<std::uint64_t>& epoch, bool fenced,
                           V delta, std::uint64_t n, Combine combine) noexcept {
  if (busy.load(std::memory_order_relaxed) != 0) [[unlikely]] {
    return false;
  }
  std::uint64_t e = 0;
  if (fenced) {
    // Store-load order by the C++ model: the closer stores the epoch and
    // loads `busy` with seq_cst too.
    busy.store(1, std::memory_order_seq_cst);
    e = epoch.load(std::memory_order_seq_cst);
  } else {
    // Only the compiler may not reorder; the closer's membarrier orders the
    // CPU (it acts as a full fence at some point of this thread's program).
    busy.store(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
    e = epoch.load(std::memory_order_relaxed);
  }
  // Two fixed-address paths rather than value[e & 1]: the branch is
  // predicted (the parity changes once per closing call) and fixed
  // addresses keep the load after the previous store cheap.
  auto add = [&](std::atomic<V>& v, std::atomic<std::uint64_t>& k) {
    v.store(combine(v.load(std::memory_order_relaxed), delta),
            std::memory_order_relaxed);
    k.store(k.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  };
  if ((e & 1U) == 0) {
    add(value[0], count[0]);
  } else {
    add(value[1], count[1]);
  }
  busy.store(0, std::memory_order_release);
  return true;
}

}  // namespace atomik::detail
