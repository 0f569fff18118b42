// Client registry and gray release subcommands (issue 18, docs/releases.md): `clients [NS]` and
// `release start|status|promote|abort|pause|resume`. The request of `release start` is built by
// build_release_request (unit-tested); answers are printed as tables or, with -o json, as the
// server's JSON.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>

#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

bool valid_duration(const std::string& text) {
  // Go's time.ParseDuration without a sign: one or more <number><unit>, number with an
  // optional fraction, unit ns, us, µs, ms, s, m or h ("90s", "10m", "1h30m", "1.5h").
  if (text.empty()) return false;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    bool whole = i > start;
    bool frac = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t f = i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
      frac = i > f;
    }
    if (!whole && !frac) return false;
    static const char* const kUnits[] = {"ns", "us", "\xC2\xB5s", "ms", "s", "m", "h"};
    bool matched = false;
    for (const char* unit : kUnits) {
      const std::string u(unit);
      // "m" must not take the "m" of "ms".
      if (text.compare(i, u.size(), u) == 0 && !(u == "m" && text.compare(i, 2, "ms") == 0)) {
        i += u.size();
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

namespace {

bool parse_percent(const std::string& text, double* out) {
  if (text.empty()) return false;
  size_t used = 0;
  double v;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return false;
  }
  if (used != text.size() || !(v >= 0 && v <= 100)) return false;
  *out = v;
  return true;
}

/// A percentage as JSON: an integer when it is one.
Json percent_json(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) return static_cast<int64_t>(v);
  return v;
}

bool split_pair(const std::string& text, std::string* name, std::string* value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  *name = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return true;
}

}  // namespace

