// Namespace subcommands: ns list, ns get, ns create, ns delete.

#include <CLI/CLI.hpp>
#include <algorithm>

#include "api/wire.h"
#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

namespace {

/// A namespace as the CLI prints it: the wire's namespace row, without the retention the SDK
/// does not return.
api::NamespaceRow wire_namespace(const NamespaceInfo& n) {
  return api::NamespaceRow{n.id,        n.name,        n.description, n.status, n.config_count,
                           n.revision, n.created_at, n.updated_at,  std::nullopt, {}};
}

void add_ns_list(CLI::App& ns, const ContextPtr& g) {
  auto* sub = leaf(ns, "list", "List namespaces");
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
    api::Paged<api::NamespaceRow> page;
    page.pagination = wire_pagination(r->pagination);
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : r->list) {
      page.list.push_back(wire_namespace(n));
      rows.push_back({std::to_string(n.id), n.name, std::to_string(n.config_count),
                      std::to_string(n.revision), n.status == 1 ? "enabled" : "disabled",
                      truncate(n.description, 40)});
    }
    emit(*g, api::to_json(page),
         render_table({"ID", "NAME", "CONFIGS", "REVISION", "STATUS", "DESCRIPTION"}, rows) +
             page_footer(r->pagination, rows.size()));
  });
}

void add_ns_get(CLI::App& ns, const ContextPtr& g) {
  auto* sub = leaf(
      ns, "get", "Print every enabled key and value of a namespace (now, or as of --at TIME)");
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

void add_ns_create(CLI::App& ns, const ContextPtr& g) {
  auto* sub = leaf(ns, "create", "Create a namespace");
  auto a = std::make_shared<std::pair<std::string, std::string>>();
  sub->add_option("name", a->first, "Namespace name")->required();
  sub->add_option("--description", a->second, "Description");
  sub->callback([g, a] {
    Client c(g->client_options());
    auto r = c.create_namespace(a->first, a->second);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, api::to_json(wire_namespace(*r)),
         "created namespace " + r->name + " (id " + std::to_string(r->id) + ")");
  });
}

void add_ns_delete(CLI::App& ns, const ContextPtr& g) {
  auto* sub = leaf(ns, "delete", "Delete an empty namespace");
  auto a = std::make_shared<std::string>();
  sub->add_option("name", *a, "Namespace name")->required();
  sub->callback([g, a] {
    Client c(g->client_options());
    auto r = c.delete_namespace(*a);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, Json{{"id", r->id}, {"name", r->name}},
         "deleted namespace " + r->name + " (id " + std::to_string(r->id) + ")");
  });
}

}  // namespace

void add_ns(CLI::App& app, const ContextPtr& g) {
  auto* ns = app.add_subcommand("ns", "Namespaces: list, create, delete, get (the content)");
  ns->require_subcommand(1);
  ns->fallthrough();
  add_ns_list(*ns, g);
  add_ns_get(*ns, g);
  add_ns_create(*ns, g);
  add_ns_delete(*ns, g);
}

}  // namespace cairn::cli
