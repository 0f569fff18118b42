// Health and debug counters (seed §3.8.7).

#include "api/envelope.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "core/watch_hub.h"

namespace cairn::native {

void Service::health(const http::RequestPtr& req, const http::Reply& reply) {
  ServiceOptions::Component database;
  if (options_.database_health) {
    database = options_.database_health();
  } else {
    int64_t start = monotonic_ms();
    auto ping = core_.ping();
    int64_t latency = monotonic_ms() - start;
    database.degraded = !ping.ok();
    database.json = R"({"status":")" + std::string(ping.ok() ? "healthy" : "unhealthy") +
                    R"(","latency_ms":)" + std::to_string(latency);
    if (!ping.ok()) database.json += R"(,"error":)" + json_quote(ping.error().details);
    database.json += "}";
  }
  const bool healthy = !database.degraded;
  std::string components = R"("database":)" + database.json;
  bool degraded = !healthy;
  if (options_.extra_health) {
    for (const auto& c : options_.extra_health()) {
      components += "," + json_quote(c.name) + ":" + c.json;
      degraded = degraded || c.degraded;
    }
  }
  std::string data = R"({"status":")" + std::string(healthy ? "healthy" : "unhealthy") +
                     R"(","node_id":)" + json_quote(options_.node_id) +
                     R"(,"components":{)" + components + R"(},"degraded":)" +
                     (degraded ? "true" : "false") + R"(,"uptime_seconds":)" +
                     std::to_string((monotonic_ms() - started_monotonic_ms_) / 1000) + "}";
  http::Response res;
  const int64_t now_s = wall_clock_ms() / 1000;
  if (healthy) {
    res.body = api::success_envelope("success", data, req->request_id, now_s);
    return reply(std::move(res));
  }
  // Unhealthy: the seed's 50301, so that code and HTTP status agree, with the same `data` as a
  // healthy answer (components and all) for whoever looks at why.
  const api::Error error = api::make_error(api::Errc::kUnavailable,
                                           "the node is unhealthy: its database check fails (see "
                                           "data.components.database)");
  res.status = error.http_status();
  res.body = api::error_envelope(error, req->request_id, now_s, {}, data);
  reply(std::move(res));
}

// Liveness: the process answers HTTP. Nothing else is checked, so that an orchestrator never
// restarts a node that is only degraded (database down, no leader).
void Service::livez(const http::RequestPtr& req, const http::Reply& reply) {
  reply_ok(reply, *req, "success", R"({"status":"alive"})");
}

// Readiness: ServiceOptions::ready (warm-up done); 503 takes the node out of a load balancer.
void Service::readyz(const http::RequestPtr& req, const http::Reply& reply) {
  if (options_.ready && !options_.ready()) {
    return reply_error(reply, *req,
                       api::make_error(api::Errc::kUnavailable, "the node is not ready yet"));
  }
  reply_ok(reply, *req, "success", R"({"status":"ready"})");
}

void Service::debug_vars(const http::RequestPtr& req, const http::Reply& reply) {
  const core::Core::Status status = core_.status();
  std::string data = R"({"node_id":)" + json_quote(options_.node_id) + R"(,"revision":)" +
                     std::to_string(status.revision) + R"(,"applied_index":)" +
                     std::to_string(status.applied_index) + R"(,"store_read_queries":)" +
                     std::to_string(status.store_read_queries) + R"(,"index_reads":)" +
                     std::to_string(status.index_reads) + R"(,"checksum":)" +
                     json_quote(req->query_param("checksum") ? core_.checksum() : "") +
                     R"(,"content_checksum":)" +
                     json_quote(req->query_param("checksum") ? core_.content_checksum() : "");
  if (const cache::Probe* probe = core_.options().cache_probe) {
    data += R"(,"cache":{)";
    for (int t = 0; t < cache::kCacheTypes; ++t) {
      auto type = static_cast<cache::CacheType>(t);
      data += (t ? "," : "") + json_quote(std::string(cache::cache_type_label(type))) +
              R"(:{"hits":)" + std::to_string(probe->hits(type)) + R"(,"misses":)" +
              std::to_string(probe->misses(type)) + "}";
    }
    data += "}";
  }
  if (core_.options().version_ring) {
    data += R"(,"version_ring_keys":)" + std::to_string(core_.options().version_ring->keys());
  }
  if (watch_) {
    data += R"(,"watch_held_polls":)" + std::to_string(watch_->held_polls()) +
            R"(,"watch_open_streams":)" + std::to_string(watch_->open_streams()) +
            R"(,"watch_horizon":)" + std::to_string(watch_->horizon());
  }
  data += "}";
  reply_ok(reply, *req, "success", data);
}

}  // namespace cairn::native
