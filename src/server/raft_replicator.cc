#include "server/raft_replicator.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "common/json.h"
#include "common/time.h"
#include "telemetry/telemetry.h"
#include "telemetry/timed_state_machine.h"
#include "transport/transport.h"
#include "wal/wal.h"

namespace cairn::server {

using api::Errc;
using api::make_error;

namespace {

api::CommandResult failure(Errc code, std::string details) {
  return api::CommandResult::failure(make_error(code, std::move(details)));
}

}  // namespace

RaftReplicator::RaftReplicator(RaftOptions options, store::Store& store,
                               core::ConfigStateMachine& machine, cache::Index& index,
                               core::WatchHub* watch)
    : options_(std::move(options)), store_(store) {
  // One deleter for the snapshot folder and the log: one pace for the node's disk.
  deleter_ = std::make_shared<GradualDeleter>();
  state_machine_ = std::make_unique<RaftStateMachine>(store, machine, index, watch,
                                                      options_.data_dir + "/snap", deleter_);
  addresses_ = options_.members;
  state_machine_->on_members_changed([this] { reload_members(); });
  // Finished snapshot saves and installs reach the node through the mailbox, on its thread.
  state_machine_->set_poster([this](std::function<void(raft::Node&)> fn) {
    post([this, fn = std::move(fn)] { fn(*node_); });
  });
}

void RaftReplicator::reload_members() {
  std::map<raft::NodeId, MemberAddress> merged = options_.members;
  const std::string text = store_.members_json();
  if (!text.empty()) {
    try {
      Json j = Json::parse(text);
      for (auto it = j.begin(); it != j.end(); ++it) {
        merged[std::stoull(it.key())] =
            MemberAddress{it.value().at("peer").get<std::string>(),
                          it.value().at("http").get<std::string>(),
                          it.value().value("learner", false)};
      }
    } catch (const std::exception& e) {
      spdlog::error("member address book unreadable: {}", e.what());
    }
  }
  {
    std::lock_guard lock(view_mu_);
    addresses_ = std::move(merged);
  }
  if (transport_) push_peers();
}

bool RaftReplicator::kept_learner(raft::NodeId id) const {
  std::lock_guard lock(view_mu_);
  auto it = addresses_.find(id);
  return it != addresses_.end() && it->second.learner;
}

void RaftReplicator::replicate_member_address(raft::NodeId id, MemberAddress address, bool remove,
                                              std::function<void(Result<Ok, std::string>)> done) {
  api::SetMemberAddress body;
  body.id = static_cast<int64_t>(id);
  body.peer = std::move(address.peer);
  body.http = std::move(address.http);
  body.remove = remove;
  body.learner = address.learner;
  propose(api::Command{"", "cluster", std::move(body)},
          [done = std::move(done)](api::CommandResult r) {
            if (r.ok()) return done(Ok{});
            done(Unexpected{std::to_string(static_cast<int>(r.code)) + " " + r.details});
          });
}

Result<std::unique_ptr<RaftReplicator>, std::string> RaftReplicator::open(
    RaftOptions options, store::Store& store, core::ConfigStateMachine& machine,
    cache::Index& index, core::WatchHub* watch) {
  if (options.id == raft::kNoNode) return Unexpected{std::string("raft id must be set (>= 1)")};
  if (!options.join && !options.members.count(options.id)) {
    return Unexpected{"--members does not list this node (raft id " + std::to_string(options.id) +
                      ")"};
  }
  if (store.applied_index() > 0 && store.raft_state().term == 0) {
    return Unexpected{std::string(
        "this data directory was written by a standalone node (no Raft state); a cluster node "
        "needs a fresh data directory")};
  }
  std::unique_ptr<RaftReplicator> r(
      new RaftReplicator(std::move(options), store, machine, index, watch));

  wal::WalOptions wal_options;
  wal_options.dir = r->options_.data_dir + "/wal";
  wal_options.log = [](const std::string& line) { spdlog::warn("{}", line); };  // "wal: …"
  wal_options.deleter = r->deleter_;
  // fsyncgate: after a failed write or fdatasync the kernel may have dropped the dirty pages and
  // marked them clean, so nothing written since the last good sync can be trusted, and a retry
  // that succeeds proves nothing. Stop at once, without answering anything more as leader or
  // follower; a restart reopens the log from what the disk holds and the peers fill in the
  // rest (docs/wal.md, "Disk faults").
  wal_options.on_failure = [dir = wal_options.dir](const std::string& why) {
    spdlog::critical(
        "FATAL: the write-ahead log in {} failed: {}. Stopping now (exit code {}) rather than "
        "serving data that may not be on disk; restart the node once the disk is healthy "
        "(docs/wal.md, \"Disk faults\")",
        dir, why, kWalFailureExitCode);
    spdlog::default_logger()->flush();
    std::_Exit(kWalFailureExitCode);
  };
  RaftReplicator* const injector = r.get();
  wal_options.io_fault = [injector](wal::IoOp op, const std::string&) {
    return (op == wal::IoOp::write ? injector->wal_write_errno_ : injector->wal_sync_errno_).load();
  };
  auto log = wal::WalLogStore::open(wal_options);
  if (!log.ok()) {
    std::string why = log.error();  // may end a sentence of its own: one full stop, not two
    while (!why.empty() && why.back() == '.') why.pop_back();
    return Unexpected{"cannot open the write-ahead log: " + why +
                      ". If it is damaged, rebuild this node from its peers with `cairn recover "
                      "--data-dir " + r->options_.data_dir + "` (docs/wal.md, \"Disk faults\")"};
  }
  r->log_ = std::move(*log);
  {
    // A database restored from a snapshot next to an empty log (docs/cluster.md, "Back up and
    // restore"): the log restarts after the snapshot, and the node's term may not go below the
    // snapshot's, or a new leader could write entries of an older term after it.
    raft::SnapshotMeta applied = r->state_machine_->applied_state();
    raft::HardState hs = r->log_->hard_state();
    if (applied.index > 0 && r->log_->last_index() == 0 && hs.term < applied.term) {
      spdlog::warn("empty log next to a store at index {} term {}: starting the log there",
                   applied.index, applied.term);
      if (!r->log_->reset(applied.index, applied.term).ok()) {
        return Unexpected{std::string("cannot start the log after the restored snapshot")};
      }
      r->log_->set_hard_state(raft::HardState{applied.term, raft::kNoNode, applied.index});
      if (!r->log_->sync().ok()) {
        return Unexpected{std::string("cannot sync the write-ahead log")};
      }
    }
  }

  transport::TransportOptions t;
  t.node_id = r->options_.id;
  t.cluster_id = r->options_.cluster_id;
  t.listen = r->options_.listen_peer;
  t.tls_cert = r->options_.peer_tls_cert;
  t.tls_key = r->options_.peer_tls_key;
  t.tls_ca = r->options_.peer_tls_ca;
  t.cluster_secrets = r->options_.cluster_secrets;
  RaftReplicator* self = r.get();
  r->transport_ = std::make_unique<transport::TcpTransport>(t, [self](raft::Message m) {
    if (m.from != raft::kNoNode && m.from == self->leader_seen_.load()) {
      self->last_leader_contact_ms_.store(monotonic_ms());
    }
    self->post([self, m = std::move(m)] { self->node_->step(m); });
  });
  r->reload_members();  // before the node replays the log: the book as of the last apply

  raft::Config config;
  config.id = r->options_.id;
  if (!r->options_.join) {
    for (const auto& [id, address] : r->options_.members) config.bootstrap.voters.push_back(id);
  }
  config.tick_ms = r->options_.tick_ms;
  config.election_ticks = r->options_.election_ticks;
  config.heartbeat_ticks = r->options_.heartbeat_ticks;
  config.max_msg_bytes = r->options_.max_append_bytes;
  config.proposal_timeout_ticks =
      static_cast<int>(std::max<int64_t>(1, r->options_.proposal_timeout_ms / r->options_.tick_ms));
  config.read_timeout_ticks = config.proposal_timeout_ticks;
  config.snapshot_threshold = r->options_.snapshot_threshold;
  config.record_events = true;  // logged by log_events()
  config.snapshot_trailing = std::max<uint64_t>(1, r->options_.snapshot_threshold / 10);
  r->random_ = std::make_unique<raft::SplitMix64>(std::random_device{}() ^
                                                  static_cast<uint64_t>(wall_clock_ms()) ^
                                                  (r->options_.id << 48));
  // Replays the committed entries the store has not applied yet (this thread, before start()).
  raft::StateMachine* machine_for_node = r->state_machine_.get();
  if (r->options_.telemetry) {
    r->timed_ = std::make_unique<telemetry::TimedStateMachine>(*r->state_machine_,
                                                               *r->options_.telemetry);
    machine_for_node = r->timed_.get();
  }
  r->node_ = std::make_unique<raft::Node>(config, *r->log_, *machine_for_node, *r->transport_,
                                          *r->random_);
  r->state_machine_->set_result_wanted(
      [node = r->node_.get()](uint64_t index, uint64_t term) {
        return node->awaits_result(index, term);
      });
  r->refresh_view();
  return r;
}

RaftReplicator::~RaftReplicator() { stop(); }

Result<Ok, std::string> RaftReplicator::start() {
  auto started = transport_->start();
  if (!started.ok()) return Unexpected{"cannot listen for peers: " + started.error()};
  thread_ = std::thread([this] { run(); });
  spdlog::info("raft node {} of cluster '{}' listening for peers on {}", options_.id,
               options_.cluster_id, options_.listen_peer);
  return Ok{};
}

void RaftReplicator::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  // A snapshot being saved or installed finishes first; its report is dropped (the mailbox
  // refuses it), as if the node had crashed before hearing of it.
  if (state_machine_) state_machine_->stop();
  if (transport_) transport_->stop();
  // Whatever is still queued or in flight will not be answered by Raft any more.
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(mailbox_);
  }
  dropped.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, done] : pending) {
    done(failure(Errc::kRaft, "the node is stopping; the write may still commit"));
  }
  if (log_) (void)log_->sync();
  if (deleter_) deleter_->stop();
}

