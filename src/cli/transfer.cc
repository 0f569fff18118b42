// `cairn export` and `cairn import` (docs/import-export.md): files of namespaces out of and into
// a cluster, Cairn's own or another config center's (--from consul|nacos|apollo|etcd). The
// server reads the files (one parser, shared with the console); the CLI sends them, shows a
// plan, and shows progress on stderr when stderr is a terminal (import: keys done of total;
// export: bytes received of the file's length; with the rate and the time left), nothing when
// it is not.

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

bool read_file(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    std::stringstream buf;
    buf << std::cin.rdbuf();
    *out = buf.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read " + path;
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return true;
}

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// One progress line on stderr, redrawn in place; nothing when stderr is not a terminal.
class Progress {
 public:
  explicit Progress(std::string what)
      : what_(std::move(what)), on_(::isatty(STDERR_FILENO) == 1),
        start_(std::chrono::steady_clock::now()) {}

  void update(int64_t done, int64_t total, const std::string& unit) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    // At most ten redraws a second, but always the last one.
    if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
    char line[256];
    std::string left = "--";
    if (rate > 0 && total >= done) {
      left = std::to_string(static_cast<int64_t>((total - done) / rate + 0.5)) + "s";
    }
    if (total > 0) {
      std::snprintf(line, sizeof line, "\r%s: %lld/%lld %s (%3.0f%%), %.0f %s/s, %s left   ",
                    what_.c_str(), static_cast<long long>(done), static_cast<long long>(total),
                    unit.c_str(), 100.0 * done / total, rate, unit.c_str(), left.c_str());
    } else {  // a length not announced: what arrived, and the rate
      std::snprintf(line, sizeof line, "\r%s: %lld %s, %.0f %s/s   ", what_.c_str(),
                    static_cast<long long>(done), unit.c_str(), rate, unit.c_str());
    }
    std::cerr << line << std::flush;
    drawn_ = true;
  }

  void done() {
    if (on_ && drawn_) std::cerr << "\n";
    drawn_ = false;
  }

 private:
  std::string what_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

std::string render_plan(const Json& data, bool problems_only) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : data.value("items", Json::array())) {
    const std::string action = i.value("action", "");
    if (problems_only && action != "conflict" && action != "invalid") continue;
    std::string reason = i.value("reason", "");
    if (i.contains("violations")) {
      for (const auto& v : i["violations"]) reason += "; " + v.value("message", "");
    }
    rows.push_back({action, i.value("namespace", ""), i.value("key", ""),
                    i.contains("current_version") ? std::to_string(i["current_version"].get<int64_t>())
                                                  : "",
                    truncate(reason, 80)});
  }
  std::string out = rows.empty() ? "" : render_table({"ACTION", "NAMESPACE", "KEY", "CURRENT", "NOTE"}, rows);
  const Json& s = data.value("summary", Json::object());
  out += std::to_string(s.value("total", 0)) + " key(s) in " +
         std::to_string(s.value("namespaces", 0)) + " namespace(s): " +
         std::to_string(s.value("create", 0)) + " create, " + std::to_string(s.value("update", 0)) +
         " update, " + std::to_string(s.value("unchanged", 0)) + " unchanged, " +
         std::to_string(s.value("conflict", 0)) + " conflict, " +
         std::to_string(s.value("invalid", 0)) + " invalid\n";
  for (const auto& w : data.value("warnings", Json::array())) {
    out += "warning: " + w.get<std::string>() + "\n";
  }
  return out;
}

