#include "cli/context.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "common/json.h"

namespace cairn::cli {

std::string cli_client_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::strcpy(host, "localhost");
  std::string h(host);
  for (char& c : h) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '-';
  }
  std::string id = "cairn-cli@" + h;
  if (id.size() > 128) id.resize(128);
  return id;
}

ClientOptions Context::client_options() const {
  ClientOptions o;
  o.endpoints.clear();
  std::stringstream in(endpoints);
  std::string part;
  while (std::getline(in, part, ',')) {
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) o.endpoints.push_back(part);
  }
  o.token = token;
  o.operator_name = operator_name;
  o.ca_file = ca_file;
  o.cert_file = cert_file;
  o.key_file = key_file;
  o.cache_dir = cache_dir;
  o.request_timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  o.connect_timeout = std::min(o.request_timeout, std::chrono::milliseconds(2000));
  o.max_rounds = 2;
  // The CLI is a tool, not an application that applies configs: its own id, and `cairn watch`
  // never acknowledges (it would count as an instance having applied a release).
  o.client_id = cli_client_id();
  o.auto_ack = false;
  return o;
}

std::string compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string pretty(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace); }

std::string truncate(std::string s, size_t max) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

/// Prints a failed call and sets the exit code.
void fail(Context& g, const ClientError& e) {
  std::cerr << "cairn: ";
  if (e.code > 0) {
    std::cerr << "error " << e.code;
    if (e.http_status != 0) std::cerr << " (HTTP " << e.http_status << ")";
    if (!e.message.empty()) std::cerr << " " << e.message;
    if (!e.details.empty()) std::cerr << ": " << e.details;
    if (!e.field.empty()) std::cerr << " [field: " << e.field << "]";
    if (!e.endpoint.empty()) std::cerr << " from " << e.endpoint;
  } else {
    std::cerr << e.message;
    if (!e.details.empty()) std::cerr << ": " << e.details;
  }
  std::cerr << "\n";
  if (g.json()) {
    Json j = {{"error",
               {{"code", e.code},
                {"http_status", e.http_status},
                {"message", e.message},
                {"details", e.details},
                {"field", e.field}}}};
    std::cout << compact(j) << "\n";
  }
  *g.exit_code = e.code == ClientError::kTransport ? kExitUnreachable
                 : e.code == ClientError::kInvalid ? kExitBadInput
                                                   : kExitServerError;
}

void bad_input(Context& g, const std::string& what) {
  std::cerr << "cairn: " << what << "\n";
  *g.exit_code = kExitBadInput;
}

const char* const kAtHelp =
    "As it was at this instant: RFC 3339 (2026-12-02T06:30:00Z, 2026-12-02T07:30:00.5+01:00) "
    "or Unix milliseconds";

/// Checks an `--at` argument before anything is sent; false after reporting bad input. The
/// text itself is what is sent: the server reads its precision (a time to the second stands
/// for that whole second), which a conversion to milliseconds would lose.
bool check_at(Context& g, const std::string& text) {
  TimePoint at;
  std::string why;
  if (parse_instant(text, &at, &why)) return true;
  bad_input(g, "--at " + text + ": " + why +
                   " (expected RFC 3339 like 2026-12-02T06:30:00Z or 2026-12-02T07:30:00.123+01:00,"
                   " or Unix milliseconds like 1796193000000)");
  return false;
}

void warn_stale(bool stale) {
  if (stale) {
    std::cerr << "cairn: warning: no endpoint answered; served from the local cache (stale)\n";
  }
}

void emit(Context& g, const std::string& json_text, const std::string& human) {
  const std::string text = g.json() ? json_text : human;
  std::cout << text;
  if (!text.empty() && text.back() != '\n') std::cout << "\n";
  *g.exit_code = kExitOk;
}

void emit(Context& g, const Json& j, const std::string& human) {
  emit(g, g.json() ? compact(j) : std::string(), human);
}

api::Pagination wire_pagination(const Pagination& p) {
  return api::Pagination{p.page, p.page_size, p.total, p.total_pages};
}

std::string page_footer(const Pagination& p, size_t shown) {
  if (p.total_pages <= 1) return "";
  return "(page " + std::to_string(p.page) + " of " + std::to_string(p.total_pages) + ", " +
         std::to_string(shown) + " of " + std::to_string(p.total) + " shown; --page N)\n";
}

/// Adds the global options to `app` and lets `sub` (and its parents) pass them up.
void add_globals(CLI::App& app, Context& g) {
  app.add_option("--endpoints", g.endpoints,
                 "Comma-separated node addresses, e.g. http://10.0.0.1:8001,http://10.0.0.2:8001")
      ->envname("CAIRN_ENDPOINTS")
      ->capture_default_str();
  app.add_option("--token", g.token, "API token, sent as Authorization: Bearer")
      ->envname("CAIRN_TOKEN");
  app.add_option("--operator", g.operator_name, "Name recorded as the operator of writes")
      ->envname("CAIRN_OPERATOR");
  app.add_option("--ca-file", g.ca_file,
                 "PEM CA that signed the servers' certificates (https:// endpoints; default: the "
                 "system's CAs)")
      ->envname("CAIRN_CA_FILE");
  app.add_option("--cert", g.cert_file, "PEM client certificate, for servers that require one")
      ->envname("CAIRN_CERT_FILE");
  app.add_option("--key", g.key_file, "PEM key of --cert")->envname("CAIRN_KEY_FILE");
  app.add_option("-o,--output", g.output, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", g.timeout_seconds, "Seconds to wait for each request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--cache-dir", g.cache_dir,
                 "Local file cache: reads fall back to it (marked stale) when no node answers")
      ->envname("CAIRN_CACHE_DIR");
}

CLI::App* leaf(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* sub = parent.add_subcommand(name, help);
  sub->fallthrough();  // global options may come after the subcommand too
  return sub;
}

ClientError envelope_error(int http_status, const std::string& body,
                           const std::string& endpoint) {
  ClientError e;
  e.http_status = http_status;
  e.endpoint = endpoint;
  e.code = ClientError::kProtocol;
  e.message = "HTTP " + std::to_string(http_status);
  if (auto env = parse_json(body, 16); env && env->is_object()) {
    e.code = env->value("code", ClientError::kProtocol);
    e.message = env->value("message", e.message);
    if (auto err = env->find("error"); err != env->end() && err->is_object()) {
      e.details = err->value("details", "");
    }
  }
  return e;
}

}  // namespace cairn::cli
