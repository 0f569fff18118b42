#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "http/router.h"
#include "http/types.h"
#include "telemetry/health.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"

namespace cairn::telemetry {

struct TelemetryOptions {
  std::string node_id;
  TracerOptions tracer;
  int64_t health_interval_ms = 5'000;
};

/// Cairn's version (the CMake project version), for logs and traces.
const char* version();

/// The label of requests no route matched (unknown paths), so cardinality stays bounded.
inline constexpr const char* kUnmatchedRoute = "unmatched";

/// The `method` label of a request method: the standard methods of RFC 9110 (GET, HEAD, POST,
/// PUT, DELETE, CONNECT, OPTIONS, TRACE) and PATCH as they are, any other method "other", so
/// that made-up methods cannot create series.
std::string_view method_label(std::string_view method);

/// One node's metrics registry, tracer and health checker, with the seed's instruments
/// (§3.7.4) and the HTTP pieces that feed and expose them.
///
/// Lifetime: created first and destroyed last by the node (everything that records into it
/// stops before). Threads: every method from any thread once constructed; register routes and
/// build the middleware before the HTTP server starts.
class Telemetry {
 public:
  explicit Telemetry(TelemetryOptions options);

  Registry& registry() { return registry_; }
  Tracer& tracer() { return *tracer_; }
  HealthChecker& health() { return *health_; }
  const std::string& node_id() const { return options_.node_id; }

  /// Raft proposal on the leader from propose() until it is committed (its apply starts).
  void observe_raft_commit(double seconds) { raft_commit_.observe(seconds); }
  /// One entry's apply into the state machine (SQLite transaction, index, watchers).
  void observe_raft_apply(double seconds) { raft_apply_.observe(seconds); }
  /// One SQLite statement that just finished; `sql` gives the label (its first keyword, lower
  /// case). Also a child span of the thread's active span, if any.
  void observe_db_query(std::string_view sql, int64_t ns);
  /// One Redis command that just finished (or failed), `command` its name ("GET", "EVAL"):
  /// `config_center_cache_operation_duration_seconds{operation}` (the seed's
  /// cache_operation_duration), the label the lower-case name, unknown names "other".
  void observe_cache_operation(std::string_view command, int64_t ns);

  /// Counts and times every request (`config_center_api_requests_total`,
  /// `config_center_api_request_duration_seconds`, labelled by the label of the request's route,
  /// routes/table.h) and records its server span (child of the caller's `traceparent`), which
  /// is the thread's active span while the rest of the chain runs synchronously. Place it after
  /// the router's resolver (Router::resolver(), which sets the route of requests answered before
  /// routing: forwarded to the leader, rate-limited) and the request-id middleware, and before
  /// anything that may answer early.
  http::Middleware middleware();

  /// GET /api/v1/metrics: the Prometheus text format.
  void register_routes(http::Router& router);

 private:
  TelemetryOptions options_;
  Registry registry_;
  std::unique_ptr<Tracer> tracer_;
  Family<Counter>& requests_;
  Family<Histogram>& request_duration_;
  Histogram& raft_commit_;
  Histogram& raft_apply_;
  Family<Histogram>& db_query_;
  static constexpr size_t kDbOps = 13;  // observe_db_query's keywords and "other"
  std::array<std::atomic<Histogram*>, kDbOps> db_query_by_op_{};  // series, once looked up
  Family<Histogram>& cache_operation_;
  std::unique_ptr<HealthChecker> health_;
};

/// Starts a child span of the thread's active span (if any) and records it when finished.
/// Movable; finish() is idempotent and also run by the destructor. Any thread.
class ChildSpan {
 public:
  ChildSpan() = default;
  /// A child of the active span; inactive (records nothing) when there is none.
  ChildSpan(std::string name, SpanKind kind = SpanKind::kInternal);
  ChildSpan(ChildSpan&& other) noexcept
      : tracer_(std::exchange(other.tracer_, nullptr)), record_(std::move(other.record_)) {}
  ChildSpan& operator=(ChildSpan&& other) noexcept {
    finish();
    tracer_ = std::exchange(other.tracer_, nullptr);
    record_ = std::move(other.record_);
    return *this;
  }
  ~ChildSpan() { finish(); }

  bool active() const { return tracer_ != nullptr; }
  /// The context to make active for work done under this span.
  ActiveSpan context() const {
    return ActiveSpan{SpanContext{record_.trace_id, record_.span_id}, tracer_};
  }
  void attribute(std::string key, std::string value);
  void set_error() { record_.error = true; }
  /// Records an already finished child of this span (Unix ns times); nothing when inactive.
  void record_child(std::string name, uint64_t start_ns, uint64_t end_ns) const;
  void finish();

 private:
  Tracer* tracer_ = nullptr;
  SpanRecord record_;
};

}  // namespace cairn::telemetry
