// SPDX-License-Identifier: Apache-2.0
// Seed pattern 5, multi-stream convergence: first the reference's snippet
// as written, then 5 replicas over a simulated network that drops 10%,
// duplicates 10% and reorders every message, repaired by version-vector
// catch-up. Every replica must end with equal digests and every state equal
// to the XOR of all deltas written. The same traffic through streams in the
// reference's apply-everything mode (ApplyMode::kRawCompat) diverges: a
// duplicated XOR delta undoes itself. Exit 1 if our side fails.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "atomik/message.hpp"
#include "atomik/stream.hpp"

namespace {

bool seed_pattern() {
  using atomik::DeltaMessage;
  using atomik::DeltaStream;
  // Node A
  DeltaStream stream_a;
  (void)stream_a.load(/*addr=*/0, /*initial_state=*/0xCAFE);

  // Node B (different machine)
  DeltaStream stream_b;
  (void)stream_b.load(/*addr=*/0, /*initial_state=*/0xCAFE);

  // A makes a change, sends delta to B
  (void)stream_a.accum(/*addr=*/0, /*delta=*/0x00FF);
  DeltaMessage msg{/*addr=*/0, /*delta=*/0x00FF, /*seq=*/1};
  auto wire = msg.to_bytes();  // 16 bytes over the network

  // B receives and applies (could arrive out of order)
  auto received = DeltaMessage::from_bytes(wire);
  (void)stream_b.accum(received->addr, received->delta);

  // Both converge
  const bool ok = *stream_a.read(0) == *stream_b.read(0);
  std::printf("seed pattern 5: A reads 0x%llx, B reads 0x%llx: %s\n",
              static_cast<unsigned long long>(*stream_a.read(0)),
              static_cast<unsigned long long>(*stream_b.read(0)),
              ok ? "converged" : "DIVERGED");
  return ok;
}

struct Delivery {
  std::size_t to;
  atomik::OriginId from;
  std::array<std::byte, 16> wire;
};

struct Outcome {
  std::size_t converged_states = 0;  // replicas whose table == the model
  bool digests_equal = true;
  std::uint64_t duplicates_ignored = 0;
  std::size_t catch_up_deltas = 0;
};

constexpr std::size_t kReplicas = 5;
constexpr int kDeltasEach = 20000;
constexpr atomik::Addr kAddrs = 1000;

// Runs the whole scenario on streams created with `mode`; `traffic` is the
// live traffic (built once, so both modes see the same messages); the
// catch-up deltas are recorded on the exactly-once run and replayed on the
// raw run.
Outcome run(
    atomik::ApplyMode mode, const std::vector<Delivery>& traffic,
    const std::vector<atomik::StampedDelta>& written,
    std::vector<std::pair<std::size_t, atomik::StampedDelta>>* repairs) {
  std::vector<atomik::DeltaStream> rs;
  for (std::size_t i = 0; i < kReplicas; ++i) {
    atomik::StreamOptions o;
    o.origin = 1 + i;
    o.dense_contexts = kAddrs;
    o.window = 1 << 16;  // the simulated network reorders everything
    o.retain_per_origin = 1 << 16;
    o.mode = mode;
    rs.push_back(std::move(*atomik::DeltaStream::create(o)));
  }
  // Each replica's own writes.
  for (const auto& d : written) (void)rs[d.origin - 1].accum(d.addr, d.delta);
  for (const Delivery& m : traffic) {
    auto msg = atomik::DeltaMessage::from_bytes(m.wire);
    (void)rs[m.to].apply(m.from, *msg);
  }
  Outcome out;
  if (mode == atomik::ApplyMode::kExactlyOnce) {
    // Anti-entropy: each replica sends every other its dedup state (marks
    // plus the seqs it holds above them) and gets back what it lacks.
    for (std::size_t i = 0; i < kReplicas; ++i) {
      for (std::size_t j = 0; j < kReplicas; ++j) {
        if (i == j) continue;
        const atomik::CatchUp c = rs[j].missing(rs[i].dedup_state());
        if (c.needs_state_transfer) {
          std::printf("unexpected: %s\n", c.reason.c_str());
          out.digests_equal = false;
        }
        for (const auto& d : c.deltas) {
          (void)rs[i].apply(d);
          repairs->emplace_back(i, d);
        }
      }
    }
  } else {
    for (const auto& [to, d] : *repairs) (void)rs[to].apply(d);
  }
  out.catch_up_deltas = repairs->size();
  std::map<atomik::Addr, std::uint64_t> model;
  for (const auto& d : written) model[d.addr] ^= d.delta;
  for (std::size_t i = 0; i < kReplicas; ++i) {
    bool same = true;
    for (atomik::Addr a = 0; a < kAddrs; ++a) {
      same = same && *rs[i].read(a) == (model.count(a) ? model[a] : 0);
    }
    out.converged_states += same ? 1 : 0;
    out.digests_equal = out.digests_equal && rs[i].digest() == rs[0].digest();
    out.duplicates_ignored += rs[i].stats().duplicates;
  }
  std::printf("  digests:");
  for (std::size_t i = 0; i < kReplicas; ++i) {
    std::printf(" %.12s..", rs[i].digest().to_hex().c_str());
  }
  std::printf("\n");
  return out;
}

}  // namespace

