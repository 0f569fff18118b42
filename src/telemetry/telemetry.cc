#include "telemetry/telemetry.h"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "routes/table.h"
#include "telemetry/collectors.h"

namespace cairn::telemetry {
namespace {

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The `api` label of a request is its route's (routes/table.h); on a 405 that of the route its
/// path matches (Request::path_route); a path no route matches is "unmatched", so cardinality
/// stays bounded.
std::string_view label_of(const routes::Route* route) {
  return route ? route->label : kUnmatchedRoute;
}

/// Requests that make no span: scrapes and probes would drown the traces that matter.
bool untraced(const routes::Route* route) {
  return route == &routes::kMetrics || route == &routes::kHealth || route == &routes::kLivez ||
         route == &routes::kReadyz;
}

/// Raft and SQLite durations span microseconds to seconds.
std::vector<double> internal_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
}

}  // namespace

const char* version() { return CAIRN_VERSION; }

std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kStandard[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                   "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (std::string_view m : kStandard) {
    if (m == method) return m;
  }
  return "other";
}

Telemetry::Telemetry(TelemetryOptions options)
    : options_(std::move(options)),
      tracer_(std::make_unique<Tracer>([&] {
        TracerOptions t = options_.tracer;
        t.node_id = options_.node_id;
        return t;
      }())),
      requests_(registry_.counter("config_center_api_requests_total",
                                  "Total number of API requests", {"api", "method", "status"})),
      request_duration_(registry_.histogram("config_center_api_request_duration_seconds",
                                            "API request duration in seconds", {"api", "method"},
                                            api_latency_buckets())),
      raft_commit_(registry_
                       .histogram("config_center_raft_commit_duration_seconds",
                                  "Leader: from propose until the entry is committed and its "
                                  "apply starts",
                                  {}, internal_buckets())
                       .with({})),
      raft_apply_(registry_
                      .histogram("config_center_raft_apply_duration_seconds",
                                 "Apply of one log entry to the state machine", {},
                                 internal_buckets())
                      .with({})),
      db_query_(registry_.histogram("config_center_db_query_duration_seconds",
                                    "SQLite statement duration by its first keyword", {"op"},
                                    internal_buckets())),
      cache_operation_(registry_.histogram("config_center_cache_operation_duration_seconds",
                                           "Redis command round trip by command, failures "
                                           "included",
                                           {"operation"}, internal_buckets())),
      health_(std::make_unique<HealthChecker>(
          options_.health_interval_ms,
          registry_.gauge("health_check_status",
                          "1 when the component's last health check passed, else 0",
                          {"component"}))) {
  add_tracer_metrics(registry_, *tracer_);
}

void Telemetry::observe_db_query(std::string_view sql, int64_t ns) {
  // Runs for every SQLite statement (a dozen per write): the first keyword is matched without
  // allocating, and each keyword's series is looked up in the family once (db_query_by_op_),
  // not per statement (the family's lookup builds and hashes its label values under a lock).
  static constexpr std::string_view kKnown[] = {"select", "insert",  "update",    "delete",
                                                "begin",  "commit",  "rollback",  "pragma",
                                                "with",   "replace", "savepoint", "release"};
  static_assert(std::size(kKnown) + 1 == kDbOps);
  char word[12];
  size_t n = 0;
  bool too_long = false;
  for (char c : sql) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (n == 0) continue;
      break;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) break;
    if (n == sizeof word) {
      too_long = true;
      break;
    }
    word[n++] = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  size_t which = std::size(kKnown);  // "other"
  if (!too_long) {
    const std::string_view first(word, n);
    for (size_t i = 0; i < std::size(kKnown); ++i) {
      if (kKnown[i] == first) {
        which = i;
        break;
      }
    }
  }
  const std::string_view op = which < std::size(kKnown) ? kKnown[which] : "other";
  Histogram* h = db_query_by_op_[which].load(std::memory_order_acquire);
  if (!h) {
    h = &db_query_.with({std::string(op)});
    db_query_by_op_[which].store(h, std::memory_order_release);
  }
  h->observe(static_cast<double>(ns) / 1e9);
  const ActiveSpan* active = active_span();
  if (active && active->tracer && active->ctx.valid()) {
    SpanRecord span;
    span.trace_id = active->ctx.trace_id;
    span.parent_span_id = active->ctx.span_id;
    span.span_id = new_span_id();
    span.name = "sqlite " + std::string(op);
    span.end_ns = unix_ns();
    span.start_ns = span.end_ns - static_cast<uint64_t>(std::max<int64_t>(0, ns));
    span.attributes = {{"db.system", "sqlite"}, {"db.statement", std::string(sql.substr(0, 256))}};
    active->tracer->record(std::move(span));
  }
}

