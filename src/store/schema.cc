// Table layout: the seed's §3.2 tables (namespace, config, config_version, config_history) in
// SQLite, plus Cairn's bookkeeping. Times are INTEGER Unix milliseconds taken from the command's
// timestamp (the seed's DATETIME columns keep their names). `key` is quoted because it is an SQL
// keyword.

#include "store/schema.h"

#include <string>

namespace cairn::store {
namespace {

constexpr const char* kCreateSchema = R"sql(
CREATE TABLE meta (
  name  TEXT PRIMARY KEY,          -- schema_version, revision, applied_index
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE namespace (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  status      INTEGER NOT NULL DEFAULT 1,   -- 1 enabled, 0 disabled
  revision    INTEGER NOT NULL DEFAULT 0,   -- last global revision that changed it or a key
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX idx_namespace_status ON namespace(status);

CREATE TABLE config (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL REFERENCES namespace(id),
  "key"        TEXT NOT NULL,
  value        TEXT NOT NULL,               -- compact JSON
  version      INTEGER NOT NULL DEFAULT 1,
  description  TEXT NOT NULL DEFAULT '',
  status       INTEGER NOT NULL DEFAULT 1,
  created_by   TEXT,
  updated_by   TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  revision     INTEGER NOT NULL DEFAULT 0,
  UNIQUE (namespace_id, "key")
);
CREATE INDEX idx_config_key ON config("key");
CREATE INDEX idx_config_status ON config(status);

-- Every version ever written; rows outlive the config row (delete keeps them readable).
CREATE TABLE config_version (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  config_id    INTEGER NOT NULL,
  namespace_id INTEGER NOT NULL,
  "key"        TEXT NOT NULL,
  value        TEXT NOT NULL,
  version      INTEGER NOT NULL,
  status       INTEGER NOT NULL DEFAULT 1,  -- 1 kept; reserved for retention
  created_by   TEXT,
  created_at   INTEGER NOT NULL,
  UNIQUE (config_id, version)
);
CREATE UNIQUE INDEX idx_config_version_ns_key_version
  ON config_version(namespace_id, "key", version);

CREATE TABLE config_history (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  config_id    INTEGER NOT NULL,
  namespace_id INTEGER NOT NULL,
  "key"        TEXT NOT NULL,
  old_value    TEXT,                        -- NULL for CREATE
  new_value    TEXT NOT NULL,               -- 'null' for DELETE
  version      INTEGER NOT NULL,
  operation    TEXT NOT NULL,               -- CREATE UPDATE DELETE ROLLBACK ENABLE DISABLE
  operator     TEXT,
  created_at   INTEGER NOT NULL,
  revision     INTEGER NOT NULL
);
CREATE INDEX idx_config_history_ns_key ON config_history(namespace_id, "key", id);

-- Last version ever used per (namespace name, key), so that a version number is never reused:
-- not after delete and re-create of the key, nor after delete and re-create of the namespace.
CREATE TABLE key_version (
  namespace    TEXT NOT NULL,
  "key"        TEXT NOT NULL,
  last_version INTEGER NOT NULL,
  PRIMARY KEY (namespace, "key")
) WITHOUT ROWID;

INSERT INTO meta(name, value) VALUES ('revision', 0), ('applied_index', 0);
)sql";

/// Indexes that earlier releases created and no query uses any more (every history read goes
/// by namespace and key: idx_config_history_ns_key). Each cost a B-tree insert on every write
/// (issue 21 §3). Dropped at open without a schema version: a release that still has them in
/// its layout reads a database without them the same (only its plans differ), so files and
/// snapshots stay exchangeable in both directions.
constexpr const char* kDroppedIndexes = R"sql(
DROP INDEX IF EXISTS idx_config_history_config_id;
DROP INDEX IF EXISTS idx_config_history_created_at;
)sql";

/// Indexes added without a schema version (the converse of kDroppedIndexes: a release without
/// them in its layout keeps them up to date like any index and never reads them).
/// idx_gray_release_live: every config write asks whether a live release holds its keys
/// (apply_detail::live_release, by namespace id and state); idx_gray_release_ns is by name, so
/// that lookup read every release ever made, finished ones included.
constexpr const char* kAddedIndexes = R"sql(
CREATE INDEX IF NOT EXISTS idx_gray_release_live ON gray_release(namespace_id, state);
)sql";

/// Schema version 2: tags and retention overrides.
constexpr const char* kRetentionTables = R"sql(
-- Labels on versions (docs/versions.md): a tag names one version of a key; retention never
-- removes a tagged version.
CREATE TABLE config_tag (
  namespace_id INTEGER NOT NULL,
  "key"        TEXT NOT NULL,
  tag          TEXT NOT NULL,
  version      INTEGER NOT NULL,
  created_by   TEXT,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY (namespace_id, "key", tag)
) WITHOUT ROWID;
CREATE INDEX idx_config_tag_version ON config_tag(namespace_id, "key", version);

-- Per-namespace retention overrides; NULL means "the default".
CREATE TABLE namespace_retention (
  namespace_id INTEGER PRIMARY KEY,
  keep_latest  INTEGER,
  keep_days    INTEGER
);
)sql";

