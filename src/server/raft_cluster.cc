#include "server/raft_cluster.h"

#include <utility>

#include "common/time.h"

namespace cairn::server {

using api::Errc;
using api::make_error;

core::ClusterView RaftCluster::view() const {
  const RaftView v = raft_.view();
  const auto members = raft_.members();
  core::ClusterView out;
  out.raft_id = raft_.id();
  out.role = std::string(raft::to_string(v.status.role));
  out.term = v.status.term;
  out.leader = v.status.leader;
  if (auto leader = members.find(v.status.leader); leader != members.end()) {
    out.leader_http = leader->second.http;
    out.leader_peer = leader->second.peer;
  }
  out.commit = v.status.commit;
  out.applied = v.status.applied;
  out.last_index = v.status.last_index;
  const bool leader = v.status.role == raft::Role::leader;
  out.last_leader_contact_ms_ago = leader ? 0 : monotonic_ms() - v.last_leader_contact_ms;
  out.cut_off = !leader && out.last_leader_contact_ms_ago > stale_read_bound_ms_;
  auto add = [&](raft::NodeId id, bool voter) {
    core::ClusterMember m{id, voter, "", ""};
    if (auto a = members.find(id); a != members.end()) {
      m.peer = a->second.peer;
      m.http = a->second.http;
    }
    out.members.push_back(std::move(m));
  };
  for (auto id : v.status.conf.voters) add(id, true);
  for (auto id : v.status.conf.learners) add(id, false);
  return out;
}

void RaftCluster::transfer_leader(uint64_t to, Done done) {
  raft_.transfer_leadership(to, [done = std::move(done)](Result<Ok, std::string> r) {
    if (!r.ok()) return done(Unexpected{make_error(Errc::kConflict, r.error(), "to")});
    done(Ok{});
  });
}

void RaftCluster::add_member(uint64_t id, std::string peer, std::string http, bool voter,
                             Done done) {
  const raft::ConfState conf = raft_.view().status.conf;
  if (conf.contains(id)) {
    // A member kept as a learner, now asked for as a voter: its address book entry loses the
    // mark through the log, and the leader of the day promotes it as it does any learner.
    if (voter && !conf.is_voter(id) && raft_.kept_learner(id)) {
      raft_.replicate_member_address(
          id, MemberAddress{std::move(peer), std::move(http), false}, false,
          [id, done = std::move(done)](Result<Ok, std::string> r) {
            if (r.ok()) return done(Ok{});
            done(Unexpected{make_error(Errc::kRaft, "marking node " + std::to_string(id) +
                                                        " for promotion failed: " + r.error())});
          });
      return;
    }
    return done(Unexpected{
        make_error(Errc::kConflict, "node " + std::to_string(id) + " is already a member", "id")});
  }
  // First the addresses, through the log (every node learns them), then the learner; the
  // leader of the day promotes it once it has caught up, unless it is to stay a learner.
  raft_.replicate_member_address(
      id, MemberAddress{std::move(peer), std::move(http), !voter}, false,
      [this, id, done = std::move(done)](Result<Ok, std::string> r) {
        if (!r.ok()) {
          return done(Unexpected{make_error(
              Errc::kRaft,
              "recording the addresses of node " + std::to_string(id) + " failed: " + r.error())});
        }
        raft::ConfChange change{raft::ConfChangeType::add_learner, id};
        raft_.change_membership(change, [done](Result<Ok, std::string> added) {
          if (!added.ok())
            return done(Unexpected{make_error(Errc::kConflict, added.error(), "id")});
          done(Ok{});
        });
      });
}

void RaftCluster::remove_member(uint64_t id, Done done) {
  if (!raft_.view().status.conf.contains(id)) {
    return done(Unexpected{
        make_error(Errc::kNotFound, "node " + std::to_string(id) + " is not a member", "id")});
  }
  raft_.change_membership(raft::ConfChange{raft::ConfChangeType::remove, id},
                          [this, id, done = std::move(done)](Result<Ok, std::string> r) {
                            if (!r.ok())
                              return done(Unexpected{make_error(Errc::kConflict, r.error(), "id")});
                            // Forget the addresses everywhere (best effort: the member is gone from
                            // the configuration either way).
                            raft_.replicate_member_address(id, {}, true,
                                                           [](Result<Ok, std::string>) {});
                            done(Ok{});
                          });
}

}  // namespace cairn::server
