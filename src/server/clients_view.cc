#include "server/clients_view.h"

#include <mutex>

namespace cairn::server {

namespace {

constexpr std::string_view kLocalPath = "/api/v1/clients/local";

struct Gather {
  std::mutex mu;
  std::vector<Json> views;
  Json unreachable = Json::array();
  size_t pending = 0;
  ClientsView::Done done;

  void arrive(std::optional<Json> view, Json failure) {
    {
      std::lock_guard lock(mu);
      if (view) views.push_back(std::move(*view));
      if (!failure.is_null()) unreachable.push_back(std::move(failure));
      if (--pending > 0) return;
    }
    done(std::move(views), std::move(unreachable));
  }
};

}  // namespace

ClientsView::ClientsView(RaftReplicator& raft, int64_t timeout_ms)
    : raft_(raft), client_(std::make_unique<Forwarder>(2, timeout_ms)) {}

void ClientsView::gather(const http::Request* outer, const std::string& query, Done done) {
  const auto addresses = raft_.members();
  const raft::NodeId self = raft_.id();
  const RaftView view = raft_.view();
  std::vector<raft::NodeId> ids(view.status.conf.voters.begin(), view.status.conf.voters.end());
  ids.insert(ids.end(), view.status.conf.learners.begin(), view.status.conf.learners.end());
  std::erase(ids, self);
  if (ids.empty()) return done({}, Json::array());
  auto gather = std::make_shared<Gather>();
  gather->pending = ids.size();
  gather->done = std::move(done);
  for (raft::NodeId id : ids) {
    auto a = addresses.find(id);
    const std::string address = a == addresses.end() ? "" : a->second.http;
    auto failure = [id, address](const std::string& error) {
      return Json{{"id", id}, {"address", address}, {"error", error}};
    };
    if (address.empty()) {
      gather->arrive(std::nullopt, failure("this node does not know the member's HTTP address"));
      continue;
    }
    http::Request inner;
    inner.method = "GET";
    inner.path = std::string(kLocalPath);
    inner.target = inner.path + (query.empty() ? "" : "?" + query);
    std::vector<std::pair<std::string, std::string>> extra;
    if (outer) extra.emplace_back("X-Request-ID", outer->request_id);
    if (peer_auth_) {
      // The member serves it as this node: the caller's grants were checked here, and the
      // leader's release guard has no caller at all (docs/security.md).
      extra.push_back(peer_auth_->sign(PeerPurpose::kMemberRead, inner.method, inner.target, ""));
    } else if (outer) {
      for (const auto& [name, value] : outer->headers) {
        if (name == "authorization" || name == "x-consul-token") inner.headers.emplace_back(name, value);
      }
    }
    client_->forward(inner, address, std::move(extra),
                     [gather, failure](std::optional<http::Response> res, std::string error, bool) {
                       if (!res) return gather->arrive(std::nullopt, failure(error));
                       auto doc = parse_json(res->body, 64);
                       if (res->status != 200 || !doc || !doc->is_object() ||
                           !doc->contains("data") || !(*doc)["data"].is_object() ||
                           !(*doc)["data"].contains("clients")) {
                         std::string what = "HTTP " + std::to_string(res->status);
                         if (doc && doc->is_object() && doc->contains("message") &&
                             (*doc)["message"].is_string()) {
                           what += ": " + (*doc)["message"].get<std::string>();
                         }
                         return gather->arrive(std::nullopt, failure(what));
                       }
                       gather->arrive(std::move((*doc)["data"]["clients"]), nullptr);
                     });
  }
}

}  // namespace cairn::server
