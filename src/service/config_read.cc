// Client reads (seed §3.8.3): served from the in-memory index, never from SQLite, except for a
// `version=` that is not the current one.

#include <cstdint>
#include <set>
#include <string>

#include "common/time.h"
#include "service/request.h"
#include "service/service.h"

namespace cairn::service {

using api::Errc;
using api::make_error;

namespace {

api::Error namespace_not_found(const std::string& ns) {
  return make_error(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist",
                    "namespace");
}

api::Error namespace_disabled(const std::string& ns) {
  return make_error(Errc::kNamespaceNotFound, "namespace '" + ns + "' is disabled", "namespace");
}

api::Error config_not_found(const std::string& ns, const std::string& key) {
  return make_error(Errc::kConfigNotFound,
                    "config '" + key + "' does not exist in namespace '" + ns + "'", "key");
}

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

void append_config_data(std::string& out, const std::string& ns, const std::string& key,
                        std::string_view value, int64_t version, int64_t updated_at_ms) {
  out.reserve(out.size() + ns.size() + key.size() + value.size() + 96);  // one allocation
  out += R"({"namespace":)";
  append_json_string(out, ns);
  out += R"(,"key":)";
  append_json_string(out, key);
  out += R"(,"value":)";
  out += value;
  out += R"(,"version":)";
  out += std::to_string(version);
  out += R"(,"updated_at":")";
  out += utc_text(updated_at_ms);
  out += R"("})";
}

/// The data of a namespace read without its closing brace: `{"namespace":…,"configs":{key:
/// value,…},"version":…,"updated_at":"…"`. `configs` holds (key, row) pairs; rows with status 0
/// are left out.
template <class Configs>
void append_namespace_data(std::string& out, const std::string& ns, const Configs& configs,
                           uint64_t revision, int64_t updated_at_ms) {
  out.reserve(out.size() + 64 + configs.size() * 64);
  out += R"({"namespace":)";
  append_json_string(out, ns);
  out += R"(,"configs":{)";
  bool first = true;
  for (const auto& [key, c] : configs) {
    if (c.status == 0) continue;
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    out += c.value;
  }
  out += R"(},"version":)";
  out += std::to_string(revision);
  out += R"(,"updated_at":")";
  out += format_utc(updated_at_ms);
  out += '"';
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

