// Reads: each runs on a borrowed read connection inside one read transaction, so a count and
// the page it belongs to come from the same snapshot, and never half of an apply.

#include <climits>
#include <string>

#include "common/json.h"
#include "common/time.h"
#include "secrets/sealed.h"
#include "store/impl.h"

namespace cairn::store {
namespace {

using api::Errc;
using api::Error;
using api::make_error;


/// Runs `fn` in a read transaction on a pooled connection; an SQLite failure anywhere inside
/// becomes a 50002 whatever `fn` returned.
template <class F>
auto read_tx(ReadPool& pool, F&& fn) -> decltype(fn(std::declval<Conn&>())) {
  auto lease = pool.borrow();
  if (!lease.ok()) return Unexpected{lease.error()};
  Conn& conn = ***lease;
  ReadTx tx(conn);
  auto result = fn(conn);
  if (auto e = conn.db_error()) return Unexpected{*e};
  return result;
}

R<Ok> check_page(const PageRequest& page) {
  if (page.page < 1) return fail(Errc::kValidation, "page must be at least 1", "page");
  if (page.page_size < 1 || page.page_size > 1000) {
    return fail(Errc::kValidation, "page_size must be between 1 and 1000", "page_size");
  }
  return Ok{};
}

int64_t offset_of(const PageRequest& page) {
  if (page.page - 1 > INT64_MAX / page.page_size) return INT64_MAX;
  return (page.page - 1) * page.page_size;
}

int64_t count(Stmt& s) { return s.step() ? s.i64(0) : 0; }

/// SQL condition on the namespace name column `column` for a Visibility, with its binder.
/// Patterns are matched by prefix (a trailing '*') or exactly, never with SQL wildcards.
std::string visibility_sql(const Visibility& visible, const char* column) {
  if (!visible) return {};
  std::string sql = " AND (0";
  for (const auto& p : *visible) {
    sql += !p.empty() && p.back() == '*' ? std::string(" OR substr(") + column + ", 1, ?) = ?"
                                         : std::string(" OR ") + column + " = ?";
  }
  return sql + ")";
}

void bind_visibility(Stmt& s, const Visibility& visible) {
  if (!visible) return;
  for (const auto& p : *visible) {
    if (!p.empty() && p.back() == '*') {
      s.bind(static_cast<int64_t>(p.size() - 1)).bind(std::string_view(p).substr(0, p.size() - 1));
    } else {
      s.bind(p);
    }
  }
}

std::optional<NamespaceRow> find_namespace(Conn& db, std::string_view name) {
  Stmt s = db.prepare(std::string("SELECT ") + kNamespaceColumns +
                      " FROM namespace n WHERE n.name = ?");
  s.bind(name);
  if (!s.step()) return std::nullopt;
  return read_namespace_row(s);
}

/// The namespace of a per-key read, after checking that the key ever existed in it.
R<NamespaceRow> key_namespace(Conn& db, const std::string& ns, const std::string& key) {
  auto row = find_namespace(db, ns);
  if (!row) {
    return fail(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist", "namespace");
  }
  Stmt s = db.prepare("SELECT 1 FROM key_version WHERE namespace = ? AND \"key\" = ?");
  s.bind(ns).bind(key);
  if (!s.step()) {
    return fail(Errc::kConfigNotFound,
                "key '" + key + "' never existed in namespace '" + ns + "'", "key");
  }
  return std::move(*row);
}

VersionRow read_version_row(const Stmt& s) {
  VersionRow row;
  row.config_id = s.i64(0);
  row.version = s.i64(1);
  row.value = s.text(2);
  row.status = static_cast<int>(s.i64(3));
  row.created_by = s.text(4);
  row.created_at_ms = s.i64(5);
  return row;
}

constexpr const char* kVersionColumns = "config_id, version, value, status, created_by, created_at";

/// Fills the tags of `rows` (versions of one key) from config_tag.
void add_tags(Conn& db, int64_t namespace_id, const std::string& key,
              std::vector<VersionRow>& rows) {
  if (rows.empty()) return;
  Stmt s = db.prepare(
      "SELECT version, tag FROM config_tag WHERE namespace_id = ? AND \"key\" = ? "
      "ORDER BY version, tag");
  s.bind(namespace_id).bind(key);
  while (s.step()) {
    int64_t version = s.i64(0);
    for (auto& row : rows) {
      if (row.version == version) row.tags.push_back(s.text(1));
    }
  }
}

}  // namespace

Result<Page<ConfigRow>, api::Error> Store::list_configs(const ConfigFilter& filter,
                                                        const PageRequest& page) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  if (auto ok = check_page(page); !ok.ok()) return Unexpected{ok.error()};
  return read_tx(impl_->readers, [&](Conn& db) -> R<Page<ConfigRow>> {
    std::string where = " WHERE 1 = 1";
    int64_t namespace_id = 0;
    if (filter.ns) {
      auto ns = find_namespace(db, *filter.ns);
      if (!ns) {
        return fail(Errc::kNamespaceNotFound, "namespace '" + *filter.ns + "' does not exist",
                    "namespace");
      }
      namespace_id = ns->id;
      where += " AND c.namespace_id = ?";
    }
    // instr() matches the text literally: '%' and '_' in the filter are no wildcards.
    if (!filter.key_contains.empty()) where += " AND instr(c.\"key\", ?) > 0";
    if (filter.visible) {
      where += " AND c.namespace_id IN (SELECT v.id FROM namespace v WHERE 1 = 1" +
               visibility_sql(filter.visible, "v.name") + ")";
    }
    auto bind_filter = [&](Stmt& s) {
      if (filter.ns) s.bind(namespace_id);
      if (!filter.key_contains.empty()) s.bind(filter.key_contains);
      bind_visibility(s, filter.visible);
    };
    Page<ConfigRow> out;
    {
      Stmt s = db.prepare("SELECT COUNT(*) FROM config c" + where);
      bind_filter(s);
      out.total = count(s);
    }
    Stmt s = db.prepare(std::string("SELECT ") + kConfigColumns +
                        ", EXISTS (SELECT 1 FROM schema_violation sv WHERE sv.namespace_id = "
                        "c.namespace_id AND sv.\"key\" = c.\"key\")"
                        " FROM config c JOIN namespace n ON n.id = c.namespace_id" + where +
                        " ORDER BY n.name, c.\"key\" LIMIT ? OFFSET ?");
    bind_filter(s);
    s.bind(page.page_size).bind(offset_of(page));
    while (s.step()) {
      out.items.push_back(read_config_row(s));
      out.items.back().schema_violation = s.i64(13) != 0;
    }
    return out;
  });
}

Result<SchemaRow, api::Error> Store::namespace_schema(const std::string& ns) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<SchemaRow> {
    auto row = find_namespace(db, ns);
    if (!row) return fail(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist", "namespace");
    SchemaRow out;
    out.ns = ns;
    {
      Stmt s = db.prepare(
          "SELECT version, schemas, strict, COALESCE(updated_by, ''), updated_at "
          "FROM namespace_schema WHERE namespace_id = ?");
      s.bind(row->id);
      if (s.step()) {
        out.version = s.i64(0);
        out.schemas = s.text(1);
        out.strict = s.i64(2) != 0;
        out.updated_by = s.text(3);
        out.updated_at_ms = s.i64(4);
      }
    }
    Stmt f = db.prepare(
        "SELECT \"key\" FROM schema_violation WHERE namespace_id = ? ORDER BY \"key\"");
    f.bind(row->id);
    while (f.step()) out.flagged.push_back(f.text(0));
    return out;
  });
}

