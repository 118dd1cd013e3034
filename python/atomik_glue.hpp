// SPDX-License-Identifier: Apache-2.0
// python/atomik_glue.hpp: small C++ shims between Cython and the atomik
// headers, for the atomik_core Python module.
//
// Cython 0.29 cannot spell std::span, std::optional or std::string_view, and
// it declares C++ locals before assigning them, so types without a default
// constructor (Result<T>, DeltaTable) cannot be Cython locals. The shims
// below turn those into pointers, out-parameters and plain values. They add
// no behaviour: each one calls exactly one atomik function.
//
// Thread safety: as the wrapped call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "atomik/context.hpp"
#include "atomik/fingerprint.hpp"
#include "atomik/message.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/status.hpp"
#include "atomik/stream.hpp"
#include "atomik/table.hpp"
#include "atomik/undo.hpp"
#include "atomik/word.hpp"

namespace atomik::python {

using Context64 = Context<std::uint64_t>;
using Context128 = Context<Word128>;
using Table64 = DeltaTable<std::uint64_t>;
using Table128 = DeltaTable<Word128>;
using Undo64 = UndoHistory<std::uint64_t>;

inline std::span<const std::byte> bytes_of(const unsigned char* p,
                                           std::size_t n) {
  return {reinterpret_cast<const std::byte*>(p), n};
}

// Status as Cython can read it.
inline int status_code(const Status& s) { return static_cast<int>(s.code()); }
inline std::string status_message(const Status& s) {
  return std::string(s.message());
}

// Context::accum_batch over a pointer and a length.
template <typename W>
void accum_batch(Context<W>& c, const W* p, std::size_t n) {
  c.accum_batch(std::span<const W>(p, n));
}

// The bitwise OR of n words: its highest bit bounds every word, so one pass
// tells whether all of them fit a narrower width.
inline std::uint64_t or_reduce(const std::uint64_t* p, std::size_t n) {
  std::uint64_t lanes[4] = {0, 0, 0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    lanes[0] |= p[i];
    lanes[1] |= p[i + 1];
    lanes[2] |= p[i + 2];
    lanes[3] |= p[i + 3];
  }
  for (; i < n; ++i) lanes[0] |= p[i];
  return lanes[0] | lanes[1] | lanes[2] | lanes[3];
}

// The largest of n 32-bit addresses (0 for n == 0).
inline std::uint32_t max_reduce(const std::uint32_t* p, std::size_t n) {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) m = p[i] > m ? p[i] : m;
  return m;
}

// DeltaTable::dense as a heap object, or nullptr with *status set.
template <typename W>
DeltaTable<W>* new_dense_table(std::uint64_t num_contexts, Status* status) {
  Result<DeltaTable<W>> r = DeltaTable<W>::dense(num_contexts);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return new DeltaTable<W>(std::move(*r));
}

