#include "api/outcome.h"

#include <nlohmann/json.hpp>

#include "common/time.h"

namespace cairn::api {

bool ConfigsWritten::changed() const {
  for (const auto& o : ops) {
    if (o.changed) return true;
  }
  return false;
}

// ---- native rendering ----

namespace {

Json namespace_json(const NamespaceView& n, bool with_updated_at) {
  Json j = Json::object();
  j["id"] = n.id;
  j["name"] = n.name;
  j["description"] = n.description;
  j["status"] = n.status;
  j["created_at"] = format_utc(n.created_at_ms);
  if (with_updated_at) j["updated_at"] = format_utc(n.updated_at_ms);
  if (!n.secret_keys.empty()) j["secret_keys"] = n.secret_keys;
  return j;
}

Json retention_json(const RetentionView& r) {
  Json j = Json::object();
  j["keep_latest"] = r.keep_latest;
  j["keep_days"] = r.keep_days;
  j["keep_latest_overridden"] = r.keep_latest_overridden;
  j["keep_days_overridden"] = r.keep_days_overridden;
  return j;
}

Json configs_json(const ConfigsWritten& w) {
  Json data = Json::object();
  if (w.batch) {
    data["namespace"] = w.ns;
    data["revision"] = w.revision;
    Json results = Json::array();
    for (const auto& o : w.ops) {
      Json r = Json::object();
      r["op"] = std::string(op_name(o.op));
      r["key"] = o.key;
      r["version"] = o.version;
      if (o.op == ConfigOp::kUpdate) {
        r["old_version"] = o.old_version;
        r["changed"] = o.changed;
      }
      results.push_back(std::move(r));
    }
    data["results"] = std::move(results);
    return data;
  }
  if (w.ops.empty()) return data;
  const ConfigOpDone& o = w.ops.front();
  if (o.op != ConfigOp::kDelete) data["id"] = o.id;
  data["namespace"] = w.ns;
  data["key"] = o.key;
  data["version"] = o.version;
  if (o.op == ConfigOp::kUpdate) {
    data["old_version"] = o.old_version;
    data["changed"] = o.changed;
  }
  return data;
}

Json cleanup_json(const VersionsCleaned& c) {
  Json data = Json::object();
  data["dry_run"] = c.dry_run;
  data["count"] = static_cast<int64_t>(c.removed.size());
  Json namespaces = Json::array();
  for (const auto& n : c.namespaces) {
    Json entry = Json::object();
    entry["namespace"] = n.ns;
    entry["keep_latest"] = n.keep_latest;
    entry["keep_days"] = n.keep_days;
    entry["removed"] = n.removed;
    namespaces.push_back(std::move(entry));
  }
  data["namespaces"] = std::move(namespaces);
  Json list = Json::array();
  for (const auto& r : c.removed) {
    Json j = Json::object();
    j["namespace"] = r.ns;
    j["key"] = r.key;
    j["version"] = r.version;
    j["created_at"] = format_utc(r.created_at_ms);
    list.push_back(std::move(j));
  }
  data["removed"] = std::move(list);
  if (!c.archive.empty()) data["archive"] = c.archive;
  if (c.audit_checked) data["audit_removed"] = c.audit_removed;
  return data;
}

Json token_json(const TokenCreated& t) {
  Json grants = Json::array();
  for (const auto& g : t.grants) {
    grants.push_back(Json{{"namespace", g.ns_pattern}, {"permission", g.permission}});
  }
  return Json{{"id", t.id},
              {"name", t.name},
              {"grants", std::move(grants)},
              {"created_at", format_utc(t.created_at_ms)},
              {"expires_at", t.expires_at_ms ? Json(format_utc(t.expires_at_ms)) : Json()}};
}

}  // namespace

std::string violations_json(const std::vector<SchemaViolation>& violations) {
  Json list = Json::array();
  for (const auto& v : violations) {
    list.push_back(
        Json{{"key", v.key}, {"path", v.path}, {"rule", v.rule}, {"message", v.message}});
  }
  return dump_compact(Json{{"violations", std::move(list)}});
}

Json outcome_json(const Outcome& outcome) {
  return std::visit(
      [](const auto& o) -> Json {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, NamespaceCreated>) {
          return namespace_json(o.ns, false);
        } else if constexpr (std::is_same_v<T, NamespaceUpdated>) {
          Json data = namespace_json(o.ns, true);
          if (o.has_retention) data["retention"] = retention_json(o.retention);
          data["changed"] = o.changed;
          return data;
        } else if constexpr (std::is_same_v<T, NamespaceDeleted>) {
          return Json{{"id", o.id}, {"name", o.name}};
        } else if constexpr (std::is_same_v<T, ConfigsWritten>) {
          return configs_json(o);
        } else if constexpr (std::is_same_v<T, ConfigRolledBack>) {
          return Json{{"namespace", o.ns},
                      {"key", o.key},
                      {"current_version", o.current_version},
                      {"previous_version", o.previous_version}};
        } else if constexpr (std::is_same_v<T, MemberAddressSet>) {
          return Json{{"id", o.id}, {"removed", o.removed}};
        } else if constexpr (std::is_same_v<T, VersionTagged>) {
          return Json{{"namespace", o.ns}, {"key", o.key},   {"version", o.version},
                      {"tag", o.tag},      {"tags", o.tags}};
        } else if constexpr (std::is_same_v<T, VersionsCleaned>) {
          return cleanup_json(o);
        } else if constexpr (std::is_same_v<T, TokenCreated>) {
          return token_json(o);
        } else if constexpr (std::is_same_v<T, TokenRevoked>) {
          return Json{{"id", o.id}, {"revoked_at", format_utc(o.revoked_at_ms)}};
        } else if constexpr (std::is_same_v<T, AuditAppended>) {
          return Json{{"appended", o.appended}};
        } else if constexpr (std::is_same_v<T, SecretsRewrapped>) {
          return Json{{"rewrapped", o.rewrapped}, {"skipped", o.skipped}};
        } else if constexpr (std::is_same_v<T, SchemaSet>) {
          Json data{{"namespace", o.ns},       {"schema_version", o.version},
                    {"strict", o.strict},      {"entries", o.entries},
                    {"forced", o.forced},      {"changed", o.changed}};
          data["violations"] = Json::parse(violations_json(o.violations))["violations"];
          return data;
        } else if constexpr (std::is_same_v<T, ReleaseChanged>) {
          return Json{{"id", o.id}, {"state", o.state}, {"stage", o.stage}};
        } else {
          return Json::object();
        }
      },
      outcome);
}