Result<std::vector<SchemaHistoryRow>, api::Error> Store::schema_history(
    const std::string& ns) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<std::vector<SchemaHistoryRow>> {
    auto row = find_namespace(db, ns);
    if (!row) return fail(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist", "namespace");
    std::vector<SchemaHistoryRow> out;
    Stmt s = db.prepare(
        "SELECT version, schemas, strict, forced, violations, COALESCE(operator, ''), "
        "created_at, revision FROM namespace_schema_history WHERE namespace_id = ? "
        "ORDER BY id DESC LIMIT 100");
    s.bind(row->id);
    while (s.step()) {
      out.push_back(SchemaHistoryRow{s.i64(0), s.text(1), s.i64(2) != 0, s.i64(3) != 0,
                                     s.text(4), s.text(5), s.i64(6),
                                     static_cast<uint64_t>(s.i64(7))});
    }
    return out;
  });
}

Result<std::vector<std::pair<std::string, std::string>>, api::Error> Store::namespace_values(
    const std::string& ns) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  using Values = std::vector<std::pair<std::string, std::string>>;
  return read_tx(impl_->readers, [&](Conn& db) -> R<Values> {
    auto row = find_namespace(db, ns);
    if (!row) return fail(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist", "namespace");
    Values out;
    Stmt s = db.prepare(
        "SELECT \"key\", value FROM config WHERE namespace_id = ? ORDER BY \"key\"");
    s.bind(row->id);
    while (s.step()) out.emplace_back(s.text(0), s.text(1));
    return out;
  });
}

