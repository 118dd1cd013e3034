// SPDX-License-Identifier: Apache-2.0
// RedisReplicator: a PersistentTable replicated through Redis Streams.
// Behaviour: docs/redis.md; layouts: docs/format/redis.md.
//
// Threads: the caller's (accum, snapshot, swap), one publisher, one reader
// per held shard. With start_node() the table is a Node's: own deltas come
// from NodeHooks::on_local_batch (network thread, in seq order, durable),
// admission (max_unpublished) is NodeHooks::admit_local under the node's
// lock, and remote entries go through Node::apply_frame; the node's hooks
// reach this Impl through a Bridge, cleared first by stop(). Lock order:
// the node's lock -> mu; nothing here calls the Node while holding mu. Locks,
// in acquisition order: accum_mu (serialises local deltas so the outbox is in
// seq order), apply_mu (shared by readers around apply + position update;
// exclusive for a snapshot), mu (outbox, shard states, stats), file_mu
// (REDIS_STATE writes), ctl_mu (the control link).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "atomik/checkpoint.hpp"
#include "atomik/redis.hpp"
#include "atomik/wal.hpp"
#include "transport/redis_client.hpp"
#include "transport/redis_format.hpp"

namespace atomik {

using redis::Reply;
using redis::ReplyType;
using redis::ShardState;
using redis::StreamId;

namespace {

using Clock = std::chrono::steady_clock;

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t random_origin() {
  std::random_device rd;
  std::uint64_t o = 0;
  while (o == 0) o = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return o;
}

// Compare-and-set of the newest snapshot: refuses (returns 0) a snapshot
// whose position is behind the stored one on some shard, -1 on a shard
// count mismatch. Stream IDs compared numerically (ms fits a double).
constexpr const char* kSnapshotCasScript = R"lua(
local cur = redis.call('HGET', KEYS[1], 'pos')
if cur then
  local new = {}
  for id in string.gmatch(ARGV[1], '[^,]+') do new[#new + 1] = id end
  local i = 0
  for id in string.gmatch(cur, '[^,]+') do
    i = i + 1
    local n = new[i]
    if n == nil then return -1 end
    local ams, aseq = string.match(id, '(%d+)-(%d+)')
    local bms, bseq = string.match(n, '(%d+)-(%d+)')
    ams = tonumber(ams); aseq = tonumber(aseq)
    bms = tonumber(bms); bseq = tonumber(bseq)
    if bms < ams or (bms == ams and bseq < aseq) then return 0 end
  end
  if i ~= #new then return -1 end
end
redis.call('HSET', KEYS[1], 'pos', ARGV[1], 'data', ARGV[2])
return 1
)lua";

std::string_view as_view(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return Status::invalid_argument("redis URL '" + url + "'", why);
  };
  if (url.rfind(kScheme, 0) != 0) {
    return bad("expected redis://[user[:password]@]host[:port][/db]");
  }
  RedisEndpoint ep;
  std::string rest = url.substr(kScheme.size());
  const std::size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    const std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const std::size_t colon = cred.find(':');
    if (colon == std::string::npos) {
      ep.user = cred;
    } else {
      ep.user = cred.substr(0, colon);
      ep.password = cred.substr(colon + 1);
    }
  }
  const std::size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    if (!db.empty()) {
      if (db.size() > 5 ||
          db.find_first_not_of("0123456789") != std::string::npos) {
        return bad("database '" + db + "' is not a number");
      }
      ep.db = static_cast<std::uint32_t>(std::stoul(db));
    }
  }
  const std::size_t colon = hostport.rfind(':');
  if (colon != std::string::npos) {
    const std::string port = hostport.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      return bad("port '" + port + "' is not in 1..65535");
    }
    ep.port = static_cast<std::uint16_t>(std::stoul(port));
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) return bad("missing host");
  ep.host = hostport;
  return ep;
}

std::uint64_t redis_stream_origin(OriginId origin, std::uint32_t shard) {
  const std::uint64_t o = splitmix64(origin ^ (0x6174726564697300ULL + shard));
  return o == 0 ? 1 : o;
}

std::string redis_stream_key(const std::string& table, std::uint32_t shard) {
  return table + ":{" + table + "-shard-" + std::to_string(shard) + "}:deltas";
}

std::string redis_snapshot_key(const std::string& table) {
  return table + ":snapshot";
}

struct RedisReplicator::Impl {
  // What a Node's hooks point at (start_node); null before the replicator
  // is running and from the start of stop().
  struct Bridge {
    std::atomic<Impl*> impl{nullptr};
  };
  struct Pending {
    std::uint64_t seq;
    Addr addr;
    std::uint64_t delta;
  };

  std::string dir;
  RedisOptions opt;
  redis::LinkConfig link_cfg;
  std::unique_ptr<PersistentTable> table;  // start()
  std::unique_ptr<Node> node;              // start_node()
  std::uint64_t num_contexts = 0;          // the table's dense size (0: sparse)
  std::shared_ptr<Bridge> bridge;
  OriginId origin = 0;
  std::uint32_t shards = 1;
  std::vector<std::uint32_t> held;
  std::vector<std::uint64_t> vorigins;  // per shard
  std::vector<std::uint64_t> own_sorted;
  std::vector<std::string> keys;  // per shard

  std::mutex accum_mu;
  std::shared_mutex apply_mu;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::deque<Pending> outbox;
  std::vector<ShardState> state;
  bool dirty = false;
  Clock::time_point last_flush = Clock::now();
  RedisStats stats;
  bool swapping = false;      // start_node(): a swap is checking/closing
  bool pub_ok = true;         // last XADD succeeded
  std::vector<char> read_ok;  // per held shard: last XREAD succeeded
  bool stopping = false;
  Status fatal;
  std::mutex file_mu;
  std::mutex ctl_mu;
  std::unique_ptr<redis::RedisLink> ctl;
  std::thread publisher;
  std::vector<std::thread> readers;
  bool stopped = false;

  void log(const std::string& line) const {
    if (opt.log) std::fprintf(stderr, "atomik redis: %s\n", line.c_str());
  }

