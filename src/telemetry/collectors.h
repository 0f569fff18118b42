#pragma once

#include <functional>

#include "raft/node.h"
#include "raft/probe.h"
#include "telemetry/metrics.h"
#include "transport/probe.h"
#include "wal/probe.h"

namespace cairn::cache {
class Probe;
}
namespace cairn::http {
class AccessLogWriter;
class Server;
}
namespace cairn::limit {
class Limiter;
}
namespace cairn::core {
class WatchHub;
}

namespace cairn::telemetry {

class Tracer;

// Metrics read at scrape time from a component's probe. The component must outlive the
// registry's last expose() (the node stops serving HTTP before it destroys its parts).

/// process_cpu_seconds_total, process_resident_memory_bytes, … from /proc/self.
void add_process_metrics(Registry& registry);
/// config_center_cache_hits_total{cache_type,hit} (seed §3.7.4).
void add_cache_metrics(Registry& registry, const cache::Probe& probe);
/// config_center_watch_held_polls, config_center_watch_open_streams.
void add_watch_metrics(Registry& registry, const core::WatchHub& hub);
/// config_center_rate_limit_{allowed,rejected}_total.
void add_limiter_metrics(Registry& registry, const limit::Limiter& limiter);
/// SQLite connections of the store now (the seed's db_connection_count).
struct DbConnections {
  uint64_t open = 0;    // held open: writer, checkpointer, pooled readers
  uint64_t in_use = 0;  // read connections serving a read now
};
/// config_center_db_connections{state="open"|"in_use"}.
void add_db_metrics(Registry& registry, std::function<DbConnections()> read);
/// config_center_http_connections (open now).
void add_http_server_metrics(Registry& registry, const http::Server& server);
/// config_center_access_log_{lines,dropped}_total: access-log lines written, and dropped
/// because the log could not keep up (docs/logging.md).
void add_access_log_metrics(Registry& registry, const http::AccessLogWriter& writer);
/// config_center_raft_{term,role,leader,commit_index,applied_index,last_index}.
void add_raft_metrics(Registry& registry, std::function<raft::Status()> status);
/// What the Raft node, its WAL and its peer transport counted, read together.
struct ReplicationProbes {
  raft::Probe raft;
  wal::WalProbe wal;
  transport::TransportProbe transport;
};
/// config_center_raft_{elections,proposals,…}_total, config_center_wal_*, config_center_peer_*.
void add_replication_metrics(Registry& registry, std::function<ReplicationProbes()> read);
/// config_center_trace_spans_{exported,dropped}_total, …_export_failures_total.
void add_tracer_metrics(Registry& registry, const Tracer& tracer);

}  // namespace cairn::telemetry