void add_export(CLI::App& app, const ContextPtr& g) {
  auto* sub = leaf(app, "export", "Export a namespace (or all) as JSON, YAML or a zip");
  struct Args {
    std::string ns, format = "json", out;
    bool reveal = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("namespace", a->ns, "Namespace, or `all`: every namespace the token reads")
      ->required();
  sub->add_option("--format", a->format, "json, yaml or zip")
      ->check(CLI::IsMember({"json", "yaml", "zip"}))
      ->capture_default_str();
  sub->add_option("--out", a->out, "File to write (default: stdout)");
  sub->add_flag("--reveal", a->reveal,
                "Secrets in plain (needs the reveal grant; audited). Default: sealed");
  sub->callback([g, a] {
    Query q = {{"namespace", a->ns}, {"format", a->format}};
    if (a->reveal) q.emplace_back("reveal", "true");
    // The file arrives in one answer: its bytes received of its length.
    Progress progress("exporting " + a->ns);
    Client c(g->client_options());
    auto r = c.export_file(q, [&progress](uint64_t received, uint64_t total) {
      progress.update(static_cast<int64_t>(received), static_cast<int64_t>(total), "bytes");
    });
    progress.done();
    if (!r.ok()) return fail(*g, r.error());
    if (a->out.empty() || a->out == "-") {
      std::cout << r->bytes << std::flush;
      *g->exit_code = kExitOk;
      return;
    }
    std::ofstream f(a->out, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(r->bytes.data(), static_cast<std::streamsize>(r->bytes.size()))) {
      return bad_input(*g, "cannot write " + a->out);
    }
    Json j = {{"file", a->out},
              {"bytes", r->bytes.size()},
              {"namespaces", r->namespaces},
              {"keys", r->keys}};
    emit(*g, j,
         "wrote " + a->out + ": " + std::to_string(r->namespaces) + " namespace(s), " +
             std::to_string(r->keys) + " key(s), " + std::to_string(r->bytes.size()) + " bytes" +
             (a->reveal ? " (secrets in plain: keep the file safe)" : ""));
  });
}

void add_import(CLI::App& app, const ContextPtr& g) {
  auto* sub = leaf(app, "import",
                   "Import a file: a Cairn export, or --from consul|nacos|apollo|etcd");
  struct Args {
    std::string file, from = "cairn", format, ns, tenant, on_conflict = "abort";
    bool dry_run = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("file", a->file, "The file (- for stdin)")->required();
  sub->add_option("--from", a->from,
                  "What wrote the file: cairn (an export), consul (consul kv export), nacos (its "
                  "export zip), apollo (a namespace file), etcd (etcdctl get --prefix -w json)")
      ->check(CLI::IsMember({"cairn", "consul", "nacos", "apollo", "etcd"}))
      ->capture_default_str();
  sub->add_option("--format", a->format, "Cairn files: json, yaml or zip (default: guessed)");
  sub->add_option("--namespace", a->ns,
                  "Apollo: the namespace of the file (default: from its name, "
                  "application.properties → application)");
  sub->add_option("--tenant", a->tenant, "Nacos: the Nacos namespace the export came from");
  sub->add_option("--on-conflict", a->on_conflict,
                  "A key that already holds another value: abort (write nothing), skip, or "
                  "overwrite")
      ->check(CLI::IsMember({"abort", "skip", "overwrite"}))
      ->capture_default_str();
  sub->add_flag("--dry-run", a->dry_run, "Show what would change; write nothing");
  sub->callback([g, a] {
    std::string bytes, why;
    if (!read_file(a->file, &bytes, &why)) return bad_input(*g, why);
    Query base = {{"source", a->from}, {"on_conflict", a->on_conflict}};
    if (!a->format.empty()) base.emplace_back("format", a->format);
    if (!a->ns.empty()) base.emplace_back("namespace", a->ns);
    if (a->file != "-") base.emplace_back("filename", base_name(a->file));
    if (!a->tenant.empty()) base.emplace_back("tenant", a->tenant);
    Client c(g->client_options());
    Query dry = base;
    dry.emplace_back("dry_run", "true");
    auto plan = c.import_file(dry, bytes);
    if (!plan.ok()) return fail(*g, plan.error());
    const Json& s = (*plan)["summary"];
    const int64_t invalid = s.value("invalid", int64_t{0});
    const int64_t conflicts = s.value("conflict", int64_t{0});
    if (a->dry_run) return emit(*g, *plan, render_plan(*plan, false));
    if (invalid > 0 || (a->on_conflict == "abort" && conflicts > 0)) {
      std::cerr << render_plan(*plan, true)
                << "cairn: nothing written: "
                << (invalid > 0 ? "some keys cannot be imported"
                                : "keys hold other values (--on-conflict skip or overwrite)")
                << "\n";
      if (g->json()) std::cout << compact(*plan) << "\n";
      *g->exit_code = kExitServerError;
      return;
    }
    // The namespaces with something to write, grouped so that each request carries about a
    // tenth of the keys: the progress moves, and each namespace stays one atomic batch.
    std::map<std::string, int64_t> writes;
    int64_t total = 0;
    for (const auto& n : (*plan)["namespaces"]) {
      const int64_t w = n.value("create", int64_t{0}) + n.value("update", int64_t{0});
      if (w > 0) writes[n.value("namespace", "")] = w;
      total += w;
    }
    std::vector<std::pair<std::string, int64_t>> groups;  // "a,b" → keys
    const int64_t chunk = std::max<int64_t>(1, total / 10);
    for (const auto& [name, w] : writes) {
      if (groups.empty() || groups.back().second >= chunk) groups.emplace_back("", 0);
      auto& grp = groups.back();
      grp.first += (grp.first.empty() ? "" : ",") + name;
      grp.second += w;
    }
    Progress progress("importing " + base_name(a->file));
    Json result = *plan;
    result["dry_run"] = false;
    result["written"] = !groups.empty();
    result["items"] = Json::array();
    result["namespaces"] = Json::array();
    int64_t done = 0;
    progress.update(0, total, "keys");
    for (const auto& [names, w] : groups) {
      Query q = base;
      q.emplace_back("namespaces", names);
      auto r = c.import_file(q, bytes);
      if (!r.ok()) {
        progress.done();
        if (done > 0) {
          std::cerr << "cairn: " << done << " of " << total
                    << " keys were written before this error (whole namespaces)\n";
        }
        return fail(*g, r.error());
      }
      for (const auto& i : (*r)["items"]) result["items"].push_back(i);
      for (const auto& n : (*r)["namespaces"]) result["namespaces"].push_back(n);
      done += w;
      progress.update(done, total, "keys");
    }
    progress.done();
    std::string human = render_plan(result, true);
    human += groups.empty() ? "nothing to write\n" : "imported " + std::to_string(total) + " key(s)\n";
    emit(*g, result, human);
  });
}

}  // namespace

void add_transfer(CLI::App& app, const ContextPtr& ctx) {
  add_export(app, ctx);
  add_import(app, ctx);
}

}  // namespace cairn::cli
