#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/errors.h"

namespace cairn::api {

/// Builds the seed's §3.8.2 envelope as text. `data_json` is spliced in verbatim, so hot read
/// paths can hand over pre-serialised values without re-encoding them.
///
///   {"code":0,"message":"success","data":{…},"request_id":"…","timestamp":1705734400}
std::string success_envelope(std::string_view message, std::string_view data_json,
                             std::string_view request_id, int64_t unix_seconds);

///   {"code":40001,"message":"参数错误","error":{"details":"…","field":"…"},"request_id":…}
/// `extra_error_json`, when not empty, is a JSON object whose members are merged into "error"
/// (e.g. the leader hint of 50302). `data_json`, when not empty, is put in as "data" next to
/// "error" (an unhealthy node's health answer keeps its components).
std::string error_envelope(const Error& error, std::string_view request_id, int64_t unix_seconds,
                           std::string_view extra_error_json = {},
                           std::string_view data_json = {});

}  // namespace cairn::api
