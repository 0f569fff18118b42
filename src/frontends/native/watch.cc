// Watch (docs/watch.md): long polls and SSE streams over core::WatchHub (encoded by watch_sse.cc).

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "frontends/native/watch_sse.h"
#include "secrets/sealed.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

/// A held long poll: what its answer needs — the request (for the envelope, the caller and the
/// client's identity), the Reply, the namespace and whether values were asked for — and the
/// client registry's count of it, which ends with it. One allocation per held poll.
struct Service::HeldPoll {
  const Service* service;
  http::RequestPtr req;
  http::Reply reply;
  std::string ns;
  bool values;
  core::ClientRegistry* registry;
  std::string client_id;
  HeldPoll(const Service* s, http::RequestPtr r, http::Reply y, std::string n, bool v,
           core::ClientRegistry* c, std::string id)
      : service(s), req(std::move(r)), reply(std::move(y)), ns(std::move(n)), values(v),
        registry(c), client_id(std::move(id)) {}
  HeldPoll(const HeldPoll&) = delete;
  HeldPoll& operator=(const HeldPoll&) = delete;
  ~HeldPoll() {
    if (registry) registry->watch_ended(client_id, ns);
  }
};

namespace {

struct WatchParams {
  std::string ns;
  std::optional<uint64_t> revision;
  core::WatchFilter filter;
  bool values = false;
  int64_t timeout_ms = 0;
};

Result<bool, api::Error> bool_param(const http::Request& req, std::string_view name) {
  auto v = req.query_param(name);
  if (!v || *v == "false" || *v == "0") return false;
  if (*v == "true" || *v == "1" || v->empty()) return true;
  return Unexpected{make_error(Errc::kBadRequest,
                               std::string(name) + " must be true or false", std::string(name))};
}

/// Parses what both endpoints share. `revision` may also come from Last-Event-ID (streams).
Result<WatchParams, api::Error> parse_params(const http::Request& req, bool stream) {
  WatchParams p;
  auto ns = required_param(req, "namespace");
  if (!ns.ok()) return Unexpected{ns.error()};
  if (auto bad = check_namespace(*ns); !bad.ok()) return Unexpected{bad.error()};
  p.ns = std::move(*ns);

  auto revision = int_param(req, "revision", 0, INT64_MAX);
  if (!revision.ok()) return Unexpected{revision.error()};
  if (*revision) {
    p.revision = static_cast<uint64_t>(**revision);
  } else if (const std::string* last = req.header("last-event-id"); stream && last) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(last->c_str(), &end, 10);
    const bool digits =
        !last->empty() && last->find_first_not_of("0123456789") == std::string::npos;
    if (digits && errno == ERANGE) {  // a revision, but beyond 64 bits: out of range
      return Unexpected{make_error(Errc::kValidation, "Last-Event-ID is beyond any revision",
                                   "Last-Event-ID")};
    }
    if (!digits || *end != '\0' || errno != 0) {
      return Unexpected{make_error(Errc::kBadRequest, "Last-Event-ID must be a revision",
                                   "Last-Event-ID")};
    }
    p.revision = v;
  } else if (!stream) {
    return Unexpected{
        make_error(Errc::kBadRequest, "missing required parameter: revision", "revision")};
  }

  auto keys = req.query_param("keys");
  auto prefix = req.query_param("prefix");
  if (keys && prefix) {
    return Unexpected{make_error(Errc::kValidation, "give keys or prefix, not both", "prefix")};
  }
  if (keys) {
    std::string_view rest = *keys;
    while (true) {
      size_t comma = rest.find(',');
      std::string key(rest.substr(0, comma));
      if (auto bad = check_key(key, "keys"); !bad.ok()) return Unexpected{bad.error()};
      p.filter.keys.push_back(std::move(key));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (p.filter.keys.size() > 1000) {
      return Unexpected{make_error(Errc::kValidation, "at most 1000 keys", "keys")};
    }
    std::sort(p.filter.keys.begin(), p.filter.keys.end());
    p.filter.keys.erase(std::unique(p.filter.keys.begin(), p.filter.keys.end()),
                        p.filter.keys.end());
  } else if (prefix) {
    if (prefix->size() > 256) {
      return Unexpected{make_error(Errc::kValidation, "prefix is longer than a key", "prefix")};
    }
    p.filter.prefix = std::string(*prefix);
  }

  auto values = bool_param(req, "include_values");
  if (!values.ok()) return Unexpected{values.error()};
  p.values = *values;
  return p;
}

}  // namespace

/// The namespace must exist and be enabled: 40402 otherwise (as for reads).
void Service::watch(const http::RequestPtr& req, const http::Reply& reply) {
  auto params = parse_params(*req, /*stream=*/false);
  if (!params.ok()) return reply_error(reply, *req, params.error());
  const core::WatchOptions& options = watch_->options();
  int64_t timeout_ms = options.default_timeout_ms;
  if (auto t = req->query_param("timeout")) {
    timeout_ms = parse_duration_ms(std::string(*t));
    if (timeout_ms < 0) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest,
                                    "timeout must be a duration such as 30s or 500ms", "timeout"));
    }
  }
  timeout_ms = std::min(timeout_ms, options.max_timeout_ms);
  if (req->head) timeout_ms = 0;  // HEAD holds nothing: the answer a poll would give now
  if (auto error = core_.readable_namespace(req->caller, params->ns)) return reply_error(reply, *req, *error);

  auto client = identity_of(*req);
  if (!client.ok()) return reply_error(reply, *req, client.error());

  // The client counts as watching while the poll is held (until HeldPoll goes).
  record_sent(*client, params->ns, 0, nullptr, +1);
  // Made in place: a temporary HeldPoll would tell the registry at once that the watch ended.
  auto held = std::make_shared<HeldPoll>(this, req, reply, params->ns, params->values,
                                         options_.clients, client->id);
  // The callback holds one shared pointer: std::function keeps that without an allocation.
  poll_watch(*watch_, params->ns, *params->revision, std::move(params->filter), timeout_ms,
             [held](const core::WatchAnswer& answer) { held->service->answer_poll(held, answer); },
             req->cancellation);
}

