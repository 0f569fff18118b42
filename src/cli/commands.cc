#include "cli/commands.h"

#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>

namespace cairn::cli {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitServerError = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitUnreachable = 3;

/// Options shared by every client subcommand; owned by the callbacks registered on the App.
struct Globals {
  std::string endpoints = "http://127.0.0.1:8001";
  std::string token;
  std::string operator_name;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string output = "table";
  std::string cache_dir;
  double timeout_seconds = 10;
  int* exit_code = nullptr;

  bool json() const { return output == "json"; }

  ClientOptions client_options() const {
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
    return o;
  }
};

std::string compact(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string pretty(const Json& j) { return j.dump(2, ' ', false, Json::error_handler_t::replace); }

std::string truncate(std::string s, size_t max = 60) {
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

std::string opt_json(const std::optional<Json>& j) { return j ? compact(*j) : "-"; }

/// Prints a failed call and sets the exit code.
void fail(Globals& g, const ClientError& e) {
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

void bad_input(Globals& g, const std::string& what) {
  std::cerr << "cairn: " << what << "\n";
  *g.exit_code = kExitBadInput;
}

constexpr const char* kAtHelp =
    "As it was at this instant: RFC 3339 (2026-12-02T06:30:00Z, 2026-12-02T07:30:00.5+01:00) "
    "or Unix milliseconds";

/// Checks an `--at` argument before anything is sent; false after reporting bad input. The
/// text itself is what is sent: the server reads its precision (a time to the second stands
/// for that whole second), which a conversion to milliseconds would lose.
bool check_at(Globals& g, const std::string& text) {
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

void emit(Globals& g, const Json& j, const std::string& human) {
  const std::string text = g.json() ? compact(j) : human;
  std::cout << text;
  if (!text.empty() && text.back() != '\n') std::cout << "\n";
  *g.exit_code = kExitOk;
}

Json pagination_json(const Pagination& p) {
  return {{"page", p.page},
          {"page_size", p.page_size},
          {"total", p.total},
          {"total_pages", p.total_pages}};
}

std::string page_footer(const Pagination& p, size_t shown) {
  if (p.total_pages <= 1) return "";
  return "(page " + std::to_string(p.page) + " of " + std::to_string(p.total_pages) + ", " +
         std::to_string(shown) + " of " + std::to_string(p.total) + " shown; --page N)\n";
}

Json write_json(const WriteResult& w) {
  Json j = {{"id", w.id}, {"namespace", w.ns}, {"key", w.key}, {"version", w.version}};
  if (w.old_version != 0) {
    j["old_version"] = w.old_version;
    j["changed"] = w.changed;
  }
  return j;
}

Json namespace_json(const NamespaceInfo& n) {
  return {{"id", n.id},
          {"name", n.name},
          {"description", n.description},
          {"status", n.status},
          {"config_count", n.config_count},
          {"revision", n.revision},
          {"created_at", n.created_at},
          {"updated_at", n.updated_at}};
}

Json change_json(const ConfigChange& c) {
  Json j = {{"namespace", c.ns},
            {"key", c.key},
            {"operation", c.operation},
            {"version", c.version},
            {"revision", c.revision}};
  j["old_value"] = c.old_value ? *c.old_value : Json();
  j["new_value"] = c.new_value ? *c.new_value : Json();
  return j;
}

std::string utc_now() {
  char buf[32];
  time_t t = ::time(nullptr);
  tm tm{};
  ::gmtime_r(&t, &tm);
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Adds the global options to `app` and lets `sub` (and its parents) pass them up.
void add_globals(CLI::App& app, Globals& g) {
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

void run_watch(Globals& g, const std::string& ns, const std::string& prefix,
               const std::string& keys_csv, int count) {
  WatchFilter filter;
  filter.prefix = prefix;
  std::stringstream in(keys_csv);
  std::string k;
  while (std::getline(in, k, ',')) {
    if (!k.empty()) filter.keys.push_back(k);
  }
  if (!filter.prefix.empty() && !filter.keys.empty()) {
    bad_input(g, "--prefix and --keys cannot be used together");
    return;
  }
  // Block the stop signals before the watch thread exists so that only sigtimedwait sees them.
  sigset_t signals, old;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, &old);
  {
    ClientOptions o = g.client_options();
    Client client(o);
    // Fail fast when the namespace does not exist or nothing answers (and no cache has it).
    auto first = client.get_namespace(ns);
    if (!first.ok()) {
      fail(g, first.error());
    } else {
      std::mutex out_mu;
      int seen = 0;
      client.watch(ns, filter, [&](const ConfigChange& c) {
        std::lock_guard lock(out_mu);
        if (count > 0 && seen >= count) return;
        ++seen;
        if (g.json()) {
          std::cout << compact(change_json(c)) << std::endl;
        } else {
          std::cout << utc_now() << "  " << c.operation << "  " << c.ns << "/" << c.key;
          if (c.version != 0) std::cout << "  v" << c.version;
          std::cout << "  rev " << c.revision << "  " << opt_json(c.old_value) << " -> "
                    << opt_json(c.new_value) << std::endl;
        }
      });
      bool announced = false;
      timespec tick{0, 100 * 1000 * 1000};
      for (;;) {
        if (!announced) {
          if (auto known = client.watched_content(ns)) {
            std::cerr << "watching " << ns << " from revision " << known->revision
                      << (known->stale ? " (stale, from the local cache)" : "")
                      << "; Ctrl-C to stop" << std::endl;
            announced = true;
          }
        }
        {
          std::lock_guard lock(out_mu);
          if (count > 0 && seen >= count) break;
        }
        int sig = ::sigtimedwait(&signals, nullptr, &tick);
        if (sig == SIGINT || sig == SIGTERM) break;
      }
      *g.exit_code = kExitOk;
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace

bool read_value(const std::string& arg, Json* value, std::string* error) {
  std::string text;
  bool from_input = false;
  if (arg == "-") {
    std::stringstream buf;
    buf << std::cin.rdbuf();
    text = buf.str();
    from_input = true;
  } else if (!arg.empty() && arg.front() == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) {
      *error = "cannot read " + arg.substr(1);
      return false;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    from_input = true;
  } else {
    text = arg;
  }
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) {
    *value = std::move(parsed);
    return true;
  }
  if (from_input && !text.empty() && text.back() == '\n') text.pop_back();
  *value = text;  // not JSON: a plain string value
  return true;
}

namespace {

/// Reads exactly `n` digits at `*pos` into `*out`.
bool digits(const std::string& s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool expect_char(const std::string& s, size_t* pos, const char* allowed) {
  if (*pos >= s.size() || std::strchr(allowed, s[*pos]) == nullptr) return false;
  ++*pos;
  return true;
}

}  // namespace

bool parse_instant(const std::string& text, TimePoint* at, std::string* error) {
  using namespace std::chrono;
  constexpr int64_t kMaxMs = 253402300799999;  // 9999-12-31T23:59:59.999Z
  if (text.empty()) {
    *error = "empty time";
    return false;
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 15 || std::stoll(text) > kMaxMs) {
      *error = "Unix milliseconds beyond year 9999";
      return false;
    }
    *at = TimePoint(milliseconds(std::stoll(text)));
    return true;
  }
  size_t pos = 0;
  int y, mo, d, h, mi, sec;
  if (!digits(text, &pos, 4, &y) || !expect_char(text, &pos, "-") || !digits(text, &pos, 2, &mo) ||
      !expect_char(text, &pos, "-") || !digits(text, &pos, 2, &d) ||
      !expect_char(text, &pos, "Tt ") || !digits(text, &pos, 2, &h) ||
      !expect_char(text, &pos, ":") || !digits(text, &pos, 2, &mi) ||
      !expect_char(text, &pos, ":") || !digits(text, &pos, 2, &sec)) {
    *error = "not a date-time YYYY-MM-DDTHH:MM:SS";
    return false;
  }
  int64_t ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (pos - start < 3) ms = ms * 10 + (text[pos] - '0');
      ++pos;
    }
    if (pos == start || pos - start > 9) {
      *error = "a fraction of a second takes 1 to 9 digits";
      return false;
    }
    for (size_t n = pos - start; n < 3; ++n) ms *= 10;
  }
  int offset_minutes = 0;
  if (expect_char(text, &pos, "Zz")) {
    // UTC
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om;
    if (!digits(text, &pos, 2, &oh) || !expect_char(text, &pos, ":") ||
        !digits(text, &pos, 2, &om) || oh > 23 || om > 59) {
      *error = "malformed zone offset (expected +HH:MM or -HH:MM)";
      return false;
    }
    offset_minutes = sign * (oh * 60 + om);
  } else {
    *error = "no time zone (add Z for UTC, or an offset like +01:00)";
    return false;
  }
  if (pos != text.size()) {
    *error = "unexpected text after the time zone";
    return false;
  }
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || y < 1970) {
    *error = "no such date (years 1970-9999)";
    return false;
  }
  if (h > 23 || mi > 59 || sec > 59) {
    *error = "no such time of day";
    return false;
  }
  const auto local = sys_days(date) + hours(h) + minutes(mi) + seconds(sec) + milliseconds(ms);
  const auto utc = local - minutes(offset_minutes);
  if (utc.time_since_epoch().count() < 0) {
    *error = "before 1970-01-01T00:00:00Z";
    return false;
  }
  *at = time_point_cast<TimePoint::duration>(utc);
  return true;
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      l += cells[i];
      if (i + 1 < cells.size()) l += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
  return out;
}

void register_client_commands(CLI::App& app, int& exit_code) {
  auto g = std::make_shared<Globals>();
  g->exit_code = &exit_code;
  add_globals(app, *g);

  // get
  {
    auto* sub =
        leaf(app, "get", "Print a config value (the latest, --version N, or as of --at TIME)");
    struct Args {
      std::string ns, key, at;
      int64_t version = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("--version", a->version, "A past version")->check(CLI::PositiveNumber);
    sub->add_option("--at", a->at, kAtHelp);
    sub->callback([g, a] {
      const bool past = !a->at.empty();
      if (past && a->version > 0) {
        return bad_input(*g, "--at and --version cannot be used together");
      }
      if (past && !check_at(*g, a->at)) return;
      Client c(g->client_options());
      std::optional<int64_t> version;
      if (a->version > 0) version = a->version;
      auto r = past ? c.get_at(a->ns, a->key, a->at) : c.get(a->ns, a->key, version);
      if (!r.ok()) return fail(*g, r.error());
      warn_stale(r->stale);
      Json j = {{"namespace", r->ns},          {"key", r->key},
                {"value", r->value},           {"version", r->version},
                {"updated_at", r->updated_at}, {"stale", r->stale}};
      if (past) j["at"] = a->at;
      emit(*g, j,
           "# " + r->ns + "/" + r->key + "  version " + std::to_string(r->version) + "  " +
               r->updated_at + (r->stale ? "  (stale)" : "") +
               (past ? "  (as of " + a->at + ")" : "") + "\n" + pretty(r->value) + "\n");
    });
  }

  // put / create
  for (bool upsert : {true, false}) {
    auto* sub =
        upsert ? leaf(app, "put",
                      "Set a value: updates the key, or creates it when it does not exist yet. "
                      "VALUE is JSON (text that is not JSON is stored as a string), @FILE or - "
                      "for stdin")
               : leaf(app, "create", "Create a key (fails with 40902 when it exists)");
    struct Args {
      std::string ns, key, value, description;
      int64_t expected_version = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("value", a->value, "JSON value, @FILE or - (stdin)")->required();
    sub->add_option("--description", a->description, "Description of the key");
    if (upsert) {
      sub->add_option("--expected-version", a->expected_version,
                      "Only update if the current version is this (compare-and-set)")
          ->check(CLI::PositiveNumber);
    }
    sub->callback([g, a, upsert] {
      Json value;
      std::string err;
      if (!read_value(a->value, &value, &err)) return bad_input(*g, err);
      Client c(g->client_options());
      if (upsert) {
        UpdateRequest u;
        u.value = value;
        if (!a->description.empty()) u.description = a->description;
        if (a->expected_version > 0) u.expected_version = a->expected_version;
        auto r = c.update(a->ns, a->key, u);
        if (r.ok()) {
          Json j = write_json(*r);
          j["operation"] = "update";
          if (!r->changed) {
            return emit(*g, j,
                        "unchanged " + a->ns + "/" + a->key + ": version " +
                            std::to_string(r->version) + " already holds this value");
          }
          return emit(*g, j,
                      "updated " + a->ns + "/" + a->key + ": version " +
                          std::to_string(r->old_version) + " -> " + std::to_string(r->version));
        }
        if (r.error().code != 40403 || a->expected_version > 0) return fail(*g, r.error());
      }
      auto r = c.create(a->ns, a->key, value, a->description);
      if (!r.ok()) return fail(*g, r.error());
      Json j = write_json(*r);
      j["operation"] = "create";
      emit(*g, j, "created " + a->ns + "/" + a->key + ": version " + std::to_string(r->version));
    });
  }

  // delete
  {
    auto* sub = leaf(app, "delete", "Delete a key (its versions stay readable)");
    struct Args {
      std::string ns, key;
      int64_t expected_version = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("--expected-version", a->expected_version,
                    "Only delete if the current version is this")
        ->check(CLI::PositiveNumber);
    sub->callback([g, a] {
      Client c(g->client_options());
      std::optional<int64_t> ev;
      if (a->expected_version > 0) ev = a->expected_version;
      auto r = c.remove(a->ns, a->key, ev);
      if (!r.ok()) return fail(*g, r.error());
      emit(
          *g, write_json(*r),
          "deleted " + a->ns + "/" + a->key + " (last version " + std::to_string(r->version) + ")");
    });
  }

  // list
  {
    auto* sub = leaf(app, "list", "List configs (every namespace, or one), disabled ones too");
    struct Args {
      std::string ns, key;
      int64_t page = 1, page_size = 100;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Only this namespace");
    sub->add_option("--key", a->key, "Only keys containing this text");
    sub->add_option("--page", a->page, "Page number")->check(CLI::PositiveNumber);
    sub->add_option("--page-size", a->page_size, "Rows per page (1-1000)")
        ->check(CLI::Range(1, 1000));
    sub->callback([g, a] {
      Client c(g->client_options());
      auto r = c.list({a->ns, a->key, {a->page, a->page_size}});
      if (!r.ok()) return fail(*g, r.error());
      Json list = Json::array();
      std::vector<std::vector<std::string>> rows;
      for (const auto& e : r->list) {
        list.push_back({{"id", e.id},
                        {"namespace", e.ns},
                        {"key", e.key},
                        {"value", e.value},
                        {"version", e.version},
                        {"description", e.description},
                        {"status", e.status},
                        {"created_by", e.created_by},
                        {"updated_by", e.updated_by},
                        {"created_at", e.created_at},
                        {"updated_at", e.updated_at}});
        rows.push_back({e.ns, e.key, std::to_string(e.version),
                        e.status == 1 ? "enabled" : "disabled", e.updated_at,
                        truncate(compact(e.value))});
      }
      emit(*g, {{"list", list}, {"pagination", pagination_json(r->pagination)}},
           render_table({"NAMESPACE", "KEY", "VERSION", "STATUS", "UPDATED", "VALUE"}, rows) +
               page_footer(r->pagination, rows.size()));
    });
  }

  // history / versions
  for (bool hist : {true, false}) {
    auto* sub = hist ? leaf(app, "history", "Change history of a key, newest first")
                     : leaf(app, "versions", "Every stored version of a key, newest first");
    struct Args {
      std::string ns, key;
      int64_t page = 1, page_size = 100;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("--page", a->page, "Page number")->check(CLI::PositiveNumber);
    sub->add_option("--page-size", a->page_size, "Rows per page (1-1000)")
        ->check(CLI::Range(1, 1000));
    sub->callback([g, a, hist] {
      Client c(g->client_options());
      Json list = Json::array();
      std::vector<std::vector<std::string>> rows;
      if (hist) {
        auto r = c.history(a->ns, a->key, {a->page, a->page_size});
        if (!r.ok()) return fail(*g, r.error());
        for (const auto& h : r->list) {
          list.push_back({{"id", h.id},
                          {"namespace", h.ns},
                          {"key", h.key},
                          {"old_value", h.old_value},
                          {"new_value", h.new_value},
                          {"version", h.version},
                          {"operation", h.operation},
                          {"operator", h.operator_name},
                          {"created_at", h.created_at}});
          rows.push_back({std::to_string(h.version), h.operation, h.operator_name, h.created_at,
                          truncate(compact(h.old_value), 30), truncate(compact(h.new_value), 30)});
        }
        return emit(*g, {{"list", list}, {"pagination", pagination_json(r->pagination)}},
                    render_table({"VERSION", "OPERATION", "OPERATOR", "TIME", "OLD", "NEW"}, rows) +
                        page_footer(r->pagination, rows.size()));
      }
      auto r = c.versions(a->ns, a->key, {a->page, a->page_size});
      if (!r.ok()) return fail(*g, r.error());
      for (const auto& v : r->list) {
        list.push_back({{"version", v.version},
                        {"value", v.value},
                        {"created_by", v.created_by},
                        {"created_at", v.created_at},
                        {"is_current", v.is_current}});
        rows.push_back({std::to_string(v.version), v.is_current ? "*" : "", v.created_by,
                        v.created_at, truncate(compact(v.value))});
      }
      emit(*g, {{"list", list}, {"pagination", pagination_json(r->pagination)}},
           render_table({"VERSION", "CURRENT", "BY", "CREATED", "VALUE"}, rows) +
               page_footer(r->pagination, rows.size()));
    });
  }

  // diff
  {
    auto* sub = leaf(app, "diff", "Differences between two versions of a key, per JSON path");
    struct Args {
      std::string ns, key;
      int64_t from = 0, to = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("from", a->from, "Version to compare from")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("to", a->to, "Version to compare to")->required()->check(CLI::PositiveNumber);
    sub->callback([g, a] {
      Client c(g->client_options());
      auto r = c.diff(a->ns, a->key, a->from, a->to);
      if (!r.ok()) return fail(*g, r.error());
      Json changes = Json::array();
      std::vector<std::vector<std::string>> rows;
      for (const auto& ch : r->changes) {
        changes.push_back({{"path", ch.path}, {"from", ch.from}, {"to", ch.to}, {"type", ch.type}});
        rows.push_back({ch.path.empty() ? "(whole value)" : ch.path, ch.type,
                        truncate(compact(ch.from), 40), truncate(compact(ch.to), 40)});
      }
      std::string human = rows.empty() ? "no differences between version " +
                                             std::to_string(r->from_version) + " and " +
                                             std::to_string(r->to_version) + "\n"
                                       : render_table({"PATH", "TYPE", "FROM", "TO"}, rows);
      emit(*g,
           {{"namespace", r->ns},
            {"key", r->key},
            {"from_version", r->from_version},
            {"to_version", r->to_version},
            {"changes", changes}},
           human);
    });
  }

  // rollback
  {
    auto* sub = leaf(app, "rollback", "Write a new version equal to an old version's value");
    struct Args {
      std::string ns, key;
      int64_t version = 0, expected_version = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("key", a->key, "Key")->required();
    sub->add_option("version", a->version, "Version to go back to")
        ->required()
        ->check(CLI::PositiveNumber);
    sub->add_option("--expected-version", a->expected_version,
                    "Only roll back if the current version is this")
        ->check(CLI::PositiveNumber);
    sub->callback([g, a] {
      Client c(g->client_options());
      std::optional<int64_t> ev;
      if (a->expected_version > 0) ev = a->expected_version;
      auto r = c.rollback(a->ns, a->key, a->version, ev);
      if (!r.ok()) return fail(*g, r.error());
      emit(*g,
           {{"namespace", r->ns},
            {"key", r->key},
            {"current_version", r->current_version},
            {"previous_version", r->previous_version}},
           "rolled back " + r->ns + "/" + r->key + " to the value of version " +
               std::to_string(a->version) + ": version " + std::to_string(r->previous_version) +
               " -> " + std::to_string(r->current_version));
    });
  }

  // watch
  {
    auto* sub = leaf(app, "watch", "Print each change of a namespace as it happens, until Ctrl-C");
    struct Args {
      std::string ns, prefix, keys;
      int count = 0;
    };
    auto a = std::make_shared<Args>();
    sub->add_option("namespace", a->ns, "Namespace")->required();
    sub->add_option("--prefix", a->prefix, "Only keys starting with this");
    sub->add_option("--keys", a->keys, "Only these keys (comma-separated)");
    sub->add_option("--count", a->count, "Exit after this many changes")
        ->check(CLI::PositiveNumber);
    sub->callback([g, a] { run_watch(*g, a->ns, a->prefix, a->keys, a->count); });
  }

  // ns list|create|delete
  {
    auto* ns = app.add_subcommand("ns", "Namespaces: list, create, delete, get (the content)");
    ns->require_subcommand(1);
    ns->fallthrough();
    {
      auto* sub = leaf(*ns, "list", "List namespaces");
      struct Args {
        std::string name;
        int64_t page = 1, page_size = 100;
      };
      auto a = std::make_shared<Args>();
      sub->add_option("--name", a->name, "Only names containing this text");
      sub->add_option("--page", a->page, "Page number")->check(CLI::PositiveNumber);
      sub->add_option("--page-size", a->page_size, "Rows per page (1-1000)")
          ->check(CLI::Range(1, 1000));
      sub->callback([g, a] {
        Client c(g->client_options());
        auto r = c.list_namespaces(a->name, {a->page, a->page_size});
        if (!r.ok()) return fail(*g, r.error());
        Json list = Json::array();
        std::vector<std::vector<std::string>> rows;
        for (const auto& n : r->list) {
          list.push_back(namespace_json(n));
          rows.push_back({std::to_string(n.id), n.name, std::to_string(n.config_count),
                          std::to_string(n.revision), n.status == 1 ? "enabled" : "disabled",
                          truncate(n.description, 40)});
        }
        emit(*g, {{"list", list}, {"pagination", pagination_json(r->pagination)}},
             render_table({"ID", "NAME", "CONFIGS", "REVISION", "STATUS", "DESCRIPTION"}, rows) +
                 page_footer(r->pagination, rows.size()));
      });
    }
    {
      auto* sub = leaf(
          *ns, "get", "Print every enabled key and value of a namespace (now, or as of --at TIME)");
      auto a = std::make_shared<std::pair<std::string, std::string>>();
      sub->add_option("name", a->first, "Namespace name")->required();
      sub->add_option("--at", a->second, kAtHelp);
      sub->callback([g, a] {
        const bool past = !a->second.empty();
        if (past && !check_at(*g, a->second)) return;
        Client c(g->client_options());
        auto r = past ? c.get_namespace_at(a->first, a->second) : c.get_namespace(a->first);
        if (!r.ok()) return fail(*g, r.error());
        warn_stale(r->stale);
        Json configs = Json::object();
        std::vector<std::vector<std::string>> rows;
        for (const auto& [key, value] : r->configs) {
          configs[key] = value;
          rows.push_back({key, compact(value)});
        }
        for (const auto& key : r->unavailable) {
          rows.push_back({key, "(unavailable: retention removed the version of then)"});
        }
        std::sort(rows.begin(), rows.end());
        Json j = {{"namespace", r->ns},
                  {"revision", r->revision},
                  {"updated_at", r->updated_at},
                  {"configs", configs},
                  {"stale", r->stale}};
        if (past) {
          j["at"] = a->second;
          j["unavailable"] = r->unavailable;
        }
        std::string head = "# " + r->ns + "  revision " + std::to_string(r->revision) +
                           (r->updated_at.empty() ? "" : "  " + r->updated_at) +
                           (r->stale ? "  (stale)" : "") +
                           (past ? "  (as of " + a->second + ")" : "") + "\n";
        emit(*g, j,
             head + (rows.empty() ? std::string("no configs\n")
                                  : render_table({"KEY", "VALUE"}, rows)));
      });
    }
    {
      auto* sub = leaf(*ns, "create", "Create a namespace");
      auto a = std::make_shared<std::pair<std::string, std::string>>();
      sub->add_option("name", a->first, "Namespace name")->required();
      sub->add_option("--description", a->second, "Description");
      sub->callback([g, a] {
        Client c(g->client_options());
        auto r = c.create_namespace(a->first, a->second);
        if (!r.ok()) return fail(*g, r.error());
        emit(*g, namespace_json(*r),
             "created namespace " + r->name + " (id " + std::to_string(r->id) + ")");
      });
    }
    {
      auto* sub = leaf(*ns, "delete", "Delete an empty namespace");
      auto a = std::make_shared<std::string>();
      sub->add_option("name", *a, "Namespace name")->required();
      sub->callback([g, a] {
        Client c(g->client_options());
        auto r = c.delete_namespace(*a);
        if (!r.ok()) return fail(*g, r.error());
        emit(*g, {{"id", r->id}, {"name", r->name}},
             "deleted namespace " + r->name + " (id " + std::to_string(r->id) + ")");
      });
    }
  }

  // tokens, whoami, audit (docs/security.md)
  {
    auto* token = app.add_subcommand("token", "API tokens: create, list, revoke (cluster-admin)");
    token->require_subcommand(1);
    token->fallthrough();
    {
      auto* sub = leaf(*token, "create", "Create a token; its secret is printed this once");
      struct Args {
        std::string name, ttl;
        std::vector<std::string> grants;
      };
      auto a = std::make_shared<Args>();
      sub->add_option("name", a->name, "Token name (the operator recorded for its writes)")
          ->required();
      sub->add_option("--grant", a->grants,
                      "PATTERN:PERMISSION (read, write, admin), or cluster-admin; repeatable")
          ->required();
      sub->add_option("--ttl", a->ttl, "Lifetime such as 720h (default: never expires)");
      sub->callback([g, a] {
        Json grants = Json::array();
        for (const auto& text : a->grants) {
          if (text == "cluster-admin") {
            grants.push_back({{"permission", "cluster-admin"}});
            continue;
          }
          size_t colon = text.rfind(':');
          if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
            return bad_input(*g, "--grant " + text + ": expected PATTERN:PERMISSION");
          }
          grants.push_back(
              {{"namespace", text.substr(0, colon)}, {"permission", text.substr(colon + 1)}});
        }
        Client c(g->client_options());
        auto r = c.create_token(a->name, grants, a->ttl);
        if (!r.ok()) return fail(*g, r.error());
        emit(*g, *r,
             "token " + r->value("name", "") + " (id " + r->value("id", "") +
                 "): " + r->value("token", "") + "\n(shown once: store it now)");
      });
    }
    {
      auto* sub = leaf(*token, "list", "List tokens (never their secrets)");
      sub->callback([g] {
        Client c(g->client_options());
        auto r = c.list_tokens();
        if (!r.ok()) return fail(*g, r.error());
        std::string text;
        for (const auto& t : (*r)["list"]) {
          text += t.value("id", "") + "  " + t.value("name", "") + "  " + t.value("status", "") +
                  "  " + compact(t["grants"]) + "\n";
        }
        emit(*g, *r, text.empty() ? "no tokens\n" : text);
      });
    }
    {
      auto* sub = leaf(*token, "revoke", "Revoke a token on every node");
      auto id = std::make_shared<std::string>();
      sub->add_option("id", *id, "Token id (from token list)")->required();
      sub->callback([g, id] {
        Client c(g->client_options());
        auto r = c.revoke_token(*id);
        if (!r.ok()) return fail(*g, r.error());
        emit(*g, *r, "revoked token " + *id);
      });
    }
    auto* who = app.add_subcommand("whoami", "Show the name and grants of --token");
    who->callback([g] {
      Client c(g->client_options());
      auto r = c.whoami();
      if (!r.ok()) return fail(*g, r.error());
      emit(*g, *r, pretty(*r));
    });
    auto* audit = app.add_subcommand("audit", "Show the audit log, newest first (cluster-admin)");
    auto fields = std::make_shared<std::array<std::string, 6>>();
    audit->add_option("--actor", (*fields)[0], "Only this token name");
    audit->add_option("--namespace", (*fields)[1], "Only this namespace");
    audit->add_option("--action", (*fields)[2], "Only this action, or a prefix ending in *");
    audit->add_option("--from", (*fields)[3], "From this time (RFC 3339 or Unix ms)");
    audit->add_option("--to", (*fields)[4], "Before this time");
    audit->add_option("--page-size", (*fields)[5], "Rows (default 20)");
    audit->callback([g, fields] {
      static const char* kNames[] = {"actor", "namespace", "action", "from", "to", "page_size"};
      std::vector<std::pair<std::string, std::string>> query;
      for (size_t i = 0; i < fields->size(); ++i) {
        if (!(*fields)[i].empty()) query.emplace_back(kNames[i], (*fields)[i]);
      }
      Client c(g->client_options());
      auto r = c.audit(query);
      if (!r.ok()) return fail(*g, r.error());
      std::string text;
      for (const auto& e : (*r)["list"]) {
        text += e.value("time", "") + "  " + e.value("actor", "") + "  " + e.value("action", "") +
                "  " + e.value("namespace", "") +
                (e.value("key", "").empty() ? "" : "/" + e.value("key", "")) + "  " +
                std::to_string(e.value("code", int64_t{0})) + "  " + e.value("client_ip", "") +
                "\n";
      }
      emit(*g, *r, text.empty() ? "no entries\n" : text);
    });
  }

  // cluster status
  {
    auto* cluster = app.add_subcommand("cluster", "Cluster membership and leader");
    cluster->require_subcommand(1);
    cluster->fallthrough();
    auto* sub = leaf(*cluster, "status", "Show the cluster's members, leader and terms");
    sub->callback([g] {
      Client c(g->client_options());
      auto r = c.cluster_status();
      if (!r.ok()) return fail(*g, r.error());
      emit(*g, *r, pretty(*r));
    });
  }
}

}  // namespace cairn::cli
