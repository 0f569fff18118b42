#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/access_log.h"
#include "http/types.h"

namespace cairn::http {

/// Sets req->request_id from `X-Request-ID` (kept when 1–128 printable characters, else a new
/// UUID) and req->traceparent from a valid W3C `traceparent`, else from the seed's `X-Trace-ID`
/// (see trace_id_from_header), else a new trace; adds `X-Request-ID`, `traceparent` and
/// `X-Trace-ID` (the 32-hex trace id) to the response.
///
/// req->traceparent is the value Cairn answers with: the caller's trace id and flags with a new
/// span id of ours, so that it is also what outgoing calls made for this request propagate. The
/// caller's own `traceparent` header stays in req->headers (its span is our span's parent).
Middleware request_id_middleware();

/// What the access log says about the server itself.
struct AccessLogOptions {
  std::string node_id;
  std::string version;
};

/// Where the access log's lines go.
struct AccessLogOutput {
  /// When set, each line is formatted as spdlog's default logger would write it
  /// ("<UTC time> info <json>", see access_log_record) and queued here, off the request path.
  /// When null, each line goes through spdlog's default logger (one synchronous write).
  std::shared_ptr<AccessLogWriter> writer;
  /// Colour the level as spdlog's colour sink does on a terminal (with `writer` only).
  bool color_level = false;
};

/// Writes one JSON access-log line per request at info level (none when the default logger's
/// level is above info) once the response is handed to the server, with the seed's MetricsPoint
/// fields (§3.7.2): request_id, trace_id, span_id, api (the route template; the path when no
/// route matched), method, namespace, config_key, duration_ms, status_code, error_code (the
/// envelope's `code`), client_id, client_ip, user_agent, node_id, version, plus start_time and
/// end_time (Unix ms).
Middleware access_log_middleware(AccessLogOptions options = {}, AccessLogOutput output = {});

/// Appends to `out` the log line of message `json` at info level and Unix ms `time_ms`, byte for
/// byte what the node's spdlog pattern writes ("2026-12-02T06:05:48.123Z info {…}\n").
void access_log_record(std::string& out, int64_t time_ms, std::string_view json,
                       bool color_level = false);

/// The access-log line of one answered request (exposed for tests). `end_ms` is Unix ms.
std::string access_log_line(const Request& req, const Response& res, int64_t duration_ms,
                            int64_t end_ms, const AccessLogOptions& options);

/// A trace id (32 lower-case hex) from the seed's `X-Trace-ID`: 32 hex digits, or a UUID whose
/// dashes are dropped; any case; not all zeros. Empty when the value is neither.
std::string trace_id_from_header(std::string_view value);

/// True for an acceptable caller request id: 1–128 printable ASCII characters (0x20–0x7e).
bool is_valid_request_id(std::string_view id);

/// True for a W3C trace-context traceparent "00-<32 hex>-<16 hex>-<2 hex>" (lower-case hex)
/// whose trace id and parent id are not all zeros.
bool is_valid_traceparent(std::string_view value);

/// The traceparent for our response: when `incoming` is valid, its trace id and flags with a new
/// span id; otherwise a new span in trace `trace_id` when that is 32 hex (from `X-Trace-ID`),
/// else in a new trace ("00-<trace>-<new span>-01").
std::string next_traceparent(std::string_view incoming, std::string_view trace_id = {});

}  // namespace cairn::http
