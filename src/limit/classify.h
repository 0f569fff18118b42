#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"
#include "limit/limits.h"

namespace cairn::limit {

/// The class a request counts against, or nullopt when it is not counted at all:
///   read:  GET /api/v1/config/* (except watch holds, /api/v1/config/watch*),
///          POST /api/v1/config/batch-get, and GET /api/v1/admin/* (lists, history);
///   write: any other request to /api/v1/admin/config* (POST/PUT/DELETE);
///   admin: any other /api/v1/admin/* request (namespaces, cluster membership).
/// Health, metrics, debug vars, cluster status, the console and anything else are not counted.
/// `method` upper case, `path` decoded and without the query string.
std::optional<RequestClass> classify(std::string_view method, std::string_view path);

/// The IP part of a peer address "ip:port" or "[v6]:port" (common/address.h).
using cairn::host_of;

/// True for a usable `X-Client-ID`: 1–128 printable ASCII characters (0x21–0x7e).
bool is_valid_client_id(std::string_view id);

}  // namespace cairn::limit