  bool is_own(std::uint64_t frame_origin) const {
    return std::binary_search(own_sorted.begin(), own_sorted.end(),
                              frame_origin);
  }

  std::uint64_t min_pub_seq_locked() const {
    std::uint64_t m = UINT64_MAX;
    for (const ShardState& s : state) m = std::min(m, s.pub_seq);
    return m;
  }

  // The own seq last assigned (start_node(): possibly not durable yet).
  // Never called with mu held.
  std::uint64_t own_seq() const {
    if (node) return node->version_vector().get(origin);
    for (const auto& [o, m] : table->version_vector()) {
      if (o == origin) return m;
    }
    return 0;
  }

  bool connected_locked() const {
    if (!pub_ok) return false;
    for (char ok : read_ok) {
      if (ok == 0) return false;
    }
    return true;
  }

  // Backpressure: kResourceExhausted when `unpublished` + n exceeds
  // max_unpublished.
  Status check_room_locked(std::uint64_t unpublished, std::size_t n) {
    if (unpublished + n <= opt.max_unpublished) return Status();
    stats.deltas_refused += n;
    return Status::resource_exhausted(
        "Redis publishing",
        std::to_string(unpublished) +
            " own deltas are acknowledged but not yet published (Redis " +
            (connected_locked() ? "is slow" : "is unreachable") +
            "); refusing " + std::to_string(n) +
            " new deltas beyond max_unpublished " +
            std::to_string(opt.max_unpublished) +
            " (nothing acknowledged is lost; retry once Redis is back)");
  }

