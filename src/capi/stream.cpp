// SPDX-License-Identifier: Apache-2.0
// capi/stream.cpp: atomik_stream_* and atomik_catchup_*, the C face of
// DeltaStream (stream.hpp): exactly-once apply, catch-up, digests.
#include "atomik/stream.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

static_assert(static_cast<int>(atomik::ApplyOutcome::kApplied) ==
              ATOMIK_APPLIED);
static_assert(static_cast<int>(atomik::ApplyOutcome::kDuplicate) ==
              ATOMIK_DUPLICATE);
static_assert(static_cast<int>(atomik::ApplyOutcome::kBeyondWindow) ==
              ATOMIK_BEYOND_WINDOW);

struct atomik_stream {  // NOLINT(readability-identifier-naming): C name
  atomik::DeltaStream s;
};

// A CatchUp in C layout, so atomik_catchup_deltas can hand out a pointer.
struct atomik_catchup {  // NOLINT(readability-identifier-naming): C name
  bool needs_state_transfer = false;
  std::string reason;
  std::vector<atomik_stamped_delta> deltas;
};

namespace {

using atomik::capi::check;
using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;

atomik_stamped_delta to_c(const atomik::StampedDelta& d) noexcept {
  return atomik_stamped_delta{d.origin, d.seq, d.addr, d.delta};
}

}  // namespace

extern "C" {

void atomik_stream_options_init(atomik_stream_options* options) {
  if (options == nullptr) return;
  const atomik::StreamOptions d;
  options->origin = d.origin;
  options->dense_contexts = d.dense_contexts;
  options->window = d.window;
  options->retain_per_origin = d.retain_per_origin;
  options->max_origins = d.max_origins;
  options->max_pending = d.max_pending;
  options->mode = static_cast<atomik_apply_mode>(d.mode);
}

atomik_status atomik_stream_new(const atomik_stream_options* options,
                                atomik_stream** out) {
  static constexpr const char* kFn = "atomik_stream_new";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    atomik::StreamOptions o;
    if (options != nullptr) {
      const int mode = atomik::capi::raw_enum(options->mode);
      if (mode != ATOMIK_APPLY_EXACTLY_ONCE &&
          mode != ATOMIK_APPLY_RAW_COMPAT) {
        return fail(kFn, ATOMIK_INVALID_ARGUMENT,
                    "mode " + std::to_string(mode) +
                        " is not EXACTLY_ONCE (0) or RAW_COMPAT (1)");
      }
      o.origin = options->origin;
      o.dense_contexts = options->dense_contexts;
      o.window = options->window;
      o.retain_per_origin = options->retain_per_origin;
      o.max_origins = options->max_origins;
      o.max_pending = options->max_pending;
      o.mode = static_cast<atomik::ApplyMode>(mode);
    }
    auto s = atomik::DeltaStream::create(o);
    if (!s.ok()) return fail(kFn, s.status());
    *out = new atomik_stream{std::move(*s)};
    return ATOMIK_OK;
  });
}

void atomik_stream_free(atomik_stream* stream) { delete stream; }

atomik_status atomik_stream_load(atomik_stream* stream, uint32_t addr,
                                 uint64_t value) {
  static constexpr const char* kFn = "atomik_stream_load";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    return check(kFn, stream->s.load(addr, value));
  });
}

