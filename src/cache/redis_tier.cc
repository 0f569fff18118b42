#include "cache/redis_tier.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>

#include "common/address.h"
#include "common/json.h"
#include "common/time.h"

namespace cairn::cache {
namespace {

// Both scripts start here: KEYS[1] is the config key, ARGV[1] the version being written or
// deleted; a newer version already there wins (writes can arrive late or twice).
#define CAIRN_REDIS_GUARD                                                                  \
  "local cur = redis.call('GET', KEYS[1])\n"                                               \
  "if cur then\n"                                                                          \
  "  local ok, doc = pcall(cjson.decode, cur)\n"                                           \
  "  if ok and type(doc) == 'table' and tonumber(doc['version']) and\n"                    \
  "     tonumber(doc['version']) > tonumber(ARGV[1]) then\n"                               \
  "    return 0\n"                                                                         \
  "  end\n"                                                                                \
  "end\n"

// KEYS: config key, namespace hash, versions zset, version key.
// ARGV: version, document, raw value, hash field, hot ttl, version ttl.
constexpr const char* kWriteScript = CAIRN_REDIS_GUARD R"lua(
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[5])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[6])
return 1
)lua";

// KEYS: config key, namespace hash. ARGV: the deleted version, hash field.
constexpr const char* kDeleteScript = CAIRN_REDIS_GUARD R"lua(
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
)lua";
#undef CAIRN_REDIS_GUARD

std::string document(std::string_view ns, std::string_view key, std::string_view value,
                     int64_t version, int64_t at_ms) {
  std::string out = R"({"namespace":)";
  append_json_string(out, ns);
  out += R"(,"key":)";
  append_json_string(out, key);
  out += R"(,"value":)";
  out += value;
  out += R"(,"version":)" + std::to_string(version) + R"(,"updated_at":")" + format_utc(at_ms) +
         R"(","created_at_ms":)" + std::to_string(at_ms) + "}";
  return out;
}

}  // namespace

std::string redis_config_key(std::string_view ns, std::string_view key) {
  return "config:" + std::string(ns) + ":" + std::string(key);
}
std::string redis_version_key(std::string_view ns, std::string_view key, int64_t version) {
  return "config:version:" + std::string(ns) + ":" + std::string(key) + ":" +
         std::to_string(version);
}
std::string redis_namespace_key(std::string_view ns) {
  return "namespace:configs:" + std::string(ns);
}
std::string redis_versions_key(std::string_view ns, std::string_view key) {
  return "config:versions:" + std::string(ns) + ":" + std::string(key);
}
std::string redis_fill_lock_key(std::string_view ns, std::string_view key) {
  return "lock:config:" + std::string(ns) + ":" + std::string(key);  // seed §3.4.2.2
}

std::optional<RedisAddress> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  RedisAddress a;
  size_t slash = url.find('/');
  std::string_view hostport = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = url.substr(slash + 1);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), a.db);
      if (ec != std::errc() || p != db.data() + db.size() || a.db < 0 || a.db > 255) {
        return std::nullopt;
      }
    }
  }
  auto hp = split_host_port(hostport, std::to_string(a.port));
  if (!hp.ok()) return std::nullopt;
  a.port = std::stoi(hp->port);  // digits only, at most 65535
  if (a.port < 1) return std::nullopt;
  a.host = std::move(hp->host);
  return a;
}

// ---- Breaker ------------------------------------------------------------------------------

bool Breaker::allow() {
  std::lock_guard lock(mu_);
  if (!failed_) return true;
  if (probing_ || now_ms_() < retry_at_ms_) return false;
  probing_ = true;  // half open: this one call tries
  return true;
}

void Breaker::success() {
  std::lock_guard lock(mu_);
  failed_ = false;
  probing_ = false;
}

void Breaker::failure() {
  std::lock_guard lock(mu_);
  failed_ = true;
  probing_ = false;
  retry_at_ms_ = now_ms_() + cooldown_ms_;
}

bool Breaker::open() const {
  std::lock_guard lock(mu_);
  return failed_;
}

// ---- RedisTier ----------------------------------------------------------------------------

