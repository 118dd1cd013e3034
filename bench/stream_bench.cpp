// SPDX-License-Identifier: Apache-2.0
// Messages and streams. Workloads:
//   BM_StreamBaselineDecodeXor   decode 16-byte messages, XOR into a plain
//                                vector of 1M words: no dedup, no table
//   BM_StreamBaselineDecodeTableAccum  decode + DeltaTable::accum on the
//                                same dense 1M-address table (24 B/context)
//   BM_StreamApplyEach/D         decode + DeltaStream::apply() per message
//                                (D = 1: digest kept current)
//   BM_StreamApplyMessages/D     DeltaStream::apply_messages over the wire
//                                bytes: decode + dedup + apply, batched with
//                                prefetch: the figure for the target
//   BM_StreamApplyFrame/D        parse_frame + apply_frame, 4096 records
//   BM_StreamApplyRaw            decode + raw apply (no dedup), no digest
//   BM_FrameMemcpy/N             memcpy of a frame's bytes (baseline)
//   BM_FrameEncode/N             encode_frame_into of N records
//   BM_FrameDecode/N             parse_frame + copy the N records out
// Messages carry seqs 1..kBatch from one origin; each iteration adds
// kBatch to the decoded seq so every message is new (the dedup path is the
// real one, never the duplicate shortcut). Addresses are uniform random.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "atomik/frame.hpp"
#include "atomik/message.hpp"
#include "atomik/stream.hpp"

namespace {

constexpr std::uint32_t kAddrs = 1 << 20;
constexpr std::size_t kBatch = 1 << 16;

const std::vector<std::byte>& wire_messages() {
  static const std::vector<std::byte> bytes = [] {
    std::mt19937_64 g(8);
    std::vector<std::byte> out(kBatch * 16);
    for (std::size_t i = 0; i < kBatch; ++i) {
      const atomik::DeltaMessage m{static_cast<atomik::Addr>(g() % kAddrs), g(),
                                   static_cast<std::uint32_t>(i + 1)};
      const auto b = m.to_bytes();
      std::memcpy(out.data() + i * 16, b.data(), 16);
    }
    return out;
  }();
  return bytes;
}

void BM_StreamBaselineDecodeXor(benchmark::State& state) {
  const auto& wire = wire_messages();
  std::vector<std::uint64_t> table(kAddrs, 0);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      auto m = atomik::DeltaMessage::from_bytes(
          std::span<const std::byte>(wire.data() + i * 16, 16));
      table[m->addr] ^= m->delta;
    }
    benchmark::DoNotOptimize(table.data());
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_StreamBaselineDecodeXor);

// Per-message API: one apply() call per decoded message (no prefetch).
void BM_StreamApplyEach(benchmark::State& state) {
  const auto& wire = wire_messages();
  atomik::StreamOptions o;
  o.origin = 1;
  o.dense_contexts = kAddrs;
  o.track_digest = state.range(0) != 0;
  atomik::DeltaStream s = std::move(*atomik::DeltaStream::create(o));
  atomik::Seq base = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      auto m = atomik::DeltaMessage::from_bytes(
          std::span<const std::byte>(wire.data() + i * 16, 16));
      auto r = s.apply(7, base + m->seq, m->addr, m->delta);
      benchmark::DoNotOptimize(r);
    }
    base += kBatch;
  }
  if (s.stats().applied !=
      static_cast<std::uint64_t>(state.iterations()) * kBatch) {
    state.SkipWithError("not every message was applied");
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_StreamApplyEach)->Arg(0)->Arg(1);