  // NodeHooks::admit_local (under the node's lock).
  Status admit(std::uint64_t last_seq, std::size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) {
      return Status::unavailable("Redis publishing", "the node is stopping");
    }
    if (swapping) {
      return Status::unavailable("Redis publishing",
                                 "a swap is in progress; retry");
    }
    const std::uint64_t low = std::min(min_pub_seq_locked(), last_seq);
    return check_room_locked(last_seq - low, n);
  }

  // NodeHooks::on_local_batch (network thread, seq order, durable).
  void enqueue(std::uint64_t first, std::span<const FrameRecord> recs) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ATOMIK_DCHECK(outbox.empty() || outbox.back().seq + 1 == first);
      for (std::size_t i = 0; i < recs.size(); ++i) {
        outbox.push_back({first + i, recs[i].addr, recs[i].delta});
      }
      stats.deltas_local += recs.size();
    }
    cv.notify_all();
  }

  // NodeHooks::before_swap: every own delta published, REDIS_STATE
  // written, and new local deltas refused until after_swap.
  Status before_swap() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (swapping) {
        return Status::unavailable("RedisReplicator::swap",
                                   "another swap is in progress");
      }
      swapping = true;
    }
    // Every admitted delta has its seq by now (admit runs under the node's
    // lock, before the seq is assigned).
    const std::uint64_t own = own_seq();
    {
      std::lock_guard<std::mutex> lock(mu);
      const std::uint64_t low = min_pub_seq_locked();
      if (own > low) {
        swapping = false;
        return Status::unavailable(
            "RedisReplicator::swap",
            std::to_string(own - low) +
                " own deltas are not yet published to Redis; the WAL must "
                "keep them (retry once Redis is reachable)");
      }
      dirty = true;
    }
    Status s = maybe_flush(/*force=*/true);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu);
      swapping = false;
    }
    return s;
  }
  void after_swap() {
    std::lock_guard<std::mutex> lock(mu);
    swapping = false;
  }

  Status sync_table() { return node ? node->sync() : table->sync(); }

  std::string status_json() const {
    const std::uint64_t own = own_seq();
    std::lock_guard<std::mutex> lock(mu);
    const RedisStats& s = stats;
    const std::uint64_t low = std::min(min_pub_seq_locked(), own);
    std::ostringstream o;
    o << R"({"connected":)" << (connected_locked() ? "true" : "false")
      << R"(,"endpoint":")" << link_cfg.endpoint.host << ":"
      << link_cfg.endpoint.port << "/" << link_cfg.endpoint.db
      << R"(","table":")" << opt.table << R"(","shards":)" << shards
      << R"(,"unpublished":)" << (node ? own - low : outbox.size())
      << R"(,"max_unpublished":)" << opt.max_unpublished
      << R"(,"stats":{"deltas_local":)" << s.deltas_local
      << R"(,"deltas_refused":)" << s.deltas_refused
      << R"(,"entries_published":)" << s.entries_published
      << R"(,"deltas_published":)" << s.deltas_published
      << R"(,"entries_read":)" << s.entries_read << R"(,"entries_own":)"
      << s.entries_own << R"(,"deltas_applied":)" << s.deltas_applied
      << R"(,"deltas_duplicate":)" << s.deltas_duplicate
      << R"(,"entries_malformed":)" << s.entries_malformed
      << R"(,"frames_gap":)" << s.frames_gap << R"(,"connects":)" << s.connects
      << R"(,"connection_errors":)" << s.connection_errors
      << R"(,"snapshots_published":)" << s.snapshots_published
      << R"(,"snapshots_refused":)" << s.snapshots_refused
      << R"(,"bootstrapped":)" << s.bootstrapped << R"(,"state_writes":)"
      << s.state_writes << R"(},"positions":[)";
    for (std::uint32_t k = 0; k < shards; ++k) {
      o << (k == 0 ? "" : ",") << R"({"shard":)" << k << R"(,"read":")"
        << state[k].read.to_string() << R"(","published_seq":)"
        << state[k].pub_seq << "}";
    }
    o << "]}";
    return o.str();
  }

  // Waits `ms` or until stop; false if stopping.
  bool backoff_wait(std::uint32_t* ms) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::milliseconds(*ms), [&] { return stopping; });
    *ms = std::min(opt.retry_max_ms, *ms * 2);
    return !stopping;
  }

  Status write_state_file(const std::vector<ShardState>& s) {
    std::lock_guard<std::mutex> lock(file_mu);
    FileSystem& fs = FileSystem::posix();
    const std::string tmp = dir + "/" + redis::kStateTempName;
    const std::vector<std::byte> bytes = redis::encode_state(s);
    auto f = fs.open_writable(tmp, /*truncate=*/true);
    if (!f.ok()) return f.status().with_context("REDIS_STATE");
    Status st = (*f)->append(bytes);
    if (st.ok()) st = (*f)->sync();
    const Status cs = (*f)->close();
    if (st.ok()) st = cs;
    if (st.ok()) st = fs.rename(tmp, dir + "/" + redis::kStateFileName);
    if (st.ok()) st = fs.sync_dir(dir);
    if (!st.ok()) {
      (void)fs.remove(tmp);
      return st.with_context("REDIS_STATE");
    }
    return Status();
  }

  // Writes REDIS_STATE if it changed and (force or state_flush_ms passed).
  Status maybe_flush(bool force) {
    std::vector<ShardState> copy;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!dirty) return Status();
      if (!force && Clock::now() - last_flush <
                        std::chrono::milliseconds(opt.state_flush_ms)) {
        return Status();
      }
      copy = state;
      dirty = false;
      last_flush = Clock::now();
    }
    Status s = write_state_file(copy);
    std::lock_guard<std::mutex> lock(mu);
    if (!s.ok()) {
      dirty = true;
      log("cannot write REDIS_STATE (will retry): " + std::string(s.message()));
    } else {
      ++stats.state_writes;
    }
    return s;
  }

  void count_connects(const redis::RedisLink& link, std::uint64_t* seen) {
    if (link.connects() != *seen) {
      std::lock_guard<std::mutex> lock(mu);
      stats.connects += link.connects() - *seen;
      *seen = link.connects();
    }
  }

  // --- publisher -----------------------------------------------------------
  void publish_loop() {
    std::vector<std::unique_ptr<redis::RedisLink>> links;
    std::vector<std::uint64_t> seen(shards, 0);
    for (std::uint32_t k = 0; k < shards; ++k) {
      links.push_back(std::make_unique<redis::RedisLink>(link_cfg));
    }
    std::uint32_t backoff = opt.retry_min_ms;
    bool outage_logged = false;
    std::vector<FrameRecord> recs;
    std::vector<std::byte> frame;
    for (;;) {
      std::vector<Pending> slice;
      std::vector<ShardState> st;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stopping || !outbox.empty(); });
        if (stopping) break;
        const std::size_t n =
            std::min<std::size_t>(outbox.size(), opt.max_entry_records);
        slice.assign(outbox.begin(),
                     outbox.begin() + static_cast<std::ptrdiff_t>(n));
        st = state;
      }
      const std::uint64_t slice_end = slice.back().seq;
      bool failed = false;
      for (std::uint32_t k = 0; k < shards && !failed; ++k) {
        if (st[k].pub_seq >= slice_end) continue;
        recs.clear();
        for (const Pending& p : slice) {
          if (p.seq > st[k].pub_seq && redis_shard_of(p.addr, shards) == k) {
            recs.push_back({p.addr, p.delta});
          }
        }
        if (!recs.empty()) {
          const FrameHeader h{.origin = vorigins[k],
                              .epoch = 0,
                              .base_seq = st[k].pub_vseq + 1};
          auto enc = encode_frame(
              h, recs, {}, FrameLimits{.max_frame_bytes = opt.max_frame_bytes});
          if (!enc.ok()) {
            // Options are validated so that this cannot happen.
            log("cannot encode a frame: " +
                std::string(enc.status().message()));
            failed = true;
            break;
          }
          frame = std::move(*enc);
          auto r = links[k]->run({"XADD", keys[k], "*", "f", as_view(frame)});
          count_connects(*links[k], &seen[k]);
          if (!r.ok()) {
            {
              std::lock_guard<std::mutex> lock(mu);
              ++stats.connection_errors;
              pub_ok = false;
            }
            if (!outage_logged) {
              log("publishing stalled (deltas wait in the WAL): " +
                  std::string(r.status().message()));
              outage_logged = true;
            }
            failed = true;
            break;
          }
        }
        std::lock_guard<std::mutex> lock(mu);
        pub_ok = true;
        state[k].pub_seq = slice_end;
        state[k].pub_vseq += recs.size();
        if (!recs.empty()) {
          ++stats.entries_published;
          stats.deltas_published += recs.size();
        }
        dirty = true;
      }
      if (failed) {
        if (!backoff_wait(&backoff)) break;
        continue;
      }
      if (outage_logged) {
        log("publishing resumed");
        outage_logged = false;
      }
      backoff = opt.retry_min_ms;
      {
        std::lock_guard<std::mutex> lock(mu);
        const std::uint64_t low = min_pub_seq_locked();
        while (!outbox.empty() && outbox.front().seq <= low) outbox.pop_front();
      }
      cv.notify_all();
      (void)maybe_flush(false);
    }
  }

  // --- readers -------------------------------------------------------------
  // Applies one stream entry; returns false on a fatal table error.
  bool apply_entry(std::uint32_t k, std::string_view id,
                   const redisReply* fields) {
    auto malformed = [&](const std::string& why) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++stats.entries_malformed;
      }
      log("shard " + std::to_string(k) + " entry " + std::string(id) +
          ": skipped malformed entry: " + why);
      return true;
    };
    if (fields == nullptr || redis::reply_type(fields) != ReplyType::kArray ||
        redis::reply_size(fields) != 2) {
      return malformed("expected exactly one field 'f'");
    }
    const redisReply* name = redis::reply_at(fields, 0);
    const redisReply* value = redis::reply_at(fields, 1);
    if (redis::reply_str(name) != "f" ||
        redis::reply_type(value) != ReplyType::kString) {
      return malformed("expected exactly one field 'f'");
    }
    const std::string_view v = redis::reply_str(value);
    const std::span<const std::byte> bytes(
        reinterpret_cast<const std::byte*>(v.data()), v.size());
    auto f =
        parse_frame(bytes, FrameLimits{.max_frame_bytes = opt.max_frame_bytes});
    if (!f.ok()) return malformed(std::string(f.status().message()));
    if (f->size() != bytes.size()) {
      return malformed(std::to_string(bytes.size() - f->size()) +
                       " bytes after the frame");
    }
    const std::uint64_t o = f->header().origin;
    if (is_own(o)) {
      std::lock_guard<std::mutex> lock(mu);
      ++stats.entries_own;
      return true;
    }
    if (f->count() == 0) return true;
    if (node) return apply_entry_to_node(k, id, *f, malformed);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> deltas(f->count());
    for (std::size_t i = 0; i < f->count(); ++i) {
      const FrameRecord r = f->record(i);
      deltas[i] = {r.addr, r.delta};
    }
    auto applied = table->apply_batch(o, f->header().base_seq, deltas,
                                      /*wait=*/false);
    if (!applied.ok()) {
      const Status& s = applied.status();
      if (s.code() == Code::kFailedPrecondition) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ++stats.frames_gap;
        }
        log("shard " + std::to_string(k) + " entry " + std::string(id) +
            ": not applied (gap): " + std::string(s.message()));
        return true;
      }
      if (s.code() == Code::kOutOfRange || s.code() == Code::kInvalidArgument) {
        return malformed(std::string(s.message()));
      }
      std::lock_guard<std::mutex> lock(mu);
      if (fatal.ok()) fatal = s;
      return false;
    }
    std::lock_guard<std::mutex> lock(mu);
    stats.deltas_applied += *applied;
    stats.deltas_duplicate += f->count() - *applied;
    return true;
  }

  template <typename Malformed>
  bool apply_entry_to_node(std::uint32_t k, std::string_view id,
                           const FrameView& f, const Malformed& malformed) {
    auto r = node->apply_frame(f);
    if (!r.ok()) {
      const Status& s = r.status();
      if (s.code() == Code::kOutOfRange || s.code() == Code::kInvalidArgument) {
        return malformed(std::string(s.message()));
      }
      std::lock_guard<std::mutex> lock(mu);
      if (fatal.ok()) fatal = s;
      return false;
    }
    if (r->gap) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ++stats.frames_gap;
      }
      log("shard " + std::to_string(k) + " entry " + std::string(id) +
          ": not applied (gap): origin " + std::to_string(f.header().origin) +
          " base seq " + std::to_string(f.header().base_seq));
      return true;
    }
    std::lock_guard<std::mutex> lock(mu);
    stats.deltas_applied += r->applied;
    stats.deltas_duplicate += r->duplicate;
    return true;
  }

  void read_loop(std::uint32_t k) {
    redis::RedisLink link(link_cfg);
    std::uint64_t seen = 0;
    std::uint32_t backoff = opt.retry_min_ms;
    bool outage_logged = false;
    const std::string count = std::to_string(opt.read_count);
    const std::string block = std::to_string(opt.block_ms);
    for (;;) {
      std::string from;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stopping) return;
        from = state[k].read.to_string();
      }
      auto r = link.run(
          {"XREAD", "COUNT", count, "BLOCK", block, "STREAMS", keys[k], from},
          opt.block_ms);
      count_connects(link, &seen);
      const std::size_t slot = static_cast<std::size_t>(
          std::lower_bound(held.begin(), held.end(), k) - held.begin());
      {
        std::lock_guard<std::mutex> lock(mu);
        read_ok[slot] = r.ok() ? 1 : 0;
      }
      if (!r.ok()) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ++stats.connection_errors;
        }
        if (!outage_logged) {
          log("shard " + std::to_string(k) +
              ": reading stalled: " + std::string(r.status().message()));
          outage_logged = true;
        }
        if (!backoff_wait(&backoff)) return;
        continue;
      }
      if (outage_logged) {
        log("shard " + std::to_string(k) + ": reading resumed");
        outage_logged = false;
      }
      backoff = opt.retry_min_ms;
      const redisReply* top = r->get();
      if (redis::reply_type(top) != ReplyType::kArray ||
          redis::reply_size(top) == 0) {
        continue;  // BLOCK timed out
      }
      const redisReply* stream = redis::reply_at(top, 0);
      if (redis::reply_size(stream) != 2) continue;
      const redisReply* entries = redis::reply_at(stream, 1);
      const std::size_t n = redis::reply_size(entries);
      if (n == 0) continue;
      StreamId last;
      {
        std::shared_lock<std::shared_mutex> apply_lock(apply_mu);
        for (std::size_t i = 0; i < n; ++i) {
          const redisReply* e = redis::reply_at(entries, i);
          if (redis::reply_size(e) != 2) continue;
          const std::string_view id = redis::reply_str(redis::reply_at(e, 0));
          auto sid = redis::parse_stream_id(id);
          if (!sid.ok()) continue;  // Redis never sends these
          if (!apply_entry(k, id, redis::reply_at(e, 1))) {
            log("shard " + std::to_string(k) +
                ": reader stopped: " + std::string(fatal.message()));
            return;
          }
          last = *sid;
        }
        // The position moves only after what it covers is durable.
        const Status s = sync_table();
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (fatal.ok()) fatal = s;
          log("shard " + std::to_string(k) +
              ": reader stopped: " + std::string(s.message()));
          return;
        }
        std::lock_guard<std::mutex> lock(mu);
        stats.entries_read += n;
        if (state[k].read < last) state[k].read = last;
        dirty = true;
      }
      cv.notify_all();
      (void)maybe_flush(false);
    }
  }

  // --- startup --------------------------------------------------------------
  static Result<std::unique_ptr<Impl>> create(const std::string& data_dir,
                                              const RedisOptions& options);
  Status finish_start();

  Status connect_control() {
    ctl = std::make_unique<redis::RedisLink>(link_cfg);
    const Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(opt.start_timeout_ms);
    std::uint32_t backoff = opt.retry_min_ms;
    for (;;) {
      Status s = ctl->connect();
      if (s.ok()) {
        stats.connects += 1;
        return s;
      }
      if (s.code() != Code::kUnavailable) return s;
      if (Clock::now() + std::chrono::milliseconds(backoff) > deadline) {
        return Status::unavailable("RedisReplicator::start",
                                   "Redis at " + ctl->where() +
                                       " did not answer within " +
                                       std::to_string(opt.start_timeout_ms) +
                                       " ms: " + std::string(s.message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff = std::min(opt.retry_max_ms, backoff * 2);
    }
  }

  Status bootstrap_if_empty(const PersistentOptions& storage) {
    FileSystem& fs = FileSystem::posix();
    if (fs.exists(dir + "/" + kCheckpointFileName) || !opt.bootstrap) {
      return Status();
    }
    auto r = ctl->run({"HGET", redis_snapshot_key(opt.table), "data"});
    if (!r.ok()) return r.status();
    if (redis::reply_type(r->get()) != ReplyType::kString) return Status();
    const std::string_view v = redis::reply_str(r->get());
    auto snap = redis::decode_snapshot(std::span<const std::byte>(
        reinterpret_cast<const std::byte*>(v.data()), v.size()));
    if (!snap.ok()) {
      return snap.status().with_context("key " + redis_snapshot_key(opt.table));
    }
    if (snap->positions.size() != shards) {
      return Status::invalid_argument(
          "bootstrap", "snapshot has " +
                           std::to_string(snap->positions.size()) +
                           " shards, options say " + std::to_string(shards));
    }
    if (snap->num_contexts != storage.num_contexts) {
      return Status::invalid_argument(
          "bootstrap",
          "snapshot has num_contexts " + std::to_string(snap->num_contexts) +
              ", options say " + std::to_string(storage.num_contexts));
    }
    ATOMIK_RETURN_IF_ERROR(fs.create_dirs(dir));
    std::vector<ShardState> st(shards);
    for (std::uint32_t k = 0; k < shards; ++k) st[k].read = snap->positions[k];
    ATOMIK_RETURN_IF_ERROR(write_state_file(st));
    CheckpointData cp;
    cp.self_origin = storage.origin != 0 ? storage.origin : random_origin();
    cp.num_contexts = storage.num_contexts;
    cp.states = snap->states;
    cp.origins = snap->vv;
    // The checkpoint is written last: its presence means "bootstrapped".
    ATOMIK_RETURN_IF_ERROR(write_checkpoint(fs, dir, cp));
    stats.bootstrapped = 1;
    log("bootstrapped '" + dir + "' from snapshot at " +
        redis::positions_text(snap->positions) + " (" +
        std::to_string(snap->states.size()) + " states)");
    return Status();
  }

  Status load_state_file() {
    FileSystem& fs = FileSystem::posix();
    const std::string path = dir + "/" + redis::kStateFileName;
    state.assign(shards, ShardState{});
    auto bytes = fs.read_file(path);
    if (!bytes.ok()) {
      if (bytes.status().is_not_found()) return Status();
      return bytes.status();
    }
    auto st = redis::decode_state(*bytes, path);
    if (!st.ok()) return st.status();
    if (st->size() != shards) {
      return Status::invalid_argument(
          "RedisReplicator::start",
          "'" + path + "' holds " + std::to_string(st->size()) +
              " shards, options say " + std::to_string(shards));
    }
    state = std::move(*st);
    return Status();
  }

  // Reloads own deltas not yet published to every shard from the WAL.
  Status reload_outbox() {
    const std::uint64_t own_seq = this->own_seq();
    const std::uint64_t low = min_pub_seq_locked();
    if (own_seq <= low) return Status();
    if (node) {
      // The Node's Replica retains recent own deltas: no WAL read.
      auto kept = node->own_deltas_since(low);
      if (kept.ok() && kept->size() == own_seq - low) {
        for (std::size_t i = 0; i < kept->size(); ++i) {
          outbox.push_back({low + 1 + i, (*kept)[i].addr, (*kept)[i].delta});
        }
        log("republishing " + std::to_string(outbox.size()) +
            " own deltas from the retained log");
        return Status();
      }
    }
    FileSystem& fs = FileSystem::posix();
    auto cp = read_checkpoint(fs, dir + "/" + kCheckpointFileName);
    if (!cp.ok()) return cp.status();
    std::uint64_t next = low + 1;
    Status gap;
    const WalVisitor visit = [&](const WalRecord& r, const WalPlace&) {
      if (r.origin != origin || r.seq < next) return Status();
      if (r.seq != next || r.type != WalRecordType::kDelta) {
        return Status::failed_precondition(
            "RedisReplicator::start",
            "own seq " + std::to_string(r.seq) + " in the WAL is a " +
                to_string(r.type) + " record or skips ahead of " +
                std::to_string(next) +
                " (only accum() through the replicator is replicated)");
      }
      outbox.push_back({r.seq, r.addr, r.value});
      ++next;
      return Status();
    };
    RecoveryReport report;
    ATOMIK_RETURN_IF_ERROR(read_wal(dir, cp->wal_first_segment,
                                    RecoveryMode::kSkip, visit, &report));
    if (next != own_seq + 1) {
      return Status::failed_precondition(
          "RedisReplicator::start",
          "own deltas " + std::to_string(next) + ".." +
              std::to_string(own_seq) + " of '" + dir +
              "' are acknowledged but neither published (REDIS_STATE says " +
              std::to_string(low) + ") nor in the WAL");
    }
    log("republishing " + std::to_string(outbox.size()) +
        " own deltas from the WAL");
    return Status();
  }

  // Fails if a held shard was trimmed past this node's position: entries
  // were removed (entries-added > length), our position is below the first
  // entry, and the entry at our position is gone too (trimming removes a
  // prefix, so if it survived nothing after it was removed). Conservative:
  // a node that had read exactly up to the trim point is also refused.
  Status check_not_behind() {
    for (std::uint32_t k : held) {
      auto r = ctl->run({"XINFO", "STREAM", keys[k]});
      if (!r.ok()) {
        if (r.status().message().find("no such key") != std::string::npos) {
          continue;
        }
        return r.status();
      }
      const redisReply* info = r->get();
      long long length = 0;
      long long added = 0;
      StreamId first;
      bool has_first = false;
      StreamId last;
      for (std::size_t i = 0; i + 1 < redis::reply_size(info); i += 2) {
        const std::string_view name =
            redis::reply_str(redis::reply_at(info, i));
        const redisReply* val = redis::reply_at(info, i + 1);
        if (name == "length") {
          length = redis::reply_integer(val);
        } else if (name == "entries-added") {
          added = redis::reply_integer(val);
        } else if (name == "first-entry" && redis::reply_size(val) == 2) {
          auto id =
              redis::parse_stream_id(redis::reply_str(redis::reply_at(val, 0)));
          if (id.ok()) {
            first = *id;
            has_first = true;
          }
        } else if (name == "last-generated-id") {
          auto id = redis::parse_stream_id(redis::reply_str(val));
          if (id.ok()) last = *id;
        }
      }
      const StreamId pos = state[k].read;
      if (last < pos) {
        log("shard " + std::to_string(k) + ": stream ends at " +
            last.to_string() + " but this node applied up to " +
            pos.to_string() + ": Redis lost data?");
      }
      if (added <= length) continue;  // nothing was ever removed
      const StreamId bound = has_first ? first : last;
      bool behind = pos < bound;
      if (behind && pos != StreamId{}) {
        const std::string p = pos.to_string();
        auto at = ctl->run({"XRANGE", keys[k], p, p});
        if (!at.ok()) return at.status();
        behind = redis::reply_size(at->get()) == 0;
      }
      if (behind) {
        return Status::failed_precondition(
            "RedisReplicator::start",
            "'" + dir + "' has applied shard " + std::to_string(k) + " up to " +
                pos.to_string() +
                " but the stream was trimmed past it (first entry " +
                bound.to_string() +
                "): move the directory away and start with an empty one "
                "to bootstrap from the newest snapshot");
      }
    }
    return Status();
  }
};

RedisReplicator::RedisReplicator(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

RedisReplicator::~RedisReplicator() { (void)stop(); }

// Validates `options` and builds an Impl (no connection yet).
Result<std::unique_ptr<RedisReplicator::Impl>> RedisReplicator::Impl::create(
    const std::string& data_dir, const RedisOptions& options) {
  constexpr std::string_view kWhere = "RedisReplicator::start";
  if (options.shards == 0 || options.shards > kRedisMaxShards) {
    return Status::invalid_argument(
        kWhere, "shards must be 1.." + std::to_string(kRedisMaxShards) +
                    ", got " + std::to_string(options.shards));
  }
  if (options.table.empty() ||
      options.table.find_first_of("{}") != std::string::npos) {
    return Status::invalid_argument(kWhere,
                                    "table name must be non-empty, no braces");
  }
  if (options.max_entry_records == 0 ||
      frame_size(options.max_entry_records, 0) > options.max_frame_bytes ||
      options.max_frame_bytes > kFrameMaxLimit) {
    return Status::invalid_argument(
        kWhere, "max_entry_records " +
                    std::to_string(options.max_entry_records) +
                    " does not fit max_frame_bytes " +
                    std::to_string(options.max_frame_bytes));
  }
  if (options.block_ms == 0 || options.read_count == 0 ||
      options.retry_min_ms == 0 ||
      options.retry_min_ms > options.retry_max_ms) {
    return Status::invalid_argument(
        kWhere,
        "block_ms, read_count, retry_min_ms must be > 0 and "
        "retry_min_ms <= retry_max_ms");
  }
  if (options.max_unpublished == 0) {
    return Status::invalid_argument(kWhere, "max_unpublished must be > 0");
  }
  auto ep = parse_redis_url(options.url);
  if (!ep.ok()) return ep.status();
  if (!options.user.empty()) ep->user = options.user;
  if (!options.password.empty()) ep->password = options.password;

  auto impl = std::make_unique<Impl>();
  impl->dir = data_dir;
  impl->opt = options;
  impl->shards = options.shards;
  impl->link_cfg = {.endpoint = *ep,
                    .cluster = options.cluster,
                    .connect_timeout_ms = options.connect_timeout_ms,
                    .command_timeout_ms = options.command_timeout_ms};
  if (options.held_shards.empty()) {
    for (std::uint32_t k = 0; k < options.shards; ++k) impl->held.push_back(k);
  } else {
    impl->held = options.held_shards;
    std::sort(impl->held.begin(), impl->held.end());
    if (std::adjacent_find(impl->held.begin(), impl->held.end()) !=
            impl->held.end() ||
        impl->held.back() >= options.shards) {
      return Status::invalid_argument(
          kWhere, "held_shards must be distinct and < shards");
    }
  }
  impl->read_ok.assign(impl->held.size(), 1);
  for (std::uint32_t k = 0; k < options.shards; ++k) {
    impl->keys.push_back(redis_stream_key(options.table, k));
  }
  return impl;
}

// Once the table (or node) is open: positions, outbox, threads.
Status RedisReplicator::Impl::finish_start() {
  for (std::uint32_t k = 0; k < shards; ++k) {
    vorigins.push_back(redis_stream_origin(origin, k));
  }
  own_sorted = vorigins;
  std::sort(own_sorted.begin(), own_sorted.end());
  ATOMIK_RETURN_IF_ERROR(load_state_file());
  ATOMIK_RETURN_IF_ERROR(check_not_behind());
  ATOMIK_RETURN_IF_ERROR(reload_outbox());
  stats.deltas_local = own_seq();
  if (bridge) bridge->impl.store(this);
  Impl* p = this;
  publisher = std::thread([p] { p->publish_loop(); });
  for (std::uint32_t k : held) {
    readers.emplace_back([p, k] { p->read_loop(k); });
  }
  return Status();
}

Result<std::unique_ptr<RedisReplicator>> RedisReplicator::start(
    const std::string& data_dir, const PersistentOptions& storage,
    const RedisOptions& options) {
  auto created = Impl::create(data_dir, options);
  if (!created.ok()) return created.status();
  std::unique_ptr<Impl> impl = std::move(*created);
  ATOMIK_RETURN_IF_ERROR(impl->connect_control());
  ATOMIK_RETURN_IF_ERROR(impl->bootstrap_if_empty(storage));
  auto t = PersistentTable::open(data_dir, storage);
  if (!t.ok()) return t.status();
  impl->table = std::move(*t);
  impl->origin = impl->table->origin();
  impl->num_contexts = storage.num_contexts;
  ATOMIK_RETURN_IF_ERROR(impl->finish_start());
  return std::unique_ptr<RedisReplicator>(new RedisReplicator(std::move(impl)));
}

Result<std::unique_ptr<RedisReplicator>> RedisReplicator::start_node(
    const NodeOptions& node_options, const RedisOptions& options) {
  const NodeHooks& h = node_options.hooks;
  if (h.admit_local || h.on_local_batch || h.before_swap || h.after_swap ||
      h.status) {
    return Status::invalid_argument(
        "RedisReplicator::start_node",
        "NodeOptions::hooks must be empty (start_node sets them)");
  }
  auto created = Impl::create(node_options.data_dir, options);
  if (!created.ok()) return created.status();
  std::unique_ptr<Impl> impl = std::move(*created);
  ATOMIK_RETURN_IF_ERROR(impl->connect_control());
  ATOMIK_RETURN_IF_ERROR(impl->bootstrap_if_empty(node_options.storage));
  auto bridge = std::make_shared<Impl::Bridge>();
  impl->bridge = bridge;
  NodeOptions no = node_options;
  no.hooks.admit_local = [bridge](Seq last, std::size_t n) -> Status {
    Impl* m = bridge->impl.load();
    if (m == nullptr) {
      return Status::unavailable("Redis publishing",
                                 "Redis replication is not running");
    }
    return m->admit(last, n);
  };
  no.hooks.on_local_batch = [bridge](Seq first,
                                     std::span<const FrameRecord> recs) {
    // Not running: the deltas stay in the WAL, republished at next start.
    if (Impl* m = bridge->impl.load()) m->enqueue(first, recs);
  };
  no.hooks.before_swap = [bridge]() -> Status {
    Impl* m = bridge->impl.load();
    if (m == nullptr) {
      return Status::unavailable("RedisReplicator::swap",
                                 "Redis replication is not running");
    }
    return m->before_swap();
  };
  no.hooks.after_swap = [bridge] {
    if (Impl* m = bridge->impl.load()) m->after_swap();
  };
  no.hooks.status = [bridge] {
    std::vector<std::pair<std::string, std::string>> out;
    if (Impl* m = bridge->impl.load()) {
      out.emplace_back("redis", m->status_json());
    }
    return out;
  };
  auto n = Node::start(no);
  if (!n.ok()) return n.status();
  impl->node = std::move(*n);
  impl->origin = impl->node->origin();
  impl->num_contexts = node_options.storage.num_contexts;
  ATOMIK_RETURN_IF_ERROR(impl->finish_start());
  return std::unique_ptr<RedisReplicator>(new RedisReplicator(std::move(impl)));
}

Status RedisReplicator::accum(Addr addr, std::uint64_t delta) {
  const FrameRecord r{addr, delta};
  return accum_batch(std::span<const FrameRecord>(&r, 1));
}

Status RedisReplicator::accum_batch(std::span<const FrameRecord> deltas) {
  Impl& m = *impl_;
  if (deltas.empty()) return Status();
  if (m.node) {
    // The node's admit_local hook checks the room (and refuses after stop).
    return m.node->accum_batch(deltas);
  }
  std::lock_guard<std::mutex> accum_lock(m.accum_mu);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.stopped) {
      return Status::failed_precondition("RedisReplicator::accum",
                                         "the replicator is stopped");
    }
    ATOMIK_RETURN_IF_ERROR(m.check_room_locked(m.outbox.size(), deltas.size()));
  }
  std::vector<std::pair<std::uint32_t, std::uint64_t>> pairs(deltas.size());
  for (std::size_t i = 0; i < deltas.size(); ++i) {
    pairs[i] = {deltas[i].addr, deltas[i].delta};
  }
  auto first = m.table->accum_batch(pairs, /*wait=*/true);
  if (!first.ok()) return first.status();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    for (std::size_t i = 0; i < deltas.size(); ++i) {
      m.outbox.push_back({*first + i, deltas[i].addr, deltas[i].delta});
    }
    m.stats.deltas_local += deltas.size();
  }
  m.cv.notify_all();
  return Status();
}

