// Client reads (seed §3.8.3), the native encoding of core::Core's reads (current values from
// the in-memory index; older versions and `at=` from the ring, Redis or SQLite).

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "api/wire.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

/// format_utc(unix_ms), remembered per thread for the last second asked: a hot key is read with
/// the same updated_at again and again, and formatting it (snprintf) showed in the profile.
const std::string& utc_text(int64_t unix_ms) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local std::string cached;
  const int64_t second = unix_ms / 1000;  // as format_utc rounds
  if (second != cached_second) {
    cached = format_utc(unix_ms);
    cached_second = second;
  }
  return cached;
}

/// The data of a namespace read (api::NamespaceConfigs); a read at an instant also says `at`
/// and `unavailable`.
std::string namespace_data(core::NamespaceValues&& n) {
  api::NamespaceConfigs out;
  out.ns = std::move(n.ns);
  out.configs = std::move(n.configs);
  out.revision = static_cast<int64_t>(n.revision);
  out.updated_at = format_utc(n.updated_at_ms);
  out.secret_keys = std::move(n.secret_keys);
  if (n.at_ms) {
    out.at = format_utc(*n.at_ms);
    out.unavailable = std::move(n.unavailable);
  }
  return api::to_json(out);
}

/// The `at` query parameter (docs/versions.md): RFC 3339 or unix milliseconds; nullopt when
/// absent, 40002 when malformed. A time to the second stands for the whole second.
Result<std::optional<Instant>, api::Error> at_param(const http::Request& req) {
  auto text = req.query_param("at");
  if (!text) return std::optional<Instant>{};
  auto at = parse_instant(*text);
  if (!at) {
    return Unexpected{make_error(
        Errc::kValidation,
        "at must be an RFC 3339 time (2024-01-20T10:00:00Z) or unix milliseconds", "at")};
  }
  return std::optional<Instant>{*at};
}

}  // namespace

