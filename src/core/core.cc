#include "core/core.h"

#include <algorithm>
#include <map>
#include <type_traits>
#include <variant>

#include "common/json.h"
#include "common/time.h"
#include "secrets/sealed.h"

namespace cairn::core {

using api::Errc;
using api::make_error;

namespace {

api::Error namespace_not_found(const std::string& ns) {
  return make_error(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist", "namespace");
}

api::Error namespace_disabled(const std::string& ns) {
  return make_error(Errc::kNamespaceNotFound, "namespace '" + ns + "' is disabled", "namespace");
}

api::Error config_not_found(const std::string& ns, const std::string& key) {
  return make_error(Errc::kConfigNotFound,
                    "config '" + key + "' does not exist in namespace '" + ns + "'", "key");
}

api::Error config_disabled(const std::string& ns, const std::string& key) {
  return make_error(Errc::kConfigNotFound,
                    "config '" + key + "' is disabled in namespace '" + ns + "'", "key");
}

}  // namespace

namespace {
constexpr int kResealAttempts = 5;
api::Error no_keyring();  // below, with the other secrets helpers
}  // namespace

Core::Core(CoreOptions options, store::Store& store, cache::Index& index, Replicator& replicator)
    : options_(std::move(options)), store_(store), index_(index), replicator_(replicator) {}

std::optional<api::Error> Core::readable_namespace(const api::Principal& caller,
                                                   const std::string& ns) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return denied;
  std::optional<api::Error> error;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) {
    if (e.status == 0) error = namespace_disabled(ns);
  });
  if (!found) return namespace_not_found(ns);
  return error;
}

std::optional<api::Error> Core::hidden_from_clients(const api::Principal& caller,
                                                    const std::string& ns, const std::string& key,
                                                    int64_t* current) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return denied;
  std::optional<api::Error> error;
  index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    auto it = entry.configs.find(key);
    if (it != entry.configs.end() && current) *current = it->second.version;
    if (entry.status == 0) {
      error = namespace_disabled(ns);
    } else if (it != entry.configs.end() && it->second.status == 0) {
      error = config_disabled(ns, key);
    }
  });
  return error;
}

Result<ConfigValue, api::Error> Core::get_config(const api::Principal& caller,
                                                 const GetConfig& request) const {
  if (auto denied = caller.check(request.ns, api::Permission::kRead)) return Unexpected{*denied};
  auto stored = get_stored(request);
  if (!stored.ok()) return stored;
  auto shown = present(caller, request.ns, request.key, stored->version, stored->value,
                       &stored->secret);
  if (!shown.ok()) return Unexpected{shown.error()};
  stored->value = std::move(*shown);
  return stored;
}

Result<ConfigValue, api::Error> Core::get_stored(const GetConfig& request) const {
  const std::string& ns = request.ns;
  const std::string& key = request.key;
  if (request.at) {
    if (request.version) {
      return Unexpected{make_error(Errc::kBadRequest, "give version or at, not both", "at")};
    }
    if (auto hidden = hidden_from_clients(api::Principal::unrestricted(), ns, key)) {
      return Unexpected{*hidden};
    }
    auto row = store_.version_at(ns, key, request.at->last_ms());
    if (!row.ok()) return Unexpected{row.error()};
    return ConfigValue{ns, key, std::move(row->value), row->version, row->created_at_ms, {}, {}};
  }
  std::optional<api::Error> error;
  std::optional<ConfigValue> answer;
  bool need_store = false;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
    auto it = entry.configs.find(key);
    if (it == entry.configs.end()) {
      // A deleted key's older versions stay readable by number.
      if (request.version) {
        need_store = true;
      } else {
        error = config_not_found(ns, key);
      }
      return;
    }
    const cache::ConfigEntry& c = it->second;
    if (c.status == 0) {
      error = config_disabled(ns, key);
      return;
    }
    if (!request.version || *request.version == c.version) {
      answer = ConfigValue{ns, key, c.value, c.version, c.updated_at_ms, {}, {}};
    } else {
      need_store = true;
    }
  });
  if (auto* probe = options_.cache_probe) {
    probe->record(cache::CacheType::kLocal, found && !need_store && !error);
  }
  if (!found) return Unexpected{namespace_not_found(ns)};
  if (error) return Unexpected{*error};
  if (need_store) return older_version(ns, key, *request.version);
  return std::move(*answer);
}

