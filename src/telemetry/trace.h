#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::telemetry {

/// The W3C trace context of one span: 32 and 16 lower-case hex characters.
struct SpanContext {
  std::string trace_id;
  std::string span_id;
  bool sampled = true;
  bool valid() const { return trace_id.size() == 32 && span_id.size() == 16; }
};

/// Parses "00-<trace>-<span>-<flags>"; an invalid context when malformed.
SpanContext parse_traceparent(std::string_view value);
std::string format_traceparent(const SpanContext& ctx);
/// A new random span id (16 hex, never all zeros).
std::string new_span_id();

enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3 };

/// A finished span as exported over OTLP. Times are Unix nanoseconds.
struct SpanRecord {
  std::string trace_id, span_id, parent_span_id;  // parent empty for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_ns = 0, end_ns = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // string-valued
  bool error = false;
};

/// Unix time in nanoseconds (the spans' clock).
uint64_t unix_ns();

class Tracer;

/// The span a thread is working for, so that code called synchronously from a request handler
/// (a proposal, a SQLite query) can add child spans without the context being passed through
/// every interface. Set for the duration of a scope on one thread; null when none.
struct ActiveSpan {
  SpanContext ctx;
  Tracer* tracer = nullptr;
};
const ActiveSpan* active_span();

/// Makes `span` the active span of this thread until destroyed (restores the previous one).
class ActiveScope {
 public:
  explicit ActiveScope(const ActiveSpan* span);
  ~ActiveScope();
  ActiveScope(const ActiveScope&) = delete;
  ActiveScope& operator=(const ActiveScope&) = delete;

 private:
  const ActiveSpan* previous_;
};

struct TracerOptions {
  /// OTLP/HTTP endpoint: "http://host:port" (spans go to /v1/traces) or a full URL with a
  /// path. Empty: spans are neither kept nor exported.
  std::string endpoint;
  std::string service_name = "cairn";
  std::string node_id;
  size_t queue_capacity = 8192;  // spans waiting for export; more are dropped and counted
  size_t batch_size = 512;
  int64_t flush_interval_ms = 1'000;
  int64_t timeout_ms = 2'000;  // per export request (connect, send, answer)
};

/// Collects finished spans and exports them in batches over OTLP/HTTP JSON from one background
/// thread. record() never blocks on the network: when the queue is full the span is dropped and
/// counted. An export that fails is dropped too (counted), never retried, so a collector that
/// is down costs nothing but the counters.
///
/// Threads: record() and the counters from any thread. Lifetime: the destructor sends what is
/// queued (one last attempt, bounded by timeout_ms) and joins the thread; everything that
/// records into the tracer must be stopped first.
class Tracer {
 public:
  explicit Tracer(TracerOptions options);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  bool exporting() const { return !url_host_.empty(); }
  void record(SpanRecord span);

  uint64_t spans_exported() const;
  uint64_t spans_dropped() const;  // queue full, or a failed export
  uint64_t export_failures() const;

 private:
  void run();
  bool send(const std::vector<SpanRecord>& batch);

  const TracerOptions options_;
  std::string url_host_, url_port_, url_path_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SpanRecord> queue_;
  bool stopping_ = false;
  uint64_t exported_ = 0, dropped_ = 0, failures_ = 0;  // guarded by mu_
  std::thread thread_;
};

/// The OTLP/JSON body (ExportTraceServiceRequest) of `spans` for one resource.
std::string encode_otlp_json(const std::vector<SpanRecord>& spans, const std::string& service_name,
                             const std::string& node_id);

/// Splits "http://host:port/path" into its parts (path defaults to "/v1/traces"). False when
/// the URL is not plain http with a host.
bool parse_http_url(std::string_view url, std::string& host, std::string& port, std::string& path);

}  // namespace cairn::telemetry
