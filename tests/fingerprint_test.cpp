// SPDX-License-Identifier: Apache-2.0
// Tests for include/atomik/fingerprint.hpp: known-answer vectors
// (tests/vectors/fingerprint_vectors.txt, generated independently by
// fingerprint_gen.py), every kernel against the others and against a slow
// model on Debian's libxxhash.so, the reference's blind spots, seeded
// incremental-vs-full property tests, bad input, and the gate's memory.
#include "atomik/fingerprint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
// NOT inline: the model below calls Debian's libxxhash.so.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/fingerprint_kernel.hpp"
#include "test_seed.hpp"

// Counts heap allocations, to show that the gate never copies a sample.
// GCC 12 at -O3 inlines the replaced operator new into callers and then
// wrongly reports new/free as mismatched; the pair below is matched.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace atomik {
namespace {

using ::testing::HasSubstr;
namespace fp = core;

using Bytes = std::vector<std::byte>;

Bytes from_string(std::string_view s) {
  Bytes b(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) b[i] = std::byte(s[i]);
  return b;
}

Bytes random_bytes(std::mt19937_64& g, std::size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(g() & 0xFF);
  return b;
}

// pat:N:MUL:ADD or hex:..., as in fingerprint_gen.py.
Bytes make_input(const std::string& spec) {
  if (spec.rfind("hex:", 0) == 0) {
    Bytes b;
    for (std::size_t i = 4; i + 1 < spec.size(); i += 2) {
      b.push_back(
          static_cast<std::byte>(std::stoul(spec.substr(i, 2), nullptr, 16)));
    }
    return b;
  }
  std::istringstream in(spec.substr(4));
  std::uint64_t n = 0, mul = 0, add = 0;
  char c1 = 0, c2 = 0;
  in >> n >> c1 >> mul >> c2 >> add;
  Bytes b(n);
  for (std::uint64_t k = 0; k < n; ++k) {
    b[k] = static_cast<std::byte>((k * mul + add) & 0xFF);
  }
  return b;
}

Fingerprint make(const FingerprintOptions& o) {
  Result<Fingerprint> r = Fingerprint::create(o);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return *r;
}

FingerprintOptions strong(std::size_t chunk, std::uint64_t key = 0) {
  FingerprintOptions o;
  o.chunk_size = chunk;
  o.key = key;
  return o;
}

FingerprintValue full(const Bytes& data, const FingerprintOptions& o) {
  return make(o).load(data);
}

// The value computed by one kernel directly (bypassing the dispatch).
FingerprintValue with_kernel(const fp::Kernel& k, const Bytes& data,
                             std::size_t chunk, std::uint64_t key) {
  unsigned char secret[fp::kSecretSize];
  fp::make_secret(secret, key);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const fp::U128 a = k.chunk_xor(p, data.size(), chunk, 0, secret);
  const fp::U128 l = k.length_term(
      data.size(), static_cast<unsigned>(std::countr_zero(chunk)), secret);
  return {a.hi ^ l.hi, a.lo ^ l.lo};
}

std::vector<const fp::Kernel*> kernels() {
  std::vector<const fp::Kernel*> ks;
  for (const fp::Kernel* k :
       {fp::scalar_kernel(), fp::sse2_kernel(), fp::avx2_kernel()}) {
    if (k == nullptr) continue;
    if (std::string(k->name) == "avx2" && !__builtin_cpu_supports("avx2")) {
      continue;
    }
    ks.push_back(k);
  }
  return ks;
}

// --- The slow model: the format page, on Debian's libxxhash.so ----------
__extension__ typedef unsigned __int128 U128Int;

std::uint64_t model_fold(std::uint64_t a, std::uint64_t b) {
  const U128Int m = static_cast<U128Int>(a) * b;
  return static_cast<std::uint64_t>(m) ^ static_cast<std::uint64_t>(m >> 64);
}
std::uint64_t model_rd64(const unsigned char* s) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | s[i];
  return v;
}

