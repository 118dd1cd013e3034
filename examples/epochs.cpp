// Seed pattern 2, epoch checkpointing: swap() closes an epoch, returning its
// state and starting a fresh accumulator. Here writers keep accumulating on
// other threads while epochs are closed, and every delta lands in exactly
// one epoch. (Durable checkpoints come with the storage layer.)
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"

int main() {
  const std::uint64_t initial_state = 0;
  atomik::ConcurrentContext<std::uint64_t, atomik::AddGroup>
      ctx;  // counts events
  ctx.load(initial_state);

  constexpr int kWriters = 2;
  constexpr std::uint64_t kDeltasEach = 1'000'000;
  std::atomic<int> running{kWriters};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (std::uint64_t i = 0; i < kDeltasEach; ++i)
        ctx.accum(1);  // incoming_deltas()
      running.fetch_sub(1);
    });
  }

  // Checkpoint loop: capture state, start a new epoch. save_checkpoint()
  // here keeps each epoch's state in memory.
  std::vector<std::uint64_t> checkpoints;
  std::uint64_t previous = initial_state;
  std::uint64_t sum_of_epochs = 0;
  while (running.load() > 0 || checkpoints.empty()) {
    const std::uint64_t epoch_state = ctx.swap();
    checkpoints.push_back(epoch_state);       // save_checkpoint(epoch_state)
    sum_of_epochs += epoch_state - previous;  // this epoch's deltas
    previous = epoch_state;
  }
  for (auto& t : writers) t.join();
  const std::uint64_t last = ctx.swap();
  sum_of_epochs += last - previous;

  std::printf("%zu epochs; final state %llu; deltas in epochs %llu of %llu\n",
              checkpoints.size() + 1, static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(sum_of_epochs),
              static_cast<unsigned long long>(kWriters * kDeltasEach));
  if (last != kWriters * kDeltasEach ||
      sum_of_epochs != kWriters * kDeltasEach) {
    return EXIT_FAILURE;
  }
  // Epoch states never go backwards: no delta was taken back out of an epoch.
  for (std::size_t i = 1; i < checkpoints.size(); ++i) {
    if (checkpoints[i] < checkpoints[i - 1]) return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
