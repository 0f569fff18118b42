// Version commands (docs/versions.md): tags, and the retention clean-up with its archive.

#include <filesystem>

#include "common/time.h"
#include "store/archive.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

// ---- tags and retention clean-up (docs/versions.md) ----

std::vector<std::string> tags_of(Conn& db, int64_t namespace_id, std::string_view key,
                                 int64_t version) {
  std::vector<std::string> out;
  Stmt s = db.prepare(
      "SELECT tag FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND version = ? "
      "ORDER BY tag");
  s.bind(namespace_id).bind(key).bind(version);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

R<Outcome> tag_version(Ctx& ctx, const api::TagVersion& t) {
  if (auto bad = api::check_namespace_name(t.ns)) {
    return fail(Errc::kValidation, *bad, "namespace");
  }
  if (auto bad = api::check_key(t.key)) return fail(Errc::kValidation, *bad, "key");
  if (auto bad = api::check_tag(t.tag)) return fail(Errc::kValidation, *bad, "tag");
  if (t.version < 1) return fail(Errc::kValidation, "version must be at least 1", "version");
  auto ns = namespace_by_name(ctx.db, t.ns);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound, "namespace " + squote(t.ns) + " does not exist",
                "namespace");
  }
  if (last_version(ctx.db, ns->name, t.key) == 0) {
    return fail(Errc::kConfigNotFound,
                "key " + squote(t.key) + " never existed in namespace " + squote(t.ns), "key");
  }
  std::optional<int64_t> tagged;  // the version that carries the tag now
  {
    Stmt s = ctx.db.prepare(
        "SELECT version FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND tag = ?");
    s.bind(ns->id).bind(t.key).bind(t.tag);
    if (s.step()) tagged = s.i64(0);
  }
  if (t.remove) {
    if (tagged != t.version) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(t.version) + " of key " + squote(t.key) +
                      " has no tag " + squote(t.tag),
                  "tag");
    }
    ctx.db.prepare("DELETE FROM config_tag WHERE namespace_id = ? AND \"key\" = ? AND tag = ?")
        .bind(ns->id)
        .bind(t.key)
        .bind(t.tag)
        .run();
  } else {
    bool exists = false;
    {
      Stmt s = ctx.db.prepare(
          "SELECT 1 FROM config_version WHERE namespace_id = ? AND \"key\" = ? AND version = ?");
      s.bind(ns->id).bind(t.key).bind(t.version);
      exists = s.step();
    }
    if (!exists) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(t.version) + " of key " + squote(t.key) +
                      " does not exist (or is no longer kept)",
                  "version");
    }
    if (tagged && *tagged != t.version) {
      return fail(Errc::kConflict,
                  "tag " + squote(t.tag) + " already names version " + std::to_string(*tagged) +
                      " of key " + squote(t.key) + "; remove it there first",
                  "tag");
    }
    if (!tagged) {
      ctx.db
          .prepare(
              "INSERT INTO config_tag(namespace_id, \"key\", tag, version, created_by, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?)")
          .bind(ns->id)
          .bind(t.key)
          .bind(t.tag)
          .bind(t.version)
          .bind(ctx.operator_name)
          .bind(ctx.ts)
          .run();
    }
  }
  Outcome out{api::VersionTagged{t.ns, t.key, t.version, t.tag, t.remove,
                                 tags_of(ctx.db, ns->id, t.key, t.version)}};
  out.moves_revision = false;  // labels change no config value
  return out;
}

constexpr int64_t kDayMs = 86'400'000;

