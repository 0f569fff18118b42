#pragma once

// Backup files (api/backup.h) of a store: writing one from a running store, checking one
// offline, and turning its payload into the database of a new cluster (docs/operations.md).

#include <cstdint>
#include <functional>
#include <string>

#include "api/backup.h"
#include "api/errors.h"
#include "common/result.h"
#include "store/store.h"

namespace cairn::store {

/// Writes a backup of `store` to `path`: a consistent copy taken with SQLite's online backup
/// from a read transaction (applies and reads go on), then the header (identity fields from
/// `identity`: cluster_id, node_id, cairn_version, created_at_ms; the rest measured on the
/// copy), then the copy. Written to `path.tmp`, fsynced, renamed: `path` is whole or absent.
/// Any thread. Returns the header written.
Result<api::BackupHeader, api::Error> write_backup(const Store& store, api::BackupHeader identity,
                                                  const std::string& path);

/// Checks a backup file without a running node: header (format, fields), payload length and
/// SHA-256, the database in it (integrity, a schema this release reads, meta rows), and the
/// header's checksum against the contents. With `payload_out` it also leaves the payload there
/// (a database file). `progress(done, total)` is told of the bytes read. 40001 for a file
/// that is not a backup or is damaged, with the reason in details.
Result<api::BackupHeader, api::Error> verify_backup(
    const std::string& path, const std::string& payload_out = "",
    const std::function<void(uint64_t, uint64_t)>& progress = {});

/// Makes the verified payload at `db_path` the database of a new cluster's first node: brings
/// it to this release's schema, forgets the old member address book, and sets Raft's applied
/// state to the membership `raft_conf` (raft::encode_conf_state bytes) at the backup's term
/// (at least 1), so that the node's empty log starts right after the backup's last entry.
/// `raft_conf` empty: a standalone node (Raft's rows removed). Contents, revision and applied
/// index stay the backup's. Returns the Raft term written (0 for a standalone node).
Result<uint64_t, api::Error> prepare_restored_database(const std::string& db_path,
                                                 const std::string& raft_conf);

}  // namespace cairn::store