Result<ConfigValue, api::Error> Core::older_version(const std::string& ns, const std::string& key,
                                                    int64_t wanted) const {
  // The ring of recent versions, then the Redis tier, then SQLite (DESIGN.md §2,
  // docs/cache.md).
  auto* probe = options_.cache_probe;
  // A cached sealed value wrapped by a key this node no longer holds (re-wrapped since, and
  // the old key removed) is a miss: SQLite holds it re-wrapped (docs/secrets.md).
  auto stale = [this](const std::string& value) {
    if (!secrets::looks_sealed(value)) return false;
    auto parts = secrets::decode_sealed(value);
    return !parts || !options_.keyring || !options_.keyring->find(parts->key_id);
  };
  std::optional<cache::RingVersion> ring;
  if (options_.version_ring) {
    ring = options_.version_ring->find(ns, key, wanted);
    if (ring && stale(ring->value)) ring.reset();
    if (probe) probe->record(cache::CacheType::kVersionRing, ring.has_value());
  }
  std::optional<std::string> remote;
  if (!ring && options_.version_lookup) {
    remote = options_.version_lookup(ns, key, wanted);
    if (probe) probe->record(cache::CacheType::kRedis, remote.has_value());
  }
  std::optional<Json> remote_json;
  if (remote) remote_json = parse_json(*remote, api::kMaxValueDepth + 2);
  if (remote_json && remote_json->is_object() && remote_json->contains("value") &&
      (*remote_json)["value"].is_object() && stale(dump_compact((*remote_json)["value"]))) {
    remote_json.reset();
  }
  // Degraded (seed §3.7.5): say when the version is not among the last ones kept in memory.
  std::string warning;
  if (!ring && options_.database_down && options_.database_down()) {
    warning = "version " + std::to_string(wanted) + " is not among the last " +
              std::to_string(cache::VersionRing::kSize) +
              " versions this node keeps in memory, and its database is unavailable";
  }
  if (ring) {
    return ConfigValue{ns,           key, std::move(ring->value), ring->version,
                       ring->created_at_ms, std::move(warning), {}};
  }
  if (remote_json && remote_json->is_object() && remote_json->contains("value") &&
      (*remote_json)["version"] == wanted) {
    // The value's own text, not a re-serialisation: numbers keep their digits.
    auto raw = json_member_text(*remote, "value");
    return ConfigValue{ns,
                       key,
                       raw ? compact_json_text(*raw) : dump_compact((*remote_json)["value"]),
                       wanted,
                       remote_json->value("created_at_ms", int64_t{0}),
                       std::move(warning),
                       {}};
  }
  auto row = store_.get_version(ns, key, wanted);
  if (!row.ok()) {
    api::Error e = row.error();
    if (!warning.empty()) e.details = warning + ": " + e.details;
    return Unexpected{std::move(e)};
  }
  if (options_.version_filled) {
    options_.version_filled(ns, key, row->version, row->value, row->created_at_ms);
  }
  return ConfigValue{ns,          key, std::move(row->value), row->version,
                     row->created_at_ms, std::move(warning), {}};
}

Result<KeyValues, api::Error> Core::get_keys(const api::Principal& caller, const std::string& ns,
                                             const std::vector<std::string>& keys) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  std::optional<api::Error> error;
  KeyValues out;
  out.ns = ns;
  std::vector<std::string> patterns;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
    patterns = entry.secret_keys;
    for (const auto& key : keys) {
      auto it = entry.configs.find(key);
      if (it == entry.configs.end() || it->second.status == 0) {
        out.missing.push_back(key);
      } else {
        out.configs.push_back(KeyValues::Item{key, it->second.value, it->second.version});
      }
    }
  });
  if (!found) return Unexpected{namespace_not_found(ns)};
  if (error) return Unexpected{*error};
  for (auto& item : out.configs) {
    auto shown = present_with(caller, ns, item.key, item.version, item.value, patterns,
                              &item.secret);
    if (!shown.ok()) return Unexpected{shown.error()};
    item.value = std::move(*shown);
  }
  return out;
}

Result<KeyRange, api::Error> Core::get_range(const api::Principal& caller, const std::string& ns,
                                             const std::string& key, bool prefix) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  KeyRange out;
  std::vector<std::string> patterns;
  index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) {
    out.revision = e.revision;
    out.exists = e.status == 1;
    if (!out.exists) return;
    patterns = e.secret_keys;
    for (auto it = e.configs.lower_bound(key); it != e.configs.end(); ++it) {
      if (prefix ? !std::string_view(it->first).starts_with(key) : it->first != key) break;
      const cache::ConfigEntry& c = it->second;
      out.items.push_back(KeyRange::Item{c.key, c.value, c.version, c.description, c.status});
    }
  });
  for (auto& item : out.items) {
    auto shown =
        present_with(caller, ns, item.key, item.version, item.value, patterns, &item.secret);
    if (!shown.ok()) return Unexpected{shown.error()};
    item.value = std::move(*shown);
  }
  return out;
}

