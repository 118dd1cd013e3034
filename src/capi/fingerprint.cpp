// SPDX-License-Identifier: Apache-2.0
// capi/fingerprint.cpp: atomik_fingerprint_* and atomik_fingerprint_gate_*,
// the C face of Fingerprint and FingerprintGate (fingerprint.hpp).
#include "atomik/fingerprint.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>

#include "atomik/atomik.h"
#include "capi/capi_error.hpp"

static_assert(ATOMIK_CANONICAL_FINGERPRINT_SIZE ==
              atomik::kCanonicalFingerprintSize);
static_assert(static_cast<int>(atomik::FingerprintMode::kChunkedXxh3) ==
              ATOMIK_FINGERPRINT_CHUNKED_XXH3);
static_assert(static_cast<int>(atomik::FingerprintMode::kLegacyXorFold) ==
              ATOMIK_FINGERPRINT_LEGACY_XOR_FOLD);

struct atomik_fingerprint {  // NOLINT(readability-identifier-naming): C name
  atomik::Fingerprint fp;
};

struct atomik_fingerprint_gate {  // NOLINT(readability-identifier-naming): C
                                  // name
  atomik::FingerprintGate gate;
};

namespace {

using atomik::capi::fail;
using atomik::capi::guarded;
using atomik::capi::null_argument;

// The C options as C++ options; check_mode() has vetted the mode.
atomik::FingerprintOptions to_cpp(const atomik_fingerprint_options* o) {
  atomik::FingerprintOptions opts;
  if (o != nullptr) {
    opts.mode =
        static_cast<atomik::FingerprintMode>(atomik::capi::raw_enum(o->mode));
    opts.chunk_size = o->chunk_size;
    opts.key = o->key;
    opts.width = o->width;
  }
  return opts;
}

// An unknown mode is refused here: the C++ enum is 8-bit, so a wide value
// would otherwise be truncated before create() could see it.
atomik_status check_mode(const char* fn, const atomik_fingerprint_options* o) {
  if (o == nullptr) return ATOMIK_OK;
  const int mode = atomik::capi::raw_enum(o->mode);
  if (mode == ATOMIK_FINGERPRINT_CHUNKED_XXH3 ||
      mode == ATOMIK_FINGERPRINT_LEGACY_XOR_FOLD) {
    return ATOMIK_OK;
  }
  return fail(fn, ATOMIK_INVALID_ARGUMENT,
              "mode " + std::to_string(mode) +
                  " is not CHUNKED_XXH3 (1) or LEGACY_XOR_FOLD (2)");
}

atomik_fingerprint_value to_c(atomik::FingerprintValue v) noexcept {
  return atomik_fingerprint_value{v.high, v.low};
}

// data/len as bytes; NULL is only allowed with len 0 (checked by callers).
std::span<const std::byte> bytes_of(const void* data, std::size_t len) {
  if (data == nullptr) return {};
  return {static_cast<const std::byte*>(data), len};
}

}  // namespace

extern "C" {

void atomik_fingerprint_options_init(atomik_fingerprint_options* options) {
  if (options == nullptr) return;
  const atomik::FingerprintOptions d;
  options->mode = static_cast<atomik_fingerprint_mode>(d.mode);
  options->chunk_size = d.chunk_size;
  options->key = d.key;
  options->width = d.width;
}

atomik_status atomik_fingerprint_new(const atomik_fingerprint_options* options,
                                     atomik_fingerprint** out) {
  static constexpr const char* kFn = "atomik_fingerprint_new";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    if (check_mode(kFn, options) != ATOMIK_OK) return ATOMIK_INVALID_ARGUMENT;
    auto fp = atomik::Fingerprint::create(to_cpp(options));
    if (!fp.ok()) return fail(kFn, fp.status());
    *out = new atomik_fingerprint{*fp};
    return ATOMIK_OK;
  });
}

void atomik_fingerprint_free(atomik_fingerprint* fp) { delete fp; }

