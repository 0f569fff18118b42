#include "telemetry/trace.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "common/address.h"
#include "common/ids.h"
#include "common/json.h"
#include "http/client.h"

namespace cairn::telemetry {
namespace {

thread_local const ActiveSpan* t_active = nullptr;

bool is_lower_hex(std::string_view s) {
  // Branch-free over a table: this checks every request's traceparent, and random hex digits
  // made the per-character digit-or-letter branch unpredictable (it showed in the profile).
  static constexpr auto kHex = [] {
    std::array<bool, 256> t{};
    for (char c : std::string_view("0123456789abcdef")) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  bool ok = true;
  for (char c : s) ok &= kHex[static_cast<unsigned char>(c)];
  return ok;
}

bool all_zeros(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

}  // namespace

SpanContext parse_traceparent(std::string_view v) {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return {};
  std::string_view trace = v.substr(3, 32), span = v.substr(36, 16), flags = v.substr(53, 2);
  if (v.substr(0, 2) != "00" || !is_lower_hex(trace) || !is_lower_hex(span) ||
      !is_lower_hex(flags) || all_zeros(trace) || all_zeros(span)) {
    return {};
  }
  const char last = flags[1];  // lower-case hex: the sampled bit is the last digit's lowest
  const int low = last <= '9' ? last - '0' : last - 'a' + 10;
  return SpanContext{std::string(trace), std::string(span), (low & 1) != 0};
}

std::string format_traceparent(const SpanContext& ctx) {
  return "00-" + ctx.trace_id + "-" + ctx.span_id + (ctx.sampled ? "-01" : "-00");
}

std::string new_span_id() {
  std::string id = random_hex(8);
  if (all_zeros(id)) id.back() = '1';
  return id;
}

uint64_t unix_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

const ActiveSpan* active_span() { return t_active; }

ActiveScope::ActiveScope(const ActiveSpan* span) : previous_(t_active) { t_active = span; }
ActiveScope::~ActiveScope() { t_active = previous_; }

bool parse_http_url(std::string_view url, std::string& host, std::string& port, std::string& path) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return false;
  url.remove_prefix(kScheme.size());
  size_t slash = url.find('/');
  auto authority = split_host_port(url.substr(0, slash), "80");
  if (!authority.ok()) return false;
  path = slash == std::string_view::npos || slash + 1 == url.size()
             ? "/v1/traces"
             : std::string(url.substr(slash));
  host = std::move(authority->host);
  port = std::move(authority->port);
  return true;
}

std::string encode_otlp_json(const std::vector<SpanRecord>& spans, const std::string& service_name,
                             const std::string& node_id) {
  auto attr = [](const std::string& k, const std::string& v) {
    return Json{{"key", k}, {"value", {{"stringValue", v}}}};
  };
  Json list = Json::array();
  for (const SpanRecord& s : spans) {
    Json attrs = Json::array();
    for (const auto& [k, v] : s.attributes) attrs.push_back(attr(k, v));
    Json span = {{"traceId", s.trace_id},
                 {"spanId", s.span_id},
                 {"name", s.name},
                 {"kind", static_cast<int>(s.kind)},
                 {"startTimeUnixNano", std::to_string(s.start_ns)},
                 {"endTimeUnixNano", std::to_string(s.end_ns)},
                 {"attributes", std::move(attrs)},
                 {"status", {{"code", s.error ? 2 : 1}}}};
    if (!s.parent_span_id.empty()) span["parentSpanId"] = s.parent_span_id;
    list.push_back(std::move(span));
  }
  Json resource_attrs = Json::array({attr("service.name", service_name)});
  if (!node_id.empty()) resource_attrs.push_back(attr("service.instance.id", node_id));
  Json body = {{"resourceSpans",
                Json::array({{{"resource", {{"attributes", std::move(resource_attrs)}}},
                              {"scopeSpans", Json::array({{{"scope", {{"name", "cairn"}}},
                                                           {"spans", std::move(list)}}})}}})}};
  return body.dump();
}

Tracer::Tracer(TracerOptions options) : options_(std::move(options)) {
  if (options_.endpoint.empty()) return;
  if (!parse_http_url(options_.endpoint, url_host_, url_port_, url_path_)) {
    spdlog::error("otlp_endpoint {} is not an http://host:port[/path] URL; spans are not exported",
                  options_.endpoint);
    url_host_.clear();
    return;
  }
  thread_ = std::thread([this] { run(); });
}

Tracer::~Tracer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Tracer::record(SpanRecord span) {
  if (!exporting()) return;
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(span));
  if (queue_.size() >= options_.batch_size) cv_.notify_one();
}

uint64_t Tracer::spans_exported() const {
  std::lock_guard lock(mu_);
  return exported_;
}
uint64_t Tracer::spans_dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}
uint64_t Tracer::export_failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

void Tracer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms),
                 [&] { return stopping_ || queue_.size() >= options_.batch_size; });
    // On stop: one last batch-wise drain, each send bounded by timeout_ms.
    while (!queue_.empty()) {
      size_t n = std::min(queue_.size(), options_.batch_size);
      std::vector<SpanRecord> batch(std::make_move_iterator(queue_.begin()),
                                    std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      lock.unlock();
      bool ok = send(batch);
      lock.lock();
      if (ok) {
        exported_ += batch.size();
      } else {
        ++failures_;
        dropped_ += batch.size();
        if (stopping_) {
          dropped_ += queue_.size();
          queue_.clear();
        }
      }
      if (!stopping_ && queue_.size() < options_.batch_size) break;
    }
    if (stopping_) return;
  }
}

bool Tracer::send(const std::vector<SpanRecord>& batch) {
  http::ClientRequest request;
  request.method = "POST";
  request.target = url_path_;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = encode_otlp_json(batch, options_.service_name, options_.node_id);
  const http::Client client(options_.timeout_ms);
  http::ClientResult answer = client.send(join_host_port(url_host_, url_port_), std::move(request));
  std::string error = answer.error;
  if (answer.response && answer.response->status / 100 != 2) {
    error = "collector answered HTTP " + std::to_string(answer.response->status);
  }
  if (!error.empty()) spdlog::debug("otlp export of {} spans failed: {}", batch.size(), error);
  return error.empty();
}

}  // namespace cairn::telemetry