Result<std::uint64_t> RedisReplicator::read(Addr addr) const {
  if (impl_->node) return impl_->node->read(addr);
  return impl_->table->read(addr);
}

Result<std::vector<std::pair<Addr, std::uint64_t>>> RedisReplicator::snapshot()
    const {
  if (impl_->node) return impl_->node->snapshot();
  return impl_->table->snapshot();
}

VersionVector RedisReplicator::version_vector() const {
  if (impl_->node) return impl_->node->version_vector();
  VersionVector vv;
  for (const auto& [o, m] : impl_->table->version_vector()) vv.set(o, m);
  return vv;
}

Digest RedisReplicator::digest() const {
  if (impl_->node) return impl_->node->digest();
  DeltaStream s;
  auto snap = impl_->table->snapshot();
  if (snap.ok()) {
    for (const auto& [a, v] : *snap) (void)s.load(a, v);
  }
  return s.compute_digest();
}

std::uint64_t RedisReplicator::unpublished() const {
  if (impl_->node) {
    // Acknowledged deltas not yet handed over by the node count too.
    const std::uint64_t own = impl_->own_seq();
    std::lock_guard<std::mutex> lock(impl_->mu);
    return own - std::min(own, impl_->min_pub_seq_locked());
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->outbox.size();
}

Status RedisReplicator::wait_published(std::uint32_t timeout_ms) const {
  if (impl_->node) {
    const std::uint64_t own = impl_->own_seq();
    std::unique_lock<std::mutex> lock(impl_->mu);
    if (impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
          return impl_->min_pub_seq_locked() >= own;
        })) {
      return Status();
    }
    return Status::unavailable(
        "RedisReplicator::wait_published",
        std::to_string(own - std::min(own, impl_->min_pub_seq_locked())) +
            " deltas still unpublished after " + std::to_string(timeout_ms) +
            " ms");
  }
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (impl_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [&] { return impl_->outbox.empty(); })) {
    return Status();
  }
  return Status::unavailable("RedisReplicator::wait_published",
                             std::to_string(impl_->outbox.size()) +
                                 " deltas still unpublished after " +
                                 std::to_string(timeout_ms) + " ms");
}