bool build_release_request(const ReleaseArgs& a, Json* out, std::string* error) {
  if (a.ns.empty()) {
    *error = "a namespace is required";
    return false;
  }
  Json changes = Json::object();
  for (const auto& s : a.sets) {
    std::string key, text;
    if (!split_pair(s, &key, &text)) {
      *error = "--set " + s + ": expected KEY=JSON";
      return false;
    }
    Json value;
    if (!read_value(text, &value, error)) {
      *error = "--set " + key + ": " + *error;
      return false;
    }
    if (changes.contains(key)) {
      *error = "--set/--delete " + key + ": given twice";
      return false;
    }
    changes[key] = std::move(value);
  }
  for (const auto& key : a.deletes) {
    if (key.empty()) {
      *error = "--delete: empty key";
      return false;
    }
    if (changes.contains(key)) {
      *error = "--set/--delete " + key + ": given twice";
      return false;
    }
    changes[key] = nullptr;
  }
  if (changes.empty()) {
    *error = "nothing to release: give --set KEY=JSON or --delete KEY";
    return false;
  }

  Json target = Json::object();
  Json labels = Json::object();
  for (const auto& l : a.labels) {
    std::string name, values;
    if (!split_pair(l, &name, &values)) {
      *error = "--label " + l + ": expected NAME=VALUE[,VALUE…]";
      return false;
    }
    Json list = labels.contains(name) ? labels[name] : Json::array();
    if (!list.is_array()) list = Json::array({list});
    size_t start = 0;
    for (;;) {
      size_t comma = values.find(',', start);
      list.push_back(values.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    labels[name] = list.size() == 1 ? list[0] : list;
  }
  if (!labels.empty()) target["labels"] = labels;
  if (!a.ips.empty()) {
    for (const auto& ip : a.ips) {
      if (ip.empty() || ip.find_first_of(" ,") != std::string::npos) {
        *error = "--ip '" + ip + "': one address or CIDR per --ip";
        return false;
      }
    }
    target["ips"] = a.ips;
  }
  if (!a.percent.empty()) {
    double p;
    if (!parse_percent(a.percent, &p)) {
      *error = "--percent " + a.percent + ": a number from 0 to 100";
      return false;
    }
    target["percent"] = percent_json(p);
  }

  Json body = {{"namespace", a.ns}, {"changes", changes}, {"target", target}};
  Json plan = Json::object();
  if (!a.stages.empty()) {
    Json stages = Json::array();
    for (const auto& s : a.stages) {
      size_t colon = s.find(':');
      std::string pct = s.substr(0, colon);
      double p;
      if (!parse_percent(pct, &p)) {
        *error = "--stage " + s + ": expected PERCENT[:HOLD] like 5:10m or 100";
        return false;
      }
      Json stage = {{"percent", percent_json(p)}};
      if (colon != std::string::npos) {
        std::string hold = s.substr(colon + 1);
        if (!valid_duration(hold)) {
          *error = "--stage " + s + ": hold '" + hold + "' is not a duration like 90s, 10m, 1h30m";
          return false;
        }
        stage["hold"] = hold;
      }
      stages.push_back(std::move(stage));
    }
    plan["stages"] = stages;
  }
  Json guard = Json::object();
  if (a.max_failed_ratio) {
    if (!(*a.max_failed_ratio >= 0 && *a.max_failed_ratio <= 1)) {
      *error = "--max-failed-ratio: a ratio from 0 to 1 (0.01 = 1%)";
      return false;
    }
    guard["max_failed_ratio"] = *a.max_failed_ratio;
  }
  if (a.min_acks) {
    if (*a.min_acks < 0) {
      *error = "--min-acks: not negative";
      return false;
    }
    guard["min_acks"] = *a.min_acks;
  }
  if (!a.ack_timeout.empty()) {
    if (!valid_duration(a.ack_timeout)) {
      *error = "--ack-timeout " + a.ack_timeout + ": a duration like 90s, 2m";
      return false;
    }
    guard["ack_timeout"] = a.ack_timeout;
  }
  if (!guard.empty()) plan["guard"] = guard;
  if (!a.on_failure.empty()) {
    if (a.on_failure != "halt" && a.on_failure != "abort") {
      *error = "--on-failure " + a.on_failure + ": halt or abort";
      return false;
    }
    plan["on_failure"] = a.on_failure;
  }
  if (!plan.empty()) body["plan"] = plan;
  if (!a.description.empty()) body["description"] = a.description;
  try {
    (void)body.dump();  // throws on text that is not UTF-8 (a value, key or description)
  } catch (const Json::exception&) {
    *error = "the release holds text that is not valid UTF-8";
    return false;
  }
  *out = std::move(body);
  return true;
}

namespace {

std::string str(const Json& j, const char* name, const std::string& fallback = "") {
  if (!j.is_object() || !j.contains(name) || j[name].is_null()) return fallback;
  if (j[name].is_string()) return j[name].get<std::string>();
  return compact(j[name]);
}

std::string labels_text(const Json& labels) {
  if (!labels.is_object() || labels.empty()) return "-";
  std::string out;
  for (const auto& [k, v] : labels.items()) {
    if (!out.empty()) out += ",";
    out += k + "=" + (v.is_string() ? v.get<std::string>() : compact(v));
  }
  return out;
}

std::string target_text(const Json& t) {
  if (!t.is_object() || t.empty()) return "everyone";
  std::vector<std::string> parts;
  if (t.contains("labels") && t["labels"].is_object() && !t["labels"].empty()) {
    std::string l;
    for (const auto& [k, v] : t["labels"].items()) {
      if (!l.empty()) l += " and ";
      if (v.is_array()) {
        std::string vs;
        for (const auto& x : v) vs += (vs.empty() ? "" : "|") + str(Json{{"x", x}}, "x");
        l += k + " in (" + vs + ")";
      } else {
        l += k + "=" + str(Json{{"x", v}}, "x");
      }
    }
    parts.push_back("labels " + l);
  }
  std::vector<std::string> alt;
  if (t.contains("ips") && t["ips"].is_array() && !t["ips"].empty()) {
    std::string ips;
    for (const auto& ip : t["ips"]) ips += (ips.empty() ? "" : ",") + str(Json{{"x", ip}}, "x");
    alt.push_back("ips " + ips);
  }
  if (t.contains("percent") && !t["percent"].is_null()) {
    alt.push_back(compact(t["percent"]) + "% of clients");
  }
  if (alt.size() == 2) parts.push_back("(" + alt[0] + " or " + alt[1] + ")");
  if (alt.size() == 1) parts.push_back(alt[0]);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " and ") + p;
  return out.empty() ? "everyone" : out;
}

std::string stage_text(const Json& r) {
  const Json stages = r.contains("stages") && r["stages"].is_array() ? r["stages"] : Json::array();
  if (stages.empty()) return "-";
  int64_t stage = r.contains("stage") && r["stage"].is_number() ? r["stage"].get<int64_t>() : 0;
  std::string out = std::to_string(stage + 1) + "/" + std::to_string(stages.size());
  if (stage >= 0 && stage < static_cast<int64_t>(stages.size())) {
    out += " (" + str(stages[stage], "percent", "?") + "%)";
  }
  return out;
}

std::string progress_count(const Json& r, const char* name) {
  if (!r.contains("progress") || !r["progress"].is_object()) return "-";
  return str(r["progress"], name, "0");
}

}  // namespace

std::string render_release(const Json& r) {
  std::string out;
  out += "release " + str(r, "id") + "  namespace " + str(r, "namespace") + "  state " +
         str(r, "state") + "\n";
  out += "stage:    " + stage_text(r);
  if (r.contains("stages") && r["stages"].is_array() && !r["stages"].empty()) {
    out += "  plan";
    for (const auto& s : r["stages"]) {
      out += " " + str(s, "percent", "?") + "%";
      if (s.contains("hold") && !s["hold"].is_null()) out += "/" + str(s, "hold");
    }
  }
  out += "\n";
  out += "target:   " + target_text(r.value("target", Json::object())) + "\n";
  if (r.contains("guard") && r["guard"].is_object()) {
    const Json& g = r["guard"];
    out += "guard:    max_failed_ratio " + str(g, "max_failed_ratio", "-") + ", min_acks " +
           str(g, "min_acks", "-") + ", ack_timeout " + str(g, "ack_timeout", "-") +
           "; on failure " + str(r, "on_failure", "halt") + "\n";
  }
  out += "revision: " + str(r, "revision", "-") + "  created by " + str(r, "created_by", "-") +
         " at " + str(r, "created_at", "-") + "\n";
  if (!str(r, "description").empty()) out += "about:    " + str(r, "description") + "\n";
  if (!str(r, "reason").empty()) out += "reason:   " + str(r, "reason") + "\n";
  out += "changes:\n";
  if (r.contains("changes") && r["changes"].is_object()) {
    for (const auto& [k, v] : r["changes"].items()) {
      out += "  " + k + (v.is_null() ? "  (deleted)" : " = " + truncate(compact(v), 70)) + "\n";
    }
  }
  out += "progress: targeted " + progress_count(r, "targeted") + ", received " +
         progress_count(r, "received") + ", applied " + progress_count(r, "applied") +
         ", failed " + progress_count(r, "failed") + ", silent " + progress_count(r, "silent") +
         "\n";
  if (r.contains("progress") && r["progress"].is_object() &&
      r["progress"].contains("failed_clients") && r["progress"]["failed_clients"].is_array() &&
      !r["progress"]["failed_clients"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : r["progress"]["failed_clients"]) {
      rows.push_back({str(c, "id"), str(c, "ip", "-"), str(c, "node", "-"),
                      str(c, "revision", "-"), truncate(str(c, "error"), 80)});
    }
    out += "failed clients:\n" + render_table({"CLIENT", "IP", "NODE", "REVISION", "ERROR"}, rows);
  }
  return out;
}

std::string render_release_list(const Json& data) {
  std::vector<std::vector<std::string>> rows;
  if (data.contains("releases") && data["releases"].is_array()) {
    for (const auto& r : data["releases"]) {
      rows.push_back({str(r, "id"), str(r, "namespace"), str(r, "state"), stage_text(r),
                      progress_count(r, "targeted"), progress_count(r, "applied"),
                      progress_count(r, "failed"), progress_count(r, "silent"),
                      str(r, "created_at", "-")});
    }
  }
  if (rows.empty()) return "(no releases)\n";
  return render_table({"ID", "NAMESPACE", "STATE", "STAGE", "TARGETED", "APPLIED", "FAILED",
                       "SILENT", "CREATED"},
                      rows);
}

std::string render_clients(const Json& data, const std::string& ns) {
  std::vector<std::vector<std::string>> rows;
  if (data.contains("clients") && data["clients"].is_array()) {
    for (const auto& c : data["clients"]) {
      const Json nss = c.contains("namespaces") && c["namespaces"].is_array() ? c["namespaces"]
                                                                            : Json::array();
      bool any = false;
      for (const auto& n : nss) {
        if (!ns.empty() && str(n, "namespace") != ns) continue;
        any = true;
        std::string status = str(n, "ack_status", "-");
        if (status == "failed" && !str(n, "ack_error").empty()) {
          status += ": " + truncate(str(n, "ack_error"), 40);
        }
        std::string release = str(n, "release_id", "-");
        if (n.value("gray", false) && release == "-") release = "gray";
        rows.push_back({str(c, "id"), str(n, "namespace"), str(c, "ip", "-"),
                        str(c, "protocol", "-"), str(c, "node", "-"), labels_text(c["labels"]),
                        n.value("watching", false) ? "yes" : "no", str(n, "sent_revision", "-"),
                        str(n, "acked_revision", "-"), status, release,
                        str(c, "last_seen", "-")});
      }
      if (!any && ns.empty()) {
        rows.push_back({str(c, "id"), "-", str(c, "ip", "-"), str(c, "protocol", "-"),
                        str(c, "node", "-"), labels_text(c["labels"]), "-", "-", "-", "-", "-",
                        str(c, "last_seen", "-")});
      }
    }
  }
  std::string out =
      rows.empty() ? "(no clients)\n"
                   : render_table({"CLIENT", "NAMESPACE", "IP", "PROTOCOL", "NODE", "LABELS",
                                   "WATCHING", "SENT", "ACKED", "ACK", "RELEASE", "LAST SEEN"},
                                  rows);
  out += str(data, "total", std::to_string(rows.size())) + " client(s)\n";
  if (data.contains("unreachable") && data["unreachable"].is_array()) {
    for (const auto& u : data["unreachable"]) {
      out += "warning: member " + str(u, "id") + " (" + str(u, "address") +
             ") did not answer: " + str(u, "error") + "; its clients are missing\n";
    }
  }
  return out;
}

namespace {

void add_clients_command(CLI::App& app, const ContextPtr& g) {
  auto* sub = leaf(app, "clients",
                   "Which clients run which revision of a namespace (the cluster's registry)");
  struct Args {
    std::string ns;
    std::vector<std::string> labels;
    bool stale = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("namespace", a->ns, "Namespace (without: every client; needs cluster-admin)");
  sub->add_option("--label", a->labels, "Only clients with this label NAME=VALUE; repeatable");
  sub->add_flag("--stale", a->stale,
                "Only clients whose last acked revision is behind the one they should run");
  sub->callback([g, a] {
    ClientsQuery q;
    q.ns = a->ns;
    q.stale = a->stale;
    for (const auto& l : a->labels) {
      size_t eq = l.find('=');
      if (eq == std::string::npos || eq == 0) {
        return bad_input(*g, "--label " + l + ": expected NAME=VALUE");
      }
      q.labels.emplace_back(l.substr(0, eq), l.substr(eq + 1));
    }
    Client c(g->client_options());
    auto r = c.clients(q);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, render_clients(*r, a->ns));
  });
}

void add_release_start(CLI::App& release, const ContextPtr& g) {
  auto* sub = leaf(release, "start", "Start a gray release of changes to a slice of the clients");
  auto a = std::make_shared<ReleaseArgs>();
  std::shared_ptr<double> ratio = std::make_shared<double>(-1);
  std::shared_ptr<int64_t> min_acks = std::make_shared<int64_t>(-1);
  sub->add_option("namespace", a->ns, "Namespace")->required();
  sub->add_option("--set", a->sets,
                  "KEY=VALUE for the gray clients (VALUE as in `put`: JSON, @file or -); "
                  "repeatable");
  sub->add_option("--delete", a->deletes, "KEY the gray clients no longer see; repeatable");
  sub->add_option("--label", a->labels,
                  "Target clients with label NAME=VALUE[,VALUE2…] (any of the values; every "
                  "--label must match); repeatable");
  sub->add_option("--ip", a->ips, "Target this address or CIDR (10.1.0.0/16); repeatable");
  sub->add_option("--percent", a->percent,
                  "Target this share (0-100) of the clients, by a stable hash of their id");
  sub->add_option("--stage", a->stages,
                  "Plan stage PERCENT[:HOLD], e.g. --stage 5:10m --stage 25:10m --stage 100");
  sub->add_option("--max-failed-ratio", *ratio,
                  "Guard: halt when more than this share of the acks failed (0.01 = 1%)");
  sub->add_option("--min-acks", *min_acks, "Guard: acks needed before a stage may advance");
  sub->add_option("--ack-timeout", a->ack_timeout,
                  "Guard: how long targeted clients have to ack (e.g. 2m)");
  sub->add_option("--on-failure", a->on_failure, "When the guard fails: halt (default) or abort")
      ->check(CLI::IsMember({"halt", "abort"}));
  sub->add_option("--description", a->description, "Why (kept with the release)");
  sub->callback([g, a, ratio, min_acks, sub] {
    ReleaseArgs args = *a;
    if (sub->count("--max-failed-ratio") > 0) args.max_failed_ratio = *ratio;
    if (sub->count("--min-acks") > 0) args.min_acks = *min_acks;
    Json body;
    std::string why;
    if (!build_release_request(args, &body, &why)) return bad_input(*g, why);
    Client c(g->client_options());
    auto r = c.start_release(body);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, "started " + render_release(*r));
  });
}

void add_release_status(CLI::App& release, const ContextPtr& g) {
  auto* sub = leaf(release, "status", "Show one release, or list releases");
  struct Args {
    std::string id, ns, state;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("id", a->id, "Release id (r-…); without: list");
  sub->add_option("--namespace", a->ns, "List only this namespace's releases");
  sub->add_option("--state", a->state, "List only releases in this state")
      ->check(CLI::IsMember({"active", "paused", "halted", "promoted", "aborted"}));
  sub->callback([g, a] {
    Client c(g->client_options());
    if (!a->id.empty()) {
      auto r = c.get_release(a->id);
      if (!r.ok()) return fail(*g, r.error());
      return emit(*g, *r, render_release(*r));
    }
    auto r = c.list_releases(a->ns, a->state);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, render_release_list(*r));
  });
}

void add_release_action(CLI::App& release, const ContextPtr& g, const std::string& action,
                        const std::string& help) {
  auto* sub = leaf(release, action, help);
  struct Args {
    std::string id, reason;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("id", a->id, "Release id (r-…)")->required();
  sub->add_option("--reason", a->reason, "Why (recorded with the transition)");
  sub->callback([g, a, action] {
    Client c(g->client_options());
    auto r = c.release_action(a->id, action, a->reason);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, render_release(*r));
  });
}

}  // namespace

void add_clients(CLI::App& app, const ContextPtr& ctx) { add_clients_command(app, ctx); }

void add_release(CLI::App& app, const ContextPtr& g) {
  auto* release = app.add_subcommand("release", "Gray releases: start, status, promote, abort, "
                                                "pause, resume");
  release->require_subcommand(1);
  release->fallthrough();
  add_release_start(*release, g);
  add_release_status(*release, g);
  add_release_action(*release, g, "promote",
                     "Make the release's values the current versions for every client");
  add_release_action(*release, g, "abort",
                     "Drop the release's values; its clients go back to the stable ones");
  add_release_action(*release, g, "pause", "Stop advancing stages (the gray clients keep it)");
  add_release_action(*release, g, "resume", "Resume a paused or halted release");
}

}  // namespace cairn::cli