FingerprintValue model(const Bytes& data, std::size_t chunk,
                       std::uint64_t key) {
  constexpr std::uint64_t kP1 = 0x9E3779B185EBCA87ULL;
  constexpr std::uint64_t kP2 = 0xC2B2AE3D27D4EB4FULL;
  constexpr std::uint64_t kP3 = 0x165667B19E3779F9ULL;
  unsigned char s[192];
  XXH3_generateSecret_fromSeed(s, key);
  FingerprintValue acc;
  for (std::uint64_t i = 0; i * chunk < data.size(); ++i) {
    const std::size_t len = std::min(chunk, data.size() - i * chunk);
    const XXH128_hash_t h =
        XXH3_128bits_withSecret(data.data() + i * chunk, len, s, sizeof s);
    if (i == 0) {  // chunk 0 is not bound: its XXH3-128 as is
      acc = acc ^ FingerprintValue { h.high64, h.low64 };
      continue;
    }
    const std::uint64_t k = model_rd64(s) ^ ((i + 1) * kP1);
    std::uint64_t a = h.low64 ^ k;
    std::uint64_t b = h.high64 + k;
    b ^= model_fold(a, kP2);
    a ^= model_fold(b, kP3);
    acc = acc ^ FingerprintValue { b, a };
  }
  std::uint64_t x = model_rd64(s + 8) ^ data.size();
  std::uint64_t y =
      model_rd64(s + 16) ^
      ((1ULL << 56) | (1ULL << 48) |
       (static_cast<std::uint64_t>(std::countr_zero(chunk)) << 40));
  y ^= model_fold(x, kP2);
  x ^= model_fold(y, kP3);
  y ^= model_fold(x, kP1);
  return acc ^ FingerprintValue { y, x };
}

// ---------------------------------------------------------------------------

TEST(FingerprintVectorsTest, EveryVectorMatchesOnEveryKernel) {
  std::ifstream in(std::string(ATOMIK_TEST_VECTORS_DIR) +
                   "/fingerprint_vectors.txt");
  ASSERT_TRUE(in.good()) << "missing tests/vectors/fingerprint_vectors.txt";
  std::string line;
  int strong_count = 0;
  int legacy_count = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string kind, param, key, spec, want;
    f >> kind >> param >> key >> spec >> want;
    const Bytes data = make_input(spec);
    SCOPED_TRACE(line);
    if (kind == "strong") {
      const std::size_t chunk = std::stoull(param);
      const std::uint64_t k = std::stoull(key, nullptr, 16);
      Fingerprint fpr = make(strong(chunk, k));
      fpr.load(data);
      EXPECT_EQ(fpr.canonical_hex(), want);
      const FingerprintValue v = fpr.value();
      for (const fp::Kernel* kn : kernels()) {
        EXPECT_EQ(with_kernel(*kn, data, chunk, k), v) << kn->name;
      }
      ++strong_count;
    } else {
      ASSERT_EQ(kind, "legacy");
      Result<Fingerprint> l =
          Fingerprint::legacy(static_cast<unsigned>(std::stoul(param)));
      ASSERT_TRUE(l.ok());
      l->load(data);
      EXPECT_EQ(l->canonical_hex(), want);
      ++legacy_count;
    }
  }
  EXPECT_GE(strong_count, 15);
  EXPECT_GE(legacy_count, 10);
}

TEST(FingerprintVectorsTest, WorkedExampleOfTheFormatPage) {
  Fingerprint f;
  f.load(from_string("abc"));
  EXPECT_EQ(f.canonical_hex(), "01010d00c570358eb5a626aa3c7b72bd86a45916");
  EXPECT_EQ(f.value().to_hex(), "c570358eb5a626aa3c7b72bd86a45916");
}

