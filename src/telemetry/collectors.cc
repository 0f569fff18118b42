#include "telemetry/collectors.h"

#include "cache/probe.h"
#include "http/access_log.h"
#include "http/server.h"
#include "limit/limiter.h"
#include "core/watch_hub.h"
#include "telemetry/process.h"
#include "telemetry/trace.h"

namespace cairn::telemetry {
namespace {

std::function<std::vector<Sample>()> one(std::function<double()> read) {
  return [read = std::move(read)] { return std::vector<Sample>{{{}, read()}}; };
}

}  // namespace

void add_process_metrics(Registry& r) {
  auto field = [](double ProcessStats::*member) {
    return [member]() -> std::vector<Sample> {
      auto s = read_process_stats();
      if (!s) return {};
      return {{{}, (*s).*member}};
    };
  };
  r.callback("process_cpu_seconds_total", "User and system CPU time spent in seconds",
             MetricType::kCounter, {}, field(&ProcessStats::cpu_seconds));
  r.callback("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::kGauge,
             {}, field(&ProcessStats::resident_bytes));
  r.callback("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::kGauge, {},
             field(&ProcessStats::virtual_bytes));
  r.callback("process_open_fds", "Number of open file descriptors", MetricType::kGauge, {},
             field(&ProcessStats::open_fds));
  r.callback("process_start_time_seconds", "Start time of the process since unix epoch in seconds",
             MetricType::kGauge, {}, field(&ProcessStats::start_time_seconds));
  r.callback("config_center_process_threads", "Threads of the process", MetricType::kGauge, {},
             field(&ProcessStats::threads));
}

void add_cache_metrics(Registry& r, const cache::Probe& probe) {
  r.callback("config_center_cache_hits_total",
             "Cache lookups per tier, hit=\"true\" when the tier answered", MetricType::kCounter,
             {"cache_type", "hit"}, [&probe] {
               std::vector<Sample> out;
               for (int i = 0; i < cache::kCacheTypes; ++i) {
                 auto t = static_cast<cache::CacheType>(i);
                 std::string type(cache::cache_type_label(t));
                 out.push_back({{type, "false"}, static_cast<double>(probe.misses(t))});
                 out.push_back({{type, "true"}, static_cast<double>(probe.hits(t))});
               }
               return out;
             });
}

void add_watch_metrics(Registry& r, const core::WatchHub& hub) {
  r.callback("config_center_watch_held_polls", "Watch long polls held open now", MetricType::kGauge,
             {}, one([&hub] { return static_cast<double>(hub.held_polls()); }));
  r.callback("config_center_watch_open_streams", "Watch streams (SSE) open now", MetricType::kGauge,
             {}, one([&hub] { return static_cast<double>(hub.open_streams()); }));
}

void add_limiter_metrics(Registry& r, const limit::Limiter& limiter) {
  auto per_class = [&limiter](auto pick) {
    return [&limiter, pick] {
      limit::LimiterProbe p = limiter.probe();
      std::vector<Sample> out;
      for (size_t c = 0; c < limit::kClassCount; ++c) {
        std::string name(limit::to_string(static_cast<limit::RequestClass>(c)));
        pick(p, c, name, out);
      }
      return out;
    };
  };
  r.callback("config_center_rate_limit_allowed_total", "Requests the rate limiter let through",
             MetricType::kCounter, {"class"},
             per_class([](const limit::LimiterProbe& p, size_t c, const std::string& name,
                          std::vector<Sample>& out) {
               out.push_back({{name}, static_cast<double>(p.allowed[c])});
             }));
  r.callback("config_center_rate_limit_rejected_total",
             "Requests refused with 429: scope=\"global\" (42901) or \"client\" (42902)",
             MetricType::kCounter, {"class", "scope"},
             per_class([](const limit::LimiterProbe& p, size_t c, const std::string& name,
                          std::vector<Sample>& out) {
               out.push_back({{name, "client"}, static_cast<double>(p.rejected_client[c])});
               out.push_back({{name, "global"}, static_cast<double>(p.rejected_global[c])});
             }));
  r.callback("config_center_rate_limit_tracked_clients", "Client ids with rate-limit buckets now",
             MetricType::kGauge, {},
             one([&limiter] { return static_cast<double>(limiter.probe().tracked_clients); }));
}

void add_db_metrics(Registry& r, std::function<DbConnections()> read) {
  r.callback("config_center_db_connections",
             "SQLite connections: state=\"open\" held open, \"in_use\" serving a read now",
             MetricType::kGauge, {"state"}, [read = std::move(read)] {
               const DbConnections c = read();
               return std::vector<Sample>{{{"in_use"}, static_cast<double>(c.in_use)},
                                          {{"open"}, static_cast<double>(c.open)}};
             });
}

void add_http_server_metrics(Registry& r, const http::Server& server) {
  r.callback("config_center_http_connections", "HTTP connections open now", MetricType::kGauge, {},
             one([&server] { return static_cast<double>(server.open_connections()); }));
}

void add_access_log_metrics(Registry& r, const http::AccessLogWriter& writer) {
  r.callback("config_center_access_log_lines_total", "Access-log lines written to the log",
             MetricType::kCounter, {},
             one([&writer] { return static_cast<double>(writer.written()); }));
  r.callback("config_center_access_log_dropped_total",
             "Access-log lines dropped because the log could not keep up (never a request "
             "waiting for the log)",
             MetricType::kCounter, {},
             one([&writer] { return static_cast<double>(writer.dropped()); }));
}

void add_raft_metrics(Registry& r, std::function<raft::Status()> status) {
  auto read = std::make_shared<std::function<raft::Status()>>(std::move(status));
  auto field = [read](auto pick) { return one([read, pick] { return pick((*read)()); }); };
  r.callback("config_center_raft_term", "Current Raft term", MetricType::kGauge, {},
             field([](const raft::Status& s) { return static_cast<double>(s.term); }));
  r.callback("config_center_raft_leader", "Raft id of the leader this node knows (0: none)",
             MetricType::kGauge, {},
             field([](const raft::Status& s) { return static_cast<double>(s.leader); }));
  r.callback("config_center_raft_commit_index", "Highest log index known to be committed",
             MetricType::kGauge, {},
             field([](const raft::Status& s) { return static_cast<double>(s.commit); }));
  r.callback("config_center_raft_applied_index", "Highest log index applied to the store",
             MetricType::kGauge, {},
             field([](const raft::Status& s) { return static_cast<double>(s.applied); }));
  r.callback("config_center_raft_last_index", "Last index in this node's log", MetricType::kGauge,
             {}, field([](const raft::Status& s) { return static_cast<double>(s.last_index); }));
  r.callback("config_center_raft_role", "1 for this node's current Raft role, 0 for the others",
             MetricType::kGauge, {"role"}, [read] {
               const raft::Role now = (*read)().role;
               std::vector<Sample> out;
               for (raft::Role role : {raft::Role::candidate, raft::Role::follower,
                                       raft::Role::leader, raft::Role::pre_candidate}) {
                 out.push_back({{raft::to_string(role)}, role == now ? 1.0 : 0.0});
               }
               return out;
             });
}

void add_replication_metrics(Registry& r, std::function<ReplicationProbes()> read) {
  auto probes = std::make_shared<std::function<ReplicationProbes()>>(std::move(read));
  auto counter = [&r, probes](std::string name, std::string help, auto pick) {
    r.callback(std::move(name), std::move(help), MetricType::kCounter, {},
               one([probes, pick] { return static_cast<double>(pick((*probes)())); }));
  };
  using P = const ReplicationProbes&;
  counter("config_center_raft_elections_total", "Elections this node started (pre-votes excluded)",
          [](P p) { return p.raft.campaigns; });
  counter("config_center_raft_became_leader_total", "Times this node became leader",
          [](P p) { return p.raft.became_leader; });
  counter("config_center_raft_pre_votes_total", "Pre-vote rounds this node started",
          [](P p) { return p.raft.pre_campaigns; });
  counter("config_center_raft_term_changes_total",
          "Times this node's term moved on (its own campaign, or a newer term seen)",
          [](P p) { return p.raft.term_changes; });
  counter("config_center_raft_leader_changes_total",
          "Times this node learned of a leader other than the last one it knew",
          [](P p) { return p.raft.leader_changes; });
  counter("config_center_raft_append_entries_read_total",
          "Log entries the leader read back to build appends (catch-up cost)",
          [](P p) { return p.raft.append_entries_read; });
  r.callback("config_center_raft_votes_total", "Votes this node cast (pre-votes excluded)",
             MetricType::kCounter, {"result"}, [probes] {
               const ReplicationProbes p = (*probes)();
               return std::vector<Sample>{
                   {{"granted"}, static_cast<double>(p.raft.votes_granted)},
                   {{"rejected"}, static_cast<double>(p.raft.votes_rejected)}};
             });
  r.callback("config_center_raft_step_downs_total", "Times this node stopped being the leader",
             MetricType::kCounter, {"reason"}, [probes] {
               const ReplicationProbes p = (*probes)();
               return std::vector<Sample>{
                   {{"check_quorum"}, static_cast<double>(p.raft.check_quorum_stepdowns)},
                   {{"higher_term"}, static_cast<double>(p.raft.higher_term_stepdowns)},
                   {{"removed"}, static_cast<double>(p.raft.removed_stepdowns)}};
             });
  counter("config_center_raft_proposals_total", "Entries this node appended as leader",
          [](P p) { return p.raft.proposals; });
  counter("config_center_raft_proposals_refused_total", "Proposals refused (not leader, invalid)",
          [](P p) { return p.raft.proposals_refused; });
  counter("config_center_raft_entries_applied_total", "Log entries applied to the store",
          [](P p) { return p.raft.entries_applied; });
  counter("config_center_raft_read_index_rounds_total", "ReadIndex confirmation rounds",
          [](P p) { return p.raft.read_rounds; });
  counter("config_center_raft_snapshots_taken_total", "Snapshots taken",
          [](P p) { return p.raft.snapshots_taken; });
  counter("config_center_raft_snapshots_installed_total", "Snapshots installed from the leader",
          [](P p) { return p.raft.snapshots_installed; });
  counter("config_center_raft_lost_logs_total",
          "Times a follower refused entries it had acknowledged (its log was rebuilt, e.g. by cairn "
          "recover); the leader sends them again",
          [](P p) { return p.raft.lost_logs; });
  counter("config_center_wal_failures_total",
          "I/O errors that failed the write-ahead log (write, fdatasync); the node stops on one",
          [](P p) { return p.wal.failures; });
  counter("config_center_wal_fsyncs_total", "fdatasync calls on WAL segment files",
          [](P p) { return p.wal.fdatasyncs; });
  r.callback("config_center_wal_sync_seconds_total",
             "Time the Raft thread spent writing and syncing the write-ahead log",
             MetricType::kCounter, {},
             one([probes] { return static_cast<double>((*probes)().wal.sync_ns) / 1e9; }));
  counter("config_center_wal_slow_syncs_total",
          "Write-ahead log syncs that took 100 ms or more (a slow disk stalls the Raft thread)",
          [](P p) { return p.wal.slow_syncs; });
  counter("config_center_wal_written_bytes_total", "Bytes written to WAL segment files",
          [](P p) { return p.wal.bytes_written; });
  r.callback("config_center_wal_segments", "Live WAL segment files", MetricType::kGauge, {},
             one([probes] { return static_cast<double>((*probes)().wal.segments); }));
  auto per_peer = [&r, probes](std::string name, std::string help, MetricType type, auto pick) {
    r.callback(std::move(name), std::move(help), type, {"peer"}, [probes, pick] {
      std::vector<Sample> out;
      for (const auto& [id, c] : (*probes)().transport.peers) {
        out.push_back({{std::to_string(id)}, static_cast<double>(pick(c))});
      }
      return out;
    });
  };
  using C = const transport::PeerCounters&;
  per_peer("config_center_peer_sent_bytes_total", "Bytes of Raft frames sent to the peer",
           MetricType::kCounter, [](C c) { return c.bytes_sent; });
  per_peer("config_center_peer_received_bytes_total", "Bytes of Raft frames received from the peer",
           MetricType::kCounter, [](C c) { return c.bytes_received; });
  per_peer("config_center_peer_dropped_messages_total",
           "Raft messages to the peer that were lost (queue full, unreachable)",
           MetricType::kCounter, [](C c) { return c.dropped; });
  per_peer("config_center_peer_connected", "1 while the outbound connection to the peer is up",
           MetricType::kGauge, [](C c) { return c.connected ? 1 : 0; });
  counter("config_center_peer_rejected_handshakes_total",
          "Peer connections refused in the handshake, either side (cluster id, node id, version, "
          "cluster secret)",
          [](P p) { return p.transport.rejected_handshakes; });
}

void add_tracer_metrics(Registry& r, const Tracer& tracer) {
  r.callback("config_center_trace_spans_exported_total", "Spans sent to the OTLP endpoint",
             MetricType::kCounter, {},
             one([&tracer] { return static_cast<double>(tracer.spans_exported()); }));
  r.callback("config_center_trace_spans_dropped_total",
             "Spans dropped: export queue full, or the export failed", MetricType::kCounter, {},
             one([&tracer] { return static_cast<double>(tracer.spans_dropped()); }));
  r.callback("config_center_trace_export_failures_total", "OTLP export requests that failed",
             MetricType::kCounter, {},
             one([&tracer] { return static_cast<double>(tracer.export_failures()); }));
}

}  // namespace cairn::telemetry
