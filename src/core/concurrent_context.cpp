// Thread-local cell registrations for ConcurrentContext.
//
// A thread's registrations live in a thread-local list. When the thread
// exits, each cell is returned to its context, but only if that context is
// still alive: the set of live context ids is guarded by one mutex, which is
// taken only at registration, thread exit and context destruction, never on
// the accum path.
#include "atomik/concurrent_context.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_set>
#include <vector>

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

struct ThreadCells {
  std::vector<ThreadCell> cells;
  ThreadCells() = default;
  ThreadCells(const ThreadCells&) = delete;
  ThreadCells& operator=(const ThreadCells&) = delete;
  ~ThreadCells() {
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

}  // namespace

std::uint64_t next_context_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

bool find_thread_cell(std::uint64_t context_id, ThreadCell* out) {
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