atomik_status atomik_stream_read(const atomik_stream* stream, uint32_t addr,
                                 uint64_t* out) {
  static constexpr const char* kFn = "atomik_stream_read";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    if (out == nullptr) return null_argument(kFn, "out");
    auto r = stream->s.read(addr);
    if (!r.ok()) return fail(kFn, r.status());
    *out = *r;
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_accum(atomik_stream* stream, uint32_t addr,
                                  uint64_t delta, atomik_stamped_delta* out) {
  static constexpr const char* kFn = "atomik_stream_accum";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    auto r = stream->s.accum(addr, delta);
    if (!r.ok()) return fail(kFn, r.status());
    if (out != nullptr) *out = to_c(*r);
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_apply(atomik_stream* stream, uint64_t origin,
                                  uint64_t seq, uint32_t addr, uint64_t delta,
                                  atomik_apply_outcome* outcome) {
  static constexpr const char* kFn = "atomik_stream_apply";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    auto r = stream->s.apply(origin, seq, addr, delta);
    if (!r.ok()) return fail(kFn, r.status());
    if (outcome != nullptr) *outcome = static_cast<atomik_apply_outcome>(*r);
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_apply_messages(atomik_stream* stream,
                                           uint64_t origin,
                                           const uint8_t* bytes, size_t len,
                                           atomik_batch_outcome* outcome) {
  static constexpr const char* kFn = "atomik_stream_apply_messages";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    if (bytes == nullptr && len != 0) return null_argument(kFn, "bytes");
    const std::span<const std::byte> in(
        reinterpret_cast<const std::byte*>(bytes), bytes == nullptr ? 0 : len);
    auto r = stream->s.apply_messages(origin, in);
    if (!r.ok()) return fail(kFn, r.status());
    if (outcome != nullptr) {
      *outcome =
          atomik_batch_outcome{r->applied, r->duplicates, r->beyond_window};
    }
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_version_vector(const atomik_stream* stream,
                                           atomik_version_entry* out,
                                           size_t cap, size_t* count) {
  static constexpr const char* kFn = "atomik_stream_version_vector";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    if (count == nullptr) return null_argument(kFn, "count");
    if (out == nullptr && cap != 0) return null_argument(kFn, "out");
    const atomik::VersionVector vv = stream->s.version_vector();
    const auto& entries = vv.entries();
    *count = entries.size();
    const std::span<atomik_version_entry> dst(out, out == nullptr ? 0 : cap);
    std::size_t i = 0;
    for (const auto& [origin, mark] : entries) {
      if (i == dst.size()) break;
      dst[i++] = atomik_version_entry{origin, mark};
    }
    if (entries.size() > cap) {
      return fail(kFn, ATOMIK_OUT_OF_RANGE,
                  "cap " + std::to_string(cap) + " < " +
                      std::to_string(entries.size()) + " entries");
    }
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_digest(const atomik_stream* stream,
                                   atomik_digest* out) {
  static constexpr const char* kFn = "atomik_stream_digest";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    if (out == nullptr) return null_argument(kFn, "out");
    const atomik::Digest d = stream->s.digest();
    *out = atomik_digest{d.lo, d.hi};
    return ATOMIK_OK;
  });
}

atomik_status atomik_stream_missing(const atomik_stream* stream,
                                    const atomik_version_entry* remote,
                                    size_t n, atomik_catchup** out) {
  static constexpr const char* kFn = "atomik_stream_missing";
  return guarded(kFn, [&] {
    if (stream == nullptr) return null_argument(kFn, "stream");
    if (out == nullptr) return null_argument(kFn, "out");
    if (remote == nullptr && n != 0) return null_argument(kFn, "remote");
    atomik::VersionVector vv;
    for (const auto& e :
         std::span<const atomik_version_entry>(remote, remote ? n : 0)) {
      vv.set(e.origin, e.mark);
    }
    atomik::CatchUp c = stream->s.missing(vv);
    auto result = std::make_unique<atomik_catchup>();
    result->needs_state_transfer = c.needs_state_transfer;
    result->reason = std::move(c.reason);
    result->deltas.reserve(c.deltas.size());
    for (const auto& d : c.deltas) result->deltas.push_back(to_c(d));
    *out = result.release();
    return ATOMIK_OK;
  });
}

void atomik_catchup_free(atomik_catchup* catchup) { delete catchup; }

atomik_status atomik_catchup_needs_state_transfer(const atomik_catchup* catchup,
                                                  int* out) {
  static constexpr const char* kFn = "atomik_catchup_needs_state_transfer";
  if (catchup == nullptr) return null_argument(kFn, "catchup");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = catchup->needs_state_transfer ? 1 : 0;
  return ATOMIK_OK;
}

const char* atomik_catchup_reason(const atomik_catchup* catchup) {
  return catchup == nullptr ? "" : catchup->reason.c_str();
}

atomik_status atomik_catchup_deltas(const atomik_catchup* catchup,
                                    const atomik_stamped_delta** deltas,
                                    size_t* count) {
  static constexpr const char* kFn = "atomik_catchup_deltas";
  if (catchup == nullptr) return null_argument(kFn, "catchup");
  if (deltas == nullptr) return null_argument(kFn, "deltas");
  if (count == nullptr) return null_argument(kFn, "count");
  *deltas = catchup->deltas.data();
  *count = catchup->deltas.size();
  return ATOMIK_OK;
}

}  // extern "C"
