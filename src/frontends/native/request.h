#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/command.h"
#include "api/outcome.h"
#include "api/wire.h"
#include "api/errors.h"
#include "common/json.h"
#include "common/result.h"
#include "http/types.h"

namespace cairn::native {

/// Helpers that turn request parameters into typed values or the right 40001/40002 error, and
/// results into envelopes. Stateless; any thread.

using ApiResult = Result<Ok, api::Error>;

/// A query parameter that must be present and non-empty (40001 otherwise).
Result<std::string, api::Error> required_param(const http::Request& req, std::string_view name);

/// An optional integer query parameter in [min, max]: absent → nullopt; not an integer → 40001;
/// out of range → 40002, also when it does not fit 64 bits (`99999999999999999999`).
Result<std::optional<int64_t>, api::Error> int_param(const http::Request& req,
                                                     std::string_view name, int64_t min,
                                                     int64_t max);

/// `page` and `page_size` with their defaults and bounds.
struct Paging {
  int64_t page = 1;
  int64_t page_size = 20;
};
Result<Paging, api::Error> paging_params(const http::Request& req);

/// The request body as a JSON object. Not JSON or not an object → 40001; nested deeper than
/// the value limit allows, or holding a number beyond a double (`1e400`) → 40002.
Result<Json, api::Error> body_object(const http::Request& req);

/// Field readers over a body object. Missing (when required) or of the wrong type → 40001; for
/// integers, a whole number out of [min, max] → 40002 (one beyond 64 bits, which the parser
/// holds as a double, included).
Result<std::string, api::Error> string_field(const Json& body, const char* name);
Result<std::optional<std::string>, api::Error> optional_string_field(const Json& body,
                                                                     const char* name);
Result<std::optional<int64_t>, api::Error> optional_int_field(const Json& body, const char* name,
                                                              int64_t min, int64_t max);

/// The raw text of the `value` member of `object_text` (a body, or one batch operation, that
/// body_object accepted), or nullopt when there is none: json_member_text, so a duplicated
/// member gives the occurrence the parser kept.
std::optional<std::string_view> raw_value_member(std::string_view object_text);

/// A value as it is stored: `raw` (JSON text the parser accepted, as it came in the body)
/// without insignificant whitespace, numbers and strings byte for byte (compact_json_text;
/// issue 15 item 10), checked against the size and depth limits (40002). `field` names it in
/// errors (e.g. "operations[2].value").
Result<std::string, api::Error> value_text(std::string_view raw, size_t max_value_bytes,
                                           const std::string& field);

/// Name checks with the field named in the error (40002). check_new_namespace is for the name
/// of a namespace being created (no all-digit names, api::check_new_namespace_name).
ApiResult check_namespace(std::string_view ns, const char* field = "namespace");
ApiResult check_new_namespace(std::string_view ns, const char* field = "name");
ApiResult check_key(std::string_view key, const char* field = "key");

/// The operator of a write: the token's name when auth is on, else the X-Operator header
/// (UTF-8, cut to 64 characters, "anonymous" when absent or blank). An X-Operator that is not
/// valid UTF-8 or holds control characters → 40002 naming X-Operator (with auth off).
Result<std::string, api::Error> operator_of(const http::Request& req);

/// The version named by an If-Match header (docs/versions.md): `"7"`, `W/"7"` or `7`. Absent or
/// `*` → nullopt. Not one of those → 40001; a list of several → 40002.
Result<std::optional<int64_t>, api::Error> if_match_version(const http::Request& req);

/// Combines a body's expected_version with If-Match: either alone, or both when equal; both
/// and different → 40002.
Result<std::optional<int64_t>, api::Error> merge_expected(std::optional<int64_t> expected,
                                                          std::optional<int64_t> if_match);

/// True when an If-None-Match header lists `version`'s ETag (or is `*`); weak comparison.
bool if_none_match(const http::Request& req, int64_t version);

/// The ETag of a config version: "\"<version>\"".
std::string etag_of(int64_t version);

/// Envelope responses.
void reply_ok(const http::Reply& reply, const http::Request& req, std::string_view message,
              std::string_view data_json,
              std::vector<std::pair<std::string, std::string>> headers = {});
void reply_error(const http::Reply& reply, const http::Request& req, const api::Error& error);
void reply_result(const http::Reply& reply, const http::Request& req,
                  const api::CommandResult& result);

/// "total_pages" etc. as a JSON object text.
/// The `pagination` member of a list answer.
api::Pagination pagination_of(const Paging& paging, int64_t total);

}  // namespace cairn::native