int main() {
  const bool seed_ok = seed_pattern();

  std::mt19937_64 g(20261125);
  std::vector<atomik::StampedDelta> written;
  std::vector<Delivery> traffic;
  std::vector<atomik::Seq> next_seq(kReplicas, 1);
  std::size_t dropped = 0;
  std::size_t duplicated = 0;
  for (int k = 0; k < kDeltasEach * static_cast<int>(kReplicas); ++k) {
    const std::size_t w = g() % kReplicas;
    const atomik::StampedDelta d{w + 1, next_seq[w]++,
                                 static_cast<atomik::Addr>(g() % kAddrs), g()};
    written.push_back(d);
    const auto wire = d.to_message()->to_bytes();
    for (std::size_t to = 0; to < kReplicas; ++to) {
      if (to == w) continue;
      if (g() % 10 == 0) {  // 10% dropped
        ++dropped;
        continue;
      }
      traffic.push_back({to, d.origin, wire});
      if (g() % 10 == 0) {  // 10% duplicated
        ++duplicated;
        traffic.push_back({to, d.origin, wire});
      }
    }
  }
  std::shuffle(traffic.begin(), traffic.end(), g);  // reordered
  std::printf(
      "%zu replicas, %zu deltas written, %zu messages sent: %zu dropped, %zu "
      "duplicated, all reordered\n",
      kReplicas, written.size(), traffic.size(), dropped, duplicated);

  std::vector<std::pair<std::size_t, atomik::StampedDelta>> repairs;
  std::printf("exactly-once DeltaStream + version-vector catch-up:\n");
  const Outcome ours =
      run(atomik::ApplyMode::kExactlyOnce, traffic, written, &repairs);
  std::printf(
      "  %zu/%zu replicas == XOR of all deltas, digests %s, %llu duplicates "
      "ignored, %zu deltas resent by catch-up\n",
      ours.converged_states, kReplicas,
      ours.digests_equal ? "all equal" : "DIFFER",
      static_cast<unsigned long long>(ours.duplicates_ignored),
      ours.catch_up_deltas);
  std::printf("reference behaviour (apply everything), same traffic:\n");
  const Outcome raw =
      run(atomik::ApplyMode::kRawCompat, traffic, written, &repairs);
  std::printf("  %zu/%zu replicas == XOR of all deltas, digests %s\n",
              raw.converged_states, kReplicas,
              raw.digests_equal ? "all equal" : "differ (diverged)");

  const bool ok =
      seed_ok && ours.converged_states == kReplicas && ours.digests_equal;
  std::printf("%s\n", ok ? "OK: converged exactly once"
                         : "FAIL: our replicas did not converge");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
