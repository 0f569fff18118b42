// Gray releases (docs/releases.md): start, the operators' transitions (promote, abort, pause,
// resume), the leader's (advance, halt), and the check that keeps direct writes off the keys of
// a release that is not finished.

#include <algorithm>

#include "common/json.h"
#include "secrets/sealed.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

namespace {

bool live_state(std::string_view s) { return s == "active" || s == "paused" || s == "halted"; }

std::optional<ReleaseRow> release_where(Conn& db, const char* where, auto&& bind) {
  Stmt s = db.prepare(std::string("SELECT ") + kReleaseColumns + " FROM gray_release WHERE " +
                      where + " ORDER BY seq DESC LIMIT 1");
  bind(s);
  if (!s.step()) return std::nullopt;
  return read_release_row(s);
}

std::optional<ReleaseRow> release_by_id(Conn& db, const std::string& id) {
  return release_where(db, "id = ?", [&](Stmt& s) { s.bind(id); });
}

/// The changes of a release as stored: {"key": value|null}, keys in order.
std::vector<api::ReleaseChange> stored_changes(const ReleaseRow& r) {
  std::vector<api::ReleaseChange> out;
  auto doc = parse_json(r.changes, 80);
  if (!doc || !doc->is_object()) return out;
  for (auto it = doc->begin(); it != doc->end(); ++it) {
    api::ReleaseChange c{it.key(), std::nullopt};
    if (!it->is_null()) c.value = dump_compact(*it);
    out.push_back(std::move(c));
  }
  return out;
}

std::string append_transition(const ReleaseRow& r, Ctx& ctx, const std::string& from,
                              const std::string& to, int64_t stage, const std::string& reason) {
  auto doc = parse_json(r.transitions, 16);
  Json list = doc && doc->is_array() ? *doc : Json::array();
  Json t = Json::object();
  t["at_ms"] = ctx.ts;
  t["from"] = from.empty() ? Json(nullptr) : Json(from);
  t["to"] = to;
  t["stage"] = stage;
  t["reason"] = reason;
  t["operator"] = ctx.operator_name;
  list.push_back(std::move(t));
  return dump_compact(list);
}

/// Wakes the watchers of every key of the release (who sees what changed): one kGray change per
/// key with its stable row, after the namespace took the command's revision.
R<Ok> announce(Ctx& ctx, int64_t namespace_id, const std::vector<api::ReleaseChange>& changes) {
  touch_namespace(ctx, namespace_id);
  auto ns = namespace_by_id(ctx.db, namespace_id);
  if (!ns) return fail(Errc::kDatabase, "namespace row vanished");
  for (const auto& c : changes) {
    ConfigRow row;
    if (auto current = config_by_key(ctx.db, namespace_id, c.key)) {
      row = std::move(*current);
    } else {
      row.namespace_id = namespace_id;
      row.ns = ns->name;
      row.key = c.key;
      row.status = 0;
    }
    row.revision = ctx.rev;
    ctx.changes.push_back(Change{Change::Kind::kGray, *ns, std::move(row), "RELEASE"});
  }
  for (auto& change : ctx.changes) change.ns = *ns;
  return Ok{};
}

void save(Ctx& ctx, const ReleaseRow& r) {
  ctx.db
      .prepare(
          "UPDATE gray_release SET state = ?, stage = ?, stage_revision = ?, updated_at = ?, "
          "stage_started_at = ?, reason = ?, transitions = ? WHERE id = ?")
      .bind(r.state)
      .bind(r.stage)
      .bind(static_cast<int64_t>(r.stage_revision))
      .bind(r.updated_at_ms)
      .bind(r.stage_started_ms)
      .bind(r.reason)
      .bind(r.transitions)
      .bind(r.id)
      .run();
}

}  // namespace

int64_t count_live_releases(Conn& db) {
  Stmt s = db.prepare(
      "SELECT count(*) FROM gray_release WHERE state IN ('active', 'paused', 'halted')");
  return s.step() ? s.i64(0) : -1;
}

std::optional<ReleaseRow> live_release(Conn& db, int64_t namespace_id) {
  return release_where(db, "namespace_id = ? AND state IN ('active', 'paused', 'halted')",
                       [&](Stmt& s) { s.bind(namespace_id); });
}

R<Ok> check_release_conflict(Ctx& ctx, const NamespaceRow& ns,
                             const std::vector<std::string_view>& keys, bool force) {
  if (force || ctx.live_releases == 0) return Ok{};
  auto live = live_release(ctx.db, ns.id);
  if (!live) return Ok{};
  auto doc = parse_json(live->changes, 80);
  if (!doc || !doc->is_object()) return Ok{};
  for (auto key : keys) {
    if (doc->contains(std::string(key))) {
      return fail(Errc::kConflict,
                  "key " + squote(key) + " is part of gray release " + live->id + " (" +
                      live->state +
                      "); promote or abort the release first, or write with \"force\": true",
                  "key");
    }
  }
  return Ok{};
}