struct RedisTier::Reply {
  explicit Reply(redisReply* r) : r(r) {}
  ~Reply() { freeReplyObject(r); }
  redisReply* r;
};

RedisTier::RedisTier(RedisOptions options, std::function<std::vector<Current>()> current,
                     std::function<bool()> is_leader,
                     std::function<std::vector<Current>(const std::string& ns)> namespace_configs)
    : options_(std::move(options)),
      current_(std::move(current)),
      is_leader_(std::move(is_leader)),
      namespace_configs_(std::move(namespace_configs)),
      breaker_(options_.breaker_cooldown_ms, [] { return monotonic_ms(); }) {}

RedisTier::~RedisTier() { stop(); }

Result<Ok, std::string> RedisTier::start() {
  auto a = parse_redis_url(options_.url);
  if (!a) return Unexpected{"redis_url: expected redis://host[:port][/db], got " + options_.url};
  address_ = *a;
  worker_ = std::thread([this] { run(); });
  return Ok{};
}

void RedisTier::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (write_ctx_) redisFree(write_ctx_);
  write_ctx_ = nullptr;
  std::lock_guard lock(read_mu_);
  if (read_ctx_) redisFree(read_ctx_);
  read_ctx_ = nullptr;
}

std::string RedisTier::last_error() const {
  std::lock_guard lock(error_mu_);
  return last_error_;
}

void RedisTier::note(bool ok, const std::string& error) {
  healthy_ = ok;
  if (ok) {
    breaker_.success();
    return;
  }
  breaker_.failure();
  std::lock_guard lock(error_mu_);
  if (last_error_ != error) spdlog::warn("redis {}:{}: {}", address_.host, address_.port, error);
  last_error_ = error;
}

bool RedisTier::connect(redisContext*& ctx) {
  if (ctx) return true;
  timeval tv{static_cast<time_t>(options_.timeout_ms / 1000),
             static_cast<suseconds_t>((options_.timeout_ms % 1000) * 1000)};
  ctx = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (!ctx || ctx->err) {
    note(false, ctx ? std::string("connect: ") + ctx->errstr : "connect: out of memory");
    if (ctx) redisFree(ctx);
    ctx = nullptr;
    return false;
  }
  redisSetTimeout(ctx, tv);
  if (address_.db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(ctx, "SELECT %d", address_.db));
    bool ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    if (!ok) {
      note(false, "SELECT failed");
      redisFree(ctx);
      ctx = nullptr;
      return false;
    }
  }
  return true;
}

std::unique_ptr<RedisTier::Reply> RedisTier::command(redisContext*& ctx,
                                                     const std::vector<std::string>& args) {
  if (!breaker_.allow()) return nullptr;
  if (!connect(ctx)) return nullptr;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  const auto start = std::chrono::steady_clock::now();
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (options_.on_command) {
    options_.on_command(args[0], std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count());
  }
  if (!r) {
    note(false, std::string(args[0]) + ": " + (ctx->errstr[0] ? ctx->errstr : "no answer"));
    redisFree(ctx);  // timed out or broken: a fresh connection next time
    ctx = nullptr;
    return nullptr;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    spdlog::warn("redis {} answered an error: {}", args[0], std::string(r->str, r->len));
  }
  note(true);
  return std::make_unique<Reply>(r);
}

void RedisTier::enqueue(Job job) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  if (queue_.size() >= options_.max_queue) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(job));
  cv_.notify_one();
}