Result<NamespaceDump, api::Error> Core::dump_namespace(const api::Principal& caller,
                                                       const std::string& ns,
                                                       bool reveal) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  if (reveal && !caller.may_reveal(ns)) {
    return Unexpected{make_error(Errc::kForbidden,
                                 "revealing the secrets of namespace '" + ns +
                                     "' needs the reveal grant on it",
                                 "reveal")};
  }
  NamespaceDump out;
  out.ns = ns;
  index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) {
    out.exists = true;
    out.description = e.description;
    out.status = e.status;
    out.revision = e.revision;
    out.secret_keys = e.secret_keys;
    out.items.reserve(e.configs.size());
    for (const auto& [key, c] : e.configs) {
      out.items.push_back(
          NamespaceDump::Item{c.key, c.value, c.version, c.description, c.status, false});
    }
  });
  api::Principal revealing = caller;
  revealing.reveal = true;
  for (auto& item : out.items) {
    const bool sealed = secrets::looks_sealed(item.value);
    item.secret = sealed || secrets::matches_any(out.secret_keys, item.key);
    if (!item.secret) continue;
    if (reveal) {
      auto plain = present_with(revealing, ns, item.key, item.version, item.value,
                                out.secret_keys, nullptr);
      if (!plain.ok()) return Unexpected{plain.error()};
      item.value = std::move(*plain);
    } else if (!sealed) {
      if (!options_.keyring) return Unexpected{no_keyring()};
      auto text = secrets::seal(*options_.keyring, ns, item.key, item.version, item.value);
      if (!text.ok()) {
        return Unexpected{make_error(Errc::kInternal, "sealing a secret failed: " + text.error())};
      }
      item.value = std::move(*text);
    }
  }
  return out;
}

Result<NamespaceValues, api::Error> Core::get_namespace(const api::Principal& caller,
                                                        const std::string& ns,
                                                        const std::optional<Instant>& at) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  std::optional<api::Error> error;
  NamespaceValues out;
  out.ns = ns;
  std::vector<std::string> patterns;
  std::vector<int64_t> versions;  // of out.configs
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
    patterns = entry.secret_keys;
    if (at) return;  // read from SQLite below
    out.configs.reserve(entry.configs.size());
    for (const auto& [key, c] : entry.configs) {
      if (c.status != 0) {
        out.configs.emplace_back(key, c.value);
        versions.push_back(c.version);
      }
    }
    out.revision = entry.revision;
    out.updated_at_ms = entry.updated_at_ms;
  });
  if (!found) return Unexpected{namespace_not_found(ns)};
  if (error) return Unexpected{*error};
  auto show = [&]() -> Result<NamespaceValues, api::Error> {
    for (size_t i = 0; i < out.configs.size(); ++i) {
      auto& [key, value] = out.configs[i];
      bool secret = false;
      auto shown = present_with(caller, ns, key, versions[i], value, patterns, &secret);
      if (!shown.ok()) return Unexpected{shown.error()};
      value = std::move(*shown);
      if (secret) out.secret_keys.push_back(key);
    }
    return std::move(out);
  };
  if (!at) return show();
  // The namespace as it was at an instant (docs/versions.md): every key's version then.
  auto then = store_.namespace_at(ns, at->last_ms());
  if (!then.ok()) return Unexpected{then.error()};
  for (auto& [key, row] : then->configs) {
    if (row.status != 0) {
      out.configs.emplace_back(key, std::move(row.value));
      versions.push_back(row.version);
    }
  }
  out.revision = then->revision;
  out.updated_at_ms = then->updated_at_ms;
  out.at_ms = at->unix_ms;
  out.unavailable = std::move(then->unavailable);
  return show();
}

Result<store::Page<store::VersionRow>, api::Error> Core::versions(
    const api::Principal& caller, const std::string& ns, const std::string& key,
    const store::PageRequest& page) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  auto rows = store_.versions(ns, key, page);
  if (!rows.ok()) return rows;
  auto patterns = secret_patterns(ns);
  for (auto& row : rows->items) {
    auto shown = present_with(caller, ns, key, row.version, row.value, patterns, &row.secret);
    if (!shown.ok()) return Unexpected{shown.error()};
    row.value = std::move(*shown);
  }
  return rows;
}

Result<store::VersionRow, api::Error> Core::version(const api::Principal& caller,
                                                    const std::string& ns, const std::string& key,
                                                    int64_t version) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  auto row = store_.get_version(ns, key, version);
  if (!row.ok()) return row;
  auto shown = present(caller, ns, key, row->version, row->value, &row->secret);
  if (!shown.ok()) return Unexpected{shown.error()};
  row->value = std::move(*shown);
  return row;
}

