#include "store/file_check.h"

#include <sqlite3.h>

#include "store/wal_vfs.h"

namespace cairn::store {

Result<Ok, std::string> check_database_file(const std::string& path, int busy_ms) {
  sqlite3* db = nullptr;
  // Not SQLITE_OPEN_CREATE: a database that vanished is a failure, not a new empty file.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           wal_vfs_name());  // the store's VFS, which configures SQLite first
  auto fail = [&](const std::string& what) -> Result<Ok, std::string> {
    std::string message = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (db) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db);
    }
    return Unexpected{std::move(message)};
  };
  if (rc != SQLITE_OK) return fail("open");
  sqlite3_busy_timeout(db, busy_ms);
  if (sqlite3_exec(db, "PRAGMA user_version; SELECT count(*) FROM sqlite_master;", nullptr, nullptr,
                   nullptr) != SQLITE_OK) {
    return fail("read");
  }
  // BEGIN IMMEDIATE takes the write lock, which a read-only file or directory refuses; the
  // write itself stays in this connection's cache and is rolled back.
  if (sqlite3_exec(db,
                   "BEGIN IMMEDIATE; "
                   "CREATE TABLE cairn_health_probe(x INTEGER); "
                   "INSERT INTO cairn_health_probe VALUES (1);",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    return fail("write");
  }
  if (sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("rollback");
  sqlite3_close(db);
  return Ok{};
}

}  // namespace cairn::store