// DeltaTable::read / swap with the value through an out-parameter.
template <typename W>
Status table_read(const DeltaTable<W>& t, Addr addr, W* out) {
  Result<W> r = t.read(addr);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
template <typename W>
Status table_swap(DeltaTable<W>& t, Addr addr, W* out) {
  Result<W> r = t.swap(addr);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
template <typename W>
Status table_swap_to(DeltaTable<W>& t, Addr addr, W new_reference, W* out) {
  Result<W> r = t.swap(addr, new_reference);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}

// DeltaTable::batch_accum over parallel address and delta arrays (all or
// nothing, as batch_accum).
template <typename W>
Status table_batch_accum(DeltaTable<W>& t,
                         const std::vector<std::pair<Addr, W>>& deltas) {
  return t.batch_accum(std::span<const std::pair<Addr, W>>(deltas));
}

// Pointers to every context of a dense table, in address order, so Python
// can hold a live view of one (AtomikTable.context(addr)). DeltaTable hands
// out const references only; the contexts themselves are not const objects,
// so writing through these pointers is well defined. A dense table never
// reallocates its contexts, so the pointers stay valid while it lives.
template <typename W>
void context_pointers(const DeltaTable<W>& t, std::vector<Context<W>*>* out) {
  out->clear();
  out->reserve(static_cast<std::size_t>(t.num_contexts()));
  t.for_each([out](Addr, const Context<W>& c) {
    out->push_back(const_cast<Context<W>*>(&c));
  });
}

// --- DeltaMessage -----------------------------------------------------------

inline void message_to_bytes(const DeltaMessage& m, unsigned char* out) {
  const std::array<std::byte, DeltaMessage::kWireSize> wire = m.to_bytes();
  std::memcpy(out, wire.data(), wire.size());
}
inline Status message_from_bytes(const unsigned char* p, std::size_t n,
                                 DeltaMessage* out) {
  Result<DeltaMessage> r = DeltaMessage::from_bytes(bytes_of(p, n));
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}

// --- DeltaStream ------------------------------------------------------------

inline DeltaStream* new_stream(std::uint64_t origin,
                               std::uint64_t dense_contexts,
                               std::uint64_t window, std::uint64_t retain,
                               std::uint64_t max_pending, bool raw_apply,
                               Status* status) {
  StreamOptions o;
  o.origin = origin;
  o.dense_contexts = dense_contexts;
  o.window = window;
  o.retain_per_origin = retain;
  o.max_pending = max_pending;
  o.mode = raw_apply ? ApplyMode::kRawCompat : ApplyMode::kExactlyOnce;
  Result<DeltaStream> r = DeltaStream::create(o);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return new DeltaStream(std::move(*r));
}
inline bool stream_raw_apply(const DeltaStream& s) {
  return s.options().mode == ApplyMode::kRawCompat;
}
inline Status stream_read(const DeltaStream& s, Addr addr, std::uint64_t* out) {
  Result<std::uint64_t> r = s.read(addr);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline Status stream_accum(DeltaStream& s, Addr addr, std::uint64_t delta,
                           StampedDelta* out) {
  Result<StampedDelta> r = s.accum(addr, delta);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
// outcome: 0 applied, 1 duplicate, 2 beyond window (ApplyOutcome).
inline Status stream_apply(DeltaStream& s, OriginId origin, Seq seq, Addr addr,
                           std::uint64_t delta, int* outcome) {
  Result<ApplyOutcome> r = s.apply(origin, seq, addr, delta);
  if (!r.ok()) return r.status();
  *outcome = static_cast<int>(*r);
  return Status();
}
inline int stream_classify(const DeltaStream& s, OriginId origin, Seq seq) {
  return static_cast<int>(s.classify(origin, seq));
}
inline std::vector<std::pair<std::uint64_t, std::uint64_t>>
stream_version_vector(const DeltaStream& s) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  const VersionVector vv = s.version_vector();  // entries() refers into it
  for (const auto& [o, m] : vv.entries()) out.emplace_back(o, m);
  return out;
}
inline CatchUp stream_missing(
    const DeltaStream& s,
    const std::vector<std::pair<std::uint64_t, std::uint64_t>>& remote) {
  VersionVector vv;
  for (const auto& [o, m] : remote) vv.set(o, m);
  return s.missing(vv);
}
inline std::vector<std::pair<Addr, Context64>> stream_contexts(
    const DeltaStream& s) {
  std::vector<std::pair<Addr, Context64>> out;
  s.table().for_each(
      [&out](Addr a, const Context64& c) { out.emplace_back(a, c); });
  return out;
}
inline std::uint64_t stream_num_contexts(const DeltaStream& s) {
  return s.options().dense_contexts;
}

// --- Fingerprint ------------------------------------------------------------

// mode: 1 strong (kChunkedXxh3), 2 legacy XOR-fold.
inline FingerprintOptions fingerprint_options(int mode, std::size_t chunk_size,
                                              std::uint64_t key,
                                              unsigned width) {
  FingerprintOptions o;
  o.mode = mode == 2 ? FingerprintMode::kLegacyXorFold
                     : FingerprintMode::kChunkedXxh3;
  o.chunk_size = chunk_size;
  o.key = key;
  o.width = width;
  return o;
}
inline Status fingerprint_create(int mode, std::size_t chunk_size,
                                 std::uint64_t key, unsigned width,
                                 Fingerprint* out) {
  Result<Fingerprint> r =
      Fingerprint::create(fingerprint_options(mode, chunk_size, key, width));
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline FingerprintValue fingerprint_load(Fingerprint& f, const unsigned char* p,
                                         std::size_t n) {
  return f.load(bytes_of(p, n));
}
inline FingerprintValue fingerprint_update(Fingerprint& f,
                                           const unsigned char* p,
                                           std::size_t n) {
  return f.update(bytes_of(p, n));
}
inline Status fingerprint_update_range(Fingerprint& f, std::uint64_t offset,
                                       const unsigned char* old_p,
                                       std::size_t old_n,
                                       const unsigned char* new_p,
                                       std::size_t new_n) {
  return f.update_range(offset, bytes_of(old_p, old_n), bytes_of(new_p, new_n));
}
inline Status fingerprint_update_range_in_place(
    Fingerprint& f, const unsigned char* after_p, std::size_t after_n,
    std::uint64_t offset, const unsigned char* old_p, std::size_t old_n) {
  return f.update_range_in_place(bytes_of(after_p, after_n), offset,
                                 bytes_of(old_p, old_n));
}
inline int fingerprint_mode(const Fingerprint& f) {
  return static_cast<int>(f.mode());
}
inline void fingerprint_canonical(const Fingerprint& f, unsigned char* out) {
  const CanonicalFingerprint c = f.canonical();
  std::memcpy(out, c.data(), c.size());
}
inline Status fingerprint_parse_canonical(const unsigned char* p, std::size_t n,
                                          int* mode, std::uint64_t* param,
                                          bool* keyed,
                                          FingerprintValue* value) {
  Result<ParsedFingerprint> r = Fingerprint::parse_canonical(bytes_of(p, n));
  if (!r.ok()) return r.status();
  *mode = static_cast<int>(r->mode);
  *param = r->param;
  *keyed = r->keyed;
  *value = r->value;
  return Status();
}
inline Status gate_create(int mode, std::size_t chunk_size, std::uint64_t key,
                          unsigned width, FingerprintGate* out) {
  Result<FingerprintGate> r = FingerprintGate::create(
      fingerprint_options(mode, chunk_size, key, width));
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline bool gate_check(FingerprintGate& g, const unsigned char* p,
                       std::size_t n) {
  return g.check(bytes_of(p, n));
}
inline bool gate_last(const FingerprintGate& g, FingerprintValue* out) {
  std::optional<FingerprintValue> v = g.last();
  if (!v) return false;
  *out = *v;
  return true;
}

// --- UndoHistory ------------------------------------------------------------

inline bool undo_undo(Undo64& h, Context64& c, std::uint64_t* out) {
  std::optional<std::uint64_t> d = h.undo(c);
  if (!d) return false;
  *out = *d;
  return true;
}
inline bool undo_redo(Undo64& h, Context64& c, std::uint64_t* out) {
  std::optional<std::uint64_t> d = h.redo(c);
  if (!d) return false;
  *out = *d;
  return true;
}

// --- PersistentTable --------------------------------------------------------

// sync: 0 every record, 1 group, 2 none. recovery: 0 strict, 1 skip.
// add: the add group (counters) with words of word_bits bits; else xor.
inline PersistentTable* persistent_open(const std::string& dir,
                                        std::uint64_t num_contexts, int sync,
                                        int recovery, std::uint32_t undo_levels,
                                        std::uint64_t origin, bool add,
                                        int word_bits, Status* status) {
  PersistentOptions o;
  o.num_contexts = num_contexts;
  o.group = add ? TableGroup::kAdd : TableGroup::kXor;
  o.word_bits = static_cast<std::uint8_t>(word_bits);
  o.sync = sync == 1   ? SyncPolicy::kGroup
           : sync == 2 ? SyncPolicy::kNone
                       : SyncPolicy::kEveryRecord;
  o.recovery = recovery == 1 ? RecoveryMode::kSkip : RecoveryMode::kStrict;
  o.undo_levels = undo_levels;
  o.origin = origin;
  Result<std::unique_ptr<PersistentTable>> r = PersistentTable::open(dir, o);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return r->release();
}
inline Status persistent_read(const PersistentTable& t, Addr addr,
                              std::uint64_t* out) {
  Result<std::uint64_t> r = t.read(addr);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline Status persistent_apply(PersistentTable& t, std::uint64_t origin,
                               std::uint64_t seq, Addr addr,
                               std::uint64_t delta, bool* applied) {
  Result<bool> r = t.apply(origin, seq, addr, delta);
  if (!r.ok()) return r.status();
  *applied = *r;
  return Status();
}
inline Status persistent_snapshot(
    const PersistentTable& t,
    std::vector<std::pair<std::uint32_t, std::uint64_t>>* out) {
  auto r = t.snapshot();
  if (!r.ok()) return r.status();
  *out = std::move(*r);
  return Status();
}
inline Status persistent_swap(
    PersistentTable& t, std::uint64_t* epoch,
    std::vector<std::pair<std::uint32_t, std::uint64_t>>* states) {
  Result<EpochState> r = t.swap();
  if (!r.ok()) return r.status();
  *epoch = r->epoch;
  *states = std::move(r->states);
  return Status();
}
// undo (redo = false) or redo: *had = false when there was nothing to do.
inline Status persistent_undo(PersistentTable& t, Addr addr, bool redo,
                              bool* had, std::uint64_t* delta) {
  Result<std::optional<std::uint64_t>> r = redo ? t.redo(addr) : t.undo(addr);
  if (!r.ok()) return r.status();
  *had = r->has_value();
  if (*had) *delta = **r;
  return Status();
}
inline std::uint64_t persistent_own_seq(const PersistentTable& t) {
  const std::uint64_t me = t.origin();
  for (const auto& [o, s] : t.version_vector())
    if (o == me) return s;
  return 0;
}

}  // namespace atomik::python