// Batch API: apply_messages over the 16-byte wire bytes (decode + dedup +
// apply, prefetching ahead). Seqs are rewritten between iterations (timer
// paused) so every message is new.
void BM_StreamApplyMessages(benchmark::State& state) {
  std::vector<std::byte> wire = wire_messages();
  atomik::StreamOptions o;
  o.origin = 1;
  o.dense_contexts = kAddrs;
  o.track_digest = state.range(0) != 0;
  atomik::DeltaStream s = std::move(*atomik::DeltaStream::create(o));
  std::uint32_t base = 0;
  for (auto _ : state) {
    auto r = s.apply_messages(7, wire);
    benchmark::DoNotOptimize(r);
    state.PauseTiming();
    base += static_cast<std::uint32_t>(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      const auto b =
          atomik::DeltaMessage{0, 0, static_cast<std::uint32_t>(base + i + 1)}
              .to_bytes();
      std::memcpy(wire.data() + i * 16 + 12, b.data() + 12, 4);
    }
    state.ResumeTiming();
  }
  if (s.stats().applied !=
      static_cast<std::uint64_t>(state.iterations()) * kBatch) {
    state.SkipWithError("not every message was applied");
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_StreamApplyMessages)->Arg(0)->Arg(1);

// Frames of 4096 records: parse_frame (checksum) + apply_frame.
void BM_StreamApplyFrame(benchmark::State& state) {
  std::mt19937_64 g(10);
  std::vector<atomik::FrameRecord> recs(4096);
  for (auto& r : recs) r = {static_cast<atomik::Addr>(g() % kAddrs), g()};
  atomik::StreamOptions o;
  o.origin = 1;
  o.dense_contexts = kAddrs;
  o.track_digest = state.range(0) != 0;
  atomik::DeltaStream s = std::move(*atomik::DeltaStream::create(o));
  atomik::Seq base = 1;
  std::vector<std::byte> bytes = *atomik::encode_frame({7, 0, base}, recs);
  for (auto _ : state) {
    auto v = atomik::parse_frame(bytes);
    auto r = s.apply_frame(*v);
    benchmark::DoNotOptimize(r);
    state.PauseTiming();
    base += recs.size();
    (void)atomik::encode_frame_into({7, 0, base}, recs, {}, bytes);
    state.ResumeTiming();
  }
  if (s.stats().applied !=
      static_cast<std::uint64_t>(state.iterations()) * recs.size()) {
    state.SkipWithError("not every record was applied");
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(recs.size()));
}
BENCHMARK(BM_StreamApplyFrame)->Arg(0)->Arg(1);

void BM_StreamApplyRaw(benchmark::State& state) {
  const auto& wire = wire_messages();
  atomik::StreamOptions o;
  o.origin = 1;
  o.dense_contexts = kAddrs;
  o.track_digest = false;
  o.mode = atomik::ApplyMode::kRawCompat;
  atomik::DeltaStream s = std::move(*atomik::DeltaStream::create(o));
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      auto m = atomik::DeltaMessage::from_bytes(
          std::span<const std::byte>(wire.data() + i * 16, 16));
      auto r = s.apply(*m);
      benchmark::DoNotOptimize(r);
    }
  }
  (void)s.apply_messages(atomik::kLegacyOrigin, wire);
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_StreamApplyRaw);

std::vector<atomik::FrameRecord> records(std::size_t n) {
  std::mt19937_64 g(9);
  std::vector<atomik::FrameRecord> r(n);
  for (auto& x : r) x = {static_cast<atomik::Addr>(g()), g()};
  return r;
}

void BM_FrameMemcpy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::byte> src =
      *atomik::encode_frame({1, 0, 1}, records(n));
  std::vector<std::byte> dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(src.size()));
}

void BM_FrameEncode(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<atomik::FrameRecord> recs = records(n);
  std::vector<std::byte> out(atomik::frame_size(n, 0));
  const atomik::FrameLimits limits{std::size_t{16} << 20};
  for (auto _ : state) {
    auto r = atomik::encode_frame_into({1, 0, 1}, recs, {}, out, limits);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(out.size()));
}

void BM_FrameDecode(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const atomik::FrameLimits limits{std::size_t{16} << 20};
  const std::vector<std::byte> bytes =
      *atomik::encode_frame({1, 0, 1}, records(n), {}, limits);
  std::vector<atomik::FrameRecord> out(n);
  for (auto _ : state) {
    auto v = atomik::parse_frame(bytes, limits);
    if (!v.ok()) {
      state.SkipWithError("parse failed");
      break;
    }
    for (std::size_t i = 0; i < v->count(); ++i) out[i] = v->record(i);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(bytes.size()));
}

// 0 and 1 records, a small batch, a TCP-sized batch (~48 KiB), ~1 MiB.
#define ATOMIK_FRAME_SIZES Arg(0)->Arg(1)->Arg(64)->Arg(4096)->Arg(87381)
BENCHMARK(BM_FrameMemcpy)->ATOMIK_FRAME_SIZES;
BENCHMARK(BM_FrameEncode)->ATOMIK_FRAME_SIZES;
BENCHMARK(BM_FrameDecode)->ATOMIK_FRAME_SIZES;

}  // namespace

namespace {
void BM_StreamBaselineDecodeTableAccum(benchmark::State& state) {
  const auto& wire = wire_messages();
  auto table = std::move(*atomik::DeltaTable<>::dense(kAddrs));
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      auto m = atomik::DeltaMessage::from_bytes(
          std::span<const std::byte>(wire.data() + i * 16, 16));
      auto st = table.accum(m->addr, m->delta);
      benchmark::DoNotOptimize(st);
    }
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(kBatch));
}
BENCHMARK(BM_StreamBaselineDecodeTableAccum);
}  // namespace
