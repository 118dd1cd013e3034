// SPDX-License-Identifier: Apache-2.0
// REDIS_STATE (docs/format/redis.md): the per-shard read and publish
// positions, written atomically (temp file, sync, rename, sync dir) and
// read back at start.
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "atomik/file.hpp"
#include "transport/redis_replicator_impl.hpp"

namespace atomik {

Status RedisReplicator::Impl::write_state_file(const transport::StateFile& s) {
  std::lock_guard<std::mutex> lock(file_mu);
  FileSystem& fs = FileSystem::posix();
  const std::string tmp = dir + "/" + transport::kStateTempName;
  const std::vector<std::byte> bytes = transport::encode_state(s);
  auto f = fs.open_writable(tmp, /*truncate=*/true);
  if (!f.ok()) return f.status().with_context("REDIS_STATE");
  Status st = (*f)->append(bytes);
  if (st.ok()) st = (*f)->sync();
  const Status cs = (*f)->close();
  if (st.ok()) st = cs;
  if (st.ok()) st = fs.rename(tmp, dir + "/" + transport::kStateFileName);
  if (st.ok()) st = fs.sync_dir(dir);
  if (!st.ok()) {
    (void)fs.remove(tmp);
    return st.with_context("REDIS_STATE");
  }
  return Status();
}

Status RedisReplicator::Impl::maybe_flush(bool force) {
  transport::StateFile copy;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!dirty) return Status();
    if (!force && Clock::now() - last_flush <
                      std::chrono::milliseconds(opt.state_flush_ms)) {
      return Status();
    }
    // The positions and the origins, at one instant (they change together
    // in switch_origin_locked).
    copy.origins.push_back(origin);
    copy.origins.insert(copy.origins.end(), later_origins.begin(),
                        later_origins.end());
    copy.shards = state;
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

void RedisReplicator::Impl::state_loop() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    const Clock::time_point due =
        last_flush + std::chrono::milliseconds(opt.state_flush_ms);
    if (dirty && Clock::now() >= due) {
      lock.unlock();
      (void)maybe_flush(false);  // a failure is logged and retried
      lock.lock();
      continue;
    }
    if (dirty) {
      state_cv.wait_until(lock, due);
    } else {
      state_cv.wait(lock);
    }
  }
}

Result<std::vector<OriginId>> RedisReplicator::Impl::load_state_file() {
  FileSystem& fs = FileSystem::posix();
  const std::string path = dir + "/" + transport::kStateFileName;
  state.assign(shards, ShardState{});
  auto bytes = fs.read_file(path);
  if (!bytes.ok()) {
    if (bytes.status().is_not_found()) return std::vector<OriginId>{};
    return bytes.status();
  }
  auto st = transport::decode_state(*bytes, path);
  if (!st.ok()) return st.status();
  if (st->shards.size() != shards) {
    return Status::invalid_argument(
        "RedisReplicator::start",
        "'" + path + "' holds " + std::to_string(st->shards.size()) +
            " shards, options say " + std::to_string(shards));
  }
  state = std::move(st->shards);
  return std::move(st->origins);
}

}  // namespace atomik