/// Schema version 4: the id a deleted namespace had, by name. A namespace created again under
/// that name gets its old id back, so its keys' versions, tags and history (kept by id, never
/// deleted with the namespace: the audit trail) are its own again. Ids are AUTOINCREMENT, so
/// no other namespace ever gets the id meanwhile.
constexpr const char* kTombstoneTables = R"sql(
CREATE TABLE namespace_tombstone (
  name TEXT PRIMARY KEY,
  id   INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

/// Schema version 5: secret key patterns of namespaces (docs/secrets.md). Secret values
/// themselves need no column: a sealed value is recognisable by its text (secrets/sealed.h).
constexpr const char* kSecretTables = R"sql(
CREATE TABLE namespace_secret (
  namespace_id INTEGER PRIMARY KEY,
  patterns     TEXT NOT NULL              -- JSON array of key patterns
);
)sql";

// API tokens (docs/security.md): only a hash of each secret; revoked rows stay for the audit.
// The audit log: every admin command (written by apply in the command's transaction) and every
// denied request (api::AppendAudit). Row ids are rowids, so equal logs give equal ids.
constexpr const char* kAuthTables = R"sql(
CREATE TABLE auth_token (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  grants      TEXT NOT NULL,            -- JSON array of {"namespace", "permission"}
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,         -- 0: never
  revoked_at  INTEGER NOT NULL          -- 0: valid
) WITHOUT ROWID;

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  client_ip   TEXT NOT NULL,
  action      TEXT NOT NULL,
  namespace   TEXT NOT NULL,
  "key"       TEXT NOT NULL,
  code        INTEGER NOT NULL,          -- 0 when the action succeeded, else its error code
  request_id  TEXT NOT NULL
);
CREATE INDEX idx_audit_actor ON audit_log(actor, id);
CREATE INDEX idx_audit_namespace ON audit_log(namespace, id);
CREATE INDEX idx_audit_at ON audit_log(at);
)sql";