R<std::string> release_value(Ctx& ctx, const NamespaceRow& ns, std::string_view key,
                             std::string_view value) {
  // The one place a release's values pass through on their way in. Secrets are not released
  // gray: a release holds its values in the clear until promoted (docs/releases.md).
  if (auto refused = refuse_secret(ctx, ns, key); !refused.ok()) return Unexpected{refused.error()};
  return normalize_value(value, ctx.options.max_value_bytes);
}

R<Ok> refuse_secret(Ctx& ctx, const NamespaceRow& ns, std::string_view key) {
  auto current = config_by_key(ctx.db, ns.id, key);
  if ((current && secrets::looks_sealed(current->value)) ||
      secrets::matches_any(ns.secret_keys, key)) {
    return fail(Errc::kValidation,
                "key " + squote(key) +
                    " is a secret; secrets cannot be released gray (write it directly)",
                "changes." + std::string(key));
  }
  return Ok{};
}

R<Ok> check_release_schemas(Ctx& ctx, const NamespaceRow& ns,
                            const std::vector<api::ReleaseChange>& changes) {
  auto schemas = namespace_schemas(ctx.db, ns.id);
  if (!schemas.ok()) return Unexpected{schemas.error()};
  if (!*schemas) return Ok{};
  std::vector<api::SchemaViolation> violations;
  for (const auto& c : changes) {
    if (!c.value) continue;
    auto v = check_value(*schemas, c.key, *c.value);
    violations.insert(violations.end(), v.begin(), v.end());
  }
  if (!violations.empty()) return Unexpected{schema_refusal(violations, "changes")};
  return Ok{};
}

