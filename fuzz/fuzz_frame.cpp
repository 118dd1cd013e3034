// SPDX-License-Identifier: Apache-2.0
// fuzz_frame: libFuzzer target for the delta-frame decoder and encoder
// (include/atomik/frame.hpp, docs/format/wire.md). See docs/fuzzing.md.
//
// The input is read as a byte stream of consecutive frames, the way a
// stream reader walks its buffer (parse_frame at base_offset 0, then at the
// end of each good frame). For every parse, the target checks:
//   1. parse_frame and decode_frame agree (same Status or the same fields).
//   2. Round trip: a frame that parses has size frame_size(count, tag_len)
//      within the input, and encode_frame(header, records, tag) gives back
//      exactly the bytes it was parsed from. Parsing only those bytes gives
//      the same frame (the bytes after a frame are never read).
//   3. Every error is Corruption, Unimplemented or ResourceExhausted and
//      names "offset N" with base <= N <= base + bytes left; only a
//      "truncated" error may name the end of the input (N == base + left).
//   4. A truncated prefix and a single-byte flip of a good frame (positions
//      picked from a hash of the input) fail.
//   5. A tighter FrameLimits refuses exactly the good frames above it
//      (ResourceExhausted) and accepts the others unchanged.
// The encoder is fuzzed too: a header, records and a tag taken from the
// input encode iff the header is valid, and parse back to the same values.
// The first 16 bytes round trip as a DeltaMessage (message.hpp).
// Reads outside the input are caught by ASan: libFuzzer passes an exactly
// sized heap buffer, and the mutated copies below are exactly sized too.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "atomik/frame.hpp"
#include "atomik/message.hpp"
#include "fuzz_check.hpp"

namespace {

using atomik::Code;
using atomik::FrameLimits;
using atomik::FrameRecord;
using atomik::FrameView;
using atomik::Result;
using atomik::fuzz::hex;
using atomik::fuzz::named_offsets;
using atomik::fuzz::same_bytes;

constexpr std::size_t kSmallLimit = 256;  // a tighter max_frame_bytes

std::vector<FrameRecord> records_of(const FrameView& v) {
  std::vector<FrameRecord> r(v.count());
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = v.record(i);
  return r;
}

// Invariant 3 for a failed parse of `left` bytes at `base`.
void check_error(const atomik::Status& s, std::uint64_t base, std::size_t left,
                 std::span<const std::byte> input) {
  ATOMIK_FUZZ_CHECK(s.code() == Code::kCorruption ||
                        s.code() == Code::kUnimplemented ||
                        s.code() == Code::kResourceExhausted,
                    s.to_string() + " for " + hex(input));
  const std::vector<std::uint64_t> offs = named_offsets(s.message());
  // "frame at offset B: offset N: what".
  ATOMIK_FUZZ_CHECK(offs.size() >= 2 && offs[0] == base,
                    "no frame/field offset in " + s.to_string());
  const std::uint64_t n = offs[1];
  const bool truncated =
      s.message().find("truncated") != std::string_view::npos;
  ATOMIK_FUZZ_CHECK(
      n >= base && (truncated ? n <= base + left : n < base + left),
      "offset " + std::to_string(n) + " outside [" + std::to_string(base) +
          ", " + std::to_string(base + left) + ") in " + s.to_string());
}

// Invariants 1, 2, 4 and 5 for a good frame `v` parsed from `bytes` at
// `base`.
void check_good(const FrameView& v, std::span<const std::byte> bytes,
                std::uint64_t base) {
  const std::span<const std::byte> frame = bytes.first(v.size());
  ATOMIK_FUZZ_CHECK(
      v.size() == atomik::frame_size(v.count(), v.auth_tag().size()) &&
          v.size() <= bytes.size(),
      "size " + std::to_string(v.size()) + " for count " +
          std::to_string(v.count()));
  const std::vector<FrameRecord> recs = records_of(v);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    ATOMIK_FUZZ_CHECK(v.seq(i) == v.header().base_seq + i && v.seq(i) != 0,
                      "seq of record " + std::to_string(i));
  }

  // 1. decode_frame agrees.
  Result<atomik::Frame> d = atomik::decode_frame(bytes, {}, base);
  ATOMIK_FUZZ_CHECK(d.ok(), "decode_frame failed: " + d.status().to_string());
  ATOMIK_FUZZ_CHECK(d->header.origin == v.header().origin &&
                        d->header.epoch == v.header().epoch &&
                        d->header.base_seq == v.header().base_seq &&
                        d->records == recs &&
                        same_bytes(d->auth_tag, v.auth_tag()),
                    "decode_frame and parse_frame disagree on " + hex(frame));

