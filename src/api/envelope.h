#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/errors.h"
#include "common/result.h"

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

/// An envelope as a client reads it: the inverse of success_envelope and error_envelope.
/// `code` stays an int: a server may answer a code this build does not know. `data_json` and
/// `error_json` are the raw texts of `data` and `error` (empty when absent), for the wire
/// decoders (api/wire.h) and for extra members such as the leader hint of 50302.
struct Envelope {
  int code = 0;
  std::string message;
  std::string details;     // error.details
  std::string field;       // error.field
  std::string error_json;
  std::string data_json;
  std::string request_id;
  int64_t timestamp = 0;
};

/// Decodes an answer's body; 40001 when it is not JSON, not an object, or has no integer
/// `code` (not a Cairn envelope).
Result<Envelope, Error> decode_envelope(std::string_view text);

}  // namespace cairn::api