Result<Page<HistoryRow>, api::Error> Store::history(const std::string& ns, const std::string& key,
                                                    const PageRequest& page) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  if (auto ok = check_page(page); !ok.ok()) return Unexpected{ok.error()};
  return read_tx(impl_->readers, [&](Conn& db) -> R<Page<HistoryRow>> {
    auto nsrow = key_namespace(db, ns, key);
    if (!nsrow.ok()) return Unexpected{nsrow.error()};
    Page<HistoryRow> out;
    {
      Stmt s = db.prepare(
          "SELECT COUNT(*) FROM config_history WHERE namespace_id = ? AND \"key\" = ?");
      s.bind(nsrow->id).bind(key);
      out.total = count(s);
    }
    Stmt s = db.prepare(
        "SELECT id, config_id, \"key\", old_value, new_value, version, operation, operator, "
        "created_at, revision, release_id FROM config_history "
        "WHERE namespace_id = ? AND \"key\" = ? ORDER BY id DESC LIMIT ? OFFSET ?");
    s.bind(nsrow->id).bind(key).bind(page.page_size).bind(offset_of(page));
    while (s.step()) {
      HistoryRow row;
      row.id = s.i64(0);
      row.config_id = s.i64(1);
      row.ns = nsrow->name;
      row.key = s.text(2);
      row.old_value = s.opt_text(3);
      row.new_value = s.text(4);
      row.version = s.i64(5);
      row.operation = s.text(6);
      row.operator_name = s.text(7);
      row.created_at_ms = s.i64(8);
      row.revision = static_cast<uint64_t>(s.i64(9));
      row.release_id = s.opt_text(10).value_or("");
      out.items.push_back(std::move(row));
    }
    return out;
  });
}

Result<Page<VersionRow>, api::Error> Store::versions(const std::string& ns, const std::string& key,
                                                     const PageRequest& page) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  if (auto ok = check_page(page); !ok.ok()) return Unexpected{ok.error()};
  return read_tx(impl_->readers, [&](Conn& db) -> R<Page<VersionRow>> {
    auto nsrow = key_namespace(db, ns, key);
    if (!nsrow.ok()) return Unexpected{nsrow.error()};
    Page<VersionRow> out;
    {
      Stmt s = db.prepare(
          "SELECT COUNT(*) FROM config_version WHERE namespace_id = ? AND \"key\" = ?");
      s.bind(nsrow->id).bind(key);
      out.total = count(s);
    }
    Stmt s = db.prepare(std::string("SELECT ") + kVersionColumns +
                        " FROM config_version WHERE namespace_id = ? AND \"key\" = ?"
                        " ORDER BY version DESC LIMIT ? OFFSET ?");
    s.bind(nsrow->id).bind(key).bind(page.page_size).bind(offset_of(page));
    while (s.step()) out.items.push_back(read_version_row(s));
    add_tags(db, nsrow->id, key, out.items);
    return out;
  });
}

Result<VersionRow, api::Error> Store::get_version(const std::string& ns, const std::string& key,
                                                  int64_t version) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<VersionRow> {
    auto nsrow = key_namespace(db, ns, key);
    if (!nsrow.ok()) return Unexpected{nsrow.error()};
    Stmt s = db.prepare(std::string("SELECT ") + kVersionColumns +
                        " FROM config_version WHERE namespace_id = ? AND \"key\" = ?"
                        " AND version = ?");
    s.bind(nsrow->id).bind(key).bind(version);
    if (!s.step()) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(version) + " of key '" + key + "' does not exist",
                  "version");
    }
    std::vector<VersionRow> rows{read_version_row(s)};
    add_tags(db, nsrow->id, key, rows);
    return std::move(rows.front());
  });
}

