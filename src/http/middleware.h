#pragma once

#include <string>
#include <string_view>

#include "http/types.h"

namespace cairn::http {

/// Sets req->request_id from `X-Request-ID` (kept when 1–128 printable characters, else a new
/// UUID) and req->traceparent from a valid W3C `traceparent` (else a new one), and adds both
/// as `X-Request-ID` and `traceparent` headers to the response.
///
/// req->traceparent is the value Cairn answers with: the caller's trace id and flags with a new
/// span id of ours, so that it is also what outgoing calls made for this request propagate.
Middleware request_id_middleware();

/// Writes one access-log line per request (method, path, status, duration, request id, remote
/// address) through spdlog at info level once the response is handed to the server.
Middleware access_log_middleware();

/// True for an acceptable caller request id: 1–128 printable ASCII characters (0x20–0x7e).
bool is_valid_request_id(std::string_view id);

/// True for a W3C trace-context traceparent "00-<32 hex>-<16 hex>-<2 hex>" (lower-case hex)
/// whose trace id and parent id are not all zeros.
bool is_valid_traceparent(std::string_view value);

/// The traceparent for our response: when `incoming` is valid, its trace id and flags with a new
/// span id; otherwise a new trace ("00-<new trace>-<new span>-01").
std::string next_traceparent(std::string_view incoming);

}  // namespace cairn::http
