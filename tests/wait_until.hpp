// SPDX-License-Identifier: Apache-2.0
// Deadline polling for tests that wait for another thread or process.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace atomik::testing {

// Polls `cond` until it holds or `timeout` passes (no sleeps as
// synchronisation: the deadline only bounds the wait).
inline bool wait_until(
    const std::function<bool()>& cond,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  return cond();
}

}  // namespace atomik::testing