void Telemetry::observe_cache_operation(std::string_view command, int64_t ns) {
  std::string op;
  for (char c : command.substr(0, 16)) {
    op.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  static constexpr std::string_view kKnown[] = {
      "get",  "set",  "del",    "eval",   "zadd", "zrange", "zrem",    "hset",   "hget",
      "hdel", "ping", "select", "unlink", "mget", "scan",   "publish", "expire", "exists"};
  if (std::find(std::begin(kKnown), std::end(kKnown), op) == std::end(kKnown)) op = "other";
  cache_operation_.with({op}).observe(static_cast<double>(std::max<int64_t>(0, ns)) / 1e9);
}

http::Middleware Telemetry::middleware() {
  return [this](http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    const int64_t start_us = steady_us();
    SpanContext ours = parse_traceparent(req->traceparent);
    // The span's record only when spans are exported (fixed at start): a request held for long
    // (a watch) would otherwise keep ~200 bytes it never uses.
    std::shared_ptr<SpanRecord> span;
    if (tracer_->exporting()) {
      span = std::make_shared<SpanRecord>();
      span->start_ns = unix_ns();
      span->kind = SpanKind::kServer;
      span->trace_id = ours.trace_id;
      span->span_id = ours.span_id;
      if (const std::string* h = req->header("traceparent")) {
        SpanContext caller = parse_traceparent(*h);
        if (caller.valid() && caller.trace_id == ours.trace_id) {
          span->parent_span_id = caller.span_id;
        }
      }
    }
    ActiveSpan active{ours, tracer_.get()};
    http::Reply wrapped = [this, req, span, start_us, reply = std::move(reply)](http::Response res) {
      const routes::Route* route = routes::of(req->path_route);
      const std::string api(label_of(route));
      const double seconds = static_cast<double>(steady_us() - start_us) / 1e6;
      const std::string method(method_label(req->wire_method()));
      requests_.with({api, method, std::to_string(res.status)}).inc();
      request_duration_.with({api, method}).observe(seconds);
      if (span && span->span_id.size() == 16 && !untraced(route)) {
        span->end_ns = unix_ns();
        span->name = method + " " + api;
        span->error = res.status >= 500;
        span->attributes = {{"http.method", std::string(req->wire_method())},
                            {"http.route", api},
                            {"http.target", req->target},
                            {"http.status_code", std::to_string(res.status)},
                            {"cairn.request_id", req->request_id},
                            {"cairn.node_id", options_.node_id}};
        tracer_->record(std::move(*span));
      }
      reply(std::move(res));
    };
    ActiveScope scope(ours.valid() && tracer_->exporting() ? &active : nullptr);
    next(std::move(req), std::move(wrapped));
  };
}

void Telemetry::register_routes(http::Router& router) {
  router.add(routes::kMetrics, [this](http::RequestPtr, http::Reply reply) {
    http::Response res;
    res.content_type = kExpositionContentType;
    res.body = registry_.expose();
    reply(std::move(res));
  });
}

ChildSpan::ChildSpan(std::string name, SpanKind kind) {
  const ActiveSpan* parent = active_span();
  if (!parent || !parent->tracer || !parent->ctx.valid()) return;
  tracer_ = parent->tracer;
  record_.trace_id = parent->ctx.trace_id;
  record_.parent_span_id = parent->ctx.span_id;
  record_.span_id = new_span_id();
  record_.name = std::move(name);
  record_.kind = kind;
  record_.start_ns = unix_ns();
}

void ChildSpan::attribute(std::string key, std::string value) {
  if (tracer_) record_.attributes.emplace_back(std::move(key), std::move(value));
}

void ChildSpan::record_child(std::string name, uint64_t start_ns, uint64_t end_ns) const {
  if (!tracer_) return;
  SpanRecord child;
  child.trace_id = record_.trace_id;
  child.parent_span_id = record_.span_id;
  child.span_id = new_span_id();
  child.name = std::move(name);
  child.start_ns = start_ns;
  child.end_ns = end_ns;
  tracer_->record(std::move(child));
}

void ChildSpan::finish() {
  if (!tracer_) return;
  record_.end_ns = unix_ns();
  std::exchange(tracer_, nullptr)->record(std::move(record_));
}

}  // namespace cairn::telemetry