namespace {

/// The last change of ns/key applied with a timestamp at or before `at_ms`: its version and
/// operation; nullopt when there was none.
std::optional<std::pair<int64_t, std::string>> change_at(Conn& db, int64_t namespace_id,
                                                         const std::string& key, int64_t at_ms) {
  Stmt s = db.prepare(
      "SELECT version, operation FROM config_history WHERE namespace_id = ? AND \"key\" = ? "
      "AND created_at <= ? ORDER BY id DESC LIMIT 1");
  s.bind(namespace_id).bind(key).bind(at_ms);
  if (!s.step()) return std::nullopt;
  return std::make_pair(s.i64(0), s.text(1));
}

std::optional<VersionRow> kept_version(Conn& db, int64_t namespace_id, const std::string& key,
                                       int64_t version) {
  Stmt s = db.prepare(std::string("SELECT ") + kVersionColumns +
                      " FROM config_version WHERE namespace_id = ? AND \"key\" = ?"
                      " AND version = ?");
  s.bind(namespace_id).bind(key).bind(version);
  if (!s.step()) return std::nullopt;
  return read_version_row(s);
}

}  // namespace

Result<VersionRow, api::Error> Store::version_at(const std::string& ns, const std::string& key,
                                                 int64_t at_ms) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<VersionRow> {
    auto nsrow = key_namespace(db, ns, key);
    if (!nsrow.ok()) return Unexpected{nsrow.error()};
    const std::string when = format_utc(at_ms);
    auto change = change_at(db, nsrow->id, key, at_ms);
    if (!change || change->second == "DELETE") {
      return fail(Errc::kNotFound,
                  "key '" + key + "' had no value at " + when +
                      (change ? " (it was deleted)" : " (it did not exist yet)"),
                  "at");
    }
    auto row = kept_version(db, nsrow->id, key, change->first);
    if (!row) {
      return fail(Errc::kNotFound,
                  "version " + std::to_string(change->first) + " of key '" + key +
                      "', current at " + when + ", is no longer kept (retention)",
                  "at");
    }
    std::vector<VersionRow> rows{std::move(*row)};
    add_tags(db, nsrow->id, key, rows);
    return std::move(rows.front());
  });
}

Result<Store::NamespaceAt, api::Error> Store::namespace_at(const std::string& ns,
                                                           int64_t at_ms) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<NamespaceAt> {
    auto nsrow = find_namespace(db, ns);
    if (!nsrow) {
      return fail(Errc::kNamespaceNotFound, "namespace '" + ns + "' does not exist",
                  "namespace");
    }
    // SQLite takes the bare columns of a MAX() aggregate from the row holding the maximum:
    // each key's last change at or before the instant.
    Stmt s = db.prepare(
        "SELECT \"key\", MAX(id), version, operation, revision, created_at "
        "FROM config_history WHERE namespace_id = ? AND created_at <= ? "
        "GROUP BY \"key\" ORDER BY \"key\"");
    s.bind(nsrow->id).bind(at_ms);
    NamespaceAt out;
    struct Last {
      std::string key;
      int64_t version;
    };
    std::vector<Last> current;
    int64_t last_id = 0;
    while (s.step()) {
      if (s.i64(1) > last_id) {
        last_id = s.i64(1);
        out.revision = static_cast<uint64_t>(s.i64(4));
        out.updated_at_ms = s.i64(5);
      }
      if (s.text(3) != "DELETE") current.push_back(Last{s.text(0), s.i64(2)});
    }
    for (auto& c : current) {
      auto row = kept_version(db, nsrow->id, c.key, c.version);
      if (row) {
        out.configs.emplace_back(std::move(c.key), std::move(*row));
      } else {
        out.unavailable.push_back(std::move(c.key));
      }
    }
    return out;
  });
}

