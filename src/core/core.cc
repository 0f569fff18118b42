#include "core/core.h"

#include <type_traits>
#include <variant>

#include "common/json.h"

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
  const std::string& ns = request.ns;
  const std::string& key = request.key;
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  if (request.at) {
    if (request.version) {
      return Unexpected{make_error(Errc::kBadRequest, "give version or at, not both", "at")};
    }
    if (auto hidden = hidden_from_clients(caller, ns, key)) return Unexpected{*hidden};
    auto row = store_.version_at(ns, key, request.at->last_ms());
    if (!row.ok()) return Unexpected{row.error()};
    return ConfigValue{ns, key, std::move(row->value), row->version, row->created_at_ms, {}};
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
      answer = ConfigValue{ns, key, c.value, c.version, c.updated_at_ms, {}};
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
  std::optional<cache::RingVersion> ring;
  if (options_.version_ring) {
    ring = options_.version_ring->find(ns, key, wanted);
    if (probe) probe->record(cache::CacheType::kVersionRing, ring.has_value());
  }
  std::optional<std::string> remote;
  if (!ring && options_.version_lookup) {
    remote = options_.version_lookup(ns, key, wanted);
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
    return ConfigValue{
        ns, key, std::move(ring->value), ring->version, ring->created_at_ms, std::move(warning)};
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
                       std::move(warning)};
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
  return ConfigValue{
      ns, key, std::move(row->value), row->version, row->created_at_ms, std::move(warning)};
}

Result<KeyValues, api::Error> Core::get_keys(const api::Principal& caller, const std::string& ns,
                                             const std::vector<std::string>& keys) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  std::optional<api::Error> error;
  KeyValues out;
  out.ns = ns;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
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
  return out;
}

Result<KeyRange, api::Error> Core::get_range(const api::Principal& caller, const std::string& ns,
                                             const std::string& key, bool prefix) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  KeyRange out;
  index_.read_namespace(ns, [&](const cache::NamespaceEntry& e) {
    out.revision = e.revision;
    out.exists = e.status == 1;
    if (!out.exists) return;
    for (auto it = e.configs.lower_bound(key); it != e.configs.end(); ++it) {
      if (prefix ? !std::string_view(it->first).starts_with(key) : it->first != key) break;
      const cache::ConfigEntry& c = it->second;
      out.items.push_back(KeyRange::Item{c.key, c.value, c.version, c.description, c.status});
    }
  });
  return out;
}

Result<NamespaceValues, api::Error> Core::get_namespace(const api::Principal& caller,
                                                        const std::string& ns,
                                                        const std::optional<Instant>& at) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  std::optional<api::Error> error;
  NamespaceValues out;
  out.ns = ns;
  bool found = index_.read_namespace(ns, [&](const cache::NamespaceEntry& entry) {
    if (entry.status == 0) {
      error = namespace_disabled(ns);
      return;
    }
    if (at) return;  // read from SQLite below
    out.configs.reserve(entry.configs.size());
    for (const auto& [key, c] : entry.configs) {
      if (c.status != 0) out.configs.emplace_back(key, c.value);
    }
    out.revision = entry.revision;
    out.updated_at_ms = entry.updated_at_ms;
  });
  if (!found) return Unexpected{namespace_not_found(ns)};
  if (error) return Unexpected{*error};
  if (!at) return out;
  // The namespace as it was at an instant (docs/versions.md): every key's version then.
  auto then = store_.namespace_at(ns, at->last_ms());
  if (!then.ok()) return Unexpected{then.error()};
  for (auto& [key, row] : then->configs) {
    if (row.status != 0) out.configs.emplace_back(key, std::move(row.value));
  }
  out.revision = then->revision;
  out.updated_at_ms = then->updated_at_ms;
  out.at_ms = at->unix_ms;
  out.unavailable = std::move(then->unavailable);
  return out;
}

Result<store::Page<store::VersionRow>, api::Error> Core::versions(
    const api::Principal& caller, const std::string& ns, const std::string& key,
    const store::PageRequest& page) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  return store_.versions(ns, key, page);
}

Result<store::VersionRow, api::Error> Core::version(const api::Principal& caller,
                                                    const std::string& ns, const std::string& key,
                                                    int64_t version) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  return store_.get_version(ns, key, version);
}

Result<store::Page<store::HistoryRow>, api::Error> Core::history(
    const api::Principal& caller, const std::string& ns, const std::string& key,
    const store::PageRequest& page) const {
  if (auto denied = caller.check(ns, api::Permission::kRead)) return Unexpected{*denied};
  return store_.history(ns, key, page);
}

Result<store::Page<store::ConfigRow>, api::Error> Core::list_configs(
    const api::Principal& caller, store::ConfigFilter filter,
    const store::PageRequest& page) const {
  if (filter.ns) {
    if (auto denied = caller.check(*filter.ns, api::Permission::kRead)) return Unexpected{*denied};
  }
  filter.visible = caller.visible_patterns();
  return store_.list_configs(filter, page);
}

Result<store::Page<store::NamespaceRow>, api::Error> Core::list_namespaces(
    const api::Principal& caller, store::NamespaceFilter filter,
    const store::PageRequest& page) const {
  filter.visible = caller.visible_patterns();
  return store_.list_namespaces(filter, page);
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

std::optional<int64_t> Core::namespace_id(std::string_view name) const {
  return index_.namespace_id(name);
}

Core::Status Core::status() const {
  return Status{store_.revision(), store_.applied_index(), store_.read_queries(), index_.reads()};
}

Result<Ok, api::Error> Core::ping() const { return store_.ping(); }

std::string Core::checksum() const { return store_.checksum(); }

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
                             std::is_same_v<T, api::DeleteNamespace>) {
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
                      Cluster::Done done) {
  if (auto denied = caller.check_cluster_admin()) return done(Unexpected{*denied});
  if (!options_.cluster) return done(Unexpected{not_a_cluster()});
  options_.cluster->add_member(id, std::move(peer), std::move(http), std::move(done));
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
  replicator_.propose(std::move(command), std::move(done));
}

}  // namespace cairn::core
