// Handlers of the Apollo config service's routes (routes/apollo.h) over core::Core and
// core::WatchHub.

#include "frontends/apollo/apollo.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/time.h"
#include "frontends/apollo/wire.h"
#include "frontends/text.h"
#include "routes/apollo.h"

namespace cairn::apollo {
namespace {

using api::Errc;

http::Response text_response(int status, std::string content_type, std::string body) {
  http::Response res;
  res.status = status;
  res.content_type = std::move(content_type);
  res.body = std::move(body);
  return res;
}

void reply_apollo_error(const http::Request& req, const http::Reply& reply, int status,
                        std::string message) {
  http::Response res;
  res.status = status;
  render_error(
      req, api::make_error(status == 400 ? Errc::kBadRequest : Errc::kNotFound, std::move(message)),
      res);
  res.status = status;
  reply(std::move(res));
}

/// The path segments every read names.
struct Address {
  std::string app_id;
  std::string cluster;
  std::string namespace_name;  // as the client gave it
  std::string ns;              // the Cairn namespace
};

Address address_of(const http::Request& req) {
  Address a;
  a.app_id = std::string(req.path_param("appId").value_or(""));
  a.cluster = std::string(req.path_param("cluster").value_or(""));
  a.namespace_name = std::string(req.path_param("namespaceName").value_or(""));
  a.ns = namespace_of(a.namespace_name);
  return a;
}

bool label_text_ok(std::string_view v) {
  return !v.empty() && v.size() <= 63 && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

/// An Apollo client as the registry knows it (docs/releases.md): "apollo:<appId>@<ip>", labels
/// app, cluster and apollo.label (when they are valid label values), the `ip` parameter when
/// the client sends one, else the caller's address.
core::ClientIdentity apollo_identity(const http::Request& req, const Address& a) {
  core::ClientIdentity c;
  c.protocol = "apollo";
  c.ip = http::client_ip(req);
  if (auto ip = req.query_param("ip"); ip && !ip->empty() && ip->size() <= 64 &&
                                         std::all_of(ip->begin(), ip->end(), [](char ch) {
                                           return std::isxdigit(static_cast<unsigned char>(ch)) ||
                                                  ch == '.' || ch == ':';
                                         })) {
    c.ip = std::string(*ip);
  }
  c.id = "apollo:" + a.app_id.substr(0, 64) + "@" + c.ip;
  if (label_text_ok(a.app_id)) c.labels.emplace_back("app", a.app_id);
  if (label_text_ok(a.cluster)) c.labels.emplace_back("cluster", a.cluster);
  if (auto label = req.query_param("label"); label && label_text_ok(*label)) {
    c.labels.emplace_back("apollo.label", std::string(*label));
  }
  std::sort(c.labels.begin(), c.labels.end());
  return c;
}

/// The namespace's enabled keys and revision; or the error reply already sent (404 for an
/// unknown, disabled or badly named namespace, 403 without read on it).
std::optional<core::NamespaceValues> read_namespace(core::Core& core, const http::Request& req,
                                                    const http::Reply& reply, const Address& a,
                                                    core::ClientRegistry* clients = nullptr) {
  auto values = core.get_namespace(req.caller, a.ns, std::nullopt);
  if (values.ok() && clients) clients->sent(apollo_identity(req, a), a.ns, values->revision, "");
  if (values.ok()) return std::move(*values);
  const api::Error& e = values.error();
  if (e.code == Errc::kForbidden || e.code == Errc::kUnauthorized || e.http_status() >= 500) {
    reply(http::error_response(req, e));
    return std::nullopt;
  }
  reply_apollo_error(req, reply, 404,
                     "Could not load configurations with appId: " + a.app_id +
                         ", clusterName: " + a.cluster + ", namespace: " + a.namespace_name);
  return std::nullopt;
}

void configs(core::Core& core, const http::RequestPtr& req, const http::Reply& reply,
             core::ClientRegistry* clients) {
  const Address a = address_of(*req);
  auto values = read_namespace(core, *req, reply, a, clients);
  if (!values) return;
  const std::string key = release_key(values->revision);
  if (auto client = req->query_param("releaseKey"); client && *client == key) {
    return reply(text_response(304, "", ""));
  }
  reply(text_response(200, "application/json;charset=UTF-8",
                      config_json(a.app_id, a.cluster, a.namespace_name, values->configs, key)));
}

enum class FileKind { kProperties, kJson, kRaw };

void configfiles(core::Core& core, FileKind kind, const http::RequestPtr& req,
                 const http::Reply& reply, core::ClientRegistry* clients) {
  const Address a = address_of(*req);
  auto values = read_namespace(core, *req, reply, a, clients);
  if (!values) return;
  switch (kind) {
    case FileKind::kJson:
      return reply(text_response(200, "application/json;charset=UTF-8",
                                 configurations_json(values->configs)));
    case FileKind::kProperties:
      return reply(
          text_response(200, "text/plain;charset=UTF-8", properties_text(values->configs)));
    case FileKind::kRaw: {
      const Format format = format_of(a.namespace_name);
      if (format == Format::kProperties) {
        return reply(
            text_response(200, "text/plain;charset=UTF-8", properties_text(values->configs)));
      }
      for (const auto& [k, stored] : values->configs) {
        if (k == "content") {
          return reply(text_response(200, std::string(raw_content_type(format)),
                                     frontends::value_bytes(stored)));
        }
      }
      // Apollo answers a document namespace without content as not found.
      return reply_apollo_error(*req, reply, 404,
                                "Could not load configurations with appId: " + a.app_id +
                                    ", clusterName: " + a.cluster +
                                    ", namespace: " + a.namespace_name);
    }
  }
}

/// One /notifications/v2 poll: the namespaces it watches and the answer, given once.
struct Poll {
  core::Core* core = nullptr;
  core::WatchHub* hub = nullptr;
  http::RequestPtr req;
  http::Reply reply;
  std::string app_id;
  std::string cluster;
  std::vector<Watched> watched;

  std::mutex mu;
  bool done = false;
  std::vector<uint64_t> held;  // the hub's poll ids

  /// Namespaces whose notificationId is past the client's, with their ids; `revisions` gets
  /// each watched namespace's revision (0: absent, disabled or unreadable).
  std::vector<Notification> moved(std::vector<uint64_t>* revisions) const {
    std::vector<Notification> out;
    for (const Watched& w : watched) {
      uint64_t revision = 0;
      if (auto values = core->get_namespace(req->caller, w.ns, std::nullopt); values.ok()) {
        revision = values->revision;
        const int64_t id = notification_id(revision);
        if (id > w.notification_id) out.push_back(Notification{w.namespace_name, id});
      }
      if (revisions) revisions->push_back(revision);
    }
    return out;
  }

  void answer(const std::vector<Notification>& notifications) {
    if (notifications.empty()) return reply(text_response(304, "", ""));
    reply(text_response(200, "application/json;charset=UTF-8",
                        notifications_json(app_id, cluster, notifications)));
  }

  /// The first hub answer wins; the other held polls are forgotten.
  void finish(const core::WatchAnswer& hub_answer) {
    std::vector<uint64_t> ids;
    {
      std::lock_guard lock(mu);
      if (done) return;
      done = true;
      ids.swap(held);
    }
    for (uint64_t id : ids) hub->cancel(id);
    req->cancellation->clear();
    // A timeout or shutdown: nothing moved (and the core may be stopping).
    if (!hub_answer.changed && !hub_answer.reset) return answer({});
    answer(moved(nullptr));
  }

  void cancel_all() {
    std::vector<uint64_t> ids;
    {
      std::lock_guard lock(mu);
      done = true;
      ids.swap(held);
    }
    for (uint64_t id : ids) hub->cancel(id);
  }
};

void notifications(core::Core& core, core::WatchHub* hub, const Options& options,
                   const http::RequestPtr& req, const http::Reply& reply) {
  auto app_id = req->query_param("appId");
  auto cluster = req->query_param("cluster");
  auto given = req->query_param("notifications");
  if (!app_id || app_id->empty()) {
    return reply_apollo_error(*req, reply, 400, "Required String parameter 'appId' is not present");
  }
  if (!cluster || cluster->empty()) {
    return reply_apollo_error(*req, reply, 400,
                              "Required String parameter 'cluster' is not present");
  }
  if (!given) {
    return reply_apollo_error(*req, reply, 400,
                              "Required String parameter 'notifications' is not present");
  }
  auto watched = parse_notifications(*given);
  if (!watched.ok()) return reply_apollo_error(*req, reply, 400, watched.error());

  // A namespace the token may not read is refused as on the native API.
  for (const Watched& w : *watched) {
    if (auto error = core.readable_namespace(req->caller, w.ns);
        error && error->code != Errc::kNamespaceNotFound) {
      return reply(http::error_response(*req, *error));
    }
  }

  auto poll = std::make_shared<Poll>();
  poll->core = &core;
  poll->hub = hub;
  poll->req = req;
  poll->reply = reply;
  poll->app_id = std::string(*app_id);
  poll->cluster = std::string(*cluster);
  poll->watched = std::move(*watched);

  // Changes after `start` wake the polls of namespaces that do not exist yet.
  const uint64_t start = hub ? hub->revision() : 0;
  std::vector<uint64_t> revisions;
  auto moved = poll->moved(&revisions);
  const int64_t hold_ms = req->head ? 0 : options.hold_ms;
  if (!moved.empty() || !hub || hold_ms <= 0) return poll->answer(moved);

  req->cancellation->on_cancel([poll] { poll->cancel_all(); });
  for (size_t i = 0; i < poll->watched.size(); ++i) {
    const uint64_t from = revisions[i] ? revisions[i] : start;
    const uint64_t id = hub->poll(poll->watched[i].ns, from, {}, hold_ms,
                                  [poll](const core::WatchAnswer& a) { poll->finish(a); });
    if (!id) continue;
    std::unique_lock lock(poll->mu);
    if (poll->done) {
      lock.unlock();
      hub->cancel(id);
    } else {
      poll->held.push_back(id);
    }
  }
}

}  // namespace

void render_error(const http::Request& req, const api::Error& error, http::Response& res) {
  res.content_type = "application/json;charset=UTF-8";
  std::string message =
      error.details.empty() ? std::string(api::error_info(error.code).message) : error.details;
  res.body = error_json(res.status, message, req.path, wall_clock_ms());
}

void register_routes(http::Router& router, core::Core& core, core::WatchHub* hub, Options options) {
  core::Core* c = &core;
  core::ClientRegistry* r = options.clients;
  router.add(
      routes::kApolloConfigs,
      [c, r](http::RequestPtr req, http::Reply reply) { configs(*c, req, reply, r); },
      render_error);
  router.add(
      routes::kApolloConfigFilesJson,
      [c, r](http::RequestPtr req, http::Reply reply) {
        configfiles(*c, FileKind::kJson, req, reply, r);
      },
      render_error);
  router.add(
      routes::kApolloConfigFilesRaw,
      [c, r](http::RequestPtr req, http::Reply reply) {
        configfiles(*c, FileKind::kRaw, req, reply, r);
      },
      render_error);
  router.add(
      routes::kApolloConfigFiles,
      [c, r](http::RequestPtr req, http::Reply reply) {
        configfiles(*c, FileKind::kProperties, req, reply, r);
      },
      render_error);
  router.add(
      routes::kApolloNotifications,
      [c, hub, options](http::RequestPtr req, http::Reply reply) {
        notifications(*c, hub, options, req, reply);
      },
      render_error);
}

}  // namespace cairn::apollo