Result<store::Page<store::HistoryRow>, api::Error> Core::history(
    const api::Principal& caller, const std::string& ns, const std::string& key,
    const store::PageRequest& page) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  auto rows = store_.history(ns, key, page);
  if (!rows.ok()) return rows;
  auto patterns = secret_patterns(ns);
  for (auto& row : rows->items) {
    // A history row does not name the version of its old value: a sealed one names it itself
    // (what it was sealed for, which its associated data binds).
    auto version_of = [&](const std::string& text) {
      auto parts = secrets::decode_sealed(text);
      return parts ? parts->version : row.version;
    };
    bool old_secret = false, new_secret = false;
    if (row.old_value) {
      auto shown = present_with(caller, ns, key, version_of(*row.old_value), *row.old_value,
                                patterns, &old_secret);
      if (!shown.ok()) return Unexpected{shown.error()};
      row.old_value = std::move(*shown);
    }
    if (row.operation != "DELETE") {
      auto shown = present_with(caller, ns, key, version_of(row.new_value), row.new_value,
                                patterns, &new_secret);
      if (!shown.ok()) return Unexpected{shown.error()};
      row.new_value = std::move(*shown);
    }
    row.secret = old_secret || new_secret;
  }
  return rows;
}

Result<store::Page<store::ConfigRow>, api::Error> Core::list_configs(
    const api::Principal& caller, store::ConfigFilter filter,
    const store::PageRequest& page) const {
  if (filter.ns) {
    if (auto denied = caller.check(*filter.ns, api::Permission::kRead)) return Unexpected{*denied};
  }
  filter.visible = caller.visible_patterns();
  auto rows = store_.list_configs(filter, page);
  if (!rows.ok()) return rows;
  for (auto& row : rows->items) {
    auto shown = present(caller, row.ns, row.key, row.version, row.value, &row.secret);
    if (!shown.ok()) return Unexpected{shown.error()};
    row.value = std::move(*shown);
  }
  return rows;
}

Result<store::Page<store::NamespaceRow>, api::Error> Core::list_namespaces(
    const api::Principal& caller, store::NamespaceFilter filter,
    const store::PageRequest& page) const {
  filter.visible = caller.visible_patterns();
  return store_.list_namespaces(filter, page);
}

Result<store::SchemaRow, api::Error> Core::schema(const api::Principal& caller,
                                                  const std::string& ns) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  return store_.namespace_schema(ns);
}

Result<std::vector<store::SchemaHistoryRow>, api::Error> Core::schema_history(
    const api::Principal& caller, const std::string& ns) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  return store_.schema_history(ns);
}

Result<Core::SchemaCheck, api::Error> Core::check_schema(const api::Principal& caller,
                                                         const std::string& ns,
                                                         const std::string& schemas_json,
                                                         bool strict) const {
  if (auto denied = caller.check(ns, api::Permission::kAdmin)) return Unexpected{*denied};
  auto next = jsonschema::compiled(schemas_json, strict);
  if (!next.ok()) return Unexpected{next.error()};
  auto current = store_.namespace_schema(ns);
  if (!current.ok()) return Unexpected{current.error()};
  std::shared_ptr<const jsonschema::NamespaceSchemas> before;
  if (current->version > 0) {
    auto compiled = jsonschema::compiled(current->schemas, current->strict);
    if (!compiled.ok()) return Unexpected{compiled.error()};
    before = *compiled;
  }
  auto values = store_.namespace_values(ns);
  if (!values.ok()) return Unexpected{values.error()};
  SchemaCheck out;
  out.current_version = current->version;
  for (const auto& [key, value] : *values) {
    if (secrets::looks_sealed(value)) continue;  // a secret is checked when written (seal)
    auto v = (*next)->check_text(key, value);
    out.violations.insert(out.violations.end(), v.begin(), v.end());
  }
  out.breaking = jsonschema::breaking_changes(before.get(), **next);
  return out;
}

Result<std::vector<api::SchemaViolation>, api::Error> Core::check_value(
    const api::Principal& caller, const std::string& ns, const std::string& key,
    const std::string& value_text) const {
  if (auto denied = caller.check(ns, api::Permission::kWrite)) return Unexpected{*denied};
  auto current = store_.namespace_schema(ns);
  if (!current.ok()) return Unexpected{current.error()};
  if (current->version == 0) return std::vector<api::SchemaViolation>{};
  auto compiled = jsonschema::compiled(current->schemas, current->strict);
  if (!compiled.ok()) return Unexpected{compiled.error()};
  return (*compiled)->check_text(key, value_text);
}

Result<std::vector<store::TokenRow>, api::Error> Core::tokens(const api::Principal& caller) const {
  if (auto denied = caller.check_cluster_admin()) return Unexpected{*denied};
  return store_.tokens();
}