Result<Page<NamespaceRow>, api::Error> Store::list_namespaces(const NamespaceFilter& filter,
                                                              const PageRequest& page) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  if (auto ok = check_page(page); !ok.ok()) return Unexpected{ok.error()};
  return read_tx(impl_->readers, [&](Conn& db) -> R<Page<NamespaceRow>> {
    std::string where = " WHERE 1 = 1";
    if (!filter.name_contains.empty()) where += " AND instr(n.name, ?) > 0";
    if (filter.status) where += " AND n.status = ?";
    where += visibility_sql(filter.visible, "n.name");
    auto bind_filter = [&](Stmt& s) {
      if (!filter.name_contains.empty()) s.bind(filter.name_contains);
      if (filter.status) s.bind(*filter.status);
      bind_visibility(s, filter.visible);
    };
    Page<NamespaceRow> out;
    {
      Stmt s = db.prepare("SELECT COUNT(*) FROM namespace n" + where);
      bind_filter(s);
      out.total = count(s);
    }
    Stmt s = db.prepare(std::string("SELECT ") + kNamespaceColumns +
                        ", (SELECT COUNT(*) FROM config c WHERE c.namespace_id = n.id),"
                        " r.keep_latest, r.keep_days"
                        " FROM namespace n LEFT JOIN namespace_retention r"
                        " ON r.namespace_id = n.id" + where + " ORDER BY n.name LIMIT ? OFFSET ?");
    bind_filter(s);
    s.bind(page.page_size).bind(offset_of(page));
    while (s.step()) {
      NamespaceRow row = read_namespace_row(s);
      row.config_count = s.i64(8);
      if (!s.is_null(9)) row.keep_latest = s.i64(9);
      if (!s.is_null(10)) row.keep_days = s.i64(10);
      out.items.push_back(std::move(row));
    }
    return out;
  });
}

Result<std::vector<TokenRow>, api::Error> Store::tokens() const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<std::vector<TokenRow>> {
    std::vector<TokenRow> out;
    Stmt s = db.prepare(
        "SELECT id, name, secret_hash, grants, created_by, created_at, expires_at, revoked_at"
        " FROM auth_token ORDER BY id");
    while (s.step()) {
      TokenRow t{s.text(0), s.text(1), s.text(2), {}, s.text(4), s.i64(5), s.i64(6), s.i64(7)};
      if (auto grants = parse_json(s.text(3), 4); grants && grants->is_array()) {
        for (const auto& g : *grants) {
          if (!g.is_object()) continue;
          t.grants.push_back(api::Grant{g.value("namespace", std::string()),
                                        g.value("permission", std::string())});
        }
      }
      out.push_back(std::move(t));
    }
    return out;
  });
}

uint64_t Store::auth_generation() const { return impl_->auth_generation.load(); }

Result<std::vector<ReleaseRow>, api::Error> Store::releases() const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<std::vector<ReleaseRow>> {
    Stmt s = db.prepare(std::string("SELECT ") + kReleaseColumns +
                        " FROM gray_release ORDER BY seq");
    std::vector<ReleaseRow> out;
    while (s.step()) out.push_back(read_release_row(s));
    return out;
  });
}

Result<Page<AuditRow>, api::Error> Store::audit(const AuditFilter& filter,
                                                const PageRequest& page) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  if (auto ok = check_page(page); !ok.ok()) return Unexpected{ok.error()};
  return read_tx(impl_->readers, [&](Conn& db) -> R<Page<AuditRow>> {
    std::string where = " WHERE 1 = 1";
    bool action_prefix = filter.action && !filter.action->empty() && filter.action->back() == '*';
    if (filter.actor) where += " AND actor = ?";
    if (filter.ns) where += " AND namespace = ?";
    if (filter.action) where += action_prefix ? " AND substr(action, 1, ?) = ?" : " AND action = ?";
    if (filter.from_ms) where += " AND at >= ?";
    if (filter.to_ms) where += " AND at < ?";
    auto bind_filter = [&](Stmt& s) {
      if (filter.actor) s.bind(*filter.actor);
      if (filter.ns) s.bind(*filter.ns);
      if (filter.action) {
        if (action_prefix) {
          std::string_view prefix(*filter.action);
          prefix.remove_suffix(1);
          s.bind(static_cast<int64_t>(prefix.size())).bind(prefix);
        } else {
          s.bind(*filter.action);
        }
      }
      if (filter.from_ms) s.bind(*filter.from_ms);
      if (filter.to_ms) s.bind(*filter.to_ms);
    };
    Page<AuditRow> out;
    {
      Stmt s = db.prepare("SELECT COUNT(*) FROM audit_log" + where);
      bind_filter(s);
      out.total = count(s);
    }
    Stmt s = db.prepare(
        "SELECT id, at, actor, client_ip, action, namespace, \"key\", code, request_id"
        " FROM audit_log" + where + " ORDER BY id DESC LIMIT ? OFFSET ?");
    bind_filter(s);
    s.bind(page.page_size).bind(offset_of(page));
    while (s.step()) {
      out.items.push_back(AuditRow{s.i64(0), api::AuditEntry{s.i64(1), s.text(2), s.text(3),
                                                              s.text(4), s.text(5), s.text(6),
                                                              s.i64(7), s.text(8)}});
    }
    return out;
  });
}

