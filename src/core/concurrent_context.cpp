// SPDX-License-Identifier: Apache-2.0
// Thread-local cell registrations for ConcurrentContext, and the closer's
// half of the fan-in epoch protocol (atomik/fan_in_cell.hpp): membarrier
// registration and the asymmetric fence.
//
// A thread's registrations live in a thread-local list. When the thread
// exits, each cell is returned to its context, but only if that context is
// still alive: the set of live context ids is guarded by one mutex, which is
// taken only at registration, thread exit and context destruction, never on
// the accum path. After the list is destroyed, the thread's cache
// (tls_last_cell) is cleared and a flag routes any later accum (from another
// thread_local's destructor) to the context's shared cell, so no returned
// cell is written and no destroyed list is read.
#include "atomik/concurrent_context.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_set>
#include <vector>

#if defined(__SANITIZE_THREAD__)
#define ATOMIK_FAN_IN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ATOMIK_FAN_IN_TSAN 1
#endif
#endif

namespace atomik::detail {
namespace {

std::mutex& live_mu() {
  static std::mutex mu;
  return mu;
}
std::unordered_set<std::uint64_t>& live_ids() {
  static std::unordered_set<std::uint64_t> ids;
  return ids;
}

// Set once this thread's registrations are destroyed (thread exit).
// Constant-initialised, so readable from any later destructor.
thread_local bool tls_cells_gone = false;

struct ThreadCells {
  std::vector<ThreadCell> cells;
  ThreadCells() = default;
  ThreadCells(const ThreadCells&) = delete;
  ThreadCells& operator=(const ThreadCells&) = delete;
  ~ThreadCells() {
    tls_cells_gone = true;
    tls_last_cell = ThreadCell{};
    std::lock_guard<std::mutex> lock(live_mu());
    for (const ThreadCell& c : cells) {
      if (c.claimed != nullptr && live_ids().contains(c.context_id)) {
        c.claimed->store(0, std::memory_order_release);
      }
    }
  }
};

ThreadCells& thread_cells() {
  thread_local ThreadCells cells;
  return cells;
}

long membarrier(int cmd) noexcept {
  return ::syscall(SYS_membarrier, cmd, 0, 0);
}

// The commands the kernel supports (MEMBARRIER_CMD_QUERY), 0 if none.
long membarrier_commands() noexcept {
  static const long commands = [] {
    const long r = membarrier(MEMBARRIER_CMD_QUERY);
    return r < 0 ? 0L : r;
  }();
  return commands;
}

constexpr bool kTsan =
#if defined(ATOMIK_FAN_IN_TSAN)
    true;
#else
    false;
#endif

// Registers `cmd` for this process once per pid (a forked child is a new
// process and must register again). Returns false if registration failed.
bool register_once(std::atomic<pid_t>& registered_pid, int cmd) noexcept {
  const pid_t me = ::getpid();
  if (registered_pid.load(std::memory_order_acquire) == me) return true;
  if (membarrier(cmd) != 0) return false;
  registered_pid.store(me, std::memory_order_release);
  return true;
}

std::atomic<pid_t> g_private_pid{0};
std::atomic<pid_t> g_global_pid{0};

[[noreturn]] void fence_failed(const char* what) noexcept {
  std::fprintf(stderr,
               "atomik: %s failed (errno %d) after registration succeeded; "
               "fan-in writers rely on it, stopping\n",
               what, errno);
  std::abort();
}

}  // namespace

bool private_membarrier_ready() noexcept {
  if (kTsan) return false;
  if ((membarrier_commands() & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return false;
  }
  return register_once(g_private_pid,
                       MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
}

void private_asymmetric_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (kTsan ||
      (membarrier_commands() & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) {
    return;  // writers of this process are fenced
  }
  // A forked child inherits contexts whose writers skip the fence but not
  // the registration: register (once per pid) before the first barrier.
  if (!register_once(g_private_pid,
                     MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) ||
      membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
    fence_failed("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)");
  }
}

bool global_membarrier_supported() noexcept {
  return (membarrier_commands() & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0;
}

bool global_membarrier_ready() noexcept {
  if (kTsan || !global_membarrier_supported()) return false;
  return register_once(g_global_pid, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
}

void global_asymmetric_fence() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!global_membarrier_supported()) return;  // every writer is fenced
  if (membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0) {
    fence_failed("membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)");
  }
}

std::uint64_t next_context_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

bool find_thread_cell(std::uint64_t context_id, ThreadCell* out) {
  if (tls_cells_gone) {
    *out = ThreadCell{context_id, nullptr, nullptr};
    return true;
  }
  auto& cells = thread_cells().cells;
  auto it = std::find_if(cells.begin(), cells.end(), [&](const ThreadCell& c) {
    return c.context_id == context_id;
  });
  if (it == cells.end()) return false;
  *out = *it;
  if (it->cell != nullptr) tls_last_cell = *it;
  return true;
}

void remember_thread_cell(const ThreadCell& cell) {
  auto& cells = thread_cells().cells;
  // Forget registrations of contexts that no longer exist, so a long-lived
  // thread touching many short-lived contexts keeps a short list.
  {
    std::lock_guard<std::mutex> lock(live_mu());
    std::erase_if(cells, [](const ThreadCell& c) {
      return !live_ids().contains(c.context_id);
    });
  }
  cells.push_back(cell);
  if (cell.cell != nullptr) tls_last_cell = cell;
}

void register_context(std::uint64_t context_id) {
  std::lock_guard<std::mutex> lock(live_mu());
  live_ids().insert(context_id);
}

void unregister_context(std::uint64_t context_id) {
  std::lock_guard<std::mutex> lock(live_mu());
  live_ids().erase(context_id);
}

}  // namespace atomik::detail