Result<store::Page<store::AuditRow>, api::Error> Core::audit(const api::Principal& caller,
                                                             const store::AuditFilter& filter,
                                                             const store::PageRequest& page) const {
  if (auto denied = caller.check_cluster_admin()) return Unexpected{*denied};
  return store_.audit(filter, page);
}

std::optional<std::string> Core::namespace_name(int64_t id) const {
  return index_.namespace_name(id);
}

std::optional<int64_t> Core::namespace_id(std::string_view name) const {
  return index_.namespace_id(name);
}

Core::Status Core::status() const {
  return Status{store_.revision(), store_.applied_index(), store_.read_queries(), index_.reads()};
}

Result<Ok, api::Error> Core::ping() const { return store_.ping(); }

std::string Core::checksum() const { return store_.checksum(); }
std::string Core::content_checksum() const { return store_.content_checksum(); }

std::optional<api::Error> Core::may_submit(const api::Principal& caller,
                                           const api::Command& command) const {
  using api::Permission;
  if (!caller.restricted) return std::nullopt;
  // A namespace named by id: checked under its name (an unknown id is the apply's 40402).
  auto on_id = [&](int64_t id, Permission p) -> std::optional<api::Error> {
    auto name = index_.namespace_name(id);
    return name ? caller.check(*name, p) : std::nullopt;
  };
  return std::visit(
      [&](const auto& body) -> std::optional<api::Error> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, api::CreateNamespace>) {
          return caller.check(body.name, Permission::kAdmin);
        } else if constexpr (std::is_same_v<T, api::UpdateNamespace> ||
                             std::is_same_v<T, api::DeleteNamespace> ||
                             std::is_same_v<T, api::SetNamespaceSchema>) {
          return on_id(body.id, Permission::kAdmin);
        } else if constexpr (std::is_same_v<T, api::WriteConfigs> ||
                             std::is_same_v<T, api::RollbackConfig>) {
          return caller.check(body.ns, Permission::kWrite);
        } else if constexpr (std::is_same_v<T, api::TagVersion>) {
          return caller.check(body.ns, Permission::kAdmin);
        } else if constexpr (std::is_same_v<T, api::CleanupVersions>) {
          if (body.ns) return caller.check(*body.ns, Permission::kAdmin);
          return caller.check_cluster_admin("every namespace: ");
        } else if constexpr (std::is_same_v<T, api::StartRelease> ||
                             std::is_same_v<T, api::TransitionRelease>) {
          return caller.check(body.ns, Permission::kAdmin);
        } else {
          // Tokens, the audit log and the member address book.
          return caller.check_cluster_admin();
        }
      },
      command.body);
}

namespace {

api::Error not_a_cluster() {
  return make_error(Errc::kNotFound, "this node is not part of a cluster");
}

}  // namespace

Result<ClusterView, api::Error> Core::cluster_view(const api::Principal& caller) const {
  if (auto denied = caller.check_cluster_admin()) return Unexpected{*denied};
  if (!options_.cluster) return Unexpected{not_a_cluster()};
  return options_.cluster->view();
}

void Core::transfer_leader(const api::Principal& caller, uint64_t to, Cluster::Done done) {
  if (auto denied = caller.check_cluster_admin()) return done(Unexpected{*denied});
  if (!options_.cluster) return done(Unexpected{not_a_cluster()});
  options_.cluster->transfer_leader(to, std::move(done));
}

void Core::add_member(const api::Principal& caller, uint64_t id, std::string peer, std::string http,
                      bool voter, Cluster::Done done) {
  if (auto denied = caller.check_cluster_admin()) return done(Unexpected{*denied});
  if (!options_.cluster) return done(Unexpected{not_a_cluster()});
  options_.cluster->add_member(id, std::move(peer), std::move(http), voter, std::move(done));
}

void Core::remove_member(const api::Principal& caller, uint64_t id, Cluster::Done done) {
  if (auto denied = caller.check_cluster_admin()) return done(Unexpected{*denied});
  if (!options_.cluster) return done(Unexpected{not_a_cluster()});
  options_.cluster->remove_member(id, std::move(done));
}

void Core::submit(const api::Principal& caller, api::Command command, Replicator::Done done) {
  if (auto denied = may_submit(caller, command)) {
    return done(api::CommandResult::failure(*denied));
  }
  submit_sealed(std::move(command), kResealAttempts, std::move(done));
}

// ---- secrets (docs/secrets.md) ----

