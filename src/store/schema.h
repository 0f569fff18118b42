#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/errors.h"
#include "common/result.h"
#include "store/sqlite.h"

namespace cairn::store {

/// Version of the table layout below, kept in meta('schema_version'). A later release that
/// changes the layout raises it and adds a step to migrate().
inline constexpr int64_t kSchemaVersion = 7;  // 2: config_tag, namespace_retention; 3: auth_token, audit_log;
                                               // 4: namespace_tombstone; 5: namespace_secret;
                                               // 6: namespace_schema, namespace_schema_history,
                                               //    schema_violation; 7: gray_release,
                                               //    config_history.release_id

/// Tables of the canonical dump (checksum) with their ordering, in a fixed order.
struct TableOrder {
  const char* table;
  const char* order_by;
};
inline constexpr TableOrder kDumpTables[] = {
    {"meta", "name"},
    {"namespace", "id"},
    {"config", "id"},
    {"config_version", "id"},
    {"config_history", "id"},
    {"key_version", "namespace, \"key\""},
    {"config_tag", "namespace_id, \"key\", tag"},
    {"namespace_retention", "namespace_id"},
    {"namespace_secret", "namespace_id"},
    {"auth_token", "id"},
    {"audit_log", "id"},
    {"namespace_schema", "namespace_id"},
    {"namespace_schema_history", "id"},
    {"schema_violation", "namespace_id, \"key\""},
    {"gray_release", "id"},
    {"sqlite_sequence", "name"},
};

/// The meta rows that are Raft's bookkeeping rather than contents: where the node is in its
/// log (applied index and term), the membership and the member address book. A restored
/// cluster has its own; the content checksum leaves them out.
inline constexpr const char* kContentMetaFilter =
    " WHERE name NOT IN ('applied_index', 'raft_term', 'raft_conf', 'cluster_members')";

/// Hex SHA-256 over the canonical dump of `db`'s tables (kDumpTables, each ordered): per table
/// its name, then per row every column as a type tag, a length and the bytes. `content_only`
/// leaves out the meta rows of kContentMetaFilter. "" when a query failed.
std::string canonical_checksum(Conn& db, bool content_only);

/// Ids of the key-encryption keys that wrap the sealed values stored in `db`, sorted.
std::vector<std::string> sealed_key_ids_in(Conn& db);

/// Creates the schema in an empty database or migrates an older one, in one transaction.
/// Refuses a database written by a newer release.
Result<Ok, api::Error> ensure_schema(Conn& conn);

/// Checks that `conn` holds a Cairn database this release can read (used on snapshots before
/// they replace anything): integrity, schema version, tables and meta rows.
Result<Ok, api::Error> validate_database(Conn& conn);

/// meta value `name` (0 when absent).
int64_t read_meta(Conn& conn, const char* name);
void write_meta(Conn& conn, const char* name, int64_t value);
/// Text entries of the same table (Raft's membership); "" when absent.
std::string read_meta_text(Conn& conn, const char* name);
void write_meta_text(Conn& conn, const char* name, const std::string& value);

}  // namespace cairn::store