TEST(FingerprintKernelTest, AllKernelsAndTheLibxxhashModelAgree) {
  auto g = testing::rng(1);
  const auto ks = kernels();
  ASSERT_GE(ks.size(), 1u);
  std::printf("kernels: %zu, active: %s\n", ks.size(),
              fp::active_kernel().name);
  for (int round = 0; round < 60; ++round) {
    const std::size_t n = static_cast<std::size_t>(g() % 70000);
    const std::size_t chunk = std::size_t{64} << (g() % 9);
    const std::uint64_t key = (round % 3 == 0) ? 0 : g();
    const Bytes data = random_bytes(g, n);
    const FingerprintValue want = model(data, chunk, key);
    SCOPED_TRACE("n=" + std::to_string(n) + " chunk=" + std::to_string(chunk));
    EXPECT_EQ(full(data, strong(chunk, key)), want);
    for (const fp::Kernel* k : ks) {
      EXPECT_EQ(with_kernel(*k, data, chunk, key), want) << k->name;
      const fp::U128 x = k->xxh3_128(data.data(), data.size());
      const XXH128_hash_t y = XXH3_128bits(data.data(), data.size());
      EXPECT_EQ(x.hi, y.high64) << k->name;
      EXPECT_EQ(x.lo, y.low64) << k->name;
    }
  }
}

TEST(FingerprintKernelTest, KeyZeroSecretIsTheDefaultSecret) {
  unsigned char s[fp::kSecretSize];
  fp::make_secret(s, 0);
  EXPECT_TRUE(std::equal(s, s + fp::kSecretSize, fp::default_secret()));
}

// --- The reference's blind spots ----------------------------------------

struct Case {
  const char* name;
  Bytes before;
  Bytes after;
};

std::vector<Case> blind_spots() {
  std::mt19937_64 g(7);
  const Bytes base = random_bytes(g, 4 * 8192);
  std::vector<Case> cs;
  {  // two 8-byte words swapped
    Bytes b = base;
    std::swap_ranges(b.begin() + 8, b.begin() + 16, b.begin() + 800);
    cs.push_back({"swapped words", base, b});
  }
  {  // two whole chunks swapped
    Bytes b = base;
    std::swap_ranges(b.begin(), b.begin() + 8192, b.begin() + 16384);
    cs.push_back({"swapped chunks", base, b});
  }
  {  // the same bit flipped in two chunks (words 8 bytes apart, and chunks)
    Bytes b = base;
    b[3] ^= std::byte{0x10};
    b[3 + 8] ^= std::byte{0x10};
    cs.push_back({"paired flip (words)", base, b});
    Bytes c = base;
    c[100] ^= std::byte{0x01};
    c[100 + 8192] ^= std::byte{0x01};
    cs.push_back({"paired flip (chunks)", base, c});
  }
  {  // appended zeros
    Bytes b = base;
    b.resize(b.size() + 8);
    cs.push_back({"appended 8 zeros", base, b});
    Bytes c = base;
    c.resize(c.size() + 8192);
    cs.push_back({"appended a zero chunk", base, c});
  }
  cs.push_back({"abc vs abc\\0", from_string("abc"),
                from_string(std::string_view("abc\0", 4))});
  {  // rotated by one word
    Bytes b = base;
    std::rotate(b.begin(), b.begin() + 8, b.end());
    cs.push_back({"rotated by 8 bytes", base, b});
  }
  {  // a repeated chunk pair (equal words cancel in the fold)
    Bytes a(64, std::byte{0x5A});
    Bytes b(64, std::byte{0x00});
    cs.push_back({"equal words cancel", a, b});
  }
  return cs;
}

TEST(FingerprintTest, DetectsTheReferenceBlindSpotsThatLegacyMisses) {
  for (const Case& c : blind_spots()) {
    SCOPED_TRACE(c.name);
    Fingerprint strong_fp;
    strong_fp.load(c.before);
    strong_fp.update(c.after);
    EXPECT_TRUE(strong_fp.changed());
    Fingerprint small = make(strong(64));
    small.load(c.before);
    small.update(c.after);
    EXPECT_TRUE(small.changed());

    Result<Fingerprint> legacy = Fingerprint::legacy(64);
    ASSERT_TRUE(legacy.ok());
    legacy->load(c.before);
    legacy->update(c.after);
    EXPECT_FALSE(legacy->changed()) << "the reference's fold sees this?";
  }
}

