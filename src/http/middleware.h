#pragma once

#include "http/types.h"

namespace cairn::http {

/// Sets req->request_id from `X-Request-ID` (kept when 1–128 printable characters, else a new
/// UUID) and req->traceparent from a valid W3C `traceparent` (else a new one), and adds both
/// as `X-Request-ID` and `traceparent` headers to the response.
Middleware request_id_middleware();

/// Writes one access-log line per request (method, path, status, duration, request id) through
/// spdlog at info level once the response is sent.
Middleware access_log_middleware();

}  // namespace cairn::http