void RedisTier::on_applied(const std::vector<store::Change>& changes, uint64_t revision) {
  if (is_leader_ && !is_leader_()) return;  // the leader writes through, once
  for (const auto& c : changes) {
    Job job;
    job.revision = revision;
    if (c.kind == store::Change::Kind::kConfigPut || c.kind == store::Change::Kind::kConfigDelete) {
      const bool visible = c.kind == store::Change::Kind::kConfigPut && c.config.status != 0;
      job.kind = visible ? Job::kWrite : Job::kDelete;
      job.ns = c.config.ns.empty() ? c.ns.name : c.config.ns;
      job.key = c.config.key;
      job.value = c.config.value;
      job.version = c.config.version;
      job.at_ms = c.config.updated_at_ms;
      job.operation = c.operation;
      enqueue(std::move(job));
    } else if (c.kind == store::Change::Kind::kNamespacePut) {
      // Disabled: none of its configs may be served from Redis; enabled (or any other change
      // of an enabled namespace, which is rare): its configs are written back, guarded.
      if (!namespace_configs_) continue;
      job.kind = c.ns.status == 0 ? Job::kHide : Job::kShow;
      job.ns = c.ns.name;
      enqueue(std::move(job));
    } else if (c.kind == store::Change::Kind::kNamespaceDelete) {
      job.kind = Job::kDelete;
      job.ns = c.ns.name;
      job.operation = "NAMESPACE_DELETE";
      enqueue(std::move(job));
    }
  }
}

void RedisTier::fill_version(const std::string& ns, const std::string& key, int64_t version,
                             const std::string& value, int64_t created_at_ms) {
  Job job;
  job.kind = Job::kFill;
  job.ns = ns;
  job.key = key;
  job.version = version;
  job.value = value;
  job.at_ms = created_at_ms;
  enqueue(std::move(job));
}

std::optional<std::string> RedisTier::get_version(const std::string& ns, const std::string& key,
                                                  int64_t version) {
  std::lock_guard lock(read_mu_);
  auto r = command(read_ctx_, {"GET", redis_version_key(ns, key, version)});
  if (!r || r->r->type != REDIS_REPLY_STRING) return std::nullopt;
  return std::string(r->r->str, r->r->len);
}

Result<Ok, std::string> RedisTier::ping() {
  std::lock_guard lock(read_mu_);
  auto r = command(read_ctx_, {"PING"});
  if (!r) {
    std::string error = last_error();
    return Unexpected{error.empty() ? std::string("skipped after a failure") : error};
  }
  if (r->r->type == REDIS_REPLY_ERROR) return Unexpected{std::string(r->r->str, r->r->len)};
  return Ok{};
}

bool RedisTier::execute(const Job& job) {
  if (job.kind == Job::kWarm) return warm_all();
  if (job.kind == Job::kHide) return hide_namespace(job.ns);
  if (job.kind == Job::kShow) return show_namespace(job.ns);
  if (job.kind == Job::kFill) {
    auto lock = command(write_ctx_, {"SET", redis_fill_lock_key(job.ns, job.key), options_.node_id,
                                     "NX", "PX", std::to_string(options_.lock_ttl_ms)});
    if (!lock) return false;
    if (lock->r->type != REDIS_REPLY_STATUS) return true;  // another node is filling it
    std::string doc = document(job.ns, job.key, job.value, job.version, job.at_ms);
    auto set = command(write_ctx_, {"SET", redis_version_key(job.ns, job.key, job.version), doc,
                                    "EX", std::to_string(options_.version_ttl_s)});
    auto add = command(write_ctx_, {"ZADD", redis_versions_key(job.ns, job.key),
                                    std::to_string(job.version), std::to_string(job.version)});
    return set && add;
  }
  if (job.operation == "NAMESPACE_DELETE") {
    return command(write_ctx_, {"DEL", redis_namespace_key(job.ns)}) != nullptr;
  }
  std::unique_ptr<Reply> r;
  if (job.kind == Job::kWrite) {
    r = command(write_ctx_,
                {"EVAL", kWriteScript, "4", redis_config_key(job.ns, job.key),
                 redis_namespace_key(job.ns), redis_versions_key(job.ns, job.key),
                 redis_version_key(job.ns, job.key, job.version), std::to_string(job.version),
                 document(job.ns, job.key, job.value, job.version, job.at_ms), job.value, job.key,
                 std::to_string(options_.hot_ttl_s), std::to_string(options_.version_ttl_s)});
  } else {
    r = command(write_ctx_, {"EVAL", kDeleteScript, "2", redis_config_key(job.ns, job.key),
                             redis_namespace_key(job.ns), std::to_string(job.version), job.key});
  }
  if (!r) return false;
  if (job.revision == 0) return true;  // warm-up and renewal publish nothing
  std::string event = R"({"namespace":)";
  append_json_string(event, job.ns);
  event += R"(,"key":)";
  append_json_string(event, job.key);
  event += R"(,"version":)" + std::to_string(job.version) + R"(,"revision":)" +
           std::to_string(job.revision) + R"(,"operation":)";
  append_json_string(event, job.operation);
  event += "}";
  return command(write_ctx_, {"PUBLISH", options_.channel, event}) != nullptr;
}