namespace {

api::Error secret_unavailable(std::string why) {
  return make_error(Errc::kSecretUnavailable, std::move(why));
}

api::Error no_keyring() {
  return secret_unavailable(
      "this node holds no key-encryption key (secret_key_file or CAIRN_SECRET_KEY), so it can "
      "neither seal nor open secrets");
}

}  // namespace

void Core::submit_sealed(api::Command original, int attempts_left, Replicator::Done done) {
  api::Command command = original;
  auto sealed = seal(command);
  if (!sealed.ok()) return done(api::CommandResult::failure(sealed.error()));
  if (!*sealed) return replicator_.propose(std::move(command), std::move(done));
  // The version a secret was sealed for is a guess (writes in flight may take it first): apply
  // refuses a wrong guess with kResealMarker, and the value is sealed again for the next one.
  replicator_.propose(
      std::move(command), [this, original = std::move(original), attempts_left,
                           done = std::move(done)](api::CommandResult result) mutable {
        if (result.code == Errc::kConflict && attempts_left > 0 &&
            result.details.find(secrets::kResealMarker) != std::string::npos) {
          return submit_sealed(std::move(original), attempts_left - 1, std::move(done));
        }
        done(std::move(result));
      });
}

std::vector<std::string> Core::secret_patterns(const std::string& ns) const {
  std::vector<std::string> patterns;
  index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) { patterns = e.secret_keys; });
  return patterns;
}

Result<std::string, api::Error> Core::present(const api::Principal& caller, const std::string& ns,
                                              const std::string& key, int64_t version,
                                              const std::string& stored, bool* secret) const {
  if (!secrets::looks_sealed(stored)) {
    auto patterns = secret_patterns(ns);
    if (patterns.empty()) {
      if (secret) *secret = false;
      return stored;
    }
    return present_with(caller, ns, key, version, stored, patterns, secret);
  }
  return present_with(caller, ns, key, version, stored, {}, secret);
}

Result<std::string, api::Error> Core::present_with(const api::Principal& caller,
                                                   const std::string& ns, const std::string& key,
                                                   int64_t version, const std::string& stored,
                                                   const std::vector<std::string>& patterns,
                                                   bool* secret) const {
  const bool sealed = secrets::looks_sealed(stored);
  // A key matching the namespace's patterns is secret even while its stored value is plain
  // (written before the pattern was set): masked all the same.
  if (!sealed && !secrets::matches_any(patterns, key)) {
    if (secret) *secret = false;
    return stored;
  }
  if (secret) *secret = true;
  if (!caller.reveals(ns)) return std::string(secrets::kMask);
  std::string plain;
  if (sealed) {
    if (!options_.keyring) return Unexpected{no_keyring()};
    auto opened = secrets::open(*options_.keyring, ns, key, version, stored);
    if (!opened.ok()) {
      return Unexpected{secret_unavailable("secret '" + key + "' of namespace '" + ns +
                                           "' (version " + std::to_string(version) +
                                           ") cannot be opened: " + opened.error().message)};
    }
    plain = std::move(*opened);
  } else {
    plain = stored;
  }
  if (options_.on_reveal) options_.on_reveal(caller, ns, key, version);
  return plain;
}

namespace {

/// The namespace's compiled schemas for checking a secret's plaintext before it is sealed
/// (apply sees only ciphertext); null when the namespace has none or does not exist (apply
/// answers that).
Result<std::shared_ptr<const jsonschema::NamespaceSchemas>, api::Error> plaintext_schemas(
    const store::Store& store, const std::string& ns) {
  auto row = store.namespace_schema(ns);
  if (!row.ok() || row->version == 0) {
    return std::shared_ptr<const jsonschema::NamespaceSchemas>{};
  }
  return jsonschema::compiled(row->schemas, row->strict);
}

}  // namespace