TEST(FingerprintTest, RandomWordSwapsAreAllDetected) {
  auto g = testing::rng(2);
  const Bytes base = random_bytes(g, 64 * 1024);
  Fingerprint f;
  f.load(base);
  Result<Fingerprint> legacy = Fingerprint::legacy();
  ASSERT_TRUE(legacy.ok());
  legacy->load(base);
  int detected = 0, legacy_detected = 0, swaps = 0;
  for (int t = 0; t < 2000; ++t) {
    const std::size_t i = 8 * (g() % (base.size() / 8));
    const std::size_t j = 8 * (g() % (base.size() / 8));
    Bytes b = base;
    std::swap_ranges(b.begin() + static_cast<std::ptrdiff_t>(i),
                     b.begin() + static_cast<std::ptrdiff_t>(i + 8),
                     b.begin() + static_cast<std::ptrdiff_t>(j));
    if (b == base) continue;
    ++swaps;
    f.update(b);
    legacy->update(b);
    detected += f.changed() ? 1 : 0;
    legacy_detected += legacy->changed() ? 1 : 0;
  }
  EXPECT_EQ(detected, swaps);
  EXPECT_EQ(legacy_detected, 0);
}

TEST(FingerprintTest, AnySingleByteChangeIsDetected) {
  auto g = testing::rng(3);
  const Bytes base = random_bytes(g, 300);
  Fingerprint f = make(strong(64));
  f.load(base);
  for (std::size_t i = 0; i < base.size(); ++i) {
    Bytes b = base;
    b[i] ^= static_cast<std::byte>(1 + g() % 255);
    f.update(b);
    EXPECT_TRUE(f.changed()) << "byte " << i;
  }
}

// --- The reference's API ------------------------------------------------

TEST(FingerprintTest, LoadUpdateResetFollowTheReferenceApi) {
  const Bytes a = from_string("the quick brown fox");
  const Bytes b = from_string("the quick brown fix");
  Fingerprint f;
  EXPECT_EQ(f.width(), 128u);
  const FingerprintValue va = f.load(a);
  EXPECT_FALSE(f.changed());
  EXPECT_EQ(f.reference(), va);
  EXPECT_EQ(f.value(), va);
  EXPECT_TRUE(f.delta().is_zero());
  EXPECT_EQ(f.update(a), va);
  EXPECT_FALSE(f.changed());
  const FingerprintValue vb = f.update(b);
  EXPECT_TRUE(f.changed());
  EXPECT_EQ(f.value(), vb);
  EXPECT_EQ(f.reference(), va);
  EXPECT_EQ(f.delta(), va ^ vb);
  EXPECT_EQ(f.length(), b.size());
  f.reset();  // b is now the reference; value() still describes b
  EXPECT_FALSE(f.changed());
  EXPECT_EQ(f.value(), vb);
  EXPECT_EQ(f.reference(), vb);
}

TEST(FingerprintTest, DefaultConstructedHoldsTheEmptyDataValue) {
  Fingerprint f;
  EXPECT_EQ(f.value(), full(Bytes{}, strong(8192)));
  EXPECT_EQ(f.chunk_size(), kDefaultFingerprintChunkSize);
  EXPECT_FALSE(f.changed());
  EXPECT_EQ(f.length(), 0u);
}

TEST(FingerprintTest, LegacyModeFollowsTheReferenceSemantics) {
  Result<Fingerprint> l = Fingerprint::legacy(64);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->width(), 64u);
  const Bytes a = make_input("hex:0102030405060708");
  EXPECT_EQ(l->load(a), (FingerprintValue{0, 0x0807060504030201ULL}));
  // accumulate_delta(old_chunk, new_chunk), as atomik_core.
  ASSERT_TRUE(l->accumulate_delta({0, 0x0807060504030201ULL}, {0, 0xFF}).ok());
  EXPECT_TRUE(l->changed());
  EXPECT_EQ(l->value(), (FingerprintValue{0, 0xFF}));
  EXPECT_EQ(l->update(make_input("hex:ff")), (FingerprintValue{0, 0xFF}));
  // A value wider than the width is an error, not masked.
  const FingerprintValue before = l->value();
  Status s = l->accumulate_delta({0, 0}, {1, 0});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("does not fit in 64 bits"));
  EXPECT_EQ(l->value(), before);
  // The strong mode has no position-free chunk delta.
  Fingerprint f;
  s = f.accumulate_delta({0, 1}, {0, 2});
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("update_range"));
}