std::string outcome_data_json(const Outcome& outcome) {
  return dump_compact(outcome_json(outcome));
}

std::string_view outcome_message(const Outcome& outcome) {
  return std::visit(
      [](const auto& o) -> std::string_view {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, NamespaceCreated>) {
          return "命名空间创建成功";
        } else if constexpr (std::is_same_v<T, NamespaceUpdated>) {
          return "命名空间更新成功";
        } else if constexpr (std::is_same_v<T, NamespaceDeleted>) {
          return "命名空间删除成功";
        } else if constexpr (std::is_same_v<T, ConfigsWritten>) {
          if (o.batch) return "批量操作成功";
          if (o.ops.empty()) return "success";
          switch (o.ops.front().op) {
            case ConfigOp::kCreate:
              return "配置创建成功";
            case ConfigOp::kUpdate:
              return "配置更新成功";
            case ConfigOp::kDelete:
              return "配置删除成功";
          }
          return "success";
        } else if constexpr (std::is_same_v<T, ConfigRolledBack>) {
          return "配置回滚成功";
        } else if constexpr (std::is_same_v<T, VersionTagged>) {
          return o.removed ? "标签删除成功" : "标签添加成功";
        } else if constexpr (std::is_same_v<T, VersionsCleaned>) {
          return o.dry_run ? "版本清理预览" : "版本清理完成";
        } else if constexpr (std::is_same_v<T, TokenCreated>) {
          return "令牌创建成功";
        } else if constexpr (std::is_same_v<T, TokenRevoked>) {
          return "令牌已撤销";
        } else if constexpr (std::is_same_v<T, SchemaSet>) {
          return "命名空间更新成功";
        } else {
          return "success";
        }
      },
      outcome);
}

// ---- in-process codec ----

using CodecJson = nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Grant, ns_pattern, permission)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamespaceView, id, name, description, status, created_at_ms,
                                   updated_at_ms, secret_keys)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RetentionView, keep_latest, keep_days, keep_latest_overridden,
                                   keep_days_overridden)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamespaceCreated, ns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamespaceUpdated, ns, has_retention, retention, changed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(NamespaceDeleted, id, name)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ConfigOpDone, op, key, id, version, old_version, changed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ConfigsWritten, ns, batch, revision, ops)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ConfigRolledBack, ns, key, current_version, previous_version)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MemberAddressSet, id, removed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(VersionTagged, ns, key, version, tag, removed, tags)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CleanupNamespace, ns, keep_latest, keep_days, removed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RemovedVersion, ns, key, version, created_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(VersionsCleaned, dry_run, namespaces, removed, archive,
                                   audit_checked, audit_removed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TokenCreated, id, name, grants, created_at_ms, expires_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TokenRevoked, id, revoked_at_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AuditAppended, appended)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SecretsRewrapped, rewrapped, skipped)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SchemaViolation, key, path, rule, message)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SchemaSet, ns, version, strict, entries, forced, violations,
                                   changed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReleaseChanged, id, state, stage)

namespace {

template <size_t I = 0>
void decode_alternative(size_t index, const CodecJson& j, Outcome& out) {
  if constexpr (I < std::variant_size_v<Outcome>) {
    if (index == I) {
      using T = std::variant_alternative_t<I, Outcome>;
      if constexpr (std::is_same_v<T, std::monostate>) {
        out = std::monostate{};
      } else {
        out = j.get<T>();
      }
      return;
    }
    decode_alternative<I + 1>(index, j, out);
  } else {
    throw std::out_of_range("unknown outcome type");
  }
}

}  // namespace

std::string encode_result(const CommandResult& r) {
  CodecJson j = {{"c", static_cast<int>(r.code)}, {"d", r.details}, {"f", r.field},
                 {"r", r.revision}, {"t", r.outcome.index()}};
  if (!r.extra.empty()) j["x"] = r.extra;
  std::visit(
      [&j](const auto& o) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(o)>, std::monostate>) j["o"] = o;
      },
      r.outcome);
  return j.dump();
}

CommandResult decode_result(std::string_view bytes) {
  CommandResult r;
  try {
    CodecJson j = CodecJson::parse(bytes);
    r.code = static_cast<Errc>(j.at("c").get<int>());
    r.details = j.at("d").get<std::string>();
    r.field = j.at("f").get<std::string>();
    if (j.contains("x")) r.extra = j.at("x").get<std::string>();
    r.revision = j.at("r").get<uint64_t>();
    const auto index = j.at("t").get<size_t>();
    decode_alternative(index, j.contains("o") ? j.at("o") : CodecJson::object(), r.outcome);
  } catch (const std::exception& e) {
    r = CommandResult::failure(
        make_error(Errc::kInternal, std::string("undecodable apply result: ") + e.what()));
  }
  return r;
}

}  // namespace cairn::api
