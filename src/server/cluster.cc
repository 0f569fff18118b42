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

// How long GET /api/v1/cluster/health waits for each member: short, so that a dead or paused
// member costs the page a second at most.
constexpr int64_t kMemberHealthTimeoutMs = 1'000;

bool is_strong_read(const http::Request& req) {
  auto c = req.query_param("consistency");
  if (req.method == "GET" && req.path.starts_with("/v1/kv/") && req.query_param("consistent")) {
    return true;  // Consul's ?consistent (docs/compat.md)
  }
  return req.method == "GET" && c && *c == "strong";
}

std::optional<uint64_t> parse_id(const Json& v) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > 0) return v.get<uint64_t>();
  return std::nullopt;
}

}  // namespace

ClusterApi::ClusterApi(RaftReplicator& raft, std::string node_id, int64_t stale_read_bound_ms,
                       ForwardTiming forwarding)
    : raft_(raft),
      node_id_(std::move(node_id)),
      stale_read_bound_ms_(stale_read_bound_ms),
      forwarder_(std::make_unique<Forwarder>(16, forwarding,
                                             [&raft] { return raft.leader_target(); })),
      health_(std::make_unique<ClusterHealth>(raft, kMemberHealthTimeoutMs)) {}

http::Middleware ClusterApi::middleware() {
  return [this](http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    const bool write = is_write(*req);
    const bool strong = !write && is_strong_read(*req);
    if (!write && !strong) {
      if (marks_degraded(*req) && !raft_.is_leader() &&
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
        if (error) return http::reply_error(*req, reply, *error);
        next(req, reply);
      });
      return;
    }
    forward(req, reply);
  };
}

void ClusterApi::forward(const http::RequestPtr& req, const http::Reply& reply) {
  if (req->header(kForwardedMark)) {
    // Forwarded to us by a member (PeerAuth verified it), but we are not the leader (any
    // more): no second hop.
    return http::reply_error(
        *req, reply, make_error(Errc::kNotLeader, "the forwarding target is no longer the leader"));
  }
  // The client span of the hop; the leader's server span becomes its child. While no leader is
  // known the forwarder waits for one (bounded), and it re-sends what provably did not reach one.
  auto span =
      std::make_shared<telemetry::ChildSpan>("forward to leader", telemetry::SpanKind::kClient);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"X-Request-ID", req->request_id},
      {"traceparent",
       span->active() ? telemetry::format_traceparent(span->context().ctx) : req->traceparent}};
  if (peer_auth_) {
    headers.push_back(
        peer_auth_->sign(PeerPurpose::kForward, req->method, req->target, req->body));
  }
  forwarder_->forward_to_leader(
      *req, std::move(headers),
      [req, reply, span](std::optional<http::Response> res, std::string error, bool sent,
                         const std::string& leader) {
        if (!leader.empty()) span->attribute("cairn.leader", leader);
        if (!res || res->status >= 500) span->set_error();
        span->finish();
        if (!res && sent) {
          return http::reply_error(
              *req, reply,
              make_error(Errc::kRaft, "the leader at " + leader + " did not answer (" + error +
                                          "); the write may still commit: read it back before "
                                          "retrying"));
        }
        if (!res) {
          return http::reply_error(
              *req, reply,
              make_error(Errc::kNotLeader,
                         leader.empty() ? error + "; retry shortly"
                                        : "cannot reach the leader at " + leader + ": " + error));
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

void ClusterApi::register_routes(http::Router& router, core::Core& core) {
  auto with_core = [this, &core](auto method) {
    return [this, &core, method](http::RequestPtr req, http::Reply reply) {
      (this->*method)(core, req, reply);
    };
  };
  router.add(routes::kCluster, with_core(&ClusterApi::status));
  router.add(routes::kClusterStatus, with_core(&ClusterApi::status));
  health_->register_routes(router);
  router.add(routes::kClusterTransferLeader, with_core(&ClusterApi::transfer));
  router.add(routes::kClusterMemberAdd, with_core(&ClusterApi::add_member));
  router.add(routes::kClusterMemberRemove, with_core(&ClusterApi::remove_member));
}

namespace {

/// Answers a membership call's outcome: `data` on success, the error otherwise.
core::Cluster::Done answer(const http::RequestPtr& req, const http::Reply& reply, Json data) {
  return [req, reply, data = std::move(data)](Result<Ok, api::Error> r) {
    if (!r.ok()) return reply_error(reply, *req, r.error());
    reply_ok(reply, *req, "success", data.dump());
  };
}

}  // namespace

void ClusterApi::status(core::Core& core, const http::RequestPtr& req, const http::Reply& reply) {
  auto view = core.cluster_view(req->caller);
  if (!view.ok()) return reply_error(reply, *req, view.error());
  Json j;
  j["node_id"] = node_id_;
  j["raft_id"] = view->raft_id;
  j["role"] = view->role;
  j["term"] = view->term;
  j["leader"] = view->leader;
  j["leader_http"] = view->leader_http;
  j["commit"] = view->commit;
  j["applied"] = view->applied;
  j["last_index"] = view->last_index;
  j["degraded"] = view->cut_off;
  j["last_leader_contact_ms_ago"] = view->last_leader_contact_ms_ago;
  Json list = Json::array();
  for (const auto& m : view->members) {
    list.push_back(Json{{"id", m.id}, {"voter", m.voter}, {"peer", m.peer}, {"http", m.http}});
  }
  j["members"] = std::move(list);
  reply_ok(reply, *req, "success", j.dump());
}

void ClusterApi::transfer(core::Core& core, const http::RequestPtr& req, const http::Reply& reply) {
  auto body = native::body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto to = body->contains("to") ? parse_id((*body)["to"]) : std::nullopt;
  if (!to) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "to must be a member id (>= 1)", "to"));
  }
  core.transfer_leader(req->caller, *to, answer(req, reply, Json{{"to", *to}, {"started", true}}));
}

void ClusterApi::add_member(core::Core& core, const http::RequestPtr& req,
                            const http::Reply& reply) {
  auto body = native::body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto id = body->contains("id") ? parse_id((*body)["id"]) : std::nullopt;
  if (!id) return reply_error(reply, *req, make_error(Errc::kBadRequest, "id must be >= 1", "id"));
  auto peer = native::string_field(*body, "peer");
  if (!peer.ok()) return reply_error(reply, *req, peer.error());
  auto http_address = native::string_field(*body, "http");
  if (!http_address.ok()) return reply_error(reply, *req, http_address.error());
  bool voter = true;
  if (auto v = body->find("voter"); v != body->end()) {
    if (!v->is_boolean()) {
      return reply_error(reply, *req, make_error(Errc::kBadRequest, "voter must be a boolean", "voter"));
    }
    voter = v->get<bool>();
  }
  // It starts as a learner either way; `promote` says whether the leader promotes it once it
  // has caught up (false: a non-voting member for good, docs/scaling.md).
  core.add_member(req->caller, *id, std::move(*peer), std::move(*http_address), voter,
                  answer(req, reply, Json{{"id", *id}, {"voter", false}, {"promote", voter}}));
}

void ClusterApi::remove_member(core::Core& core, const http::RequestPtr& req,
                               const http::Reply& reply) {
  auto text = req->path_param("id");
  uint64_t id = 0;
  try {
    id = std::stoull(std::string(*text));
  } catch (const std::exception&) {
  }
  if (id == 0)
    return reply_error(reply, *req, make_error(Errc::kBadRequest, "bad member id", "id"));
  core.remove_member(req->caller, id, answer(req, reply, Json{{"id", id}}));
}

}  // namespace cairn::server