Result<Ok, api::Error> Store::load_all(
    const std::function<void(const NamespaceRow&)>& on_namespace,
    const std::function<void(const ConfigRow&)>& on_config) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<Ok> {
    {
      Stmt s = db.prepare(std::string("SELECT ") + kNamespaceColumns +
                          " FROM namespace n ORDER BY n.id");
      while (s.step()) on_namespace(read_namespace_row(s));
    }
    Stmt s = db.prepare(std::string("SELECT ") + kConfigColumns +
                        " FROM config c JOIN namespace n ON n.id = c.namespace_id"
                        " ORDER BY c.namespace_id, c.\"key\"");
    while (s.step()) on_config(read_config_row(s));
    return Ok{};
  });
}

}  // namespace cairn::store

namespace cairn::store {
namespace {

// Every stored sealed text with its namespace name and key: versions (which include every
// current value) and both sides of history (which outlives versions removed by retention). A
// deleted namespace's rows are found through its tombstone.
std::string sealed_texts() {
  // The prefix has no quote character of SQL's own: it is spliced in as a literal.
  const std::string prefix(secrets::kSealedPrefix);
  return R"sql(
  SELECT COALESCE(n.name, t.name) AS ns, s."key" AS k, s.v AS v FROM (
    SELECT namespace_id, "key", value AS v FROM config_version
    UNION SELECT namespace_id, "key", old_value FROM config_history WHERE old_value IS NOT NULL
    UNION SELECT namespace_id, "key", new_value FROM config_history
  ) s
  LEFT JOIN namespace n ON n.id = s.namespace_id
  LEFT JOIN namespace_tombstone t ON t.id = s.namespace_id
  WHERE substr(s.v, 1, )sql" +
         std::to_string(prefix.size()) + ") = '" + prefix + "'";
}

std::string sealed_prefix_length() { return std::to_string(secrets::kSealedPrefix.size()); }

}  // namespace

Result<int64_t, api::Error> Store::last_version(const std::string& ns,
                                                const std::string& key) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<int64_t> {
    Stmt s = db.prepare("SELECT last_version FROM key_version WHERE namespace = ? AND \"key\" = ?");
    s.bind(ns).bind(key);
    return s.step() ? s.i64(0) : int64_t{0};
  });
}

Result<std::vector<Store::SealedValue>, api::Error> Store::sealed_values_not(
    const std::string& keep_prefix, size_t limit) const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<std::vector<SealedValue>> {
    Stmt s = db.prepare("SELECT ns, k, v FROM (" + sealed_texts() +
                        ") WHERE ns IS NOT NULL AND substr(v, 1, ?) <> ? ORDER BY ns, k, v "
                        "LIMIT ?");
    s.bind(static_cast<int64_t>(keep_prefix.size()))
        .bind(keep_prefix)
        .bind(static_cast<int64_t>(limit));
    std::vector<SealedValue> out;
    while (s.step()) out.push_back(SealedValue{s.text(0), s.text(1), s.text(2)});
    return out;
  });
}

Result<std::vector<std::pair<std::string, int64_t>>, api::Error> Store::sealed_key_ids() const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  return read_tx(impl_->readers, [&](Conn& db) -> R<std::vector<std::pair<std::string, int64_t>>> {
    const std::string from = sealed_prefix_length() + " + 1";
    Stmt s = db.prepare("SELECT substr(v, " + from + ", instr(substr(v, " + from +
                        "), '.') - 1) AS kid, COUNT(DISTINCT v) FROM (" + sealed_texts() +
                        ") GROUP BY kid ORDER BY kid");
    std::vector<std::pair<std::string, int64_t>> out;
    while (s.step()) out.emplace_back(s.text(0), s.i64(1));
    return out;
  });
}

std::vector<std::string> sealed_key_ids_in(Conn& db) {
  const std::string from = sealed_prefix_length() + " + 1";
  Stmt s = db.prepare("SELECT DISTINCT substr(v, " + from + ", instr(substr(v, " + from +
                      "), '.') - 1) AS kid FROM (" + sealed_texts() + ") ORDER BY kid");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

}  // namespace cairn::store
