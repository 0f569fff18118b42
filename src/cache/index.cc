#include "cache/index.h"

#include <mutex>

namespace cairn::cache {
namespace {

NamespaceEntry to_entry(const store::NamespaceRow& row) {
  NamespaceEntry e;
  e.id = row.id;
  e.name = row.name;
  e.description = row.description;
  e.status = row.status;
  e.revision = row.revision;
  e.created_at_ms = row.created_at_ms;
  e.updated_at_ms = row.updated_at_ms;
  e.secret_keys = row.secret_keys;
  return e;
}

ConfigEntry to_entry(const store::ConfigRow& row) {
  ConfigEntry e;
  e.id = row.id;
  e.key = row.key;
  e.value = row.value;
  e.version = row.version;
  e.status = row.status;
  e.description = row.description;
  e.updated_by = row.updated_by;
  e.updated_at_ms = row.updated_at_ms;
  e.revision = row.revision;
  return e;
}

// Namespace attributes change without touching its configs.
void update_attributes(NamespaceEntry& into, const store::NamespaceRow& row) {
  into.id = row.id;
  into.description = row.description;
  into.status = row.status;
  into.revision = row.revision;
  into.created_at_ms = row.created_at_ms;
  into.updated_at_ms = row.updated_at_ms;
  into.secret_keys = row.secret_keys;
}

}  // namespace

Result<Ok, api::Error> Index::load(const store::Store& store) {
  std::map<std::string, NamespaceEntry, std::less<>> by_name;
  std::map<int64_t, std::string> name_by_id;
  auto loaded = store.load_all(
      [&](const store::NamespaceRow& row) {
        by_name[row.name] = to_entry(row);
        name_by_id[row.id] = row.name;
      },
      [&](const store::ConfigRow& row) {
        auto it = by_name.find(row.ns);
        if (it != by_name.end()) it->second.configs[row.key] = to_entry(row);
      });
  if (!loaded.ok()) return Unexpected{loaded.error()};
  std::unique_lock lock(mu_);
  by_name_ = std::move(by_name);
  name_by_id_ = std::move(name_by_id);
  return Ok{};
}

void Index::apply(const std::vector<store::Change>& changes) {
  std::unique_lock lock(mu_);
  for (const auto& change : changes) {
    using Kind = store::Change::Kind;
    switch (change.kind) {
      case Kind::kNamespacePut: {
        auto [it, inserted] = by_name_.try_emplace(change.ns.name);
        if (inserted) it->second.name = change.ns.name;
        update_attributes(it->second, change.ns);
        name_by_id_[change.ns.id] = change.ns.name;
        break;
      }
      case Kind::kNamespaceDelete:
        by_name_.erase(change.ns.name);
        name_by_id_.erase(change.ns.id);
        break;
      case Kind::kConfigPut: {
        auto it = by_name_.find(change.ns.name);
        if (it == by_name_.end()) break;  // cannot happen: the store checked the namespace
        update_attributes(it->second, change.ns);
        it->second.configs[change.config.key] = to_entry(change.config);
        break;
      }
      case Kind::kGray: {  // a gray release moved: the stable values stay as they are
        auto it = by_name_.find(change.ns.name);
        if (it != by_name_.end()) update_attributes(it->second, change.ns);
        break;
      }
      case Kind::kConfigDelete: {
        auto it = by_name_.find(change.ns.name);
        if (it == by_name_.end()) break;
        update_attributes(it->second, change.ns);
        auto c = it->second.configs.find(change.config.key);
        if (c != it->second.configs.end()) it->second.configs.erase(c);
        break;
      }
    }
  }
}

bool Index::read_namespace(std::string_view name,
                           const std::function<void(const NamespaceEntry&)>& fn) const {
  reads_.fetch_add(1, std::memory_order_relaxed);
  std::shared_lock lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return false;
  fn(it->second);
  return true;
}

std::optional<int64_t> Index::namespace_id(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second.id;
}

std::optional<std::string> Index::namespace_name(int64_t id) const {
  std::shared_lock lock(mu_);
  auto it = name_by_id_.find(id);
  if (it == name_by_id_.end()) return std::nullopt;
  return it->second;
}

}  // namespace cairn::cache