Status RedisReplicator::publish_snapshot(bool trim) {
  Impl& m = *impl_;
  constexpr std::string_view kWhere = "RedisReplicator::publish_snapshot";
  redis::SnapshotData snap;
  if (m.node) {
    // Readers paused; the node's states and version vector at one instant
    // (TCP peers and clients may go on; what is taken is consistent).
    std::unique_lock<std::shared_mutex> apply_lock(m.apply_mu);
    NodeTableState ts = m.node->table_state();
    std::lock_guard<std::mutex> lock(m.mu);
    const std::uint64_t own = ts.version_vector.get(m.origin);
    const std::uint64_t low = m.min_pub_seq_locked();
    if (own > low) {
      return Status::failed_precondition(
          kWhere,
          std::to_string(own - low) + " own deltas are not yet published");
    }
    if (m.stats.frames_gap != 0) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.stats.frames_gap) +
                      " frames were skipped as gaps: this node's state does "
                      "not cover its stream positions");
    }
    snap.states = std::move(ts.states);
    std::map<std::uint64_t, std::uint64_t> vv;
    for (const auto& [o, mark] : ts.version_vector.entries()) {
      if (o != m.origin && mark != 0) vv[o] = mark;
    }
    for (std::uint32_t k = 0; k < m.shards; ++k) {
      if (m.state[k].pub_vseq != 0) vv[m.vorigins[k]] = m.state[k].pub_vseq;
      snap.positions.push_back(m.state[k].read);
    }
    snap.vv.assign(vv.begin(), vv.end());
  } else {
    std::lock_guard<std::mutex> accum_lock(m.accum_mu);
    std::unique_lock<std::shared_mutex> apply_lock(m.apply_mu);
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.outbox.empty()) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.outbox.size()) +
                      " own deltas are not yet published");
    }
    if (m.stats.frames_gap != 0) {
      return Status::failed_precondition(
          kWhere, std::to_string(m.stats.frames_gap) +
                      " frames were skipped as gaps: this node's state does "
                      "not cover its stream positions");
    }
    auto states = m.table->snapshot();
    if (!states.ok()) return states.status();
    snap.states = std::move(*states);
    std::map<std::uint64_t, std::uint64_t> vv;
    for (const auto& [o, mark] : m.table->version_vector()) {
      if (o != m.origin) vv[o] = mark;
    }
    for (std::uint32_t k = 0; k < m.shards; ++k) {
      if (m.state[k].pub_vseq != 0) vv[m.vorigins[k]] = m.state[k].pub_vseq;
      snap.positions.push_back(m.state[k].read);
    }
    snap.vv.assign(vv.begin(), vv.end());
  }
  // Shards this node does not read are not covered: position 0-0.
  for (std::uint32_t k = 0; k < m.shards; ++k) {
    if (!std::binary_search(m.held.begin(), m.held.end(), k)) {
      snap.positions[k] = StreamId{};
    }
  }
  // Dense tables: the snapshot records the table's size.
  snap.num_contexts = m.num_contexts;
  auto bytes = redis::encode_snapshot(snap);
  if (!bytes.ok()) return bytes.status();
  const std::string pos = redis::positions_text(snap.positions);
  std::lock_guard<std::mutex> ctl_lock(m.ctl_mu);
  auto r = m.ctl->run({"EVAL", kSnapshotCasScript, "1",
                       redis_snapshot_key(m.opt.table), pos, as_view(*bytes)});
  if (!r.ok()) return r.status().with_context(kWhere);
  if (redis::reply_integer(r->get()) != 1) {
    std::lock_guard<std::mutex> lock(m.mu);
    ++m.stats.snapshots_refused;
    return Status::failed_precondition(
        kWhere,
        "Redis holds a snapshot that covers more of some shard (or "
        "another shard count) than " +
            pos);
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    ++m.stats.snapshots_published;
  }
  if (!trim) return Status();
  for (std::uint32_t k = 0; k < m.shards; ++k) {
    if (snap.positions[k] == StreamId{}) continue;
    auto t = m.ctl->run(
        {"XTRIM", m.keys[k], "MINID", snap.positions[k].to_string()});
    if (!t.ok()) return t.status().with_context(kWhere);
  }
  return Status();
}