Result<bool, api::Error> Core::seal(api::Command& command) const {
  const auto& keyring = options_.keyring;
  struct Current {
    std::string value;
    int64_t version = 0;
  };
  // The namespace's patterns and the current values of `keys`, from the index.
  auto lookup = [&](const std::string& ns, const std::vector<std::string>& keys,
                    std::vector<std::string>& patterns, std::map<std::string, Current>& current) {
    index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) {
      patterns = e.secret_keys;
      for (const auto& k : keys) {
        auto it = e.configs.find(k);
        if (it != e.configs.end()) current[k] = Current{it->second.value, it->second.version};
      }
    });
  };
  auto sealing_error = [](const std::string& why) {
    return Unexpected{make_error(Errc::kInternal, "sealing a secret failed: " + why)};
  };
  if (auto* w = std::get_if<api::WriteConfigs>(&command.body)) {
    std::vector<std::string> keys, patterns;
    for (const auto& op : w->ops) keys.push_back(op.key);
    std::map<std::string, Current> current;
    lookup(w->ns, keys, patterns, current);
    std::map<std::string, int64_t> last;  // per key: the last version a write of this batch got
    bool sealed_any = false;
    std::optional<std::shared_ptr<const jsonschema::NamespaceSchemas>> schemas;
    std::vector<api::SchemaViolation> violations;
    for (size_t i = 0; i < w->ops.size(); ++i) {
      api::ConfigWrite& op = w->ops[i];
      if (!op.value) continue;
      const std::string field = w->batch ? "operations[" + std::to_string(i) + "].value" : "value";
      std::string plain = compact_json_text(*op.value);
      if (secrets::looks_sealed(plain)) {
        return Unexpected{make_error(Errc::kValidation,
                                     "values starting with {\"$sealed\" are reserved for sealed "
                                     "secrets",
                                     field)};
      }
      auto cur = current.find(op.key);
      const bool cur_secret = cur != current.end() && secrets::looks_sealed(cur->second.value);
      if (!op.secret && !cur_secret && !secrets::matches_any(patterns, op.key)) continue;
      if (op.op == api::ConfigOp::kDelete) continue;
      if (!keyring) return Unexpected{no_keyring()};
      // The checks apply makes of a value, made here on the plaintext (apply sees ciphertext).
      if (!parse_json(plain, api::kMaxValueDepth)) {
        return Unexpected{make_error(Errc::kValidation, "value is not valid JSON", field)};
      }
      if (plain.size() > store_.options().max_value_bytes) {
        return Unexpected{make_error(
            Errc::kValidation,
            "value is " + std::to_string(plain.size()) + " bytes; the limit is " +
                std::to_string(store_.options().max_value_bytes),
            field)};
      }
      if (!schemas) {
        auto compiled = plaintext_schemas(store_, w->ns);
        if (!compiled.ok()) return Unexpected{compiled.error()};
        schemas = std::move(*compiled);
      }
      if (*schemas) {
        auto v = (*schemas)->check_text(op.key, plain);
        violations.insert(violations.end(), v.begin(), v.end());
      }
      if (op.op == api::ConfigOp::kUpdate && cur_secret && !last.count(op.key)) {
        // The same plaintext again: keep the stored text, so that apply sees no change (no new
        // version), as for any other value written twice.
        auto opened = secrets::open(*keyring, w->ns, op.key, cur->second.version, cur->second.value);
        if (opened.ok() && *opened == plain) {
          op.value = cur->second.value;
          continue;
        }
      }
      int64_t base = 0;
      if (auto it = last.find(op.key); it != last.end()) {
        base = it->second;
      } else {
        auto stored = store_.last_version(w->ns, op.key);
        if (!stored.ok()) return Unexpected{stored.error()};
        base = *stored;
        if (cur != current.end()) base = std::max(base, cur->second.version);
      }
      const int64_t version = base + 1;
      last[op.key] = version;
      auto text = secrets::seal(*keyring, w->ns, op.key, version, plain);
      if (!text.ok()) return sealing_error(text.error());
      op.value = std::move(*text);
      sealed_any = true;
    }
    if (!violations.empty()) {
      return Unexpected{jsonschema::refusal(violations, w->batch ? "operations" : "value")};
    }
    return sealed_any;
  }
  if (auto* r = std::get_if<api::RollbackConfig>(&command.body)) {
    r->sealed_value.reset();
    std::vector<std::string> patterns;
    std::map<std::string, Current> current;
    lookup(r->ns, {r->key}, patterns, current);
    auto target = store_.get_version(r->ns, r->key, r->target_version);
    if (!target.ok()) return false;  // apply answers the error
    auto cur = current.find(r->key);
    const bool secret = secrets::looks_sealed(target->value) ||
                        (cur != current.end() && secrets::looks_sealed(cur->second.value)) ||
                        secrets::matches_any(patterns, r->key);
    if (!secret) return false;
    if (!keyring) return Unexpected{no_keyring()};
    std::string plain = target->value;
    if (secrets::looks_sealed(plain)) {
      auto opened = secrets::open(*keyring, r->ns, r->key, r->target_version, plain);
      if (!opened.ok()) {
        return Unexpected{secret_unavailable("version " + std::to_string(r->target_version) +
                                             " of secret '" + r->key +
                                             "' cannot be opened: " + opened.error().message)};
      }
      plain = std::move(*opened);
    }
    if (!r->force) {
      auto compiled = plaintext_schemas(store_, r->ns);
      if (!compiled.ok()) return Unexpected{compiled.error()};
      if (*compiled) {
        if (auto v = (*compiled)->check_text(r->key, plain); !v.empty()) {
          api::Error e = jsonschema::refusal(v, "target_version");
          e.details = "version " + std::to_string(r->target_version) +
                      " no longer matches the namespace's schema: " + e.details +
                      "; roll back with \"force\": true to store it anyway";
          return Unexpected{std::move(e)};
        }
      }
    }
    auto last = store_.last_version(r->ns, r->key);
    if (!last.ok()) return Unexpected{last.error()};
    int64_t version = *last + 1;
    if (cur != current.end()) version = std::max(version, cur->second.version + 1);
    auto text = secrets::seal(*keyring, r->ns, r->key, version, plain);
    if (!text.ok()) return sealing_error(text.error());
    r->sealed_value = std::move(*text);
    return true;
  }
  return false;
}

