#pragma once

#include <string>
#include <string_view>

namespace cairn::api {

/// The error codes of seed §3.8.8, plus two Cairn extensions (40501, 41301) for the HTTP
/// statuses the seed does not cover. The numeric value is the wire code.
enum class Errc : int {
  kOk = 0,
  kBadRequest = 40001,         // missing or malformed parameter
  kValidation = 40002,         // parameter present but fails validation
  kUnauthorized = 40101,
  kForbidden = 40301,
  kNotFound = 40401,           // resource (path, version, …) does not exist
  kNamespaceNotFound = 40402,
  kConfigNotFound = 40403,
  kMethodNotAllowed = 40501,   // Cairn extension: HTTP 405
  kConflict = 40901,           // version mismatch, non-empty namespace, …
  kKeyExists = 40902,
  kPayloadTooLarge = 41301,    // Cairn extension: HTTP 413
  kRateLimited = 42901,
  kQuotaExceeded = 42902,
  kInternal = 50001,
  kDatabase = 50002,
  kRaft = 50003,
  kCache = 50004,
  kUnavailable = 50301,
  kNotLeader = 50302,
};

/// One row of the error table: the HTTP status and the seed's message for a code.
struct ErrorInfo {
  int http_status;
  std::string_view message;
};

/// Row for `code`; unknown values map to the 50001 row.
const ErrorInfo& error_info(Errc code);

/// Every code of the table, in ascending order (for docs and tests).
const Errc* all_error_codes(size_t* count);

/// An expected failure: the code plus a human-readable detail and, when a request field caused
/// it, the field's name. Plain value type.
struct Error {
  Errc code = Errc::kInternal;
  std::string details;
  std::string field;

  int http_status() const { return error_info(code).http_status; }
};

inline Error make_error(Errc code, std::string details, std::string field = {}) {
  return Error{code, std::move(details), std::move(field)};
}

}  // namespace cairn::api
