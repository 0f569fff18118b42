#include "api/envelope.h"

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

}  // namespace cairn::api
