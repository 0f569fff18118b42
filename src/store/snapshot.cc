// Snapshots through SQLite's online backup API, and the canonical checksum.
//
// begin_snapshot pins a read transaction on a connection of its own (WAL mode: applies and
// other reads go on); SnapshotSource::write, on whatever thread, copies that view into
// `<path>.tmp`, switches the copy to rollback-journal mode so that it is one self-contained
// file, fsyncs it, renames it over `path` and fsyncs the folder.
// restore_snapshot validates the file first (quick_check, schema, meta) and then copies it into
// the live database with one backup step, which is one write transaction on the write
// connection: readers see the old state or the new one, and any failure rolls it back whole.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/endian.h"
#include "store/impl.h"
#include "store/schema.h"
#include "store/sha256.h"

namespace cairn::store {
namespace {

using api::Errc;
using api::make_error;

Unexpected<api::Error> db_fail(std::string details) {
  return Unexpected{make_error(Errc::kDatabase, std::move(details))};
}

bool fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string parent_dir(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

/// Copies all of `from` into `to` in one step. Empty on success, else the reason.
std::optional<std::string> backup(sqlite3* to, sqlite3* from) {
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (b == nullptr) return std::string("backup_init: ") + sqlite3_errmsg(to);
  int rc = sqlite3_backup_step(b, -1);
  int finish = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return std::string("backup_step: ") + sqlite3_errstr(rc);
  if (finish != SQLITE_OK) return std::string("backup_finish: ") + sqlite3_errmsg(to);
  return std::nullopt;
}

/// Copies all of `from` into the new file `to_path` (open as `to`) a few MiB at a time, for a
/// snapshot written beside a live node: each step's pages are handed to the disk at once and
/// the previous step's are waited for, so that the dirty pages never pile up into one long
/// flush that the node's own WAL syncs would queue behind. Empty on success, else the reason.
std::optional<std::string> paced_backup(sqlite3* to, const std::string& to_path, sqlite3* from) {
  constexpr int kPagesPerStep = 1024;
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  if (b == nullptr) return std::string("backup_init: ") + sqlite3_errmsg(to);
  FileWriteback writeback(to_path);
  int rc;
  do {
    rc = sqlite3_backup_step(b, kPagesPerStep);
    (void)writeback.push();
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  int finish = sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return std::string("backup_step: ") + sqlite3_errstr(rc);
  if (finish != SQLITE_OK) return std::string("backup_finish: ") + sqlite3_errmsg(to);
  return std::nullopt;
}

int64_t page_size(Conn& conn) {
  Stmt s = conn.prepare("PRAGMA page_size");
  return s.step() ? s.i64(0) : 0;
}

/// Feeds the canonical dump of the tables into a SHA-256: per table its name, then per row
/// every column as a type tag, a length and the bytes.
class Digest {
 public:
  void add(std::string_view bytes) { sha_.add(bytes); }
  void add_tagged(char tag, std::string_view bytes) {
    add(std::string_view(&tag, 1));
    add_number(static_cast<int64_t>(bytes.size()));
    add(bytes);
  }
  void add_number(int64_t v) {
    unsigned char b[8];
    endian::store_be<uint64_t>(b, static_cast<uint64_t>(v));
    add(std::string_view(reinterpret_cast<const char*>(b), 8));
  }
  std::string hex() { return sha_.hex(); }

 private:
  Sha256 sha_;
};

}  // namespace

SnapshotSource::SnapshotSource(std::unique_ptr<Conn> conn, uint64_t applied_index)
    : conn_(std::move(conn)), applied_index_(applied_index) {}

SnapshotSource::~SnapshotSource() { release(); }

void SnapshotSource::release() {
  if (!conn_ || !pinned_) return;
  pinned_ = false;
  conn_->clear_error();
  if (!conn_->exec("COMMIT")) conn_->exec("ROLLBACK");  // for a reader: releases the view
  conn_->clear_error();
  // The WAL grew behind the view for as long as the copy took. Its checkpoint is taken here, on
  // the snapshot's thread: otherwise the writer's next commit, past kCheckpointBound, would copy
  // the whole backlog and sync the database file on the apply (Raft) thread. PASSIVE: if the
  // checkpoint thread has already started, this one returns at once.
  sqlite3_wal_checkpoint_v2(conn_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
}

Result<std::unique_ptr<SnapshotSource>, api::Error> Store::begin_snapshot() const {
  // A connection of its own rather than one of the pool: the copy may take seconds, and the
  // pool serves the HTTP reads meanwhile.
  auto opened = Conn::open(options_.path, kOpenFlags);
  if (!opened.ok()) return Unexpected{opened.error()};
  Conn& conn = **opened;
  // BEGIN alone takes no snapshot in SQLite; the first read does, and the transaction keeps it.
  conn.exec("BEGIN");
  const int64_t applied = read_meta(conn, "applied_index");
  if (auto e = conn.take_error()) {
    conn.exec("ROLLBACK");
    return db_fail("snapshot: cannot open a read transaction: " + *e);
  }
  return std::make_unique<SnapshotSource>(std::move(*opened), static_cast<uint64_t>(applied));
}

Result<Ok, api::Error> SnapshotSource::write(const std::string& path) {
  Conn& source = *conn_;
  std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  {
    auto opened = Conn::open(tmp, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!opened.ok()) return Unexpected{opened.error()};
    Conn& dest = **opened;
    // The copy is synced once, whole, below: no journal and no syncs of its own meanwhile.
    dest.exec("PRAGMA journal_mode = OFF");
    dest.exec("PRAGMA synchronous = OFF");
    dest.clear_error();
    // The source's read transaction is open, so the backup copies the pinned view in every
    // step (SQLite's backup uses the transaction it finds instead of opening its own, and a
    // view held by another connection never restarts it).
    auto why = paced_backup(dest.handle(), tmp, source.handle());
    // The copy holds all of the view now (or failed): the WAL need not wait for the rest.
    release();
    if (why) {
      opened->reset();
      std::remove(tmp.c_str());
      return db_fail("snapshot to '" + path + "': " + *why);
    }
    // The copy carries the live database's WAL flag; make it one self-contained file.
    auto mode = dest.query_text("PRAGMA journal_mode = DELETE");
    dest.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (auto e = dest.take_error(); e || !mode || *mode != "delete") {
      opened->reset();
      std::remove(tmp.c_str());
      return db_fail("snapshot to '" + path + "': " + e.value_or("cannot leave WAL mode"));
    }
  }
  if (!fsync_path(tmp, false)) {
    std::remove(tmp.c_str());
    return db_fail("snapshot to '" + path + "': fsync failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return db_fail("snapshot to '" + path + "': rename failed");
  }
  if (!fsync_path(parent_dir(path), true)) {
    return db_fail("snapshot to '" + path + "': fsync of the folder failed");
  }
  return Ok{};
}

Result<Ok, api::Error> Store::write_snapshot(const std::string& path) const {
  auto source = begin_snapshot();
  if (!source.ok()) return Unexpected{source.error()};
  return (*source)->write(path);
}

Result<Ok, api::Error> Store::restore_snapshot(const std::string& path) {
  auto opened = Conn::open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (!opened.ok()) return Unexpected{opened.error()};
  Conn& source = **opened;
  auto valid = validate_database(source);
  if (!valid.ok()) return valid;
  Conn& live = *impl_->writer;
  live.clear_error();
  int64_t source_page = page_size(source);
  int64_t live_page = page_size(live);
  if (auto e = live.take_error()) return db_fail("restore: " + *e);
  if (auto e = source.take_error()) return db_fail("restore: " + *e);
  // A WAL database cannot change its page size, so a backup into it would fail half-way.
  if (source_page != live_page) {
    return db_fail("restore: snapshot page size " + std::to_string(source_page) +
                   " differs from the database's " + std::to_string(live_page));
  }
  if (auto why = backup(live.handle(), source.handle())) return db_fail("restore: " + *why);
  opened->reset();
  // A snapshot from an older release is brought to the current layout.
  auto schema = ensure_schema(live);
  if (!schema.ok()) return schema;
  impl_->live_releases = -1;
  impl_->applied_index = static_cast<uint64_t>(read_meta(live, "applied_index"));
  impl_->revision = static_cast<uint64_t>(read_meta(live, "revision"));
  impl_->load_raft_state(live);
  if (auto e = live.take_error()) return db_fail("restore: " + *e);
  return Ok{};
}

std::string canonical_checksum(Conn& db, bool content_only) {
  Digest digest;
  ReadTx tx(db);
  for (const auto& t : kDumpTables) {
    // A file of an older layout (a backup from an earlier release) lacks the later tables:
    // its checksum is the one that release computed.
    Stmt exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    exists.bind(t.table);
    if (!exists.step()) continue;
    digest.add_tagged('T', t.table);
    std::string sql = std::string("SELECT * FROM ") + t.table;
    if (content_only && std::string_view(t.table) == "meta") sql += kContentMetaFilter;
    Stmt s = db.prepare(sql + " ORDER BY " + t.order_by);
    while (s.step()) {
      digest.add("R");
      for (int col = 0; col < s.columns(); ++col) {
        switch (s.type(col)) {
          case SQLITE_NULL:
            digest.add("N");
            break;
          case SQLITE_INTEGER:
            digest.add("I");
            digest.add_number(s.i64(col));
            break;
          case SQLITE_FLOAT:
            digest.add_tagged('F', s.text(col));
            break;
          case SQLITE_TEXT:
            digest.add_tagged('S', s.text(col));
            break;
          default:
            digest.add_tagged('B', s.blob(col));
            break;
        }
      }
    }
  }
  if (db.failed()) return {};
  return digest.hex();
}

std::string Store::checksum() const {
  auto lease = impl_->readers.borrow();
  if (!lease.ok()) return {};
  return canonical_checksum(***lease, false);
}

std::string Store::content_checksum() const {
  auto lease = impl_->readers.borrow();
  if (!lease.ok()) return {};
  return canonical_checksum(***lease, true);
}

}  // namespace cairn::store