R<Outcome> start_release(Ctx& ctx, const api::StartRelease& c) {
  if (c.id.size() < 3 || c.id.size() > 64 || c.id.rfind("r-", 0) != 0) {
    return fail(Errc::kValidation, "bad release id", "id");
  }
  auto ns = writable_namespace(ctx, c.ns);
  if (!ns.ok()) return Unexpected{ns.error()};
  if (c.changes.empty() || c.changes.size() > api::kMaxBatchOperations) {
    return fail(Errc::kValidation, "changes must hold 1 to 1000 keys", "changes");
  }
  if (c.description.size() > 1024) {
    return fail(Errc::kValidation, "description is longer than 1024 characters", "description");
  }
  auto spec = parse_json(c.spec, 16);
  if (!spec || !spec->is_object() || !spec->contains("target")) {
    return fail(Errc::kValidation, "bad release spec", "target");
  }
  if (auto live = live_release(ctx.db, ns->id)) {
    return fail(Errc::kConflict,
                "namespace " + squote(c.ns) + " already has gray release " + live->id + " (" +
                    live->state + "); promote or abort it first",
                "namespace");
  }
  if (release_by_id(ctx.db, c.id)) return fail(Errc::kConflict, "release id in use", "id");
  Json changes = Json::object();
  std::vector<api::ReleaseChange> normalized;
  for (const auto& change : c.changes) {
    if (auto bad = api::check_key(change.key)) {
      return fail(Errc::kValidation, *bad, "changes." + change.key);
    }
    if (changes.contains(change.key)) {
      return fail(Errc::kValidation, "key " + squote(change.key) + " appears twice", "changes");
    }
    if (change.value) {
      auto v = release_value(ctx, *ns, change.key, *change.value);
      if (!v.ok()) {
        Error e = v.error();
        e.field = "changes." + change.key;
        return Unexpected{std::move(e)};
      }
      changes[change.key] = *parse_json(*v, 80);
      normalized.push_back({change.key, *v});
    } else {
      if (auto refused = refuse_secret(ctx, *ns, change.key); !refused.ok()) {
        return Unexpected{refused.error()};
      }
      changes[change.key] = nullptr;
      normalized.push_back({change.key, std::nullopt});
    }
  }
  if (auto ok = check_release_schemas(ctx, *ns, normalized); !ok.ok()) {
    return Unexpected{ok.error()};
  }
  int64_t seq = 0;
  {
    Stmt s = ctx.db.prepare("SELECT COALESCE(MAX(seq), 0) FROM gray_release");
    if (s.step()) seq = s.i64(0);
  }
  ReleaseRow r;
  r.id = c.id;
  r.namespace_id = ns->id;
  r.ns = ns->name;
  r.state = "active";
  r.stage = 0;
  r.spec = dump_compact(*spec);
  r.changes = dump_compact(changes);
  r.revision = ctx.rev;
  r.stage_revision = ctx.rev;
  r.description = c.description;
  r.created_by = ctx.operator_name;
  r.created_at_ms = r.updated_at_ms = r.stage_started_ms = ctx.ts;
  r.reason = "started";
  r.transitions = append_transition(ReleaseRow{}, ctx, "", "active", 0, r.reason);
  ctx.db
      .prepare(std::string("INSERT INTO gray_release(seq, ") + kReleaseColumns +
               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(seq + 1)
      .bind(r.id)
      .bind(r.namespace_id)
      .bind(r.ns)
      .bind(r.state)
      .bind(r.stage)
      .bind(r.spec)
      .bind(r.changes)
      .bind(static_cast<int64_t>(r.revision))
      .bind(static_cast<int64_t>(r.stage_revision))
      .bind(r.description)
      .bind(r.created_by)
      .bind(r.created_at_ms)
      .bind(r.updated_at_ms)
      .bind(r.stage_started_ms)
      .bind(r.reason)
      .bind(r.transitions)
      .run();
  if (auto ok = announce(ctx, ns->id, normalized); !ok.ok()) return Unexpected{ok.error()};
  return Outcome{api::ReleaseChanged{r.id, r.state, r.stage}};
}

R<Outcome> transition_release(Ctx& ctx, const api::TransitionRelease& c) {
  auto found = release_by_id(ctx.db, c.id);
  if (!found || found->ns != c.ns) {
    return fail(Errc::kNotFound, "release " + squote(c.id) + " does not exist", "id");
  }
  ReleaseRow r = std::move(*found);
  if (c.reason.size() > 1024) {
    return fail(Errc::kValidation, "reason is longer than 1024 characters", "reason");
  }
  const std::string from = r.state;
  std::string to;
  bool wake = false;
  int64_t stage = r.stage;
  auto refuse = [&](const std::string& what) {
    return fail(Errc::kConflict,
                "release " + r.id + " is " + from + ": it cannot be " + what, "state");
  };
  if (c.action == "promote") {
    if (!live_state(from)) return refuse("promoted");
    to = "promoted";
  } else if (c.action == "abort") {
    if (!live_state(from)) return refuse("aborted");
    to = "aborted";
    wake = true;
  } else if (c.action == "pause") {
    if (from != "active") return refuse("paused");
    to = "paused";
  } else if (c.action == "resume") {
    if (from != "paused" && from != "halted") return refuse("resumed");
    to = "active";
  } else if (c.action == "halt") {
    if (from != "active") return refuse("halted");
    to = "halted";
  } else if (c.action == "advance") {
    if (from != "active") return refuse("advanced");
    if (c.stage != r.stage + 1) return refuse("advanced to stage " + std::to_string(c.stage));
    to = "active";
    stage = c.stage;
    wake = true;
  } else {
    return fail(Errc::kValidation, "unknown release action " + squote(c.action), "action");
  }
  std::string reason = c.reason;
  if (reason.empty()) reason = c.automatic ? c.action + " (plan)" : c.action + " by operator";
  r.transitions = append_transition(r, ctx, from, to, stage, reason);
  r.state = to;
  r.reason = reason;
  r.updated_at_ms = ctx.ts;
  if (stage != r.stage || c.action == "resume") r.stage_started_ms = ctx.ts;
  r.stage = stage;
  auto changes = stored_changes(r);
  if (c.action == "promote") {
    auto ns = writable_namespace(ctx, r.ns);
    if (!ns.ok()) return Unexpected{ns.error()};
    r.stage_revision = ctx.rev;
    save(ctx, r);
    auto written = write_release_values(ctx, *ns, changes, r.id);
    if (!written.ok()) return Unexpected{written.error()};
    // The gray clients of keys whose stable value did not change still move off the release.
    std::vector<api::ReleaseChange> rest;
    for (const auto& ch : changes) {
      bool seen = std::any_of(ctx.changes.begin(), ctx.changes.end(),
                              [&](const Change& x) { return x.config.key == ch.key; });
      if (!seen) rest.push_back(ch);
    }
    if (auto ok = announce(ctx, ns->id, rest); !ok.ok()) return Unexpected{ok.error()};
  } else {
    if (wake) r.stage_revision = ctx.rev;
    save(ctx, r);
    if (wake) {
      if (auto ok = announce(ctx, r.namespace_id, changes); !ok.ok()) {
        return Unexpected{ok.error()};
      }
    }
  }
  return Outcome{api::ReleaseChanged{r.id, r.state, r.stage}};
}

}  // namespace cairn::store::apply_detail
