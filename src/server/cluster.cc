#include "server/cluster.h"

#include <spdlog/spdlog.h>

#include "common/json.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "routes/table.h"
#include "server/degraded.h"
#include "telemetry/telemetry.h"

namespace cairn::server {

using api::Errc;
using api::make_error;
using native::reply_error;
using native::reply_ok;

namespace {

constexpr std::string_view kForwardedHeader = "x-cairn-forwarded";
// How long GET /api/v1/cluster/health waits for each member: short, so that a dead or paused
// member costs the page a second at most.
constexpr int64_t kMemberHealthTimeoutMs = 1'000;

bool is_strong_read(const http::Request& req) {
  auto c = req.query_param("consistency");
  return req.method == "GET" && c && *c == "strong";
}

std::optional<uint64_t> parse_id(const Json& v) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > 0) return v.get<uint64_t>();
  return std::nullopt;
}

}  // namespace

ClusterApi::ClusterApi(RaftReplicator& raft, std::string node_id, int64_t stale_read_bound_ms,
                       int64_t forward_timeout_ms)
    : raft_(raft),
      node_id_(std::move(node_id)),
      stale_read_bound_ms_(stale_read_bound_ms),
      forwarder_(std::make_unique<Forwarder>(16, forward_timeout_ms)),
      health_(std::make_unique<ClusterHealth>(raft, kMemberHealthTimeoutMs)) {}

http::Middleware ClusterApi::middleware() {
  return [this](http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    const bool write = is_write(*req);
    const bool strong = !write && is_strong_read(*req);
    if (!write && !strong) {
      if (is_client_read(*req) && !raft_.is_leader() &&
          monotonic_ms() - raft_.last_leader_contact_ms() > stale_read_bound_ms_) {
        // Served from local state that may be behind: say so.
        http::Reply marked = [reply](http::Response res) {
          mark_degraded(res);
          reply(std::move(res));
        };
        return next(std::move(req), std::move(marked));
      }
      return next(std::move(req), std::move(reply));
    }
    if (raft_.is_leader()) {
      if (!strong) return next(std::move(req), std::move(reply));
      raft_.read_barrier([req, reply, next](std::optional<api::Error> error) {
        if (error) return reply_error(reply, *req, *error);
        next(req, reply);
      });
      return;
    }
    forward(req, reply);
  };
}

void ClusterApi::forward(const http::RequestPtr& req, const http::Reply& reply) {
  if (req->header(kForwardedHeader)) {
    // Forwarded to us, but we are not the leader (any more): no second hop.
    return reply_error(
        reply, *req, make_error(Errc::kNotLeader, "the forwarding target is no longer the leader"));
  }
  const std::string leader = raft_.leader_http();
  if (leader.empty()) {
    const auto leader_id = raft_.view().status.leader;
    return reply_error(
        reply, *req,
        make_error(Errc::kNotLeader, leader_id ? "leader is node " + std::to_string(leader_id) +
                                                     ", whose HTTP address this node does not know"
                                               : "no leader is known right now; retry shortly"));
  }
  // The client span of the hop; the leader's server span becomes its child.
  auto span =
      std::make_shared<telemetry::ChildSpan>("forward to leader", telemetry::SpanKind::kClient);
  span->attribute("cairn.leader", leader);
  forwarder_->forward(
      *req, leader,
      {{"X-Request-ID", req->request_id},
       {"traceparent",
        span->active() ? telemetry::format_traceparent(span->context().ctx) : req->traceparent},
       {"X-Cairn-Forwarded", node_id_}},
      [req, reply, leader, span](std::optional<http::Response> res, std::string error, bool sent) {
        if (!res || res->status >= 500) span->set_error();
        span->finish();
        if (!res && sent) {
          return reply_error(
              reply, *req,
              make_error(Errc::kRaft, "the leader at " + leader + " did not answer (" + error +
                                          "); the write may still commit: read it back before "
                                          "retrying"));
        }
        if (!res) {
          return reply_error(
              reply, *req,
              make_error(Errc::kNotLeader, "cannot reach the leader at " + leader + ": " + error));
        }
        reply(std::move(*res));
      });
}

native::ServiceOptions::Component ClusterApi::health_component() const {
  RaftView v = raft_.view();
  const bool cut_off = v.status.role != raft::Role::leader &&
                       monotonic_ms() - v.last_leader_contact_ms > stale_read_bound_ms_;
  const bool no_leader = v.status.leader == raft::kNoNode;
  Json j = {{"status", no_leader || cut_off ? "unhealthy" : "healthy"},
            {"role", raft::to_string(v.status.role)},
            {"term", v.status.term},
            {"leader", v.status.leader},
            {"commit", v.status.commit},
            {"applied", v.status.applied}};
  return {"raft", j.dump(), no_leader || cut_off};
}

void ClusterApi::register_routes(http::Router& router) {
  router.add(routes::kCluster,
             [this](http::RequestPtr req, http::Reply reply) { status(req, reply); });
  router.add(routes::kClusterStatus,
             [this](http::RequestPtr req, http::Reply reply) { status(req, reply); });
  health_->register_routes(router);
  router.add(routes::kClusterTransferLeader,
             [this](http::RequestPtr req, http::Reply reply) { transfer(req, reply); });
  router.add(routes::kClusterMemberAdd,
             [this](http::RequestPtr req, http::Reply reply) { add_member(req, reply); });
  router.add(routes::kClusterMemberRemove,
             [this](http::RequestPtr req, http::Reply reply) { remove_member(req, reply); });
}

