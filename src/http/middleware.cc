#include "http/middleware.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <ctime>

#include "common/ids.h"
#include "common/json.h"
#include "common/time.h"

namespace cairn::http {
namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zeros(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

/// Replaces every header called `name` (any case) by one with `value`.
void set_header(Response& res, std::string_view name, std::string value) {
  std::erase_if(res.headers, [&](const auto& h) { return iequals(h.first, name); });
  res.headers.emplace_back(std::string(name), std::move(value));
}

}  // namespace

bool is_valid_request_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

bool is_valid_traceparent(std::string_view v) {
  // 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                   flags = v.substr(53, 2);
  return version == "00" && is_lower_hex(trace) && is_lower_hex(parent) && is_lower_hex(flags) &&
         !all_zeros(trace) && !all_zeros(parent);
}

std::string trace_id_from_header(std::string_view value) {
  std::string id;
  for (char c : value) {
    if (c == '-' && value.size() == 36) continue;  // a UUID's dashes
    id.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (id.size() != 32 || !is_lower_hex(id) || all_zeros(id)) return {};
  return id;
}

std::string next_traceparent(std::string_view incoming, std::string_view trace_id) {
  // Built in place, one allocation: this runs for every request.
  std::string out;
  out.reserve(55);
  out += "00-";
  if (is_valid_traceparent(incoming)) {
    out += incoming.substr(3, 32);
    out += '-';
    append_random_hex(out, 8);
    out += '-';
    out += incoming.substr(53, 2);
    return out;
  }
  if (trace_id.size() == 32 && is_lower_hex(trace_id) && !all_zeros(trace_id)) {
    out += trace_id;
  } else {
    append_random_hex(out, 8);  // each half non-zero: the trace id is never all zeros
    append_random_hex(out, 8);
  }
  out += '-';
  append_random_hex(out, 8);
  out += "-01";
  return out;
}

Middleware request_id_middleware() {
  return [](RequestPtr req, Reply reply, const Handler& next) {
    const std::string* id = req->header("x-request-id");
    req->request_id = id && is_valid_request_id(*id) ? *id : new_uuid();
    const std::string* tp = req->header("traceparent");
    const std::string* xt = req->header("x-trace-id");
    req->traceparent = next_traceparent(tp ? std::string_view(*tp) : std::string_view(),
                                        xt ? trace_id_from_header(*xt) : std::string());
    // Holds the request, not copies of its two ids: a held watch keeps this wrapper alive,
    // and the request is alive anyway. Nothing changes either id after this point.
    Reply wrapped = [req, reply = std::move(reply)](Response res) {
      res.headers.reserve(res.headers.size() + 3);
      set_header(res, "X-Request-ID", req->request_id);
      set_header(res, "traceparent", req->traceparent);
      set_header(res, "X-Trace-ID", req->traceparent.substr(3, 32));
      reply(std::move(res));
    };
    next(std::move(req), std::move(wrapped));
  };
}

namespace {

/// The envelope's `code` ({"code":40001,…}), or 0 when the body is not an envelope.
int envelope_code(const Response& res) {
  constexpr std::string_view kPrefix = "{\"code\":";
  std::string_view body = res.body;
  if (body.substr(0, kPrefix.size()) != kPrefix) return 0;
  body.remove_prefix(kPrefix.size());
  int code = 0;
  for (char c : body.substr(0, 6)) {
    if (c < '0' || c > '9') break;
    code = code * 10 + (c - '0');
  }
  return code;
}

/// Namespace and key of the request: query, path parameter, else a small JSON body's members.
std::pair<std::string, std::string> config_target(const Request& req) {
  std::string ns, key;
  if (auto v = req.query_param("namespace"))
    ns = *v;
  else if (auto p = req.path_param("namespace"))
    ns = *p;
  if (auto v = req.query_param("key")) key = *v;
  if ((ns.empty() || key.empty()) && !req.body.empty() && req.body.size() <= 64 * 1024 &&
      req.body.front() == '{') {
    auto body = parse_json(req.body, 4);
    if (body && body->is_object()) {
      auto n = body->find("namespace");
      if (ns.empty() && n != body->end() && n->is_string()) ns = n->get<std::string>();
      auto k = body->find("key");
      if (key.empty() && k != body->end() && k->is_string()) key = k->get<std::string>();
    }
  }
  return {std::move(ns), std::move(key)};
}

/// Appends `s` as a JSON string, byte for byte what `Json(s).dump(-1, ' ', false,
/// Json::error_handler_t::replace)` writes: printable ASCII (nearly every value) is copied as
/// it is, anything else goes through nlohmann's escaping and UTF-8 replacement.
void append_json_string(std::string& out, std::string_view s) {
  const bool plain = std::all_of(
      s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (!plain) {
    out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

void append_json_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

namespace {

/// access_log_line's text appended to `out` (the record's buffer, formatted in place).
void append_access_log_line(std::string& out, const Request& req, const Response& res,
                            int64_t duration_ms, int64_t end_ms, const AccessLogOptions& options) {
  auto [ns, key] = config_target(req);
  const std::string* client_id = req.header("x-client-id");
  const std::string* user_agent = req.header("user-agent");
  // The request-id middleware sets every request's traceparent, always a valid one (an
  // incoming one only if valid, else generated): checking its shape is enough to know it is
  // set (the full hex check was 0.6 % of a logged leader's samples).
  const std::string_view tp = req.traceparent;
  const bool traced = tp.size() == 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-';
  // Written by hand, not through a Json object (a map of 17 members, then a dump): this runs
  // for every request (issue 21). Same members, same order, same bytes as that dump.
  bool first = true;
  auto member = [&out, &first](std::string_view name) {
    out += first ? "{\"" : ",\"";
    first = false;
    out += name;
    out += "\":";
  };
  member("request_id");
  append_json_string(out, req.request_id);
  member("trace_id");
  append_json_string(out, traced ? tp.substr(3, 32) : std::string_view());
  member("span_id");
  append_json_string(out, traced ? tp.substr(36, 16) : std::string_view());
  member("api");
  append_json_string(
      out, req.route ? std::string_view(req.route->path_template) : std::string_view(req.path));
  member("method");
  append_json_string(out, req.wire_method());
  member("namespace");
  append_json_string(out, ns);
  member("config_key");
  append_json_string(out, key);
  member("duration_ms");
  append_json_int(out, duration_ms);
  member("status_code");
  append_json_int(out, res.status);
  member("error_code");
  append_json_int(out, envelope_code(res));
  member("client_id");
  append_json_string(out, client_id ? std::string_view(*client_id) : std::string_view());
  member("client_ip");
  append_json_string(out, client_ip(req));
  member("user_agent");
  append_json_string(out, user_agent ? std::string_view(*user_agent) : std::string_view());
  member("node_id");
  append_json_string(out, options.node_id);
  member("version");
  append_json_string(out, options.version);
  member("start_time");
  append_json_int(out, end_ms - duration_ms);
  member("end_time");
  append_json_int(out, end_ms);
  out += '}';
}

}  // namespace

std::string access_log_line(const Request& req, const Response& res, int64_t duration_ms,
                            int64_t end_ms, const AccessLogOptions& options) {
  std::string out;
  out.reserve(512);
  append_access_log_line(out, req, res, duration_ms, end_ms, options);
  return out;
}

namespace {

/// The record's prefix: "<UTC time> info ".
void append_record_prefix(std::string& out, int64_t time_ms, bool color_level) {
  // spdlog's "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v" in UTC; the seconds are formatted once a second
  // per thread.
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[80];  // 20 bytes in practice; room for any int the compiler imagines
  int64_t second = time_ms / 1000, ms = time_ms % 1000;
  if (ms < 0) ms += 1000, second -= 1;
  if (second != cached_second) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  out += cached;
  const char millis[] = {'.',
                         static_cast<char>('0' + ms / 100),
                         static_cast<char>('0' + ms / 10 % 10),
                         static_cast<char>('0' + ms % 10),
                         'Z',
                         ' '};
  out.append(millis, sizeof millis);
  out += color_level ? "\033[32minfo\033[m " : "info ";
}

}  // namespace

void access_log_record(std::string& out, int64_t time_ms, std::string_view json, bool color_level) {
  append_record_prefix(out, time_ms, color_level);
  out += json;
  out += '\n';
}

Middleware access_log_middleware(AccessLogOptions options, AccessLogOutput output) {
  struct Shared {
    AccessLogOptions options;
    AccessLogOutput output;
  };
  auto shared = std::make_shared<const Shared>(Shared{std::move(options), std::move(output)});
  return [shared](RequestPtr req, Reply reply, const Handler& next) {
    // The wrapper keeps the request alive until the response: handlers may answer later.
    Reply wrapped = [req, shared, reply = std::move(reply)](Response res) {
      if (spdlog::should_log(spdlog::level::info)) {
        int64_t duration_ms =
            req->received_monotonic_ms > 0 ? monotonic_ms() - req->received_monotonic_ms : 0;
        const int64_t end_ms = wall_clock_ms();
        if (shared->output.writer) {
          // Formatted in place in this thread's buffer (its capacity kept), then copied into
          // the writer's buffer of this thread: no allocation once warm.
          thread_local std::string record;
          record.clear();
          append_record_prefix(record, end_ms, shared->output.color_level);
          append_access_log_line(record, *req, res, duration_ms, end_ms, shared->options);
          record += '\n';
          shared->output.writer->append(record);
        } else {
          spdlog::info("{}", access_log_line(*req, res, duration_ms, end_ms, shared->options));
        }
      }
      reply(std::move(res));
    };
    next(std::move(req), std::move(wrapped));
  };
}

}  // namespace cairn::http