void RaftReplicator::post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  mailbox_.push_back(std::move(fn));
  cv_.notify_one();
}

void RaftReplicator::run() {
  using clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(options_.tick_ms);
  auto next_tick = clock::now() + tick;
  std::deque<std::function<void()>> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_tick, [&] { return stopping_ || !mailbox_.empty(); });
      if (stopping_) return;
      batch.swap(mailbox_);
    }
    {
      // Everything that arrived while the last batch was syncing shares one flush: one WAL
      // sync for all its proposals and received entries, one round of messages (group commit).
      raft::Node::Batch group(*node_);
      for (auto& fn : batch) fn();
      batch.clear();
      const int64_t now_ms = monotonic_ms();
      while (!timers_.empty() && timers_.begin()->first <= now_ms) {
        auto fn = std::move(timers_.begin()->second);
        timers_.erase(timers_.begin());
        fn();
      }
      if (clock::now() >= next_tick) {
        node_->tick();
        // Learners are promoted by whichever node leads once they have caught up (the node
        // refuses a promotion before that), so a leadership change cannot strand one; a member
        // added as a learner for good (its address book entry says so) is left as it is.
        if (++ticks_ % 20 == 0 && node_->is_leader()) {
          for (raft::NodeId learner : node_->status().conf.learners) {
            if (kept_learner(learner)) continue;
            (void)node_->propose_conf_change({raft::ConfChangeType::promote, learner});
          }
        }
        hand_off_if_degraded();
        next_tick += tick;
        if (next_tick < clock::now()) next_tick = clock::now() + tick;  // fell behind: no burst
      }
    }
    log_events();
    refresh_view();
  }
}

