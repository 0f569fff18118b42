// Version subcommands: history, versions, diff, rollback.

#include <CLI/CLI.hpp>

#include "api/wire.h"
#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

namespace {

/// What history and versions take: a key and a page.
struct KeyPageArgs {
  std::string ns, key;
  int64_t page = 1, page_size = 100;
};

std::shared_ptr<KeyPageArgs> add_key_page_options(CLI::App& sub) {
  auto a = std::make_shared<KeyPageArgs>();
  sub.add_option("namespace", a->ns, "Namespace")->required();
  sub.add_option("key", a->key, "Key")->required();
  sub.add_option("--page", a->page, "Page number")->check(CLI::PositiveNumber);
  sub.add_option("--page-size", a->page_size, "Rows per page (1-1000)")
      ->check(CLI::Range(1, 1000));
  return a;
}

}  // namespace

void add_history(CLI::App& app, const ContextPtr& g) {
  auto* sub = leaf(app, "history", "Change history of a key, newest first");
  auto a = add_key_page_options(*sub);
  sub->callback([g, a] {
    Client c(g->client_options());
    auto r = c.history(a->ns, a->key, {a->page, a->page_size});
    if (!r.ok()) return fail(*g, r.error());
    api::Paged<api::HistoryRow> page;
    page.pagination = wire_pagination(r->pagination);
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : r->list) {
      api::HistoryRow row;
      row.id = h.id;
      row.ns = h.ns;
      row.key = h.key;
      row.old_value = compact(h.old_value);
      row.new_value = compact(h.new_value);
      row.version = h.version;
      row.operation = h.operation;
      row.operator_name = h.operator_name;
      row.created_at = h.created_at;
      page.list.push_back(std::move(row));
      rows.push_back({std::to_string(h.version), h.operation, h.operator_name, h.created_at,
                      truncate(compact(h.old_value), 30), truncate(compact(h.new_value), 30)});
    }
    emit(*g, api::to_json(page),
         render_table({"VERSION", "OPERATION", "OPERATOR", "TIME", "OLD", "NEW"}, rows) +
             page_footer(r->pagination, rows.size()));
  });
}

void add_versions(CLI::App& app, const ContextPtr& g) {
  auto* sub = leaf(app, "versions", "Every stored version of a key, newest first");
  auto a = add_key_page_options(*sub);
  sub->callback([g, a] {
    Client c(g->client_options());
    auto r = c.versions(a->ns, a->key, {a->page, a->page_size});
    if (!r.ok()) return fail(*g, r.error());
    api::Paged<api::VersionRow> page;
    page.pagination = wire_pagination(r->pagination);
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : r->list) {
      page.list.push_back(
          api::VersionRow{v.version, compact(v.value), v.created_by, v.created_at, v.is_current,
                          std::nullopt});
      rows.push_back({std::to_string(v.version), v.is_current ? "*" : "", v.created_by,
                      v.created_at, truncate(compact(v.value))});
    }
    emit(*g, api::to_json(page),
         render_table({"VERSION", "CURRENT", "BY", "CREATED", "VALUE"}, rows) +
             page_footer(r->pagination, rows.size()));
  });
}

void add_diff(CLI::App& app, const ContextPtr& g) {
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
    api::Diff diff{r->ns, r->key, r->from_version, r->to_version, {}};
    std::vector<std::vector<std::string>> rows;
    for (const auto& ch : r->changes) {
      diff.changes.push_back(api::DiffChange{ch.path, compact(ch.from), compact(ch.to), ch.type});
      rows.push_back({ch.path.empty() ? "(whole value)" : ch.path, ch.type,
                      truncate(compact(ch.from), 40), truncate(compact(ch.to), 40)});
    }
    std::string human = rows.empty() ? "no differences between version " +
                                           std::to_string(r->from_version) + " and " +
                                           std::to_string(r->to_version) + "\n"
                                     : render_table({"PATH", "TYPE", "FROM", "TO"}, rows);
    emit(*g, api::to_json(diff), human);
  });
}

void add_rollback(CLI::App& app, const ContextPtr& g) {
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
    auto r = c.rollback(a->ns, a->key, a->version, given(a->expected_version));
    if (!r.ok()) return fail(*g, r.error());
    emit(*g,
         api::to_json(api::Rollback{r->ns, r->key, r->current_version, r->previous_version}),
         "rolled back " + r->ns + "/" + r->key + " to the value of version " +
             std::to_string(a->version) + ": version " + std::to_string(r->previous_version) +
             " -> " + std::to_string(r->current_version));
  });
}

}  // namespace cairn::cli
