// SPDX-License-Identifier: Apache-2.0
// python/net_glue.hpp: shims between Cython and the atomik network, shared
// memory, LWW and counter headers, for the atomik_core._net module.
//
// Cython 0.29 cannot spell std::span, std::optional, std::string_view or
// Result<T> locals (it default-constructs locals), and cannot instantiate
// class templates over group types. The shims below turn Result<T> into
// out-parameters and owned raw pointers (the module deletes them), options
// structs into plain arguments, and the SharedContext<W, G> family into one
// virtual interface. They add no behaviour: each calls one atomik function
// (or, for SharedHandle, the same function of the chosen instantiation).
//
// Thread safety: as the wrapped call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "atomik/context.hpp"
#include "atomik/frame.hpp"
#include "atomik/group.hpp"
#include "atomik/lww.hpp"
#include "atomik/node.hpp"
#include "atomik/persistent_table.hpp"
#include "atomik/redis.hpp"
#include "atomik/shared_context.hpp"
#include "atomik/status.hpp"
#include "atomik/stream.hpp"

namespace atomik::python {

using Counter64 = atomik::Counter64;

// ---- options ------------------------------------------------------------

// The PersistentOptions a Python caller can set: sync 0 every record,
// 1 group, 2 none (the strings of PersistentSyncTable).
inline PersistentOptions storage_options(std::uint64_t num_contexts, int sync,
                                         std::uint64_t origin) {
  PersistentOptions o;
  o.num_contexts = num_contexts;
  o.sync = sync == 1   ? SyncPolicy::kGroup
           : sync == 2 ? SyncPolicy::kNone
                       : SyncPolicy::kEveryRecord;
  o.origin = origin;
  return o;
}

// NodeOptions without hooks; `key` is empty or kNodeKeySize raw bytes (the
// node checks the length and fails with kInvalidArgument).
struct NodeConfig {
  std::string data_dir;
  std::string listen;
  std::vector<std::string> peers;
  std::string key;
  bool udp = false;
  std::uint64_t num_contexts = 0;
  bool add = false;  // the table's group: add (counters) or xor
  int sync = 0;
  std::uint64_t origin = 0;
  std::uint32_t sync_interval_ms = 1000;
  std::uint32_t reconnect_min_ms = 50;
  std::uint32_t reconnect_max_ms = 2000;
  bool log = false;
};

inline std::vector<std::byte> key_bytes(const std::string& key) {
  std::vector<std::byte> k(key.size());
  for (std::size_t i = 0; i < key.size(); ++i) {
    k[i] = static_cast<std::byte>(static_cast<unsigned char>(key[i]));
  }
  return k;
}

inline NodeOptions node_options(const NodeConfig& c) {
  NodeOptions o;
  o.data_dir = c.data_dir;
  o.listen = c.listen;
  o.peers = c.peers;
  o.key = key_bytes(c.key);
  o.udp = c.udp;
  o.storage = storage_options(c.num_contexts, c.sync, c.origin);
  o.storage.group = c.add ? TableGroup::kAdd : TableGroup::kXor;
  o.sync_interval_ms = c.sync_interval_ms;
  o.reconnect_min_ms = c.reconnect_min_ms;
  o.reconnect_max_ms = c.reconnect_max_ms;
  o.log = c.log;
  return o;
}

// read_node_key_file() as raw bytes in a string.
inline Status key_file_read(const std::string& path, std::string* out) {
  Result<std::vector<std::byte>> r = read_node_key_file(path);
  if (!r.ok()) return r.status();
  out->assign(reinterpret_cast<const char*>(r->data()), r->size());
  return Status();
}

// ---- Node ----------------------------------------------------------------

inline Node* node_start(const NodeConfig& c, Status* status) {
  Result<std::unique_ptr<Node>> r = Node::start(node_options(c));
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return r->release();
}
inline std::string node_status_json(const Node& n) {
  return n.status().to_json();
}
inline std::string node_status_text(const Node& n) {
  return n.status().to_text();
}
inline std::vector<std::pair<std::uint64_t, std::uint64_t>> vv_entries(
    const VersionVector& v) {
  return {v.entries().begin(), v.entries().end()};
}
// ---- NodeClient ------------------------------------------------------------

inline NodeClient* client_connect(const std::string& address,
                                  const std::string& key,
                                  std::uint32_t timeout_ms, Status* status) {
  const std::vector<std::byte> k = key_bytes(key);
  Result<std::unique_ptr<NodeClient>> r =
      NodeClient::connect(address, k, timeout_ms);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return r->release();
}
inline Status client_read(NodeClient& c, Addr addr, std::uint64_t* out) {
  Result<std::uint64_t> r = c.read(addr);
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline Status client_swap(NodeClient& c, std::uint64_t* out) {
  Result<std::uint64_t> r = c.swap();
  if (!r.ok()) return r.status();
  *out = *r;
  return Status();
}
inline Status client_status(NodeClient& c, bool json, std::string* out) {
  Result<std::string> r = json ? c.status_json() : c.status_text();
  if (!r.ok()) return r.status();
  *out = std::move(*r);
  return Status();
}
inline Status client_digest(NodeClient& c, std::string* out) {
  Result<Digest> r = c.digest();
  if (!r.ok()) return r.status();
  *out = r->to_hex();
  return Status();
}

// ---- RedisReplicator -------------------------------------------------------

struct RedisConfig {
  std::string url;
  std::string table;
  std::uint32_t shards = 1;
  std::uint32_t block_ms = 100;
  std::uint32_t start_timeout_ms = 5000;
  bool bootstrap = true;
  bool log = false;
};

inline RedisOptions redis_options(const RedisConfig& c) {
  RedisOptions o;
  o.url = c.url;
  o.table = c.table;
  o.shards = c.shards;
  o.block_ms = c.block_ms;
  o.start_timeout_ms = c.start_timeout_ms;
  o.bootstrap = c.bootstrap;
  o.log = c.log;
  return o;
}
inline RedisReplicator* redis_start(const std::string& data_dir,
                                    std::uint64_t num_contexts, int sync,
                                    std::uint64_t origin, const RedisConfig& c,
                                    Status* status) {
  Result<std::unique_ptr<RedisReplicator>> r = RedisReplicator::start(
      data_dir, storage_options(num_contexts, sync, origin), redis_options(c));
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return r->release();
}
// RedisReplicator::start_node: a Node (NodeConfig) whose deltas also go
// through Redis.
inline RedisReplicator* redis_start_node(const NodeConfig& n,
                                         const RedisConfig& c, Status* status) {
  Result<std::unique_ptr<RedisReplicator>> r =
      RedisReplicator::start_node(node_options(n), redis_options(c));
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return r->release();
}
// The node's listen address ("" without a node).
inline std::string redis_listen_address(const RedisReplicator& rep) {
  const Node* n = rep.node();
  return n == nullptr ? std::string() : n->listen_address();
}
// ---- Node and RedisReplicator: the calls both answer alike ---------------

// R is Node or RedisReplicator; the module calls these through one set of
// helpers (_net_replica.pxi) for both classes.
template <class R>
Status replica_accum_batch(R& r, const std::uint32_t* addrs,
                           const std::uint64_t* deltas, std::size_t count) {
  std::vector<FrameRecord> recs(count);
  for (std::size_t i = 0; i < count; ++i) recs[i] = {addrs[i], deltas[i]};
  return r.accum_batch(recs);
}
template <class R>
Status replica_read(const R& r, Addr addr, std::uint64_t* out) {
  Result<std::uint64_t> v = r.read(addr);
  if (!v.ok()) return v.status();
  *out = *v;
  return Status();
}
template <class R>
Status replica_swap(R& r, std::uint64_t* epoch,
                    std::vector<std::pair<Addr, std::uint64_t>>* states) {
  Result<EpochState> e = r.swap();
  if (!e.ok()) return e.status();
  *epoch = e->epoch;
  *states = std::move(e->states);
  return Status();
}
inline Status replica_snapshot(
    const Node& n, std::vector<std::pair<Addr, std::uint64_t>>* out) {
  *out = n.snapshot();
  return Status();
}
inline Status replica_snapshot(
    const RedisReplicator& rep,
    std::vector<std::pair<Addr, std::uint64_t>>* out) {
  auto r = rep.snapshot();
  if (!r.ok()) return r.status();
  *out = std::move(*r);
  return Status();
}
inline std::string digest_hex(const Digest& d) { return d.to_hex(); }
// Throws (RuntimeError in Python) with the table's error once it failed.
inline std::string digest_hex(const Result<Digest>& d) {
  if (!d.ok()) throw std::runtime_error(d.status().to_string());
  return d->to_hex();
}
template <class R>
std::string replica_digest(const R& r) {
  return digest_hex(r.digest());
}
template <class R>
std::vector<std::pair<std::uint64_t, std::uint64_t>> replica_version_vector(
    const R& r) {
  return vv_entries(r.version_vector());
}

// ---- SharedContext ---------------------------------------------------------

// One interface over SharedContext<W, G> for W in 8/16/32/64 bits and G in
// {XorGroup, AddGroup}; values travel as uint64_t (the module masks them to
// the width before calling).
class SharedHandle {
 public:
  virtual ~SharedHandle() = default;
  virtual void accum(std::uint64_t delta) noexcept = 0;
  virtual void rollback(std::uint64_t delta) noexcept = 0;
  virtual Status read(std::uint64_t* out) const = 0;
  virtual Status swap(bool has_ref, std::uint64_t ref, std::uint64_t* out) = 0;
  virtual Status load(std::uint64_t value) = 0;
  virtual Status reference(std::uint64_t* out) const = 0;
  virtual Status delta_count(std::uint64_t* out) const = 0;
  virtual std::size_t max_writers() const noexcept = 0;
  virtual bool has_own_cell() const noexcept = 0;
};

template <typename W, typename G>
class SharedImpl final : public SharedHandle {
 public:
  explicit SharedImpl(SharedContext<W, G> c) : c_(std::move(c)) {}
  void accum(std::uint64_t d) noexcept override { c_.accum(static_cast<W>(d)); }
  void rollback(std::uint64_t d) noexcept override {
    c_.rollback(static_cast<W>(d));
  }
  Status read(std::uint64_t* out) const override { return put(c_.read(), out); }
  Status swap(bool has_ref, std::uint64_t ref, std::uint64_t* out) override {
    std::optional<W> r;
    if (has_ref) r = static_cast<W>(ref);
    return put(c_.swap(r), out);
  }
  Status load(std::uint64_t v) override { return c_.load(static_cast<W>(v)); }
  Status reference(std::uint64_t* out) const override {
    return put(c_.reference(), out);
  }
  Status delta_count(std::uint64_t* out) const override {
    Result<std::uint64_t> r = c_.delta_count();
    if (!r.ok()) return r.status();
    *out = *r;
    return Status();
  }
  std::size_t max_writers() const noexcept override { return c_.max_writers(); }
  bool has_own_cell() const noexcept override { return c_.has_own_cell(); }

 private:
  static Status put(const Result<W>& r, std::uint64_t* out) {
    if (!r.ok()) return r.status();
    *out = static_cast<std::uint64_t>(*r);
    return Status();
  }
  SharedContext<W, G> c_;
};

template <typename W, typename G>
SharedHandle* shared_make(bool create, const std::string& name,
                          std::uint64_t initial, std::size_t max_writers,
                          Status* status) {
  SharedContextOptions o;
  o.max_writers = max_writers;
  Result<SharedContext<W, G>> r =
      create ? SharedContext<W, G>::create(name, static_cast<W>(initial), o)
             : SharedContext<W, G>::open(name);
  if (!r.ok()) {
    *status = r.status();
    return nullptr;
  }
  return new SharedImpl<W, G>(std::move(*r));
}

template <typename G>
SharedHandle* shared_make_width(bool create, const std::string& name, int width,
                                std::uint64_t initial, std::size_t max_writers,
                                Status* status) {
  switch (width) {
    case 8:
      return shared_make<std::uint8_t, G>(create, name, initial, max_writers,
                                          status);
    case 16:
      return shared_make<std::uint16_t, G>(create, name, initial, max_writers,
                                           status);
    case 32:
      return shared_make<std::uint32_t, G>(create, name, initial, max_writers,
                                           status);
    default:
      return shared_make<std::uint64_t, G>(create, name, initial, max_writers,
                                           status);
  }
}

// create (true) or open (false) a segment; add selects AddGroup. The module
// checks width is one of 8/16/32/64 before calling.
inline SharedHandle* shared_open(bool create, const std::string& name,
                                 int width, bool add, std::uint64_t initial,
                                 std::size_t max_writers, Status* status) {
  return add ? shared_make_width<AddGroup>(create, name, width, initial,
                                           max_writers, status)
             : shared_make_width<XorGroup>(create, name, width, initial,
                                           max_writers, status);
}
inline Status shared_unlink(const std::string& name) {
  return SharedContext<>::unlink(name);
}

// ---- LwwTable
// ----------------------------------------------------------------

inline LwwTable* lww_new(OriginId origin) { return new LwwTable(origin); }
inline LwwWrite lww_put(LwwTable& t, Addr addr, std::uint64_t value,
                        std::uint64_t wall_ns) {
  return t.put(addr, value, wall_ns);
}
inline bool lww_merge(LwwTable& t, Addr addr, std::uint64_t value,
                      std::uint64_t timestamp, OriginId origin) {
  return t.merge(LwwWrite{addr, value, timestamp, origin});
}
inline bool lww_get(const LwwTable& t, Addr addr, std::uint64_t* out) {
  std::optional<std::uint64_t> v = t.get(addr);
  if (!v) return false;
  *out = *v;
  return true;
}
// Every set register, by address.
inline std::vector<LwwWrite> lww_registers(const LwwTable& t) {
  std::vector<LwwWrite> out;
  for (const auto& [addr, reg] : t.registers()) {
    const std::optional<std::uint64_t> v = reg.get();
    if (v) out.push_back({addr, *v, reg.timestamp(), reg.origin()});
  }
  return out;
}

}  // namespace atomik::python
