#pragma once

// The backup file (docs/operations.md, "Backups"): what `GET /api/v1/admin/backup` answers,
// `cairn backup --out` and scheduled backups write, `cairn backup verify` checks and
// `cairn server --restore-from` seeds a new cluster from. Shared by the server and the CLI.
//
//   line 1   "CAIRN-BACKUP\n"                       magic
//   line 2   one compact JSON object, then "\n"      the header (BackupHeader), at most 64 KiB
//   rest     payload_bytes bytes                    a self-contained SQLite database (the store)
//
// The header says which format wrote it (`format_version`); a reader refuses a newer one,
// naming both versions, and reads every older one.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace cairn::api {

/// Format of the file. 1: magic line, JSON header line, SQLite payload.
inline constexpr int64_t kBackupFormatVersion = 1;
inline constexpr std::string_view kBackupMagic = "CAIRN-BACKUP\n";
inline constexpr size_t kMaxBackupHeaderBytes = 64 * 1024;

struct BackupHeader {
  int64_t format_version = kBackupFormatVersion;
  std::string cluster_id;   // the cluster it was taken from (cluster_id; "" standalone)
  std::string node_id;      // the node that took it
  std::string cairn_version;
  int64_t created_at_ms = 0;
  uint64_t applied_index = 0;   // last log entry in it
  uint64_t revision = 0;        // global revision: the restored cluster continues after it
  int64_t schema_version = 0;   // the store's table layout (store/schema.h)
  /// The store's canonical checksum of the contents (debug/vars `content_checksum`): every
  /// table but Raft's bookkeeping in meta (applied index, term, membership, addresses).
  std::string checksum;
  uint64_t payload_bytes = 0;
  std::string payload_sha256;   // hex SHA-256 of the payload bytes
  /// Ids of the key-encryption keys that wrap its secret values: the restored node needs
  /// them in its keyring (docs/secrets.md).
  std::vector<std::string> secret_key_ids;
};

/// Magic line and header line, ready to be followed by the payload.
std::string encode_backup_header(const BackupHeader& header);
/// The header's fields as the JSON object the file carries (and `cairn backup verify` prints).
Json backup_header_json(const BackupHeader& header);

/// Parses the magic and header lines at the start of `prefix` (which may hold more bytes, or
/// not all of them: then the error says the header is incomplete). On success also gives
/// where the payload starts. Refuses a format newer than kBackupFormatVersion with both
/// versions named, and anything malformed; never throws.
struct DecodedBackupHeader {
  BackupHeader header;
  size_t payload_offset = 0;
};
Result<DecodedBackupHeader, std::string> decode_backup_header(std::string_view prefix);

}  // namespace cairn::api
