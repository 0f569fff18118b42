#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/errors.h"
#include "common/result.h"
#include "raft/node.h"
#include "raft/probe.h"
#include "server/forwarder.h"
#include "server/raft_state_machine.h"
#include "core/replicator.h"
#include "transport/probe.h"
#include "wal/file.h"
#include "wal/probe.h"

namespace cairn::transport {
class TcpTransport;
}
namespace cairn::wal {
class WalLogStore;
}
namespace cairn::telemetry {
class Telemetry;
class TimedStateMachine;
}

namespace cairn::server {

/// Where a member is reached: its Raft peer port and its HTTP API.
struct MemberAddress {
  std::string peer;
  std::string http;
  bool learner = false;  // added as a non-voting member for good: never promoted
};

struct RaftOptions {
  raft::NodeId id = raft::kNoNode;
  std::string cluster_id = "cairn";
  std::string listen_peer;
  std::map<raft::NodeId, MemberAddress> members;  // every initial member, this node included
  bool join = false;  // start without a bootstrap configuration (added by the leader later)
  std::string data_dir;
  // Defaults: raft::Config's (raft/config.h), the one place they are stated.
  int64_t tick_ms = raft::Config{}.tick_ms;
  int election_ticks = raft::Config{}.election_ticks;
  int heartbeat_ticks = raft::Config{}.heartbeat_ticks;
  uint64_t max_append_bytes = raft::Config{}.max_msg_bytes;
  int64_t proposal_timeout_ms = raft::default_proposal_timeout_ms();
  uint64_t snapshot_threshold = raft::Config{}.snapshot_threshold;
  // Mutual TLS between peers (transport::TransportOptions): all three or none.
  std::string peer_tls_cert;
  std::string peer_tls_key;
  std::string peer_tls_ca;
  std::vector<std::string> cluster_secrets;  // the transport's handshake (docs/security.md)
  /// Times commits and applies and traces proposals (docs/observability.md); outlives the
  /// replicator. Null: nothing is measured.
  telemetry::Telemetry* telemetry = nullptr;
  /// Why this node's database counts as down (degraded mode), or nullopt; cheap, any thread.
  /// A leader whose database is down hands leadership to a caught-up member (docs/storage.md,
  /// "Disk faults"). Unset: never.
  std::function<std::optional<std::string>()> database_down;
};

/// Exit code of a node that crash-stopped because its write-ahead log failed (a write or an
/// fdatasync returned an error): 74, EX_IOERR of sysexits.h.
inline constexpr int kWalFailureExitCode = 74;

/// What the HTTP layer and the status endpoint see of the Raft node. A copy, refreshed by the
/// driver thread after every step.
struct RaftView {
  raft::Status status;
  int64_t last_leader_contact_ms = 0;  // monotonic; the leader itself counts as in contact
  raft::Probe raft_probe;  // what the Raft node and the WAL did (telemetry)
  wal::WalProbe wal_probe;
};

/// The cluster's Replicator: a Raft node driven by one thread, with the WAL as its log, the
/// TCP transport to its peers and the SQLite store as its state machine. Every call into the
/// Raft node happens on the driver thread (a mailbox plus the tick timer), so the node itself
/// stays single-threaded as its contract requires.
///
/// Lifetime: open() → start() → stop() (idempotent; the destructor calls it). The store, state
/// machine, index and watch hub outlive it. Threads: every public method from any thread.
class RaftReplicator final : public core::Replicator {
 public:
  static Result<std::unique_ptr<RaftReplicator>, std::string> open(
      RaftOptions options, store::Store& store, core::ConfigStateMachine& machine,
      cache::Index& index, core::WatchHub* watch);
  ~RaftReplicator() override;

  Result<Ok, std::string> start();
  void stop();

  /// Leader: appends and answers once applied. Follower or candidate: 50302 with the leader hint
  /// (the HTTP layer forwards writes to the leader before they get here). 50003 when the
  /// outcome is unknown (timeout, leadership lost): the write may still commit.
  void propose(api::Command command, Done done) override;

  /// Linearizable read barrier (ReadIndex): `done(nullopt)` once this node — the leader — has
  /// confirmed its leadership and applied everything committed before the call.
  void read_barrier(std::function<void(std::optional<api::Error>)> done);

