#include "frontends/native/request.h"

#include <charconv>
#include <cmath>

#include "api/envelope.h"
#include "api/validate.h"
#include "common/time.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

Result<std::string, api::Error> required_param(const http::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " is required",
                                 std::string(name))};
  }
  return std::string(*v);
}

namespace {

/// `-?[0-9]+`: an integer as written, whether or not it fits 64 bits.
bool integer_syntax(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t out = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return out;
}

api::Error range_error(std::string_view name, int64_t min, int64_t max) {
  std::string what = std::string(name) + " must be ";
  if (max == INT64_MAX) {
    what += "at least " + std::to_string(min);
  } else {
    what += "between " + std::to_string(min) + " and " + std::to_string(max);
  }
  return make_error(Errc::kValidation, what, std::string(name));
}

}  // namespace

Result<std::optional<int64_t>, api::Error> int_param(const http::Request& req,
                                                     std::string_view name, int64_t min,
                                                     int64_t max) {
  auto v = req.query_param(name);
  if (!v) return std::optional<int64_t>{};
  auto n = parse_int(*v);
  if (!n && integer_syntax(*v)) return Unexpected{range_error(name, min, max)};  // beyond int64
  if (!n) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " must be an integer",
                                 std::string(name))};
  }
  if (*n < min || *n > max) return Unexpected{range_error(name, min, max)};
  return std::optional<int64_t>{*n};
}

Result<Paging, api::Error> paging_params(const http::Request& req) {
  Paging p;
  auto page = int_param(req, "page", 1, 1'000'000'000);
  if (!page.ok()) return Unexpected{page.error()};
  auto size = int_param(req, "page_size", 1, 1000);
  if (!size.ok()) return Unexpected{size.error()};
  if (*page) p.page = **page;
  if (*size) p.page_size = **size;
  return p;
}

Result<Json, api::Error> body_object(const http::Request& req) {
  if (req.body.empty()) {
    return Unexpected{make_error(Errc::kBadRequest, "request body must be a JSON object")};
  }
  // A body wraps a value in at most three levels (batch → operations → op), so anything deeper
  // than that plus the value limit holds a value that is too deep.
  constexpr int kLimit = api::kMaxValueDepth + 3;
  if (json_depth(req.body, kLimit) > kLimit) {
    return Unexpected{make_error(Errc::kValidation, "value is nested deeper than 64 levels",
                                 "value")};
  }
  auto doc = parse_json(req.body, kLimit);
  if (!doc && json_number_overflows(req.body)) {
    // Valid JSON grammar, but the parser (and so every reader of the value: diff, the SDK)
    // cannot hold the number; refused as out of range rather than stored unreadable.
    return Unexpected{make_error(Errc::kValidation,
                                 "request body holds a number beyond the range of a double "
                                 "(about ±1.8e308)")};
  }
  if (!doc) return Unexpected{make_error(Errc::kBadRequest, "request body is not valid JSON")};
  if (!doc->is_object()) {
    return Unexpected{make_error(Errc::kBadRequest, "request body must be a JSON object")};
  }
  return std::move(*doc);
}

Result<std::string, api::Error> string_field(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " is required", name)};
  }
  if (!it->is_string()) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " must be a string", name)};
  }
  return it->get<std::string>();
}

Result<std::optional<std::string>, api::Error> optional_string_field(const Json& body,
                                                                     const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<std::string>{};
  if (!it->is_string()) {
    return Unexpected{make_error(Errc::kBadRequest, std::string(name) + " must be a string", name)};
  }
  return std::optional<std::string>{it->get<std::string>()};
}

Result<std::optional<int64_t>, api::Error> optional_int_field(const Json& body, const char* name,
                                                              int64_t min, int64_t max) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>{};
  if (it->is_number_float()) {
    // A whole number beyond 64 bits (`99999999999999999999`) is parsed as a double: it is an
    // integer out of range, not a non-integer.
    const double d = it->get<double>();
    if (std::isfinite(d) && std::trunc(d) == d && (d >= 0x1p63 || d < -0x1p63)) {
      return Unexpected{range_error(name, min, max)};
    }
  }
  if (!it->is_number_integer()) {
    return Unexpected{
        make_error(Errc::kBadRequest, std::string(name) + " must be an integer", name)};
  }
  // Unsigned values above INT64_MAX arrive as number_unsigned; treat them as out of range.
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Unexpected{range_error(name, min, max)};
  }
  int64_t v = it->get<int64_t>();
  if (v < min || v > max) return Unexpected{range_error(name, min, max)};
  return std::optional<int64_t>{v};
}

std::optional<std::string_view> raw_value_member(std::string_view object_text) {
  return json_member_text(object_text, "value");
}

Result<std::string, api::Error> value_text(std::string_view raw, size_t max_value_bytes,
                                           const std::string& field) {
  if (json_depth(raw, api::kMaxValueDepth) > api::kMaxValueDepth) {
    return Unexpected{
        make_error(Errc::kValidation, field + " is nested deeper than 64 levels", field)};
  }
  std::string text = compact_json_text(raw);
  if (text.size() > max_value_bytes) {
    return Unexpected{make_error(Errc::kValidation,
                                 field + " is " + std::to_string(text.size()) +
                                     " bytes, more than the limit of " +
                                     std::to_string(max_value_bytes),
                                 field)};
  }
  return text;
}

