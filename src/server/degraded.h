#pragma once

#include <functional>
#include <optional>
#include <string>

#include "http/types.h"

namespace cairn::server {

/// What the cluster middleware and degraded mode both need to know of a request.
/// A write: a route declared routes::Effect::kWrite (the request must be resolved first).
bool is_write(const http::Request& req);
/// A client read: a route declared routes::Effect::kClientRead.
bool is_client_read(const http::Request& req);
/// A client read whose answer is the native envelope, which mark_degraded may mark.
bool marks_degraded(const http::Request& req);

/// Adds `"degraded": true` (and `"degraded_reason"` when given) to the data of a successful
/// JSON envelope; other responses are left as they are.
void mark_degraded(http::Response& res, const std::string& reason = {});

/// Degraded mode (docs/observability.md, seed §3.7.5). While `database_down()` names a reason,
/// writes arriving at this node fail at once with 500/50002 and change nothing, and successful
/// client reads (served from memory) carry `"degraded": true, "degraded_reason": …`. Reads that
/// need the database fail with 50002 by themselves. Everything recovers by itself when the
/// reason goes away. `database_down` is called on io threads and must be cheap.
http::Middleware degraded_middleware(std::function<std::optional<std::string>()> database_down);

}  // namespace cairn::server
