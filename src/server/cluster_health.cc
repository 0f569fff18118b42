#include "server/cluster_health.h"

#include <mutex>
#include <vector>

#include "frontends/native/request.h"
#include "routes/table.h"

namespace cairn::server {

namespace {

constexpr std::string_view kHealthPath = "/api/v1/health";
// Enough for the members of a 5-node cluster at once; more requests queue behind them.
constexpr int kClientThreads = 4;

/// The answers as they arrive; the last one to arrive sends the reply.
struct Gather {
  http::RequestPtr req;
  http::Reply reply;
  Json head;
  std::mutex mu;
  std::vector<Json> entries;  // in member order
  size_t pending = 0;

  void done(size_t i, Json entry) {
    {
      std::lock_guard lock(mu);
      entries[i] = std::move(entry);
      if (--pending > 0) return;
    }
    size_t reachable = 0, healthy = 0;
    Json list = Json::array();
    for (auto& e : entries) {
      reachable += e.value("reachable", false) ? 1 : 0;
      healthy += e.value("status", "") == "healthy" ? 1 : 0;
      list.push_back(std::move(e));
    }
    head["total"] = list.size();
    head["reachable"] = reachable;
    head["healthy"] = healthy;
    head["members"] = std::move(list);
    native::reply_ok(reply, *req, "success", dump_compact(head));
  }
};

http::RequestPtr health_request(const http::Request& outer) {
  auto inner = std::make_shared<http::Request>();
  inner->method = "GET";
  inner->target = std::string(kHealthPath);
  inner->path = std::string(kHealthPath);
  inner->remote_address = outer.remote_address;
  inner->request_id = outer.request_id;
  inner->traceparent = outer.traceparent;
  inner->received_monotonic_ms = outer.received_monotonic_ms;
  return inner;
}

}  // namespace

Json member_health_entry(Json entry, const std::optional<http::Response>& answer,
                         const std::string& error) {
  entry["reachable"] = answer.has_value();
  entry["role"] = nullptr;
  if (!answer) {
    entry["status"] = "unreachable";
    entry["error"] = error.empty() ? "no answer" : error;
    return entry;
  }
  // /api/v1/health answers 200 when healthy and 503 with the same body when not.
  auto doc = parse_json(answer->body, 64);
  const Json* data = nullptr;
  if (doc && doc->is_object() && doc->contains("data") && (*doc)["data"].is_object()) {
    data = &(*doc)["data"];
  }
  if (!data || !data->contains("status")) {
    std::string what = "HTTP " + std::to_string(answer->status);
    if (doc && doc->is_object() && (*doc).contains("message") && (*doc)["message"].is_string()) {
      what += ": " + (*doc)["message"].get<std::string>();
    }
    entry["status"] = "unknown";
    entry["error"] = "not a health answer (" + what + ")";
    return entry;
  }
  entry["status"] = (*data)["status"];
  if (data->contains("components") && (*data)["components"].is_object()) {
    const Json& components = (*data)["components"];
    if (components.contains("raft") && components["raft"].is_object() &&
        components["raft"].contains("role")) {
      entry["role"] = components["raft"]["role"];
    }
  }
  entry["health"] = *data;
  return entry;
}

ClusterHealth::ClusterHealth(RaftReplicator& raft, int64_t timeout_ms)
    : raft_(raft),
      timeout_ms_(timeout_ms),
      client_(std::make_unique<Forwarder>(kClientThreads, timeout_ms)) {}

void ClusterHealth::register_routes(http::Router& router) {
  router_ = &router;
  router.add(routes::kClusterHealth,
             [this](http::RequestPtr req, http::Reply reply) { handle(req, reply); });
}

void ClusterHealth::handle(const http::RequestPtr& req, const http::Reply& reply) {
  const RaftView view = raft_.view();
  const auto addresses = raft_.members();
  const raft::NodeId self = raft_.id();

  auto gather = std::make_shared<Gather>();
  gather->req = req;
  gather->reply = reply;
  gather->head = {{"raft_id", self}, {"leader", view.status.leader}, {"timeout_ms", timeout_ms_}};
  std::vector<Json> entries;
  for (auto id : view.status.conf.voters) entries.push_back({{"id", id}, {"voter", true}});
  for (auto id : view.status.conf.learners) entries.push_back({{"id", id}, {"voter", false}});
  for (auto& e : entries) {
    auto a = addresses.find(e["id"].get<raft::NodeId>());
    e["http"] = a == addresses.end() ? "" : a->second.http;
    e["self"] = e["id"].get<raft::NodeId>() == self;
  }
  gather->entries.resize(entries.size());
  gather->pending = entries.size();
  if (entries.empty()) {
    // Not yet part of a configuration (a node started with join, not added yet).
    gather->pending = 1;
    gather->entries.resize(1);
    Json me = {{"id", self}, {"voter", false}, {"self", true}};
    auto a = addresses.find(self);
    me["http"] = a == addresses.end() ? "" : a->second.http;
    entries.push_back(std::move(me));
  }

  for (size_t i = 0; i < entries.size(); ++i) {
    Json entry = std::move(entries[i]);
    auto inner = health_request(*req);
    if (entry["self"].get<bool>()) {
      // This node's health without a round trip: straight to the /api/v1/health handler.
      router_->dispatch(inner, [gather, i, entry](http::Response res) mutable {
        gather->done(i, member_health_entry(std::move(entry), res, {}));
      });
      continue;
    }
    const std::string address = entry["http"].get<std::string>();
    if (address.empty()) {
      gather->done(i, member_health_entry(std::move(entry), std::nullopt,
                                          "this node does not know the member's HTTP address"));
      continue;
    }
    client_->forward(
        *inner, address, {{"X-Request-ID", req->request_id}},
        [gather, i, entry](std::optional<http::Response> res, std::string error, bool) mutable {
          gather->done(i, member_health_entry(std::move(entry), res, error));
        });
  }
}

}  // namespace cairn::server
