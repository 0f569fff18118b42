#pragma once

#include <optional>
#include <string>

#include "http/types.h"
#include "limit/limiter.h"

namespace cairn::limit {

/// The client a request is counted for: its `X-Client-ID` when valid, else its bearer token
/// ("token:" and a digest of the secret), else the peer's IP address without the port.
std::string client_id_of(const http::Request& req);

/// The class a request counts against: its route's rate class (routes/table.h); nullopt when
/// that is RateClass::kNone or no route serves the request (a 404 or 405 touches no data).
/// Reads req.route, so the router's resolver must have run (Router::resolver()).
std::optional<RequestClass> request_class(const http::Request& req);

/// Counts each request of a limited class (request_class()) against `limiter` and answers
/// 429/42901 (global limit) or 429/42902 (client quota) with the seed's body (§3.5.2):
///
///   {"code":42902,"message":"客户端配额超限","error":{"details":"…","retry_after":1,
///    "limit":1000,"remaining":0,"reset":1705734460},"request_id":"…","timestamp":…}
///
/// and the headers `Retry-After`, `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
/// `X-RateLimit-Reset`. Requests that pass carry the three X-RateLimit-* headers of the bucket
/// Decision reports. The body's `limit` is the bucket's rate (the seed's); the header
/// `X-RateLimit-Limit` its capacity (burst), which `X-RateLimit-Remaining` never exceeds. Requests
/// forwarded by another node (`X-Cairn-Forwarded`) were counted where they arrived and pass
/// untouched.
///
/// Place it after the router's resolver and the request-id middleware (the 429 carries the request id) and before the
/// cluster middleware (so a follower refuses before forwarding). `limiter` must outlive the
/// returned middleware; any io thread may run it.
http::Middleware rate_limit_middleware(Limiter& limiter);

}  // namespace cairn::limit
