#pragma once

// The wire error codes of the Cairn HTTP API. Owned by src/api (api/errors.h holds the table of
// HTTP statuses and messages); declared here, in the installed SDK headers, so that the SDK's
// public ClientError can name them. One definition for the server, the SDK and the CLI.

namespace cairn::api {

/// The error codes of seed §3.8.8, plus Cairn extensions (40501, 41301, 50005) for the HTTP
/// statuses the seed does not cover. The numeric value is the wire code (the envelope's `code`).
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
  kSecretUnavailable = 50005,  // Cairn extension: a secret value cannot be opened (docs/secrets.md)
  kUnavailable = 50301,
  kNotLeader = 50302,
};

}  // namespace cairn::api
