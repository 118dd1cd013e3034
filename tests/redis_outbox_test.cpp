// SPDX-License-Identifier: Apache-2.0
// RedisOutbox (src/transport/redis_outbox.hpp) against a model: a deque of
// (origin, seq, delta), one entry per delta. Random pushes of runs (one
// delta to several runs' worth, origins changing as incarnations do, now
// and then skipping seqs), copies from the front and drops.
#include "transport/redis_outbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "test_seed.hpp"

namespace atomik::transport {
namespace {

struct Entry {
  OriginId origin;
  Seq seq;
  FrameRecord rec;
};

TEST(RedisOutboxTest, AgreesWithAModelOfOneEntryPerDelta) {
  auto g = testing::rng(31);
  RedisOutbox box;
  std::deque<Entry> model;
  std::map<OriginId, Seq> next;  // the next seq of each origin
  OriginId origin = 0x10;
  std::vector<FrameRecord> out;
  for (int step = 0; step < 3000; ++step) {
    const std::string where = "step " + std::to_string(step);
    const std::uint64_t op = g() % 10;
    if (op < 5) {
      if (g() % 20 == 0) ++origin;  // a new incarnation
      // Mostly small runs, sometimes more than a run's worth.
      const std::size_t n = g() % 8 == 0
                                ? 1 + g() % (2 * RedisOutbox::kRunRecords)
                                : 1 + g() % 100;
      std::vector<FrameRecord> recs(n);
      for (FrameRecord& r : recs) r = {static_cast<Addr>(g()), g()};
      Seq& s = next[origin];
      if (g() % 15 == 0) s += 1 + g() % 5;  // seqs skip (never applied here)
      const Seq first = s + 1;
      box.push(origin, first, recs);
      for (std::size_t i = 0; i < n; ++i) {
        model.push_back({origin, first + i, recs[i]});
      }
      s += n;
    } else if (op < 8 && !model.empty()) {
      // Mostly small slices, sometimes up to two runs' worth.
      const std::size_t max =
          1 + (g() % 8 == 0 ? g() % (2 * RedisOutbox::kRunRecords) : g() % 300);
      const Seq first = box.copy_front(max, &out);
      ASSERT_EQ(first, model.front().seq) << where;
      // Deltas of the front origin with consecutive seqs, up to max.
      std::size_t want = 0;
      while (want < model.size() && want < max &&
             model[want].origin == model.front().origin &&
             model[want].seq == first + want) {
        ++want;
      }
      ASSERT_EQ(out.size(), want) << where;
      for (std::size_t i = 0; i < want; ++i) {
        ASSERT_EQ(out[i], model[i].rec) << where << ", delta " << i;
      }
    } else if (!model.empty()) {
      // Drop through a seq of the front origin (possibly past its last
      // delta waiting: then the next origin's stay).
      const OriginId o = model.front().origin;
      const Seq last =
          model.front().seq +
          (g() % 8 == 0 ? g() % (2 * RedisOutbox::kRunRecords) : g() % 300);
      std::uint64_t want = 0;
      while (!model.empty() && model.front().origin == o &&
             model.front().seq <= last) {
        model.pop_front();
        ++want;
      }
      ASSERT_EQ(box.pop_through(o, last), want) << where;
      // Another origin's deltas are never dropped.
      ASSERT_EQ(box.pop_through(o + 1000, last), 0u) << where;
    }
    ASSERT_EQ(box.size(), model.size()) << where;
    ASSERT_EQ(box.empty(), model.empty()) << where;
    if (!model.empty()) {
      ASSERT_EQ(box.front_origin(), model.front().origin) << where;
      ASSERT_EQ(box.front_seq(), model.front().seq) << where;
      ASSERT_EQ(box.back_origin(), model.back().origin) << where;
      ASSERT_EQ(box.back_seq(), model.back().seq) << where;
    }
  }
}

}  // namespace
}  // namespace atomik::transport
