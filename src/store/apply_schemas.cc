// Typed namespaces (docs/schemas.md): setting a namespace's value schemas, and the one check
// every config write runs against them. Deterministic: the schemas come from the database, the
// validator depends only on them and the value.

#include "jsonschema/namespace_schemas.h"
#include "secrets/sealed.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

R<SchemasPtr> namespace_schemas(Conn& db, int64_t namespace_id) {
  Stmt s = db.prepare("SELECT schemas, strict FROM namespace_schema WHERE namespace_id = ?");
  s.bind(namespace_id);
  if (!s.step()) return SchemasPtr{};
  std::string text = s.text(0);
  bool strict = s.i64(1) != 0;
  if (text == "[]" && !strict) return SchemasPtr{};
  auto compiled = jsonschema::compiled(text, strict);
  if (!compiled.ok()) {
    // Stored schemas compiled when they were set; failing now is a broken invariant.
    return fail(Errc::kInternal, "stored schemas do not compile: " + compiled.error().details);
  }
  return *compiled;
}

std::vector<api::SchemaViolation> check_value(const SchemasPtr& schemas, std::string_view key,
                                              std::string_view value_text) {
  // A secret's value is sealed here: the leader checked its plaintext before sealing it
  // (core::Core::seal; docs/secrets.md), and apply never holds the key to open it.
  if (!schemas || secrets::looks_sealed(value_text)) return {};
  return schemas->check_text(key, value_text);
}

Error schema_refusal(const std::vector<api::SchemaViolation>& violations,
                     const std::string& field) {
  return jsonschema::refusal(violations, field);
}

void clear_violation_flag(Ctx& ctx, int64_t namespace_id, std::string_view key) {
  ctx.db.prepare("DELETE FROM schema_violation WHERE namespace_id = ? AND \"key\" = ?")
      .bind(namespace_id)
      .bind(key)
      .run();
}

std::vector<api::SchemaViolation> current_violations(Conn& db, int64_t namespace_id,
                                                     const jsonschema::NamespaceSchemas& schemas) {
  std::vector<api::SchemaViolation> out;
  Stmt s = db.prepare("SELECT \"key\", value FROM config WHERE namespace_id = ? ORDER BY \"key\"");
  s.bind(namespace_id);
  while (s.step()) {
    if (secrets::looks_sealed(s.text(1))) continue;  // checked when written (check_value)
    auto v = schemas.check_text(s.text(0), s.text(1));
    out.insert(out.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  }
  return out;
}

R<Outcome> set_namespace_schema(Ctx& ctx, const api::SetNamespaceSchema& c) {
  auto ns = namespace_by_id(ctx.db, c.id);
  if (!ns) {
    return fail(Errc::kNamespaceNotFound,
                "namespace id " + std::to_string(c.id) + " does not exist", "id");
  }
  auto schemas = jsonschema::compiled(c.schemas_json, c.strict);
  if (!schemas.ok()) return Unexpected{schemas.error()};
  const jsonschema::NamespaceSchemas& next = **schemas;

  int64_t version = 0;
  {
    Stmt s = ctx.db.prepare(
        "SELECT version, schemas, strict FROM namespace_schema WHERE namespace_id = ?");
    s.bind(ns->id);
    if (s.step()) {
      version = s.i64(0);
      if (s.text(1) == next.canonical_json() && (s.i64(2) != 0) == c.strict) {
        api::SchemaSet same{ns->name, version, c.strict,
                            static_cast<int64_t>(next.entries().size()), false, {}, false};
        return Outcome{std::move(same), false};
      }
    }
  }
  auto failing = current_violations(ctx.db, ns->id, next);
  if (!failing.empty() && !c.force) {
    Error e = schema_refusal(failing, "schemas");
    e.code = Errc::kConflict;
    e.details = "current values fail the new schemas: " + e.details +
                "; fix them first, or set the schemas with \"force\": true";
    return Unexpected{std::move(e)};
  }
  ++version;
  ctx.db
      .prepare(
          "INSERT INTO namespace_schema(namespace_id, version, schemas, strict, updated_by, "
          "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(namespace_id) DO UPDATE SET "
          "version = excluded.version, schemas = excluded.schemas, strict = excluded.strict, "
          "updated_by = excluded.updated_by, updated_at = excluded.updated_at")
      .bind(ns->id)
      .bind(version)
      .bind(next.canonical_json())
      .bind(c.strict ? 1 : 0)
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .run();
  ctx.db
      .prepare(
          "INSERT INTO namespace_schema_history(namespace_id, version, schemas, strict, forced, "
          "violations, operator, created_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(ns->id)
      .bind(version)
      .bind(next.canonical_json())
      .bind(c.strict ? 1 : 0)
      .bind(failing.empty() ? 0 : 1)
      .bind(api::violations_json(failing))
      .bind(ctx.operator_name)
      .bind(ctx.ts)
      .bind(static_cast<int64_t>(ctx.rev))
      .run();
  ctx.db.prepare("DELETE FROM schema_violation WHERE namespace_id = ?").bind(ns->id).run();
  std::set<std::string> flagged;
  for (const auto& v : failing) flagged.insert(v.key);
  for (const auto& key : flagged) {
    ctx.db.prepare("INSERT INTO schema_violation(namespace_id, \"key\") VALUES (?, ?)")
        .bind(ns->id)
        .bind(key)
        .run();
  }
  touch_namespace(ctx, ns->id);
  auto row = namespace_by_id(ctx.db, ns->id);
  if (!row) return fail(Errc::kDatabase, "namespace row vanished after schema change");
  ctx.changes.push_back(Change{Change::Kind::kNamespacePut, *row, {}, {}});
  api::SchemaSet set{ns->name,         version, c.strict, static_cast<int64_t>(next.entries().size()),
                     !failing.empty(), std::move(failing), true};
  return Outcome{std::move(set)};
}

}  // namespace cairn::store::apply_detail