/// The poll's answer data (the envelope's `data`), given its gray release: encoded once for all
/// the polls given the same answer (SharedEncodings) unless this one's differs from theirs (a
/// gray release, or secret values it may see in plain, whose reveal is audited per caller).
std::shared_ptr<const std::string> Service::poll_data(const HeldPoll& held,
                                                      const core::WatchAnswer& answer,
                                                      const core::ReleasePtr& gray) const {
  const api::Principal& caller = held.req->caller;
  if (gray) {
    // Gray releases (docs/releases.md): the release as it is now decides what this client
    // sees of the keys it changes.
    core::WatchAnswer overlaid = answer;
    overlay_gray(gray.get(), overlaid.changes);
    return std::make_shared<const std::string>(
        gray_data(watch_answer_json(held.ns, overlaid, value_fn(caller, held.values)), gray));
  }
  auto encode = [&] { return watch_answer_json(held.ns, answer, value_fn(caller, held.values)); };
  if (!answer.shared || (held.values && caller.reveals(held.ns))) {
    return std::make_shared<const std::string>(encode());
  }
  return answer.shared->get(held.values ? kPollDataValuesMasked : kPollData, encode);
}

/// Runs where the hub answers (the apply thread, for a change): the client's gray release and
/// the shared data. The rest (the registry, the envelope, the middlewares' work and the write)
/// is posted to the poll's connection thread, so that ten thousand answers are not built one
/// after the other on the apply thread.
void Service::answer_poll(const std::shared_ptr<HeldPoll>& held,
                          const core::WatchAnswer& answer) const {
  const http::Request& req = *held->req;
  // Checked when the poll was held; derived again rather than kept with every held poll.
  auto client = identity_of(req);
  if (!client.ok()) return reply_error(held->reply, req, client.error());
  core::ReleasePtr gray = gray_release(held->ns, *client);
  auto send = [this, held, client = std::move(*client), gray,
               data = poll_data(*held, answer, gray), revision = answer.revision] {
    record_sent(client, held->ns, revision, gray);
    reply_ok(held->reply, *held->req, "success", *data);
  };
  // A stopped server drops the work (and would drop the answer).
  if (auto loop = req.loop.lock()) {
    loop->post(std::move(send));
  } else {
    send();
  }
}

ValueFn Service::value_fn(const api::Principal& caller, bool values) const {
  if (!values) return {};
  return [this, caller](const core::WatchEvent& e, bool* secret) -> std::optional<std::string> {
    if (!e.value) return std::nullopt;
    auto shown = core_.present(caller, e.ns, e.key, e.version, *e.value, secret);
    // A secret this node cannot open is never sent as its ciphertext (docs/secrets.md).
    if (!shown.ok()) {
      *secret = true;
      return std::string(secrets::kMask);
    }
    return std::move(*shown);
  };
}

void Service::watch_stream(const http::RequestPtr& req, const http::Reply& reply) {
  auto params = parse_params(*req, /*stream=*/true);
  if (!params.ok()) return reply_error(reply, *req, params.error());
  if (auto error = core_.readable_namespace(req->caller, params->ns)) return reply_error(reply, *req, *error);
  const uint64_t revision = params->revision ? *params->revision : watch_->revision();
  auto client = identity_of(*req);
  if (!client.ok()) return reply_error(reply, *req, client.error());
  GrayHooks gray;
  {
    record_sent(*client, params->ns, 0, nullptr, +1);
    std::string ns = params->ns;
    gray.release = [this, ns, client = *client](uint64_t revision) {
      core::ReleasePtr release = gray_release(ns, client);
      record_sent(client, ns, revision, release);
      return release;
    };
    core::ClientRegistry* registry = options_.clients;
    gray.ended = [registry, ns, id = client->id] {
      if (registry) registry->watch_ended(id, ns);
    };
  }

  http::Response res;
  res.content_type = "text/event-stream; charset=utf-8";
  res.headers.emplace_back("Cache-Control", "no-cache");
  res.headers.emplace_back("X-Accel-Buffering", "no");  // nginx: do not buffer the stream
  res.headers.emplace_back("X-Request-ID", req->request_id);
  res.on_stream = [this, req, revision, params = std::move(*params),
                   gray = std::move(gray)](http::StreamPtr w) mutable {
    const bool values_alike = !(params.values && req->caller.reveals(params.ns));
    stream_watch(*watch_, params.ns, revision, std::move(params.filter),
                 value_fn(req->caller, params.values), std::move(w), req->cancellation,
                 std::move(gray), values_alike);
  };
  reply(std::move(res));
}

}  // namespace cairn::native