ApiResult check_namespace(std::string_view ns, const char* field) {
  if (auto bad = api::check_namespace_name(ns)) {
    return Unexpected{make_error(Errc::kValidation, *bad, field)};
  }
  return Ok{};
}

ApiResult check_new_namespace(std::string_view ns, const char* field) {
  if (auto bad = api::check_new_namespace_name(ns)) {
    return Unexpected{make_error(Errc::kValidation, *bad, field)};
  }
  return Ok{};
}

ApiResult check_key(std::string_view key, const char* field) {
  if (auto bad = api::check_key(key)) return Unexpected{make_error(Errc::kValidation, *bad, field)};
  return Ok{};
}

Result<std::string, api::Error> operator_of(const http::Request& req) {
  // With auth on, the token's name; X-Operator is then ignored (docs/security.md).
  if (!req.caller.name.empty()) return req.caller.name;
  const std::string* h = req.header("x-operator");
  if (!h) return std::string("anonymous");
  // Header bytes are taken as UTF-8 (what clients send), not as the ISO-8859-1 of RFC 9110.
  if (auto bad = api::check_operator(*h)) {
    return Unexpected{make_error(Errc::kValidation, *bad, "X-Operator")};
  }
  return api::sanitize_operator(*h);
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The opaque part of an entity tag: `"7"`, `W/"7"` or bare `7` → `7`.
std::string_view etag_text(std::string_view tag) {
  tag = trim(tag);
  if (tag.size() >= 2 && (tag[0] == 'W' || tag[0] == 'w') && tag[1] == '/') tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') {
    tag = tag.substr(1, tag.size() - 2);
  }
  return tag;
}

/// One entity tag: `"7"`, `W/"7"` or bare digits → 7; anything else → nullopt.
std::optional<int64_t> parse_etag(std::string_view tag) {
  tag = etag_text(tag);
  if (tag.empty() || tag.size() > 18) return std::nullopt;
  for (char c : tag) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto v = parse_int(tag);
  if (!v || *v < 1) return std::nullopt;
  return v;
}

}  // namespace

Result<std::optional<int64_t>, api::Error> if_match_version(const http::Request& req) {
  const std::string* h = req.header("if-match");
  if (!h) return std::optional<int64_t>{};
  std::string_view value = trim(*h);
  if (value == "*") return std::optional<int64_t>{};
  if (value.find(',') != std::string_view::npos) {
    return Unexpected{make_error(Errc::kValidation,
                                 "If-Match must name exactly one version", "If-Match")};
  }
  auto v = parse_etag(value);
  if (!v && integer_syntax(etag_text(value)) && etag_text(value).front() != '-') {
    // Digits, but no version there can be (0, or beyond 18 digits): out of range.
    return Unexpected{make_error(Errc::kValidation,
                                 "If-Match names a version out of range (1 to 10^18 - 1)",
                                 "If-Match")};
  }
  if (!v) {
    return Unexpected{make_error(Errc::kBadRequest,
                                 "If-Match must be a version ETag such as \"3\"", "If-Match")};
  }
  return std::optional<int64_t>{*v};
}

Result<std::optional<int64_t>, api::Error> merge_expected(std::optional<int64_t> expected,
                                                          std::optional<int64_t> if_match) {
  if (expected && if_match && *expected != *if_match) {
    return Unexpected{make_error(Errc::kValidation,
                                 "If-Match names version " + std::to_string(*if_match) +
                                     " but expected_version is " + std::to_string(*expected),
                                 "If-Match")};
  }
  return expected ? expected : if_match;
}

bool if_none_match(const http::Request& req, int64_t version) {
  const std::string* h = req.header("if-none-match");
  if (!h) return false;
  std::string_view rest = *h;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view one = trim(rest.substr(0, comma));
    if (one == "*") return true;
    if (auto v = parse_etag(one); v && *v == version) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

std::string etag_of(int64_t version) { return "\"" + std::to_string(version) + "\""; }

void reply_ok(const http::Reply& reply, const http::Request& req, std::string_view message,
              std::string_view data_json,
              std::vector<std::pair<std::string, std::string>> headers) {
  http::Response res;
  res.headers = std::move(headers);
  res.body = api::success_envelope(message.empty() ? "success" : message, data_json,
                                   req.request_id, wall_clock_ms() / 1000);
  reply(std::move(res));
}

void reply_error(const http::Reply& reply, const http::Request& req, const api::Error& error) {
  http::Response res;
  res.status = error.http_status();
  res.body = api::error_envelope(error, req.request_id, wall_clock_ms() / 1000, error.extra);
  reply(std::move(res));
}

void reply_result(const http::Reply& reply, const http::Request& req,
                  const api::CommandResult& result) {
  if (result.ok()) {
    reply_ok(reply, req, api::outcome_message(result.outcome),
             api::outcome_data_json(result.outcome));
  } else {
    reply_error(reply, req, result.error());
  }
}

api::Pagination pagination_of(const Paging& paging, int64_t total) {
  int64_t pages = total == 0 ? 0 : (total + paging.page_size - 1) / paging.page_size;
  return api::Pagination{paging.page, paging.page_size, total, pages};
}

}  // namespace cairn::native