void Service::get_config(const http::RequestPtr& req, const http::Reply& reply) {
  auto ns = required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto key = required_param(*req, "key");
  if (!key.ok()) return reply_error(reply, *req, key.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto version = int_param(*req, "version", 1, INT64_MAX);
  if (!version.ok()) return reply_error(reply, *req, version.error());
  auto at = at_param(*req);
  if (!at.ok()) return reply_error(reply, *req, at.error());

  auto client = identity_of(*req);
  if (!client.ok()) return reply_error(reply, *req, client.error());

  auto value = core_.get_config(req->caller, core::GetConfig{*ns, *key, *version, *at});
  // A gray client (docs/releases.md) gets the release's value of a key the release changes;
  // only the current value is gray, never a version or an instant asked for.
  core::ReleasePtr gray = (*version || *at) ? nullptr : gray_release(*ns, *client);
  if (gray) {
    auto change = gray->changes.find(*key);
    if (change == gray->changes.end()) {
      gray = nullptr;
    } else if (value.ok() || value.error().code == Errc::kConfigNotFound) {
      record_sent(*client, *ns, 0, gray);
      if (!change->second) {
        return reply_error(reply, *req,
                           make_error(Errc::kConfigNotFound,
                                      "key '" + *key + "' does not exist in namespace '" + *ns +
                                          "' (gray release " + gray->row.id + ")",
                                      "key"));
      }
      const int64_t stable = value.ok() ? value->version : 0;
      std::string data = api::to_json(api::ConfigValue{
          *ns, *key, *change->second, stable,
          utc_text(value.ok() ? value->updated_at_ms : gray->row.created_at_ms), ""});
      return reply_ok(reply, *req, "success", gray_data(std::move(data), gray));
    }
  }
  if (!value.ok()) return reply_error(reply, *req, value.error());
  if (!*version && !*at) record_sent(*client, *ns, 0, nullptr);
  // Conditional GET (docs/versions.md): the version is the entity tag. Not for a secret: the
  // same version is masked for one token and plain for another, so a cache must neither keep
  // nor revalidate it (docs/secrets.md).
  const bool secret = value->secret;
  if (!secret && !*at && if_none_match(*req, value->version)) {
    http::Response res;
    res.status = 304;
    res.headers.emplace_back("ETag", etag_of(value->version));
    return reply(std::move(res));
  }
  const int64_t answered = value->version;
  // The warning of degraded mode (seed §3.7.5) is in the data when there is one.
  std::string data = api::to_json(
      api::ConfigValue{std::move(value->ns), std::move(value->key), std::move(value->value),
                       answered, utc_text(value->updated_at_ms), std::move(value->warning),
                       value->secret});
  if (secret) return reply_ok(reply, *req, "success", data, {{"Cache-Control", "no-store"}});
  reply_ok(reply, *req, "success", data, {{"ETag", etag_of(answered)}});
}

void Service::batch_get(const http::RequestPtr& req, const http::Reply& reply) {
  auto body = body_object(*req);
  if (!body.ok()) return reply_error(reply, *req, body.error());
  auto ns = string_field(*body, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto keys_it = body->find("keys");
  if (keys_it == body->end() || !keys_it->is_array()) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "keys must be an array of strings", "keys"));
  }
  if (keys_it->empty() || keys_it->size() > api::kMaxBatchOperations) {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "keys must hold 1 to 1000 keys", "keys"));
  }
  std::vector<std::string> keys;
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < keys_it->size(); ++i) {
    const Json& k = (*keys_it)[i];
    std::string field = "keys[" + std::to_string(i) + "]";
    if (!k.is_string()) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest, field + " must be a string", field));
    }
    std::string key = k.get<std::string>();
    if (auto bad = check_key(key, field.c_str()); !bad.ok()) {
      return reply_error(reply, *req, bad.error());
    }
    if (seen.insert(key).second) keys.push_back(std::move(key));
  }

  auto client = identity_of(*req);
  if (!client.ok()) return reply_error(reply, *req, client.error());
  auto values = core_.get_keys(req->caller, *ns, keys);
  if (!values.ok()) return reply_error(reply, *req, values.error());
  core::ReleasePtr gray = gray_release(*ns, *client);
  record_sent(*client, *ns, 0, gray);
  api::BatchGet batch;
  batch.ns = std::move(values->ns);
  batch.configs.reserve(values->configs.size());
  if (!gray) {
    for (auto& c : values->configs) {
      batch.configs.push_back(api::BatchGetItem{std::move(c.key), std::move(c.value), c.version, c.secret});
    }
    batch.missing = std::move(values->missing);
  } else {
    // The keys in the order asked, with the release's values over the stable ones.
    std::map<std::string, core::KeyValues::Item*, std::less<>> found;
    for (auto& c : values->configs) found[c.key] = &c;
    for (const auto& key : keys) {
      auto change = gray->changes.find(key);
      auto stable = found.find(key);
      if (change != gray->changes.end()) {
        if (change->second) {
          int64_t v = stable == found.end() ? 0 : stable->second->version;
          batch.configs.push_back(api::BatchGetItem{key, *change->second, v});
        } else {
          batch.missing.push_back(key);
        }
      } else if (stable != found.end()) {
        auto& c = *stable->second;
        batch.configs.push_back(api::BatchGetItem{c.key, std::move(c.value), c.version, c.secret});
      } else {
        batch.missing.push_back(key);
      }
    }
  }
  std::string data = gray_data(api::to_json(batch), gray);
  reply_ok(reply, *req, "success", data);
}

void Service::get_namespace_configs(const http::RequestPtr& req, const http::Reply& reply) {
  std::string ns(req->path_param("namespace").value_or(""));
  if (auto bad = check_namespace(ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto at = at_param(*req);
  if (!at.ok()) return reply_error(reply, *req, at.error());
  auto client = identity_of(*req);
  if (!client.ok()) return reply_error(reply, *req, client.error());
  auto values = core_.get_namespace(req->caller, ns, *at);
  if (!values.ok()) return reply_error(reply, *req, values.error());
  core::ReleasePtr gray = *at ? nullptr : gray_release(ns, *client);
  if (!*at) record_sent(*client, ns, values->revision, gray);
  if (gray) {
    std::map<std::string, std::string, std::less<>> merged(values->configs.begin(),
                                                           values->configs.end());
    for (const auto& [key, value] : gray->changes) {
      if (value) {
        merged[key] = *value;
      } else {
        merged.erase(key);
      }
    }
    values->configs.assign(merged.begin(), merged.end());
  }
  // `revision` repeats `version` (the namespace revision) under the name acks and watches use
  // (docs/releases.md).
  const uint64_t revision = values->revision;
  std::string data = namespace_data(std::move(*values));
  if (!*at && data.size() > 1 && data.back() == '}') {
    data.pop_back();
    data += ",\"revision\":" + std::to_string(revision) + "}";
  }
  reply_ok(reply, *req, "success", gray_data(std::move(data), gray));
}

}  // namespace cairn::native