Result<EpochState> RedisReplicator::swap() {
  Impl& m = *impl_;
  if (m.node) return m.node->swap();  // NodeHooks::before_swap checks
  std::lock_guard<std::mutex> accum_lock(m.accum_mu);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.outbox.empty()) {
      return Status::unavailable(
          "RedisReplicator::swap",
          std::to_string(m.outbox.size()) +
              " own deltas are not yet published to Redis; the WAL must "
              "keep them (retry once Redis is reachable)");
    }
    m.dirty = true;
  }
  ATOMIK_RETURN_IF_ERROR(m.maybe_flush(/*force=*/true));
  return m.table->swap();
}

std::vector<RedisShardPosition> RedisReplicator::positions() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<RedisShardPosition> out;
  for (std::uint32_t k = 0; k < impl_->shards; ++k) {
    const ShardState& s = impl_->state[k];
    out.push_back({k, s.read.to_string(), s.pub_seq, s.pub_vseq});
  }
  return out;
}

RedisStats RedisReplicator::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

bool RedisReplicator::connected() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connected_locked();
}

std::string RedisReplicator::status_json() const {
  return impl_->status_json();
}

Node* RedisReplicator::node() const { return impl_->node.get(); }

OriginId RedisReplicator::origin() const { return impl_->origin; }

const std::string& RedisReplicator::data_dir() const { return impl_->dir; }

Status RedisReplicator::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.stopped) return Status();
    m.stopped = true;
    m.stopping = true;
  }
  if (m.bridge) m.bridge->impl.store(nullptr);
  m.cv.notify_all();
  if (m.publisher.joinable()) m.publisher.join();
  for (std::thread& t : m.readers) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.dirty = true;
  }
  Status s = m.maybe_flush(/*force=*/true);
  const Status c = m.node ? m.node->stop() : m.table->close();
  if (s.ok()) s = c;
  return s;
}

}  // namespace atomik
