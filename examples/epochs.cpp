// SPDX-License-Identifier: Apache-2.0
// Seed pattern 2, epoch checkpointing: swap() closes an epoch, returning its
// state and starting a fresh accumulator. Here writers keep accumulating on
// other threads while epochs are closed, and every delta lands in exactly
// one epoch. Each epoch's state is saved durably (save_checkpoint): logged
// to a PersistentTable and checkpointed with its swap(), and the program then
// restarts from the saved state, as it would after a crash.
//
//   example_epochs [--data DIR]      (default ./atomik-data)
//
// Run it twice: the second run starts from the state the first one saved.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "atomik/concurrent_context.hpp"
#include "atomik/persistent_table.hpp"

namespace {

constexpr std::uint32_t kStateAddr = 0;  // where the epoch state is saved

std::unique_ptr<atomik::PersistentTable> open_table(const std::string& dir) {
  auto t = atomik::PersistentTable::open(dir);
  if (!t.ok()) {
    std::fprintf(stderr, "open %s: %s\n", dir.c_str(),
                 t.status().to_string().c_str());
    std::exit(EXIT_FAILURE);
  }
  return std::move(*t);
}

// save_checkpoint(epoch_state): log the state, then close the table's epoch
// (a checkpoint file; the WAL it covers is deleted).
bool save_checkpoint(atomik::PersistentTable& table, std::uint64_t state) {
  const atomik::Status s = table.load(kStateAddr, state);
  auto e = s.ok() ? table.swap() : atomik::Result<atomik::EpochState>(s);
  if (!e.ok()) {
    std::fprintf(stderr, "save_checkpoint: %s\n",
                 e.status().to_string().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = atomik::kDefaultDataDir;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--data DIR]\n", argv[0]);
      return 2;
    }
  }
  auto table = open_table(dir);
  const std::uint64_t initial_state = table->read(kStateAddr).value_or(0);
  const std::uint64_t base_epoch = table->epoch();
  std::printf("%s: starting from epoch %llu, state %llu\n", dir.c_str(),
              static_cast<unsigned long long>(base_epoch),
              static_cast<unsigned long long>(initial_state));

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

  // Checkpoint loop: capture state, start a new epoch, save it durably.
  std::vector<std::uint64_t> checkpoints;
  std::uint64_t previous = initial_state;
  std::uint64_t sum_of_epochs = 0;
  bool saved = true;
  while (running.load() > 0 || checkpoints.empty()) {
    const std::uint64_t epoch_state = ctx.swap();
    checkpoints.push_back(epoch_state);
    saved = saved && save_checkpoint(*table, epoch_state);
    sum_of_epochs += epoch_state - previous;  // this epoch's deltas
    previous = epoch_state;
  }
  for (auto& t : writers) t.join();
  const std::uint64_t last = ctx.swap();
  sum_of_epochs += last - previous;
  saved = saved && save_checkpoint(*table, last);

  std::printf("%zu epochs; final state %llu; deltas in epochs %llu of %llu\n",
              checkpoints.size() + 1,
              static_cast<unsigned long long>(last - initial_state),
              static_cast<unsigned long long>(sum_of_epochs),
              static_cast<unsigned long long>(kWriters * kDeltasEach));
  if (!saved || last - initial_state != kWriters * kDeltasEach ||
      sum_of_epochs != kWriters * kDeltasEach) {
    return EXIT_FAILURE;
  }
  // Epoch states never go backwards: no delta was taken back out of an epoch.
  for (std::size_t i = 1; i < checkpoints.size(); ++i) {
    if (checkpoints[i] < checkpoints[i - 1]) return EXIT_FAILURE;
  }

  // Restart: drop everything in memory and recover from the directory.
  const std::uint64_t epochs_saved = checkpoints.size() + 1;
  if (!table->close().ok()) return EXIT_FAILURE;
  table.reset();
  table = open_table(dir);
  const std::uint64_t restored = table->read(kStateAddr).value_or(~0ull);
  std::printf("restarted: epoch %llu, state %llu (saved %llu epochs)\n",
              static_cast<unsigned long long>(table->epoch()),
              static_cast<unsigned long long>(restored),
              static_cast<unsigned long long>(epochs_saved));
  if (restored != last || table->epoch() != base_epoch + epochs_saved)
    return EXIT_FAILURE;

  // Continue from the saved state: one more epoch on a fresh context.
  atomik::ConcurrentContext<std::uint64_t, atomik::AddGroup> resumed;
  resumed.load(restored);
  for (int i = 0; i < 1000; ++i) resumed.accum(1);
  const std::uint64_t after = resumed.swap();
  if (after != last + 1000 || !save_checkpoint(*table, after))
    return EXIT_FAILURE;
  return table->close().ok() ? EXIT_SUCCESS : EXIT_FAILURE;
}