  // 2. Round trip, and the bytes after the frame are not read.
  Result<std::vector<std::byte>> again =
      atomik::encode_frame(v.header(), recs, v.auth_tag());
  ATOMIK_FUZZ_CHECK(again.ok(),
                    "re-encode failed: " + again.status().to_string());
  ATOMIK_FUZZ_CHECK(same_bytes(*again, frame),
                    "re-encoded " + hex(*again) + " != parsed " + hex(frame));
  {
    std::vector<std::byte> exact(frame.begin(), frame.end());
    Result<FrameView> alone = atomik::parse_frame(exact, {}, base);
    ATOMIK_FUZZ_CHECK(
        alone.ok() && alone->size() == v.size() && records_of(*alone) == recs,
        "frame alone does not parse the same: " + alone.status().to_string());

    // 4. A truncation and a single-byte flip fail.
    const std::uint64_t h = atomik::fuzz::mix(frame);
    const std::size_t cut = static_cast<std::size_t>(h % v.size());
    std::vector<std::byte> prefix(frame.begin(),
                                  frame.begin() + static_cast<long>(cut));
    Result<FrameView> t = atomik::parse_frame(prefix, {}, base);
    ATOMIK_FUZZ_CHECK(!t.ok(), "prefix of " + std::to_string(cut) +
                                   " bytes parsed: " + hex(prefix));
    check_error(t.status(), base, prefix.size(), prefix);

    const std::size_t at = static_cast<std::size_t>((h >> 20) % v.size());
    exact[at] ^= static_cast<std::byte>(1u << ((h >> 50) % 8));
    Result<FrameView> f = atomik::parse_frame(exact, {}, base);
    ATOMIK_FUZZ_CHECK(!f.ok(), "byte " + std::to_string(at) +
                                   " flipped still parses: " + hex(exact));
    check_error(f.status(), base, exact.size(), exact);
  }

  // 5. A tighter limit.
  Result<FrameView> small =
      atomik::parse_frame(bytes, FrameLimits{kSmallLimit}, base);
  if (v.size() > kSmallLimit) {
    ATOMIK_FUZZ_CHECK(
        small.status().code() == Code::kResourceExhausted,
        "frame of " + std::to_string(v.size()) +
            " bytes under limit 256: " + small.status().to_string());
  } else {
    ATOMIK_FUZZ_CHECK(
        small.ok() && small->size() == v.size(),
        "frame of " + std::to_string(v.size()) +
            " bytes refused by limit 256: " + small.status().to_string());
  }
}

// The encoder on values taken from the input.
void fuzz_encoder(std::span<const std::byte> in) {
  if (in.size() < 24) return;
  atomik::FrameHeader h;
  std::memcpy(&h.origin, in.data(), 8);
  std::memcpy(&h.epoch, in.data() + 8, 8);
  std::memcpy(&h.base_seq, in.data() + 16, 8);
  std::vector<FrameRecord> recs((in.size() - 24) / 12);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    std::memcpy(&recs[i].addr, in.data() + 24 + 12 * i, 4);
    std::memcpy(&recs[i].delta, in.data() + 28 + 12 * i, 8);
  }
  const std::size_t tag_len = in.size() % 66;  // 65 is one too many
  const std::span<const std::byte> tag = in.first(tag_len);
  const std::uint64_t n = recs.size();
  const bool valid =
      h.origin != 0 && tag_len <= atomik::kFrameMaxTagLen &&
      (n == 0 || (h.base_seq != 0 && h.base_seq - 1 <= UINT64_MAX - n));
  Result<std::vector<std::byte>> e = atomik::encode_frame(h, recs, tag);
  ATOMIK_FUZZ_CHECK(e.ok() == valid, "encode_frame: " + e.status().to_string() +
                                         " for " + hex(in) + " (expected " +
                                         (valid ? "success" : "failure") + ")");
  if (!e.ok()) {
    ATOMIK_FUZZ_CHECK(e.status().code() == Code::kInvalidArgument,
                      e.status().to_string());
    return;
  }
  ATOMIK_FUZZ_CHECK(e->size() == atomik::frame_size(n, tag_len),
                    "encoded size " + std::to_string(e->size()));
  Result<atomik::Frame> d = atomik::decode_frame(*e);
  ATOMIK_FUZZ_CHECK(d.ok(), "encoded frame does not decode: " +
                                d.status().to_string() + " " + hex(*e));
  ATOMIK_FUZZ_CHECK(d->header.origin == h.origin &&
                        d->header.epoch == h.epoch &&
                        d->header.base_seq == h.base_seq &&
                        d->records == recs && same_bytes(d->auth_tag, tag),
                    "encode/decode round trip changed " + hex(*e));
}

void fuzz_message(std::span<const std::byte> in) {
  Result<atomik::DeltaMessage> whole = atomik::DeltaMessage::from_bytes(in);
  ATOMIK_FUZZ_CHECK(whole.ok() == (in.size() == 16),
                    "DeltaMessage of " + std::to_string(in.size()) + " bytes");
  if (in.size() < 16) return;
  Result<atomik::DeltaMessage> m =
      atomik::DeltaMessage::from_bytes(in.first(16));
  ATOMIK_FUZZ_CHECK(m.ok(), m.status().to_string());
  const auto back = m->to_bytes();
  ATOMIK_FUZZ_CHECK(same_bytes(back, in.first(16)),
                    "DeltaMessage round trip " + hex(in.first(16)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  const std::span<const std::byte> in = atomik::fuzz::as_bytes(data, size);
  std::uint64_t base = 0;
  std::span<const std::byte> rest = in;
  for (;;) {
    Result<FrameView> v = atomik::parse_frame(rest, {}, base);
    if (!v.ok()) {
      check_error(v.status(), base, rest.size(), in);
      Result<atomik::Frame> d = atomik::decode_frame(rest, {}, base);
      ATOMIK_FUZZ_CHECK(!d.ok() && d.status() == v.status(),
                        "decode_frame: " + d.status().to_string() +
                            ", parse_frame: " + v.status().to_string());
      Result<FrameView> small =
          atomik::parse_frame(rest, FrameLimits{kSmallLimit}, base);
      ATOMIK_FUZZ_CHECK(!small.ok(), "a tighter limit accepted a bad frame");
      break;
    }
    check_good(*v, rest, base);
    base += v->size();
    rest = rest.subspan(v->size());
    if (rest.empty()) break;
  }
  fuzz_encoder(in);
  fuzz_message(in);
  return 0;
}
