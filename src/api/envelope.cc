#include "api/envelope.h"

#include <charconv>

#include "common/json.h"

namespace cairn::api {

std::string success_envelope(std::string_view message, std::string_view data_json,
                             std::string_view request_id, int64_t unix_seconds) {
  std::string out;
  out.reserve(data_json.size() + 128);
  out += R"({"code":0,"message":)";
  append_json_string(out, message);
  out += R"(,"data":)";
  out += data_json.empty() ? std::string_view("{}") : data_json;
  out += R"(,"request_id":)";
  append_json_string(out, request_id);
  out += R"(,"timestamp":)";
  out += std::to_string(unix_seconds);
  out += '}';
  return out;
}

std::string error_envelope(const Error& error, std::string_view request_id, int64_t unix_seconds,
                           std::string_view extra_error_json, std::string_view data_json) {
  std::string out;
  out.reserve(256 + data_json.size());
  out += R"({"code":)";
  out += std::to_string(static_cast<int>(error.code));
  out += R"(,"message":)";
  append_json_string(out, error_info(error.code).message);
  out += R"(,"error":{"details":)";
  append_json_string(out, error.details);
  if (!error.field.empty()) {
    out += R"(,"field":)";
    append_json_string(out, error.field);
  }
  // Merge the members of an extra object: strip its braces.
  if (extra_error_json.size() > 2 && extra_error_json.front() == '{' &&
      extra_error_json.back() == '}') {
    out += ',';
    out += extra_error_json.substr(1, extra_error_json.size() - 2);
  }
  out += '}';
  if (!data_json.empty()) {
    out += R"(,"data":)";
    out += data_json;
  }
  out += R"(,"request_id":)";
  append_json_string(out, request_id);
  out += R"(,"timestamp":)";
  out += std::to_string(unix_seconds);
  out += '}';
  return out;
}

namespace {

/// A string member of a member list, "" when absent or not a string.
std::string string_member(const std::vector<std::pair<std::string, std::string_view>>& members,
                          std::string_view name) {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first != name) continue;
    Json v = Json::parse(it->second.begin(), it->second.end(), nullptr, false);
    return v.is_string() ? v.get<std::string>() : std::string();
  }
  return {};
}

std::optional<std::string_view> raw_member(
    const std::vector<std::pair<std::string, std::string_view>>& members, std::string_view name) {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

template <class N>
bool integer(std::optional<std::string_view> text, N* out) {
  if (!text) return false;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), *out);
  return ec == std::errc() && end == text->data() + text->size();
}

}  // namespace

Result<Envelope, Error> decode_envelope(std::string_view text) {
  auto members = Json::accept(text.begin(), text.end()) ? json_member_texts(text) : std::nullopt;
  if (!members) return Unexpected{make_error(Errc::kBadRequest, "not a JSON object")};
  Envelope e;
  if (!integer(raw_member(*members, "code"), &e.code)) {
    return Unexpected{make_error(Errc::kBadRequest, "no integer code: not a Cairn envelope",
                                 "code")};
  }
  e.message = string_member(*members, "message");
  if (auto data = raw_member(*members, "data")) e.data_json = *data;
  if (auto error = raw_member(*members, "error")) {
    e.error_json = *error;
    if (auto inner = json_member_texts(*error)) {
      e.details = string_member(*inner, "details");
      e.field = string_member(*inner, "field");
    }
  }
  e.request_id = string_member(*members, "request_id");
  integer(raw_member(*members, "timestamp"), &e.timestamp);
  return e;
}

}  // namespace cairn::api