void ClusterApi::status(const http::RequestPtr& req, const http::Reply& reply) {
  RaftView v = raft_.view();
  const auto members = raft_.members();
  Json j;
  j["node_id"] = node_id_;
  j["raft_id"] = raft_.id();
  j["role"] = raft::to_string(v.status.role);
  j["term"] = v.status.term;
  j["leader"] = v.status.leader;
  auto leader = members.find(v.status.leader);
  j["leader_http"] = leader == members.end() ? "" : leader->second.http;
  j["commit"] = v.status.commit;
  j["applied"] = v.status.applied;
  j["last_index"] = v.status.last_index;
  j["degraded"] = v.status.role != raft::Role::leader &&
                  monotonic_ms() - v.last_leader_contact_ms > stale_read_bound_ms_;
  j["last_leader_contact_ms_ago"] =
      v.status.role == raft::Role::leader ? 0 : monotonic_ms() - v.last_leader_contact_ms;
  Json list = Json::array();
  auto add = [&](raft::NodeId id, bool voter) {
    Json m = {{"id", id}, {"voter", voter}};
    auto a = members.find(id);
    m["peer"] = a == members.end() ? "" : a->second.peer;
    m["http"] = a == members.end() ? "" : a->second.http;
    list.push_back(std::move(m));
  };
  for (auto id : v.status.conf.voters) add(id, true);
  for (auto id : v.status.conf.learners) add(id, false);
  j["members"] = std::move(list);
  reply_ok(reply, *req, "success", j.dump());
}

void ClusterApi::transfer(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = native::body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto to = body->contains("to") ? parse_id((*body)["to"]) : std::nullopt;
  if (!to) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "to must be a member id (>= 1)", "to"));
  }
  raft_.transfer_leadership(*to, [req, reply, to](Result<Ok, std::string> r) {
    if (!r.ok()) return reply_error(reply, *req, make_error(Errc::kConflict, r.error(), "to"));
    reply_ok(reply, *req, "success", Json{{"to", *to}, {"started", true}}.dump());
  });
}

void ClusterApi::add_member(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = native::body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto id = body->contains("id") ? parse_id((*body)["id"]) : std::nullopt;
  if (!id) return reply_error(reply, *req, make_error(Errc::kBadRequest, "id must be >= 1", "id"));
  auto peer = native::string_field(*body, "peer");
  if (!peer.ok()) return reply_error(reply, *req, peer.error());
  auto http_address = native::string_field(*body, "http");
  if (!http_address.ok()) return reply_error(reply, *req, http_address.error());
  if (raft_.view().status.conf.contains(*id)) {
    return reply_error(
        reply, *req,
        make_error(Errc::kConflict, "node " + std::to_string(*id) + " is already a member", "id"));
  }
  // First the addresses, through the log (every node learns them), then the learner; the
  // leader of the day promotes it once it has caught up.
  const raft::NodeId new_id = *id;
  raft_.replicate_member_address(
      new_id, MemberAddress{*peer, *http_address}, false,
      [this, req, reply, new_id](Result<Ok, std::string> r) {
        if (!r.ok()) {
          return reply_error(
              reply, *req,
              make_error(Errc::kRaft, "recording the addresses of node " + std::to_string(new_id) +
                                          " failed: " + r.error()));
        }
        raft::ConfChange change{raft::ConfChangeType::add_learner, new_id};
        raft_.change_membership(change, [req, reply, new_id](Result<Ok, std::string> added) {
          if (!added.ok()) {
            return reply_error(reply, *req, make_error(Errc::kConflict, added.error(), "id"));
          }
          reply_ok(reply, *req, "success", Json{{"id", new_id}, {"voter", false}}.dump());
        });
      });
}

void ClusterApi::remove_member(const http::RequestPtr& req, const http::Reply& reply) {
  auto text = req->path_param("id");
  uint64_t id = 0;
  try {
    id = std::stoull(std::string(*text));
  } catch (const std::exception&) {
  }
  if (id == 0)
    return reply_error(reply, *req, make_error(Errc::kBadRequest, "bad member id", "id"));
  if (!raft_.view().status.conf.contains(id)) {
    return reply_error(
        reply, *req,
        make_error(Errc::kNotFound, "node " + std::to_string(id) + " is not a member", "id"));
  }
  raft_.change_membership(
      raft::ConfChange{raft::ConfChangeType::remove, id},
      [this, req, reply, id](Result<Ok, std::string> r) {
        if (!r.ok()) {
          return reply_error(reply, *req, make_error(Errc::kConflict, r.error(), "id"));
        }
        // Forget the addresses everywhere (best effort: the member is gone
        // from the configuration either way).
        raft_.replicate_member_address(id, {}, true, [](Result<Ok, std::string>) {});
        reply_ok(reply, *req, "success", Json{{"id", id}}.dump());
      });
}

}  // namespace cairn::server