bool RedisTier::warm_all() {
  std::vector<Current> all = current_();
  for (const auto& c : all) {
    if (!execute(rewrite_job(c))) return false;
    written_.fetch_add(1, std::memory_order_relaxed);
  }
  spdlog::info("redis: warmed with {} configs", all.size());
  return true;
}

RedisTier::Job RedisTier::rewrite_job(const Current& c) {
  Job job;  // revision 0: a guarded write of what is already current, no change event
  job.kind = Job::kWrite;
  job.ns = c.ns;
  job.key = c.key;
  job.value = c.value;
  job.version = c.version;
  job.at_ms = c.updated_at_ms;
  return job;
}

bool RedisTier::hide_namespace(const std::string& ns) {
  for (const auto& c : namespace_configs_(ns)) {
    // Every version key the sorted set names, the set, the current config.
    auto versions = command(write_ctx_, {"ZRANGE", redis_versions_key(ns, c.key), "0", "-1"});
    if (!versions) return false;
    std::vector<std::string> del = {"DEL", redis_config_key(ns, c.key),
                                    redis_versions_key(ns, c.key)};
    if (versions->r->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < versions->r->elements; ++i) {
        const redisReply* v = versions->r->element[i];
        if (v->type != REDIS_REPLY_STRING) continue;
        int64_t version = 0;
        auto [p, ec] = std::from_chars(v->str, v->str + v->len, version);
        if (ec == std::errc() && p == v->str + v->len) {
          del.push_back(redis_version_key(ns, c.key, version));
        }
      }
    }
    if (!command(write_ctx_, del)) return false;
  }
  return command(write_ctx_, {"DEL", redis_namespace_key(ns)}) != nullptr;
}

bool RedisTier::show_namespace(const std::string& ns) {
  for (const auto& c : namespace_configs_(ns)) {
    if (c.status != 0 && !execute(rewrite_job(c))) return false;
  }
  return true;
}

void RedisTier::run() {
  bool was_leader = false;
  bool was_healthy = true;
  bool warm_pending = true;  // at start
  int64_t next_renewal = monotonic_ms() + options_.renew_interval_ms;
  int64_t next_ping = 0;
  for (;;) {
    Job job;
    bool have = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(250),
                   [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      if (!queue_.empty()) {
        job = std::move(queue_.front());
        queue_.pop_front();
        have = true;
      }
    }
    const int64_t now = monotonic_ms();
    const bool leader = !is_leader_ || is_leader_();
    if (leader && !was_leader) warm_pending = true;  // a new leader warms Redis
    was_leader = leader;
    // Redis back after an outage (restarted, perhaps flushed): the leader fills it again.
    const bool healthy = healthy_.load();
    if (healthy && !was_healthy && warmed_.load() && leader) warm_pending = true;
    was_healthy = healthy;
    if (leader && now >= next_renewal) {
      warm_pending = true;  // renews the TTL of every current config
      next_renewal = now + options_.renew_interval_ms;
    }
    if (warm_pending) {
      // Every node warms at start, a leader when it becomes one and on each renewal (the
      // writes are guarded, so doing it twice is harmless). The first attempt also decides
      // readiness: a node does not wait for a Redis that is down.
      if ((!warmed_.load() || leader) && warm_all()) warm_pending = false;
      if (warmed_.load() && !leader) warm_pending = false;
      warmed_ = true;
    }
    if (have) {
      if (execute(job)) written_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (now >= next_ping) {  // keeps health current and reconnects by itself
      next_ping = now + 1'000;
      (void)command(write_ctx_, {"PING"});
    }
  }
}

}  // namespace cairn::cache