TEST(FingerprintTest, CreateRejectsBadOptionsNamingThem) {
  for (std::size_t bad : {std::size_t{0}, std::size_t{32}, std::size_t{100},
                          std::size_t{4095}, std::size_t{1} << 31}) {
    Result<Fingerprint> r = Fingerprint::create(strong(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("chunk_size " + std::to_string(bad)));
  }
  for (unsigned w : {0u, 4u, 12u, 136u}) {
    Result<Fingerprint> r = Fingerprint::legacy(w);
    ASSERT_FALSE(r.ok()) << w;
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("legacy width " + std::to_string(w)));
  }
  FingerprintOptions o;
  o.mode = FingerprintMode::kLegacyXorFold;
  o.key = 5;
  EXPECT_EQ(Fingerprint::create(o).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(FingerprintGate::create(strong(3)).ok());
}

TEST(FingerprintTest, KeyChangesEveryValueAndIsFlagged) {
  const Bytes d = from_string("sensor sample 42");
  Fingerprint a = make(strong(8192, 0));
  Fingerprint b = make(strong(8192, 1));
  Fingerprint c = make(strong(8192, 2));
  a.load(d);
  b.load(d);
  c.load(d);
  EXPECT_NE(a.value(), b.value());
  EXPECT_NE(b.value(), c.value());
  EXPECT_FALSE(a.keyed());
  EXPECT_TRUE(b.keyed());
  EXPECT_EQ(std::to_integer<int>(b.canonical()[3]), 1);
  EXPECT_FALSE(b.equals(c));
  Fingerprint b2 = make(strong(8192, 1));
  b2.load(d);
  EXPECT_TRUE(b.equals(b2));
  Fingerprint other_chunk = make(strong(4096, 0));
  other_chunk.load(d);
  EXPECT_FALSE(a.equals(other_chunk));
  EXPECT_NE(a.value(), other_chunk.value());
}

// --- Incremental == full recompute --------------------------------------

TEST(FingerprintTest, IncrementalEqualsFullRecomputeForRandomEdits) {
  auto g = testing::rng(4);
  const std::size_t chunks[] = {64, 128, 1024, 4096, 8192};
  for (int round = 0; round < 40; ++round) {
    const std::size_t chunk = chunks[g() % 5];
    const std::uint64_t key = (round % 2 == 0) ? 0 : g();
    const FingerprintOptions o = strong(chunk, key);
    Bytes data = random_bytes(g, 1 + static_cast<std::size_t>(g() % 100000));
    Fingerprint f = make(o);
    f.load(data);
    for (int e = 0; e < 20; ++e) {
      if (g() % 2 == 0) {
        // Any range, in place.
        const std::size_t off = static_cast<std::size_t>(g() % data.size());
        const std::size_t n = std::min<std::size_t>(
            data.size() - off, static_cast<std::size_t>(g() % (3 * chunk)));
        const Bytes old(data.begin() + static_cast<std::ptrdiff_t>(off),
                        data.begin() + static_cast<std::ptrdiff_t>(off + n));
        for (std::size_t i = off; i < off + n; ++i) {
          data[i] = static_cast<std::byte>(g() & 0xFF);
        }
        ASSERT_TRUE(f.update_range_in_place(data, off, old).ok());
      } else {
        // Whole chunks, old and new contents passed.
        const std::size_t nchunks = (data.size() + chunk - 1) / chunk;
        const std::size_t c0 = static_cast<std::size_t>(g() % nchunks);
        const std::size_t c1 =
            std::min(nchunks, c0 + 1 + static_cast<std::size_t>(g() % 3));
        const std::size_t off = c0 * chunk;
        const std::size_t end = std::min(data.size(), c1 * chunk);
        const Bytes old(data.begin() + static_cast<std::ptrdiff_t>(off),
                        data.begin() + static_cast<std::ptrdiff_t>(end));
        Bytes neu = old;
        neu[g() % neu.size()] ^= std::byte{0x80};
        std::copy(neu.begin(), neu.end(),
                  data.begin() + static_cast<std::ptrdiff_t>(off));
        ASSERT_TRUE(f.update_range(off, old, neu).ok());
      }
      ASSERT_EQ(f.value(), full(data, o))
          << "round " << round << " edit " << e << " chunk " << chunk;
    }
  }
}

TEST(FingerprintTest, LegacyIncrementalEqualsFullRecompute) {
  auto g = testing::rng(5);
  for (unsigned width : {8u, 24u, 64u, 128u}) {
    Bytes data = random_bytes(g, 5000);
    Result<Fingerprint> f = Fingerprint::legacy(width);
    ASSERT_TRUE(f.ok());
    f->load(data);
    for (int e = 0; e < 50; ++e) {
      const std::size_t off = static_cast<std::size_t>(g() % data.size());
      const std::size_t n = std::min<std::size_t>(data.size() - off, g() % 40);
      const Bytes old(data.begin() + static_cast<std::ptrdiff_t>(off),
                      data.begin() + static_cast<std::ptrdiff_t>(off + n));
      for (std::size_t i = off; i < off + n; ++i) {
        data[i] = static_cast<std::byte>(g() & 0xFF);
      }
      if (e % 2 == 0) {
        ASSERT_TRUE(f->update_range_in_place(data, off, old).ok());
      } else {
        const Bytes neu(data.begin() + static_cast<std::ptrdiff_t>(off),
                        data.begin() + static_cast<std::ptrdiff_t>(off + n));
        ASSERT_TRUE(f->update_range(off, old, neu).ok());
      }
      Result<Fingerprint> fresh = Fingerprint::legacy(width);
      ASSERT_TRUE(fresh.ok());
      ASSERT_EQ(f->value(), fresh->load(data)) << "width " << width;
    }
  }
}

TEST(FingerprintTest, UpdateRangeRejectsBadInputAndChangesNothing) {
  auto g = testing::rng(6);
  const Bytes data = random_bytes(g, 10000);  // chunk 4096: 2 full + 1808
  Fingerprint f = make(strong(4096));
  f.load(data);
  const CanonicalFingerprint before = f.canonical();
  const Bytes c4096(4096), c100(100), c1808(1808);
  const auto expect = [&](const Status& s, Code code, const char* text) {
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_THAT(std::string(s.message()), HasSubstr(text));
    EXPECT_EQ(f.canonical(), before);
  };
  expect(f.update_range(0, c4096, c100), Code::kInvalidArgument,
         "old_bytes has 4096 bytes, new_bytes has 100");
  expect(f.update_range(8192, c4096, c4096), Code::kOutOfRange,
         "ends past the data length 10000");
  expect(f.update_range(~std::uint64_t{0}, c100, c100), Code::kOutOfRange,
         "ends past the data length");
  expect(f.update_range(100, c100, c100), Code::kInvalidArgument,
         "offset 100 is not a multiple of chunk_size 4096");
  expect(f.update_range(4096, c100, c100), Code::kInvalidArgument,
         "ends inside a chunk");
  EXPECT_TRUE(f.update_range(8192, c1808, c1808).ok());  // the tail chunk
  const Bytes shorter(9999);
  expect(f.update_range_in_place(shorter, 0, c100), Code::kInvalidArgument,
         "data_after has 9999 bytes, the fingerprinted data has 10000");
  expect(f.update_range_in_place(data, 9950, c100), Code::kOutOfRange,
         "range at offset 9950 of 100 bytes ends past the data length 10000");
  EXPECT_TRUE(f.update_range_in_place(data, 10000, {}).ok());
}

// --- Canonical form -------------------------------------------------------

TEST(FingerprintCanonicalTest, RoundTripsAndRejectsEveryBadField) {
  Fingerprint f = make(strong(4096, 9));
  f.load(from_string("abc"));
  const CanonicalFingerprint c = f.canonical();
  Result<ParsedFingerprint> p = Fingerprint::parse_canonical(c);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->mode, FingerprintMode::kChunkedXxh3);
  EXPECT_EQ(p->param, 4096u);
  EXPECT_TRUE(p->keyed);
  EXPECT_EQ(p->value, f.value());
  Result<ParsedFingerprint> ph =
      Fingerprint::parse_canonical_hex(f.canonical_hex());
  ASSERT_TRUE(ph.ok());
  EXPECT_EQ(ph->value, f.value());

  const auto bad = [&](std::size_t i, std::uint8_t v, Code code,
                       const char* text) {
    CanonicalFingerprint b = c;
    b[i] = std::byte{v};
    Result<ParsedFingerprint> r = Fingerprint::parse_canonical(b);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_EQ(r.status().code(), code);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(text));
  };
  bad(0, 2, Code::kUnimplemented, "version 2");
  bad(1, 3, Code::kCorruption, "mode 3");
  bad(2, 5, Code::kCorruption, "log2(chunk size) 5");
  bad(2, 31, Code::kCorruption, "log2(chunk size) 31");
  bad(3, 2, Code::kCorruption, "flags 0x02");
  EXPECT_EQ(
      Fingerprint::parse_canonical(std::span(c).first(19)).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(Fingerprint::parse_canonical_hex("01zz").status().code(),
            Code::kInvalidArgument);
  std::string h = f.canonical_hex();
  h[7] = 'g';
  EXPECT_THAT(
      std::string(Fingerprint::parse_canonical_hex(h).status().message()),
      HasSubstr("character 7"));

  Result<Fingerprint> l = Fingerprint::legacy(32);
  ASSERT_TRUE(l.ok());
  l->load(from_string("abcdefgh"));
  CanonicalFingerprint lc = l->canonical();
  Result<ParsedFingerprint> lp = Fingerprint::parse_canonical(lc);
  ASSERT_TRUE(lp.ok());
  EXPECT_EQ(lp->param, 32u);
  lc[15] = std::byte{1};  // a bit above 32
  EXPECT_EQ(Fingerprint::parse_canonical(lc).status().code(),
            Code::kCorruption);
}