void Service::get_config_at(const http::RequestPtr& req, const http::Reply& reply,
                            const std::string& ns, const std::string& key, const Instant& at) {
  if (auto hidden = hidden_from_clients(ns, key, nullptr)) {
    return reply_error(reply, *req, *hidden);
  }
  auto row = store_.version_at(ns, key, at.last_ms());
  if (!row.ok()) return reply_error(reply, *req, row.error());
  std::string data;
  append_config_data(data, ns, key, row->value, row->version, row->created_at_ms);
  reply_ok(reply, *req, "success", data, {{"ETag", etag_of(row->version)}});
}

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
  if (*at) {
    if (*version) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest, "give version or at, not both", "at"));
    }
    return get_config_at(req, reply, *ns, *key, **at);
  }

  std::optional<api::Error> error;
  std::string data;
  bool need_store = false;
  int64_t answered = 0;  // the version in the answer: its ETag
  bool found = index_.read_namespace(*ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(*ns);
      return;
    }
    auto it = entry.configs.find(*key);
    if (it == entry.configs.end()) {
      // A deleted key's older versions stay readable by number.
      if (*version) {
        need_store = true;
      } else {
        error = config_not_found(*ns, *key);
      }
      return;
    }
    const cache::ConfigEntry& c = it->second;
    if (c.status == 0) {
      error = make_error(Errc::kConfigNotFound,
                         "config '" + *key + "' is disabled in namespace '" + *ns + "'", "key");
      return;
    }
    if (!*version || **version == c.version) {
      answered = c.version;
      append_config_data(data, *ns, *key, c.value, c.version, c.updated_at_ms);
    } else {
      need_store = true;
    }
  });
  auto* probe = options_.cache_probe;
  if (probe) probe->record(cache::CacheType::kLocal, found && !need_store && !error);
  if (!found) return reply_error(reply, *req, namespace_not_found(*ns));
  if (error) return reply_error(reply, *req, *error);
  if (need_store) {
    // An older version: the ring of recent versions, then the Redis tier, then SQLite
    // (DESIGN.md §2, docs/cache.md).
    const int64_t wanted = **version;
    std::optional<cache::RingVersion> ring;
    if (options_.version_ring) {
      ring = options_.version_ring->find(*ns, *key, wanted);
      if (probe) probe->record(cache::CacheType::kVersionRing, ring.has_value());
    }
    std::optional<std::string> remote;
    if (!ring && options_.version_lookup) {
      remote = options_.version_lookup(*ns, *key, wanted);
      if (probe) probe->record(cache::CacheType::kRedis, remote.has_value());
    }
    std::optional<Json> remote_json;
    if (remote) remote_json = parse_json(*remote, api::kMaxValueDepth + 2);
    // Degraded (seed §3.7.5): say when the version is not among the last ones kept in memory.
    std::string warning;
    if (!ring && options_.database_down && options_.database_down()) {
      warning = "version " + std::to_string(wanted) + " is not among the last " +
                std::to_string(cache::VersionRing::kSize) +
                " versions this node keeps in memory, and its database is unavailable";
    }
    if (ring) {
      append_config_data(data, *ns, *key, ring->value, ring->version, ring->created_at_ms);
    } else if (remote_json && remote_json->is_object() && remote_json->contains("value") &&
               (*remote_json)["version"] == wanted) {
      // The value's own text, not a re-serialisation: numbers keep their digits (item 10).
      auto raw = json_member_text(*remote, "value");
      append_config_data(data, *ns, *key,
                         raw ? compact_json_text(*raw) : dump_compact((*remote_json)["value"]),
                         wanted, remote_json->value("created_at_ms", int64_t{0}));
    } else {
      auto row = store_.get_version(*ns, *key, wanted);
      if (!row.ok()) {
        api::Error e = row.error();
        if (!warning.empty()) e.details = warning + ": " + e.details;
        return reply_error(reply, *req, e);
      }
      append_config_data(data, *ns, *key, row->value, row->version, row->created_at_ms);
      if (options_.version_filled) {
        options_.version_filled(*ns, *key, row->version, row->value, row->created_at_ms);
      }
    }
    if (!warning.empty() && !data.empty() && data.back() == '}') {
      data.pop_back();
      data += R"(,"warning":)";
      append_json_string(data, warning);
      data += '}';
    }
    answered = wanted;
  }
  // Conditional GET (docs/versions.md): the version is the entity tag.
  if (if_none_match(*req, answered)) {
    http::Response res;
    res.status = 304;
    res.headers.emplace_back("ETag", etag_of(answered));
    return reply(std::move(res));
  }
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

  std::optional<api::Error> error;
  std::string data;
  bool found = index_.read_namespace(*ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(*ns);
      return;
    }
    std::string configs = "[";
    std::string missing = "[";
    for (const auto& key : keys) {
      auto it = entry.configs.find(key);
      if (it == entry.configs.end() || it->second.status == 0) {
        if (missing.size() > 1) missing += ',';
        append_json_string(missing, key);
        continue;
      }
      if (configs.size() > 1) configs += ',';
      configs += R"({"key":)";
      append_json_string(configs, key);
      configs += R"(,"value":)";
      configs += it->second.value;
      configs += R"(,"version":)";
      configs += std::to_string(it->second.version);
      configs += '}';
    }
    data = R"({"namespace":)" + json_quote(*ns) + R"(,"configs":)" + configs +
           R"(],"missing":)" + missing + "]}";
  });
  if (!found) return reply_error(reply, *req, namespace_not_found(*ns));
  if (error) return reply_error(reply, *req, *error);
  reply_ok(reply, *req, "success", data);
}

void Service::get_namespace_configs(const http::RequestPtr& req, const http::Reply& reply) {
  std::string ns(req->path_param("namespace").value_or(""));
  if (auto bad = check_namespace(ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto at = at_param(*req);
  if (!at.ok()) return reply_error(reply, *req, at.error());
  if (*at) return get_namespace_at(req, reply, ns, **at);
  std::optional<api::Error> error;
  std::string data;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
    append_namespace_data(data, ns, entry.configs, entry.revision, entry.updated_at_ms);
    data += '}';
  });
  if (!found) return reply_error(reply, *req, namespace_not_found(ns));
  if (error) return reply_error(reply, *req, *error);
  reply_ok(reply, *req, "success", data);
}

/// The namespace as it was at an instant (docs/versions.md): every key's version then, from
/// SQLite. Same shape as the current answer, plus `unavailable` (keys whose version then is no
/// longer kept).
void Service::get_namespace_at(const http::RequestPtr& req, const http::Reply& reply,
                               const std::string& ns, const Instant& at) {
  std::optional<api::Error> hidden;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) hidden = namespace_disabled(ns);
  });
  if (!found) return reply_error(reply, *req, namespace_not_found(ns));
  if (hidden) return reply_error(reply, *req, *hidden);
  auto then = store_.namespace_at(ns, at.last_ms());
  if (!then.ok()) return reply_error(reply, *req, then.error());
  std::string data;
  append_namespace_data(data, ns, then->configs, then->revision, then->updated_at_ms);
  data += R"(,"at":")";
  data += format_utc(at.unix_ms);
  data += R"(","unavailable":[)";
  for (size_t i = 0; i < then->unavailable.size(); ++i) {
    if (i) data += ',';
    append_json_string(data, then->unavailable[i]);
  }
  data += "]}";
  reply_ok(reply, *req, "success", data);
}

}  // namespace cairn::service
