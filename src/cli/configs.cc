// Config subcommands: get, put, create, delete, list, watch.

#include <signal.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <mutex>
#include <sstream>

#include "api/wire.h"
#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

namespace {

/// The answer of create, update and remove as the CLI prints it (not a wire row: the server's
/// write answers differ per operation).
Json write_json(const WriteResult& w) {
  Json j = {{"id", w.id}, {"namespace", w.ns}, {"key", w.key}, {"version", w.version}};
  if (w.old_version != 0) {
    j["old_version"] = w.old_version;
    j["changed"] = w.changed;
  }
  return j;
}

/// `object_json` (an object's text) with `extra`'s members after its own.
std::string with_members(std::string object_json, const Json& extra) {
  std::string more = compact(extra);
  if (more.size() <= 2 || object_json.size() < 2 || object_json.back() != '}') return object_json;
  object_json.pop_back();
  object_json += ',';
  object_json.append(more, 1, std::string::npos);
  return object_json;
}

/// A watch listener's change as the CLI prints it: the SDK's event (old and new value), not the
/// wire's change.
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

std::string opt_json(const std::optional<Json>& j) { return j ? compact(*j) : "-"; }

std::string utc_now() {
  char buf[32];
  time_t t = ::time(nullptr);
  tm tm{};
  ::gmtime_r(&t, &tm);
  ::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void run_watch(Context& g, const std::string& ns, const std::string& prefix,
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

/// put (update, or create when the key does not exist) and create.
void add_write(CLI::App& app, const ContextPtr& g, bool upsert) {
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
      u.expected_version = given(a->expected_version);
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
      if (!r.error().is(api::Errc::kConfigNotFound) || a->expected_version > 0) {
        return fail(*g, r.error());
      }
    }
    auto r = c.create(a->ns, a->key, value, a->description);
    if (!r.ok()) return fail(*g, r.error());
    Json j = write_json(*r);
    j["operation"] = "create";
    emit(*g, j, "created " + a->ns + "/" + a->key + ": version " + std::to_string(r->version));
  });
}

}  // namespace

void add_get(CLI::App& app, const ContextPtr& g) {
  auto* sub =
      leaf(app, "get", "Print a config value (the latest, --version N, or as of --at TIME)");
  struct Args {
    std::string ns, key, at;
    int64_t version = 0;
    bool reveal = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("namespace", a->ns, "Namespace")->required();
  sub->add_option("key", a->key, "Key")->required();
  sub->add_option("--version", a->version, "A past version")->check(CLI::PositiveNumber);
  sub->add_option("--at", a->at, kAtHelp);
  sub->add_flag("--reveal", a->reveal,
                "Print a secret in plain (needs the reveal grant; audited; docs/secrets.md)");
  sub->callback([g, a] {
    const bool past = !a->at.empty();
    if (past && a->version > 0) {
      return bad_input(*g, "--at and --version cannot be used together");
    }
    if (past && !check_at(*g, a->at)) return;
    auto options = g->client_options();
    options.reveal = a->reveal;
    Client c(options);
    auto r = past ? c.get_at(a->ns, a->key, a->at) : c.get(a->ns, a->key, given(a->version));
    if (!r.ok()) return fail(*g, r.error());
    warn_stale(r->stale);
    // The config/get row, then the CLI's own members.
    api::ConfigValue row{r->ns,         r->key, compact(r->value), r->version,
                         r->updated_at, {},     r->secret};
    Json extra = {{"stale", r->stale}};
    if (past) extra["at"] = a->at;
    emit(*g, with_members(api::to_json(row), extra),
         "# " + r->ns + "/" + r->key + "  version " + std::to_string(r->version) + "  " +
             r->updated_at + (r->stale ? "  (stale)" : "") +
             (past ? "  (as of " + a->at + ")" : "") + "\n" + pretty(r->value) + "\n");
  });
}

void add_put(CLI::App& app, const ContextPtr& g) { add_write(app, g, /*upsert=*/true); }

void add_create(CLI::App& app, const ContextPtr& g) { add_write(app, g, /*upsert=*/false); }

void add_delete(CLI::App& app, const ContextPtr& g) {
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
    auto r = c.remove(a->ns, a->key, given(a->expected_version));
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, write_json(*r),
         "deleted " + a->ns + "/" + a->key + " (last version " + std::to_string(r->version) + ")");
  });
}

void add_list(CLI::App& app, const ContextPtr& g) {
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
    api::Paged<api::ConfigRow> page;
    page.pagination = wire_pagination(r->pagination);
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : r->list) {
      page.list.push_back(api::ConfigRow{e.id, e.ns, e.key, compact(e.value), e.version,
                                         e.description, e.status, e.created_by, e.updated_by,
                                         e.created_at, e.updated_at});
      rows.push_back({e.ns, e.key, std::to_string(e.version),
                      e.status == 1 ? "enabled" : "disabled", e.updated_at,
                      truncate(compact(e.value))});
    }
    emit(*g, api::to_json(page),
         render_table({"NAMESPACE", "KEY", "VERSION", "STATUS", "UPDATED", "VALUE"}, rows) +
             page_footer(r->pagination, rows.size()));
  });
}

void add_watch(CLI::App& app, const ContextPtr& g) {
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

}  // namespace cairn::cli