// --- FingerprintGate ------------------------------------------------------

TEST(FingerprintGateTest, SkipsRepeatsAndCatchesEveryChange) {
  FingerprintGate gate;
  EXPECT_FALSE(gate.last().has_value());
  const Bytes a = from_string("temperature=21.5");
  const Bytes b = from_string("temperature=21.6");
  const Bytes seq[] = {a, a, a, b, b, a, a, b};
  const bool want[] = {true, false, false, true, false, true, false, true};
  for (std::size_t i = 0; i < std::size(seq); ++i) {
    EXPECT_EQ(gate.check(seq[i]), want[i]) << "sample " << i;
  }
  EXPECT_EQ(gate.checks(), 8u);
  EXPECT_EQ(gate.changes(), 4u);
  EXPECT_EQ(gate.skips(), 4u);
  EXPECT_EQ(gate.last(), full(b, FingerprintOptions{}));
}

TEST(FingerprintGateTest, CatchesSwapsAndPairedFlipsALegacyGateMisses) {
  FingerprintGate gate;
  FingerprintOptions lo;
  lo.mode = FingerprintMode::kLegacyXorFold;
  Result<FingerprintGate> legacy = FingerprintGate::create(lo);
  ASSERT_TRUE(legacy.ok());
  for (const Case& c : blind_spots()) {
    SCOPED_TRACE(c.name);
    (void)gate.check(c.before);
    (void)legacy->check(c.before);
    EXPECT_TRUE(gate.check(c.after));
    EXPECT_FALSE(legacy->check(c.after));
  }
}

TEST(FingerprintGateTest, KeepsConstantMemoryAndNeverCopiesASample) {
  static_assert(sizeof(FingerprintGate) <= 128,
                "O(1) bytes per watched stream");
  static_assert(sizeof(Fingerprint) <= 96);
  Bytes big(64u << 20);
  for (std::size_t i = 0; i < big.size(); i += 4096) {
    big[i] = static_cast<std::byte>(i >> 12);
  }
  FingerprintGate gate;
  const std::uint64_t before = g_allocations.load();
  EXPECT_TRUE(gate.check(big));
  EXPECT_FALSE(gate.check(big));
  big[12345] ^= std::byte{1};
  EXPECT_TRUE(gate.check(big));
  const std::uint64_t after = g_allocations.load();
  EXPECT_EQ(after - before, 0u) << "check() allocated";
  std::printf("sizeof(FingerprintGate) = %zu bytes for a %zu-byte sample\n",
              sizeof(FingerprintGate), big.size());
}

}  // namespace
}  // namespace atomik