  /// Membership and leadership; the answer comes from the driver thread.
  void transfer_leadership(raft::NodeId to, std::function<void(Result<Ok, std::string>)> done);
  void change_membership(raft::ConfChange change,
                         std::function<void(Result<Ok, std::string>)> done);
  /// Learns (or forgets) a member's addresses; the transport dials it from now on.
  Result<Ok, std::string> set_member_address(raft::NodeId id, MemberAddress address);
  void forget_member_address(raft::NodeId id);
  /// Replicates a member's addresses (or their removal) through the log, so every node and
  /// every later leader can reach it.
  void replicate_member_address(raft::NodeId id, MemberAddress address, bool remove,
                                std::function<void(Result<Ok, std::string>)> done);

  /// Fault injection (--fault-injection, tests only): while `err` is non-zero every write (or
  /// fdatasync) of a WAL segment fails with that errno, which crash-stops the node at its next
  /// sync.
  void inject_wal_error(wal::IoOp op, int err) {
    (op == wal::IoOp::write ? wal_write_errno_ : wal_sync_errno_).store(err);
  }

  /// Runs `fn` on the driver thread after about `delay_ms` (dropped if the node stops first).
  void after(int64_t delay_ms, std::function<void()> fn);

  RaftView view() const;
  /// The peer transport's counters (telemetry).
  transport::TransportProbe transport_probe() const;
  std::map<raft::NodeId, MemberAddress> members() const;
  /// Whether `id` was added as a non-voting member for good (never promoted).
  bool kept_learner(raft::NodeId id) const;
  raft::NodeId id() const { return options_.id; }
  bool is_leader() const;
  /// Since when (monotonic ms) this node's database has been refusing log entries, or 0
  /// (RaftStateMachine::stalled_since_ms). Any thread.
  int64_t apply_stalled_since_ms() const;
  /// Monotonic ms of the last message from the leader (followers); cheap, for the read path.
  int64_t last_leader_contact_ms() const { return last_leader_contact_ms_.load(); }
  /// The leader's HTTP address, or "" when no leader is known (or it has no known address).
  std::string leader_http() const;
  /// The leader this node knows, its term and HTTP address (forwarding). Any thread.
  LeaderTarget leader_target() const;

 private:
  RaftReplicator(RaftOptions options, store::Store& store, core::ConfigStateMachine& machine,
                 cache::Index& index, core::WatchHub* watch);
  void post(std::function<void()> fn);
  void run();
  void refresh_view();
  void log_events();  // the Raft node's election events, at info (driver thread)
  void push_peers();
  void reload_members();  // options' members, overridden by the replicated address book
  void hand_off_if_degraded();  // driver thread: a leader with a failed database steps aside

  const RaftOptions options_;
  store::Store& store_;
  std::shared_ptr<GradualDeleter> deleter_;  // old images and log segments (see the .cc)
  std::unique_ptr<RaftStateMachine> state_machine_;
  std::unique_ptr<telemetry::TimedStateMachine> timed_;  // wraps state_machine_ (telemetry)
  std::unique_ptr<wal::WalLogStore> log_;
  std::unique_ptr<transport::TcpTransport> transport_;
  std::unique_ptr<raft::SplitMix64> random_;
  std::unique_ptr<raft::Node> node_;  // driver thread only
  std::atomic<int> wal_write_errno_{0};  // inject_wal_error
  std::atomic<int> wal_sync_errno_{0};
  int64_t last_hand_off_ms_ = 0;        // driver thread only
  std::string last_campaign_reason_;    // log_events(): repeated campaigns, driver thread only
  int64_t last_campaign_log_ms_ = 0;
  uint64_t repeated_campaigns_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> mailbox_;
  bool stopping_ = false;
  std::thread thread_;

  // Proposals in flight (driver thread), so that stop() can answer them.
  uint64_t next_pending_ = 1;
  std::unordered_map<uint64_t, Done> pending_;
  std::multimap<int64_t, std::function<void()>> timers_;  // driver thread: monotonic ms → fn

  mutable std::mutex view_mu_;
  RaftView view_;
  std::map<raft::NodeId, MemberAddress> addresses_;  // under view_mu_
  std::atomic<int64_t> last_leader_contact_ms_{0};
  std::atomic<raft::NodeId> leader_seen_{raft::kNoNode};
  int64_t ticks_ = 0;  // driver thread
};

}  // namespace cairn::server
