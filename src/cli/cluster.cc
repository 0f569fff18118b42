// Cluster subcommands: cluster status.

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace cairn::cli {

void add_cluster(CLI::App& app, const ContextPtr& g) {
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

}  // namespace cairn::cli
