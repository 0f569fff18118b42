#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "store/store.h"

struct redisContext;

namespace cairn::cache {

/// Redis key names of the seed (§3.4): the current config, one version, the namespace hash
/// and the sorted set of a key's versions; plus the channel change events go to and the
/// SETNX lock of a fill.
std::string redis_config_key(std::string_view ns, std::string_view key);
std::string redis_version_key(std::string_view ns, std::string_view key, int64_t version);
std::string redis_namespace_key(std::string_view ns);
std::string redis_versions_key(std::string_view ns, std::string_view key);
std::string redis_fill_lock_key(std::string_view ns, std::string_view key);

/// redis://host[:port][/db] → host, port, db. nullopt when malformed.
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};
std::optional<RedisAddress> parse_redis_url(std::string_view url);

/// A circuit breaker: after a failure Redis is skipped for `cooldown_ms`, then one call may
/// try again (half open); a success closes it. Thread-safe; the clock is injected.
class Breaker {
 public:
  Breaker(int64_t cooldown_ms, std::function<int64_t()> now_ms)
      : cooldown_ms_(cooldown_ms), now_ms_(std::move(now_ms)) {}
  /// Whether a call may go to Redis now.
  bool allow();
  void success();
  void failure();
  bool open() const;

 private:
  const int64_t cooldown_ms_;
  const std::function<int64_t()> now_ms_;
  mutable std::mutex mu_;
  bool failed_ = false;
  int64_t retry_at_ms_ = 0;
  bool probing_ = false;
};

struct RedisOptions {
  std::string url;           // redis://127.0.0.1:6379/0
  int64_t timeout_ms = 200;  // connect and each command
  int64_t breaker_cooldown_ms = 2'000;
  int64_t hot_ttl_s = 3'600;       // config:{ns}:{key} and namespace:configs:{ns}, renewed
  int64_t version_ttl_s = 86'400;  // config:version:…, config:versions:…
  int64_t lock_ttl_ms = 5'000;     // the SETNX fill lock
  std::string channel = "config:events";
  std::string node_id = "node1";          // the value of the fill lock (who is filling)
  size_t max_queue = 10'000;              // writes waiting for Redis; beyond, dropped and counted
  int64_t renew_interval_ms = 1'800'000;  // the leader re-writes every current config
  /// Told each command sent to Redis (its name, e.g. "GET", "EVAL") and how long the round
  /// trip took in ns, failures included, on the calling thread. Optional; for the metrics.
  std::function<void(std::string_view command, int64_t ns)> on_command;
};

/// The optional Redis tier (docs/cache.md, seed §3.4). After each applied command the leader
/// (a standalone node always) writes the changed configs through to the seed's keys, guarded
/// by a Lua script that never replaces a newer version with an older one, removes deleted
/// keys, and publishes one change event per key on `channel`. A new leader and a node at start
/// warm Redis with every current config, and the leader renews them every renew_interval_ms.
/// Reads that miss the local cache ask get_version(); a version read from SQLite is offered to
/// fill_version(), which takes the seed's SETNX lock so that one node fills a cold key.
///
/// Redis down, slow or flushed never fails a request: every call is bounded by timeout_ms,
/// a breaker skips Redis after a failure, writes wait in a bounded queue on the tier's own
/// thread (dropped and counted when full), and the connection is remade by itself.
///
/// Threads: on_applied() from the apply thread; get_version(), fill_version() and the probes
/// from any thread; the worker thread does all writes. Lifetime: stop() (also the destructor)
/// joins the worker; `current` and `is_leader` must outlive it.
class RedisTier {
 public:
  struct Current {  // one current config, for warm-up and renewal
    std::string ns, key, value;
    int64_t version = 0;
    int64_t updated_at_ms = 0;
    int status = 1;  // 0: disabled (namespace_configs only)
  };
  /// `current`: every config to keep in Redis (enabled configs of enabled namespaces).
  /// `namespace_configs` (optional): every config of one namespace, enabled or not, whatever
  /// the namespace's status; used to take a disabled namespace out of Redis and to put it
  /// back when enabled again. Both are called on the tier's thread.
  RedisTier(RedisOptions options, std::function<std::vector<Current>()> current,
            std::function<bool()> is_leader,
            std::function<std::vector<Current>(const std::string& ns)> namespace_configs = {});
  ~RedisTier();
  RedisTier(const RedisTier&) = delete;
  RedisTier& operator=(const RedisTier&) = delete;

  /// Checks the URL and starts the worker (which connects, warms and keeps going whether or
  /// not Redis answers).
  Result<Ok, std::string> start();
  void stop();

  /// Queues the write-through of an applied command's changes and their events (leader only).
  void on_applied(const std::vector<store::Change>& changes, uint64_t revision);
  /// {"value":…,"version":n,"created_at_ms":t} of config:version:{ns}:{key}:{version}, or
  /// nullopt (absent, Redis down or slow). Bounded by timeout_ms.
  std::optional<std::string> get_version(const std::string& ns, const std::string& key,
                                         int64_t version);
  /// Queues filling a version read from SQLite, under the SETNX lock.
  void fill_version(const std::string& ns, const std::string& key, int64_t version,
                    const std::string& value, int64_t created_at_ms);

  /// The health component: healthy when the last call to Redis succeeded.
  bool healthy() const { return healthy_.load(); }
  /// A PING now on the read connection, bounded by timeout_ms (for the health checker). An
  /// error while the breaker skips Redis after a failure.
  Result<Ok, std::string> ping();
  std::string last_error() const;
  /// True once the first warm-up finished (or Redis could not be reached for it).
  bool warmed() const { return warmed_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t written() const { return written_.load(); }

 private:
  struct Job {
    // kHide: a namespace was disabled (every key of it leaves Redis); kShow: enabled.
    enum Kind { kWrite, kDelete, kFill, kWarm, kHide, kShow } kind = kWrite;
    std::string ns, key, value, operation;
    int64_t version = 0;
    int64_t at_ms = 0;
    uint64_t revision = 0;
  };
  void enqueue(Job job);
  void run();
  bool execute(const Job& job);
  bool warm_all();
  static Job rewrite_job(const Current& c);
  bool hide_namespace(const std::string& ns);
  bool show_namespace(const std::string& ns);
  /// A command on `ctx` (reconnecting when needed); nullptr and the breaker told on failure.
  struct Reply;
  std::unique_ptr<Reply> command(redisContext*& ctx, const std::vector<std::string>& args);
  bool connect(redisContext*& ctx);
  void note(bool ok, const std::string& error = {});

  const RedisOptions options_;
  RedisAddress address_;
  const std::function<std::vector<Current>()> current_;
  const std::function<bool()> is_leader_;
  const std::function<std::vector<Current>(const std::string&)> namespace_configs_;
  Breaker breaker_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
  redisContext* write_ctx_ = nullptr;  // worker thread only

  std::mutex read_mu_;  // the read connection is shared by io threads, one call at a time
  redisContext* read_ctx_ = nullptr;

  std::atomic<bool> healthy_{false};
  std::atomic<bool> warmed_{false};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> written_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace cairn::cache
