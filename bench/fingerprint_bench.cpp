// SPDX-License-Identifier: Apache-2.0
// Fingerprint against XXH3-128 over the same buffer, compiled the
// same way: the baseline BM_Xxh3_128 calls XXH3_128bits through the same
// dispatched kernel (same translation unit and flags: XXH_INLINE_ALL, AVX2
// when the CPU has it) as BM_FingerprintFull. Sizes: 0, 1, 1 KiB, 1 MiB
// (cache) and 256 MiB (DRAM); buffers are prefaulted before timing.
//
//   BM_Xxh3_128/<n>                 baseline: one XXH3_128bits call
//   BM_FingerprintFull/<n>          Fingerprint::update (8 KiB chunks)
//   BM_FingerprintFullChunk4K/<n>   the same with 4 KiB chunks
//   BM_FingerprintFull_1GiB         recompute over a 1 GiB state
//   BM_FingerprintUpdateRange64B_1GiB  a 64-byte in-place edit of that state
//                                      (update_range_in_place: rehashes the
//                                      touched 8 KiB chunk, old and new)
// Figures and ratios: docs/performance.md.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "atomik/fingerprint.hpp"
#include "core/fingerprint_kernel.hpp"

namespace {

// A buffer of n bytes, every page written once (no first-touch cost later).
std::vector<std::byte>& buffer(std::size_t n) {
  static std::map<std::size_t, std::vector<std::byte>> buffers;
  auto it = buffers.find(n);
  if (it == buffers.end()) {
    std::vector<std::byte> v(n);
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (std::size_t i = 0; i < n; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v[i] = static_cast<std::byte>(x);
    }
    it = buffers.emplace(n, std::move(v)).first;
  }
  return it->second;
}

void set_bytes(benchmark::State& state, std::size_t n) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
  state.SetLabel(atomik::core::active_kernel().name);
}

void BM_Xxh3_128(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& buf = buffer(n);
  const auto& k = atomik::core::active_kernel();
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    const atomik::core::U128 h = k.xxh3_128(buf.data(), n);
    benchmark::DoNotOptimize(h);
  }
  set_bytes(state, n);
}

void full(benchmark::State& state, std::size_t chunk) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto& buf = buffer(n);
  atomik::FingerprintOptions o;
  o.chunk_size = chunk;
  auto fp = atomik::Fingerprint::create(o);
  if (!fp.ok()) {
    state.SkipWithError(fp.status().to_string().c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(buf.data());
    const atomik::FingerprintValue v = fp->update(buf);
    benchmark::DoNotOptimize(v);
  }
  set_bytes(state, n);
}

void BM_FingerprintFull(benchmark::State& state) { full(state, 8192); }
void BM_FingerprintFullChunk4K(benchmark::State& state) { full(state, 4096); }

constexpr std::size_t kGiB = std::size_t{1} << 30;

std::vector<std::byte>& state_1gib() { return buffer(kGiB); }

void BM_FingerprintFull_1GiB(benchmark::State& state) {
  auto& data = state_1gib();
  atomik::Fingerprint fp;
  for (auto _ : state) {
    benchmark::DoNotOptimize(data.data());
    benchmark::DoNotOptimize(fp.update(data));
  }
  set_bytes(state, kGiB);
}

void BM_FingerprintUpdateRange64B_1GiB(benchmark::State& state) {
  auto& data = state_1gib();
  atomik::Fingerprint fp;
  fp.load(data);
  std::byte old[64];
  std::uint64_t step = 0;
  for (auto _ : state) {
    // A 64-byte edit at a different place each time (a 64-byte aligned
    // slot, spread over the whole state).
    const std::size_t off =
        static_cast<std::size_t>((step++ * 0x9E3779B97F4A7C15ULL) % kGiB) &
        ~std::size_t{63};
    std::memcpy(old, data.data() + off, 64);
    for (std::size_t i = 0; i < 64; ++i) data[off + i] ^= std::byte{0x5A};
    const atomik::Status s = fp.update_range_in_place(data, off, old);
    benchmark::DoNotOptimize(s.ok());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(atomik::core::active_kernel().name);
  // The incremental value must equal a recompute (checked once, untimed).
  atomik::Fingerprint check;
  if (!(check.load(data) == fp.value())) {
    state.SkipWithError("incremental value differs from the full recompute");
  }
}

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(0)->Arg(1)->Arg(1024)->Arg(1 << 20)->Arg(256 << 20);
}

BENCHMARK(BM_Xxh3_128)->Apply(sizes);
BENCHMARK(BM_FingerprintFull)->Apply(sizes);
BENCHMARK(BM_FingerprintFullChunk4K)->Arg(1 << 20);
BENCHMARK(BM_FingerprintFull_1GiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FingerprintUpdateRange64B_1GiB)->Unit(benchmark::kNanosecond);

}  // namespace