/// Every version the policy no longer keeps: not among the key's `keep_latest` newest, older
/// than `keep_days` before the entry's timestamp (0: no age protection), not tagged, not the
/// key's current version. Ordered by key, then version, so every node sees the same list.
R<Outcome> cleanup_versions(Ctx& ctx, const api::CleanupVersions& c) {
  if (auto ok = check_retention_override(c.keep_latest, api::kMaxKeepLatest, "keep_latest", false);
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  if (auto ok = check_retention_override(c.keep_days, api::kMaxKeepDays, "keep_days", false);
      !ok.ok()) {
    return Unexpected{ok.error()};
  }
  std::vector<NamespaceRow> namespaces;
  if (c.ns) {
    if (auto bad = api::check_namespace_name(*c.ns)) {
      return fail(Errc::kValidation, *bad, "namespace");
    }
    auto ns = namespace_by_name(ctx.db, *c.ns);
    if (!ns) {
      return fail(Errc::kNamespaceNotFound, "namespace " + squote(*c.ns) + " does not exist",
                  "namespace");
    }
    namespaces.push_back(std::move(*ns));
  } else {
    Stmt s = ctx.db.prepare(std::string("SELECT ") + kNamespaceColumns +
                            " FROM namespace n ORDER BY n.id");
    while (s.step()) namespaces.push_back(read_namespace_row(s));
  }

  struct Removed {
    int64_t row_id;
    std::string ns, key, value, created_by;
    int64_t version, created_at;
  };
  std::vector<Removed> removed;
  api::VersionsCleaned cleaned;
  cleaned.dry_run = c.dry_run;
  for (const auto& ns : namespaces) {
    RetentionOverride o = retention_override(ctx.db, ns.id);
    int64_t keep_latest = c.keep_latest.value_or(o.keep_latest.value_or(api::kDefaultKeepLatest));
    int64_t keep_days = c.keep_days.value_or(o.keep_days.value_or(api::kDefaultKeepDays));
    int64_t cutoff = ctx.ts - keep_days * kDayMs;
    Stmt s = ctx.db.prepare(
        "SELECT v.id, v.\"key\", v.version, v.value, v.created_by, v.created_at "
        "FROM config_version v WHERE v.namespace_id = ?1 "
        "AND (?2 = 0 OR v.created_at < ?3) "
        "AND (SELECT COUNT(*) FROM config_version w WHERE w.namespace_id = v.namespace_id "
        "     AND w.\"key\" = v.\"key\" AND w.version > v.version) >= ?4 "
        "AND NOT EXISTS (SELECT 1 FROM config_tag t WHERE t.namespace_id = v.namespace_id "
        "     AND t.\"key\" = v.\"key\" AND t.version = v.version) "
        "AND NOT EXISTS (SELECT 1 FROM config k WHERE k.namespace_id = v.namespace_id "
        "     AND k.\"key\" = v.\"key\" AND k.version = v.version) "
        "ORDER BY v.\"key\", v.version");
    s.bind(ns.id).bind(keep_days).bind(cutoff).bind(keep_latest);
    int64_t count = 0;
    while (s.step()) {
      removed.push_back(Removed{s.i64(0), ns.name, s.text(1), s.text(3), s.text(4), s.i64(2),
                                s.i64(5)});
      ++count;
    }
    cleaned.namespaces.push_back(api::CleanupNamespace{ns.name, keep_latest, keep_days, count});
  }
  // The error stays on the connection: Store::apply rolls the whole entry back (never a
  // per-node failure result).
  if (auto e = ctx.db.db_error()) return Unexpected{*e};

  cleaned.removed.reserve(removed.size());
  for (const auto& r : removed) {
    cleaned.removed.push_back(api::RemovedVersion{r.ns, r.key, r.version, r.created_at});
  }

  if (!c.dry_run && !removed.empty()) {
    // The archive first, on stable storage, so that no version disappears without a trace.
    std::string lines;
    std::string removed_at = format_utc(ctx.ts);
    for (const auto& r : removed) {
      lines += R"({"namespace":)";
      append_json_string(lines, r.ns);
      lines += R"(,"key":)";
      append_json_string(lines, r.key);
      lines += R"(,"version":)" + std::to_string(r.version) + R"(,"value":)" + r.value +
               R"(,"created_at":")" + format_utc(r.created_at) + R"(","created_by":)";
      append_json_string(lines, r.created_by);
      lines += R"(,"removed_at":")" + removed_at + "\"}\n";
    }
    std::string path = archive_path(ctx.options.path, ctx.ts);
    auto archived = append_archive(path, lines);
    if (!archived.ok()) return Unexpected{archived.error()};
    for (const auto& r : removed) {
      ctx.db.prepare("DELETE FROM config_version WHERE id = ?").bind(r.row_id).run();
    }
    cleaned.archive = "archive/" + std::filesystem::path(path).filename().string();
  }
  if (c.audit_keep_days) {
    if (*c.audit_keep_days < 1 || *c.audit_keep_days > api::kMaxKeepDays) {
      return fail(Errc::kValidation, "audit_keep_days out of range", "audit_keep_days");
    }
    const int64_t before = ctx.ts - *c.audit_keep_days * 86'400'000;
    Stmt old = ctx.db.prepare("SELECT COUNT(*) FROM audit_log WHERE at < ?");
    old.bind(before);
    cleaned.audit_checked = true;
    cleaned.audit_removed = old.step() ? old.i64(0) : 0;
    if (!c.dry_run) ctx.db.prepare("DELETE FROM audit_log WHERE at < ?").bind(before).run();
  }
  Outcome out{std::move(cleaned)};
  out.moves_revision = false;  // no current config changes
  return out;
}

}  // namespace cairn::store::apply_detail