Result<SecretStatus, api::Error> Core::secret_status(const api::Principal& caller) const {
  if (auto denied = caller.check_cluster_admin()) return Unexpected{*denied};
  SecretStatus out;
  if (options_.keyring) {
    out.current_key = options_.keyring->current_id();
    out.keys = options_.keyring->ids();
  }
  auto sealed = store_.sealed_key_ids();
  if (!sealed.ok()) return Unexpected{sealed.error()};
  out.sealed = std::move(*sealed);
  for (const auto& [id, count] : out.sealed) {
    if (!options_.keyring || !options_.keyring->find(id)) out.missing_keys.push_back(id);
    if (id != out.current_key) out.to_rewrap += count;
  }
  return out;
}

std::vector<std::string> Core::missing_secret_keys() const {
  std::lock_guard lock(missing_mu_);
  int64_t now = wall_clock_ms();
  if (missing_checked_ms_ < 0 || now - missing_checked_ms_ >= 5'000 || now < missing_checked_ms_) {
    auto status = secret_status(api::Principal::unrestricted());
    if (status.ok()) missing_keys_ = status->missing_keys;
    missing_checked_ms_ = now;
  }
  return missing_keys_;
}

struct RewrapRun {
  size_t batch_size = 0;
  size_t max_batches = 0;
  api::Principal caller;
  RewrapProgress progress;
  std::function<void(Result<RewrapProgress, api::Error>)> done;
};

void Core::rewrap(const api::Principal& caller, size_t batch_size, size_t max_batches,
                  std::function<void(Result<RewrapProgress, api::Error>)> done) {
  if (auto denied = caller.check_cluster_admin()) return done(Unexpected{*denied});
  if (!options_.keyring) return done(Unexpected{no_keyring()});
  auto run = std::make_shared<RewrapRun>();
  run->batch_size = batch_size;
  run->max_batches = max_batches;
  run->caller = caller;
  run->progress.current_key = options_.keyring->current_id();
  run->done = std::move(done);
  rewrap_step(std::move(run));
}

void Core::rewrap_step(std::shared_ptr<RewrapRun> run) {
  const secrets::Keyring& keyring = *options_.keyring;
  const std::string keep = secrets::sealed_prefix(keyring.current_id());
  auto finish = [&]() {
    auto status = secret_status(api::Principal::unrestricted());
    if (!status.ok()) return run->done(Unexpected{status.error()});
    run->progress.remaining = status->to_rewrap;
    run->done(run->progress);
  };
  if (static_cast<size_t>(run->progress.batches) >= run->max_batches) return finish();
  auto pending = store_.sealed_values_not(keep, run->batch_size);
  if (!pending.ok()) return run->done(Unexpected{pending.error()});
  if (pending->empty()) return finish();
  api::RewrapSecrets cmd;
  for (auto& v : *pending) {
    auto to = secrets::rewrap(keyring, v.text);
    if (!to.ok()) {
      return run->done(Unexpected{secret_unavailable(
          "secret '" + v.key + "' of namespace '" + v.ns +
          "' cannot be re-wrapped: " + to.error().message)});
    }
    cmd.values.push_back(api::RewrappedValue{v.ns, v.key, std::move(v.text), std::move(*to)});
  }
  api::Command command{"", run->caller.name, std::move(cmd), ""};
  replicator_.propose(std::move(command), [this, run](api::CommandResult result) {
    if (!result.ok()) return run->done(Unexpected{result.error()});
    ++run->progress.batches;
    if (auto* o = std::get_if<api::SecretsRewrapped>(&result.outcome)) {
      run->progress.rewrapped += o->rewrapped;
      // Nothing of the batch was stored any more (rewritten or cleaned up meanwhile): stop
      // rather than ask again; the answer's `remaining` says what is left.
      if (o->rewrapped == 0) {
        auto status = secret_status(api::Principal::unrestricted());
        if (status.ok()) run->progress.remaining = status->to_rewrap;
        return run->done(run->progress);
      }
    }
    rewrap_step(run);
  });
}

}  // namespace cairn::core