void RaftReplicator::log_events() {
  for (const raft::Event& e : node_->take_events()) {
    switch (e.kind) {
      case raft::Event::Kind::term_changed:
        last_campaign_reason_.clear();
        spdlog::info("raft: term is now {} ({})", e.term, e.reason);
        break;
      case raft::Event::Kind::campaign: {
        // A node cut off from the others pre-votes for the same term every election timeout
        // (300–600 ms) and always fails: one line, then the repeats counted every 10 s.
        // ("pre-vote for term N: election timeout: no leader heard from in K ticks": the same
        // attempt whatever K is.)
        const int64_t now = monotonic_ms();
        std::string attempt = e.reason.substr(0, e.reason.find(": "));
        if (attempt == last_campaign_reason_) {
          ++repeated_campaigns_;
          if (now - last_campaign_log_ms_ < 10'000) break;
          spdlog::info("raft: campaigning, {} (the same {} times since the last line)", e.reason,
                       repeated_campaigns_);
        } else {
          spdlog::info("raft: campaigning, {}", e.reason);
        }
        last_campaign_reason_ = std::move(attempt);
        last_campaign_log_ms_ = now;
        repeated_campaigns_ = 0;
        break;
      }
      case raft::Event::Kind::vote_granted:
        spdlog::info("raft: voted for node {} in term {} ({})", e.peer, e.term, e.reason);
        break;
      case raft::Event::Kind::vote_rejected:
        spdlog::info("raft: refused to vote for node {} in term {}: {}", e.peer, e.term, e.reason);
        break;
      case raft::Event::Kind::leader_changed:
        last_campaign_reason_.clear();
        if (e.peer == raft::kNoNode) {
          spdlog::info("raft: no leader known in term {} ({})", e.term, e.reason);
        } else if (e.peer == options_.id) {
          spdlog::info("raft: this node (node {}) is the leader of term {}", e.peer, e.term);
        } else {
          spdlog::info("raft: node {} is the leader of term {} ({})", e.peer, e.term, e.reason);
        }
        break;
      case raft::Event::Kind::stepped_down:
        spdlog::info("raft: stepped down as leader in term {}: {}", e.term, e.reason);
        break;
    }
  }
}

transport::TransportProbe RaftReplicator::transport_probe() const { return transport_->probe(); }

void RaftReplicator::refresh_view() {
  raft::Status status = node_->status();
  if (status.leader != leader_seen_.load()) {
    leader_seen_.store(status.leader);
    if (status.leader != raft::kNoNode) last_leader_contact_ms_.store(monotonic_ms());
  }
  std::lock_guard lock(view_mu_);
  view_.status = std::move(status);
  view_.raft_probe = node_->probe();
  view_.wal_probe = log_->probe();
  view_.last_leader_contact_ms =
      view_.status.role == raft::Role::leader ? monotonic_ms() : last_leader_contact_ms_.load();
}

void RaftReplicator::push_peers() {
  std::map<raft::NodeId, std::string> peers;
  {
    std::lock_guard lock(view_mu_);
    for (const auto& [id, a] : addresses_) {
      if (id != options_.id) peers[id] = a.peer;
    }
  }
  if (auto set = transport_->set_peers(peers); !set.ok()) {
    spdlog::error("peer addresses: {}", set.error());
  }
}

void RaftReplicator::propose(api::Command command, Done done) {
  std::string data = stamp_command(command, wall_clock_ms());
  // A child of the request's span (this thread's), ended when the proposal completes.
  auto span = std::make_shared<telemetry::ChildSpan>("raft.propose");
  const int64_t proposed_ns = telemetry::TimedStateMachine::steady_ns();
  const uint64_t proposed_unix_ns = telemetry::unix_ns();
  post([this, data = std::move(data), done = std::move(done), span, proposed_ns,
        proposed_unix_ns]() mutable {
    const uint64_t id = next_pending_++;
    pending_.emplace(id, std::move(done));
    raft::ProposalHandle handle = node_->propose(std::move(data));
    handle.then([this, id, span, proposed_ns, proposed_unix_ns](const raft::ProposalResult& r) {
      span->attribute("raft.status", raft::to_string(r.status));
      span->attribute("raft.index", std::to_string(r.index));
      if (r.status != raft::ProposalStatus::applied) span->set_error();
      if (auto t = timed_ && r.status == raft::ProposalStatus::applied ? timed_->timing(r.index)
                                                                     : std::nullopt) {
        options_.telemetry->observe_raft_commit(
            static_cast<double>(std::max<int64_t>(0, t->start_steady_ns - proposed_ns)) / 1e9);
        span->record_child("raft.commit", proposed_unix_ns, t->start_unix_ns);
        span->record_child("raft.apply", t->start_unix_ns, t->end_unix_ns);
      }
      span->finish();
      auto it = pending_.find(id);
      if (it == pending_.end()) return;
      Done d = std::move(it->second);
      pending_.erase(it);
      switch (r.status) {
        case raft::ProposalStatus::applied:
          if (r.result == RaftStateMachine::kResultKept) {
            if (auto kept = state_machine_->take_result(r.index)) return d(std::move(*kept));
            return d(failure(Errc::kInternal, "the result of log entry " +
                                                  std::to_string(r.index) + " was not kept"));
          }
          return d(api::decode_result(r.result));
        case raft::ProposalStatus::not_leader: {
          std::string hint = r.leader_hint ? " (leader: node " + std::to_string(r.leader_hint) + ")"
                                           : " (no leader known)";
          auto res = failure(Errc::kNotLeader, "this node is not the leader" + hint);
          return d(res);
        }
        case raft::ProposalStatus::rejected:
          return d(failure(Errc::kRaft, "rejected by raft: " + r.result));
        case raft::ProposalStatus::timeout:
          return d(failure(Errc::kRaft,
                           "not committed within the proposal timeout; the write may still "
                           "commit (read it back before retrying)"));
        case raft::ProposalStatus::dropped:
          return d(failure(Errc::kRaft,
                           "leadership changed before the write committed; it may still commit "
                           "(read it back before retrying)"));
      }
    });
  });
}

void RaftReplicator::read_barrier(std::function<void(std::optional<api::Error>)> done) {
  post([this, done = std::move(done)]() mutable {
    node_->read_index().then([done](const raft::ReadResult& r) {
      switch (r.status) {
        case raft::ReadStatus::ok:
          return done(std::nullopt);
        case raft::ReadStatus::not_leader:
          return done(make_error(Errc::kNotLeader, "strong reads are served by the leader"));
        case raft::ReadStatus::timeout:
        case raft::ReadStatus::dropped:
          return done(make_error(Errc::kRaft, "the leader could not confirm its leadership"));
      }
    });
  });
}

// A leader whose database fails can still commit (the WAL works) but applies nothing, so every
// write it takes waits until someone repairs the disk. Handing leadership to the member that is
// furthest along lets the others go on; if that member's database fails too it hands on in turn.
// Tried at most once per two election timeouts (a transfer is abandoned after one).
void RaftReplicator::hand_off_if_degraded() {
  if (!options_.database_down || !node_->is_leader()) return;
  const int64_t now = monotonic_ms();
  const int64_t every = 2 * options_.election_ticks * options_.tick_ms;
  if (last_hand_off_ms_ != 0 && now - last_hand_off_ms_ < every) return;
  std::optional<std::string> down = options_.database_down();
  if (!down) return;
  raft::Status st = node_->status();
  if (st.transferee != raft::kNoNode) return;
  raft::NodeId best = raft::kNoNode;
  raft::Index best_match = 0;
  for (raft::NodeId id : st.conf.voters) {
    if (id == options_.id) continue;
    raft::Index match = node_->match_index(id);
    if (best == raft::kNoNode || match > best_match) {
      best = id;
      best_match = match;
    }
  }
  last_hand_off_ms_ = now;
  if (best == raft::kNoNode) return;  // alone: nobody to hand to
  auto started = node_->transfer_leadership(best);
  if (started.ok()) {
    spdlog::warn("this leader's database is down ({}): handing leadership to node {}", *down,
                 best);
  } else {
    spdlog::warn("this leader's database is down ({}) but leadership cannot go to node {}: {}",
                 *down, best, started.error());
  }
}

void RaftReplicator::transfer_leadership(raft::NodeId to,
                                         std::function<void(Result<Ok, std::string>)> done) {
  post([this, to, done = std::move(done)] { done(node_->transfer_leadership(to)); });
}

void RaftReplicator::change_membership(raft::ConfChange change,
                                       std::function<void(Result<Ok, std::string>)> done) {
  post([this, change, done = std::move(done)]() mutable {
    node_->propose_conf_change(change).then([done](const raft::ProposalResult& r) {
      if (r.status == raft::ProposalStatus::applied) return done(Ok{});
      done(Unexpected{std::string(raft::to_string(r.status)) +
                      (r.result.empty() ? "" : ": " + r.result)});
    });
  });
}

Result<Ok, std::string> RaftReplicator::set_member_address(raft::NodeId id,
                                                           MemberAddress address) {
  {
    std::lock_guard lock(view_mu_);
    addresses_[id] = std::move(address);
  }
  push_peers();
  return Ok{};
}

void RaftReplicator::forget_member_address(raft::NodeId id) {
  {
    std::lock_guard lock(view_mu_);
    addresses_.erase(id);
  }
  push_peers();
}

void RaftReplicator::after(int64_t delay_ms, std::function<void()> fn) {
  post([this, at = monotonic_ms() + delay_ms, fn = std::move(fn)]() mutable {
    timers_.emplace(at, std::move(fn));
  });
}

RaftView RaftReplicator::view() const {
  std::lock_guard lock(view_mu_);
  return view_;
}

std::map<raft::NodeId, MemberAddress> RaftReplicator::members() const {
  std::lock_guard lock(view_mu_);
  return addresses_;
}

int64_t RaftReplicator::apply_stalled_since_ms() const {
  return state_machine_ ? state_machine_->stalled_since_ms() : 0;
}

bool RaftReplicator::is_leader() const {
  std::lock_guard lock(view_mu_);
  return view_.status.role == raft::Role::leader;
}

LeaderTarget RaftReplicator::leader_target() const {
  std::lock_guard lock(view_mu_);
  LeaderTarget t;
  t.id = view_.status.leader;
  t.term = view_.status.term;
  if (auto it = addresses_.find(t.id); it != addresses_.end()) t.http = it->second.http;
  return t;
}

std::string RaftReplicator::leader_http() const {
  std::lock_guard lock(view_mu_);
  auto it = addresses_.find(view_.status.leader);
  return it == addresses_.end() ? std::string() : it->second.http;
}

}  // namespace cairn::server
