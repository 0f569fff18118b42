#pragma once

// `cairn dev`: a local cluster for development and demos (DESIGN.md §6, docs/cluster.md).

namespace CLI {
class App;
}

namespace cairn::server {

/// Adds `cairn dev [--nodes 3] [--data-dir data/dev] [--http-port 8001] [--peer-port 7001]
/// [--cluster-id dev] [-- SERVER_FLAGS…]` to `app`. When it runs, it starts that many
/// `cairn server` child processes of this very binary on 127.0.0.1 (node i: HTTP on
/// http-port+i-1, Raft peers on peer-port+i-1, data in DATA_DIR/node<i>, output in
/// DATA_DIR/node<i>.log), waits (bounded) until every node is healthy and one reports a leader,
/// prints the endpoints, and then supervises: a child that dies is reported with its log tail;
/// SIGINT/SIGTERM are forwarded to every child by PID and waited for. `exit_code` receives 0 after
/// a clean stop, 1 when the cluster could not be started or every node died, 2 on bad input.
///
/// When this binary's `cairn server` has no `--raft-id` flag (a build before replication),
/// the nodes are started standalone (each its own unreplicated store) and the command says so.
void register_dev_command(CLI::App& app, int& exit_code);

}  // namespace cairn::server