/// Schema version 6: value schemas of namespaces (docs/schemas.md). `schemas` is the compact
/// JSON array of {keys, schema} entries; history keeps every version with who set it; a forced
/// change lists the keys whose current value fails it in schema_violation until they are
/// written again.
constexpr const char* kSchemaTables = R"sql(
CREATE TABLE namespace_schema (
  namespace_id INTEGER PRIMARY KEY,
  version      INTEGER NOT NULL,
  schemas      TEXT NOT NULL,
  strict       INTEGER NOT NULL,
  updated_by   TEXT,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE namespace_schema_history (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  namespace_id INTEGER NOT NULL,
  version      INTEGER NOT NULL,
  schemas      TEXT NOT NULL,
  strict       INTEGER NOT NULL,
  forced       INTEGER NOT NULL,
  violations   TEXT NOT NULL,            -- {"violations":[…]} the change was forced over
  operator     TEXT,
  created_at   INTEGER NOT NULL,
  revision     INTEGER NOT NULL
);
CREATE INDEX idx_namespace_schema_history_ns ON namespace_schema_history(namespace_id, id);

CREATE TABLE schema_violation (
  namespace_id INTEGER NOT NULL,
  "key"        TEXT NOT NULL,
  PRIMARY KEY (namespace_id, "key")
) WITHOUT ROWID;
)sql";

// Version 7: gray releases (docs/releases.md), and the release a RELEASE history row promoted.
constexpr const char* kReleaseTables = R"sql(
CREATE TABLE gray_release (
  id               TEXT PRIMARY KEY,
  seq              INTEGER NOT NULL,          -- creation order
  namespace_id     INTEGER NOT NULL,
  namespace        TEXT NOT NULL,
  state            TEXT NOT NULL,             -- active paused halted promoted aborted
  stage            INTEGER NOT NULL,
  spec             TEXT NOT NULL,             -- canonical {"target","plan"}
  changes          TEXT NOT NULL,             -- {"key": value|null}
  revision         INTEGER NOT NULL,          -- stamped when it started
  stage_revision   INTEGER NOT NULL,          -- last change of who sees what
  description      TEXT NOT NULL,
  created_by       TEXT NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  stage_started_at INTEGER NOT NULL,
  reason           TEXT NOT NULL,
  transitions      TEXT NOT NULL               -- [{"at","from","to","stage","reason","operator"}]
) WITHOUT ROWID;
CREATE INDEX idx_gray_release_ns ON gray_release(namespace, state);
ALTER TABLE config_history ADD COLUMN release_id TEXT;
)sql";

bool table_exists(Conn& conn, const char* name) {
  Stmt s = conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
  s.bind(name);
  return s.step();
}

// One step per schema version: migrate(from) brings a database at `from` to `from + 1`.
Result<Ok, api::Error> migrate(Conn& conn, int64_t from) {
  if (from == 1) {
    conn.exec(kRetentionTables);
    return Ok{};
  }
  if (from == 2) {
    conn.exec(kAuthTables);
    return Ok{};
  }
  if (from == 3) {
    conn.exec(kTombstoneTables);
    return Ok{};
  }
  if (from == 4) {
    conn.exec(kSecretTables);
    return Ok{};
  }
  if (from == 5) {
    conn.exec(kSchemaTables);
    return Ok{};
  }
  if (from == 6) {
    conn.exec(kReleaseTables);
    return Ok{};
  }
  return Unexpected{api::make_error(api::Errc::kDatabase,
                                    "no migration from schema version " + std::to_string(from))};
}

}  // namespace

int64_t read_meta(Conn& conn, const char* name) {
  Stmt s = conn.prepare("SELECT value FROM meta WHERE name = ?");
  s.bind(name);
  return s.step() ? s.i64(0) : 0;
}

void write_meta(Conn& conn, const char* name, int64_t value) {
  conn.prepare(
          "INSERT INTO meta(name, value) VALUES (?, ?) "
          "ON CONFLICT(name) DO UPDATE SET value = excluded.value")
      .bind(name)
      .bind(value)
      .run();
}

// Text in the INTEGER-typed meta table is stored hex-encoded with a "x:" prefix, so that no
// byte string is ever taken for a number by SQLite's type affinity.
std::string read_meta_text(Conn& conn, const char* name) {
  Stmt s = conn.prepare("SELECT CAST(value AS TEXT) FROM meta WHERE name = ?");
  s.bind(name);
  if (!s.step()) return {};
  std::string hex = s.text(0);
  if (hex.rfind("x:", 0) != 0) return {};
  std::string out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 2; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  }
  return out;
}