atomik_status atomik_fingerprint_load(atomik_fingerprint* fp, const void* data,
                                      size_t len,
                                      atomik_fingerprint_value* out) {
  static constexpr const char* kFn = "atomik_fingerprint_load";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (data == nullptr && len != 0) return null_argument(kFn, "data");
  const auto v = fp->fp.load(bytes_of(data, len));
  if (out != nullptr) *out = to_c(v);
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_update(atomik_fingerprint* fp,
                                        const void* data, size_t len,
                                        atomik_fingerprint_value* out) {
  static constexpr const char* kFn = "atomik_fingerprint_update";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (data == nullptr && len != 0) return null_argument(kFn, "data");
  const auto v = fp->fp.update(bytes_of(data, len));
  if (out != nullptr) *out = to_c(v);
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_changed(const atomik_fingerprint* fp,
                                         int* out) {
  static constexpr const char* kFn = "atomik_fingerprint_changed";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = fp->fp.changed() ? 1 : 0;
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_value_get(const atomik_fingerprint* fp,
                                           atomik_fingerprint_value* out) {
  static constexpr const char* kFn = "atomik_fingerprint_value_get";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = to_c(fp->fp.value());
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_delta(const atomik_fingerprint* fp,
                                       atomik_fingerprint_value* out) {
  static constexpr const char* kFn = "atomik_fingerprint_delta";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (out == nullptr) return null_argument(kFn, "out");
  *out = to_c(fp->fp.delta());
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_reset(atomik_fingerprint* fp) {
  if (fp == nullptr) return null_argument("atomik_fingerprint_reset", "fp");
  fp->fp.reset();
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_canonical(
    const atomik_fingerprint* fp,
    uint8_t out[ATOMIK_CANONICAL_FINGERPRINT_SIZE]) {
  static constexpr const char* kFn = "atomik_fingerprint_canonical";
  if (fp == nullptr) return null_argument(kFn, "fp");
  if (out == nullptr) return null_argument(kFn, "out");
  const atomik::CanonicalFingerprint c = fp->fp.canonical();
  std::memcpy(out, c.data(), c.size());
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_compute(
    const void* data, size_t len, const atomik_fingerprint_options* options,
    atomik_fingerprint_value* out) {
  static constexpr const char* kFn = "atomik_fingerprint_compute";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    if (data == nullptr && len != 0) return null_argument(kFn, "data");
    if (check_mode(kFn, options) != ATOMIK_OK) return ATOMIK_INVALID_ARGUMENT;
    auto v = atomik::fingerprint(bytes_of(data, len), to_cpp(options));
    if (!v.ok()) return fail(kFn, v.status());
    *out = to_c(*v);
    return ATOMIK_OK;
  });
}

atomik_status atomik_fingerprint_gate_new(
    const atomik_fingerprint_options* options, atomik_fingerprint_gate** out) {
  static constexpr const char* kFn = "atomik_fingerprint_gate_new";
  return guarded(kFn, [&] {
    if (out == nullptr) return null_argument(kFn, "out");
    if (check_mode(kFn, options) != ATOMIK_OK) return ATOMIK_INVALID_ARGUMENT;
    auto g = atomik::FingerprintGate::create(to_cpp(options));
    if (!g.ok()) return fail(kFn, g.status());
    *out = new atomik_fingerprint_gate{*g};
    return ATOMIK_OK;
  });
}

void atomik_fingerprint_gate_free(atomik_fingerprint_gate* gate) {
  delete gate;
}

atomik_status atomik_fingerprint_gate_check(atomik_fingerprint_gate* gate,
                                            const void* sample, size_t len,
                                            int* changed) {
  static constexpr const char* kFn = "atomik_fingerprint_gate_check";
  if (gate == nullptr) return null_argument(kFn, "gate");
  if (changed == nullptr) return null_argument(kFn, "changed");
  if (sample == nullptr && len != 0) return null_argument(kFn, "sample");
  *changed = gate->gate.check(bytes_of(sample, len)) ? 1 : 0;
  return ATOMIK_OK;
}

atomik_status atomik_fingerprint_gate_counts(
    const atomik_fingerprint_gate* gate, uint64_t* checks, uint64_t* changes,
    uint64_t* skips) {
  if (gate == nullptr) {
    return null_argument("atomik_fingerprint_gate_counts", "gate");
  }
  if (checks != nullptr) *checks = gate->gate.checks();
  if (changes != nullptr) *changes = gate->gate.changes();
  if (skips != nullptr) *skips = gate->gate.skips();
  return ATOMIK_OK;
}

}  // extern "C"