void write_meta_text(Conn& conn, const char* name, const std::string& raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string value = "x:";
  for (unsigned char c : raw) {
    value += kHex[c >> 4];
    value += kHex[c & 15];
  }
  conn.prepare(
          "INSERT INTO meta(name, value) VALUES (?, ?) "
          "ON CONFLICT(name) DO UPDATE SET value = excluded.value")
      .bind(name)
      .bind(value)
      .run();
}

Result<Ok, api::Error> ensure_schema(Conn& conn) {
  conn.clear_error();
  if (!conn.exec("BEGIN IMMEDIATE")) return Unexpected{*conn.db_error()};
  if (!table_exists(conn, "meta")) {
    conn.exec(kCreateSchema);
    conn.exec(kRetentionTables);  // a new database starts at the current version
    conn.exec(kAuthTables);
    conn.exec(kTombstoneTables);
    conn.exec(kSecretTables);
    conn.exec(kSchemaTables);
    conn.exec(kReleaseTables);
    write_meta(conn, "schema_version", kSchemaVersion);
  } else {
    int64_t version = read_meta(conn, "schema_version");
    if (version > kSchemaVersion) {
      conn.exec("ROLLBACK");
      return Unexpected{api::make_error(
          api::Errc::kDatabase, "database schema version " + std::to_string(version) +
                                    " is newer than this release's " +
                                    std::to_string(kSchemaVersion))};
    }
    while (!conn.failed() && version < kSchemaVersion) {
      auto step = migrate(conn, version);
      if (!step.ok()) {
        conn.exec("ROLLBACK");
        return Unexpected{step.error()};
      }
      ++version;
      write_meta(conn, "schema_version", version);
    }
  }
  if (!conn.failed()) conn.exec(kDroppedIndexes);
  if (!conn.failed() && table_exists(conn, "gray_release")) conn.exec(kAddedIndexes);
  if (auto e = conn.db_error()) {
    conn.clear_error();
    conn.exec("ROLLBACK");
    conn.clear_error();
    return Unexpected{*e};
  }
  if (!conn.exec("COMMIT")) {
    auto e = *conn.db_error();
    conn.clear_error();
    conn.exec("ROLLBACK");
    conn.clear_error();
    return Unexpected{e};
  }
  return Ok{};
}

Result<Ok, api::Error> validate_database(Conn& conn) {
  auto refuse = [](std::string why) {
    return Unexpected{api::make_error(api::Errc::kDatabase, "invalid snapshot: " + why)};
  };
  conn.clear_error();
  auto check = conn.query_text("PRAGMA quick_check");
  if (auto e = conn.take_error()) return refuse(*e);
  if (!check || *check != "ok") return refuse("quick_check: " + check.value_or("no answer"));
  for (const char* table :
       {"meta", "namespace", "config", "config_version", "config_history", "key_version"}) {
    if (!table_exists(conn, table)) return refuse(std::string("table ") + table + " is missing");
  }
  int64_t version = read_meta(conn, "schema_version");
  if (auto e = conn.take_error()) return refuse(*e);
  if (version > kSchemaVersion) {
    // A snapshot sent by (or left behind by) a newer release: name both versions, as a newer
    // database file at start does.
    return refuse("database schema version " + std::to_string(version) +
                  " is newer than this release's " + std::to_string(kSchemaVersion));
  }
  if (version < 1) return refuse("schema version " + std::to_string(version) + " is not supported");
  Stmt s = conn.prepare(
      "SELECT COUNT(*) FROM meta WHERE name IN ('revision', 'applied_index')");
  int64_t rows = s.step() ? s.i64(0) : 0;
  if (auto e = conn.take_error()) return refuse(*e);
  if (rows != 2) return refuse("meta lacks revision or applied_index");
  return Ok{};
}

}  // namespace cairn::store
