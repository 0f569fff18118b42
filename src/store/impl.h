#pragma once

// Internals shared by the store's source files (not part of the module's interface).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/time.h"
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace cairn::store {

/// Read connections, opened on demand and kept for reuse. Any thread may borrow one; a borrowed
/// connection is used by that thread only until it is given back. Never the write connection,
/// so reads run concurrently with apply (WAL readers see the last committed transaction).
class ReadPool {
 public:
  /// `on_query` (may be null) is hooked into every connection opened; it outlives the pool.
  ReadPool(std::string path,
           const std::function<void(std::string_view, int64_t)>* on_query = nullptr)
      : path_(std::move(path)), on_query_(on_query) {}

  /// A connection back to the pool when it goes out of scope.
  class Lease {
   public:
    Lease(ReadPool& pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    ~Lease() { pool_.give_back(std::move(conn_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }

   private:
    ReadPool& pool_;
    std::unique_ptr<Conn> conn_;
  };

  Result<std::unique_ptr<Lease>, api::Error> borrow();

  /// Fault injection (docs/observability.md): while set, every borrow() and every write of
  /// the store fails with 50002 and this reason. Any thread.
  void set_fault(std::string reason) {
    std::lock_guard lock(mu_);
    faulted_ = !reason.empty();
    fault_ = std::move(reason);
  }
  std::optional<api::Error> fault() const {
    if (!faulted_.load(std::memory_order_relaxed)) return std::nullopt;  // every read asks
    std::lock_guard lock(mu_);
    if (fault_.empty()) return std::nullopt;
    return api::make_error(api::Errc::kDatabase, "database unavailable: " + fault_);
  }
  /// Closes the idle connections (at shutdown, when no read is running).
  void close_idle();
  /// Probe: connections of the pool open now, and of those the ones lent out. Any thread.
  uint64_t open_count() const { return open_.load(std::memory_order_relaxed); }
  uint64_t lent_count() const { return lent_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxIdle = 8;
  void give_back(std::unique_ptr<Conn> conn);

  std::string path_;
  const std::function<void(std::string_view, int64_t)>* on_query_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::string fault_;  // guarded by mu_
  std::atomic<bool> faulted_{false};  // !fault_.empty(), readable without the lock
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> lent_{0};
};

/// A read transaction on a borrowed connection: every statement inside sees one snapshot.
/// Ends (COMMIT, which for a reader only releases the snapshot) on destruction.
class ReadTx {
 public:
  explicit ReadTx(Conn& conn) : conn_(conn) {
    conn_.clear_error();
    conn_.exec("BEGIN");
  }
  ~ReadTx() {
    conn_.clear_error();  // the caller has read the error by now
    if (!conn_.exec("COMMIT")) conn_.exec("ROLLBACK");
    conn_.clear_error();
  }
  ReadTx(const ReadTx&) = delete;
  ReadTx& operator=(const ReadTx&) = delete;

 private:
  Conn& conn_;
};

template <class T>
using R = Result<T, api::Error>;

/// The error result of a store operation.
inline Unexpected<api::Error> fail(api::Errc code, std::string details, std::string field = {}) {
  return Unexpected{api::make_error(code, std::move(details), std::move(field))};
}

/// Hands a file's dirty pages to the disk in steps: push() waits for the writes the previous
/// push() started, then starts writing what is dirty now (sync_file_range), so that a file
/// written for long never holds more than a step's worth unwritten and never reaches the disk in
/// one burst. Writeback only, never durability. The file is opened on the first push() (it may
/// not exist before). One thread at a time.
class FileWriteback {
 public:
  explicit FileWriteback(std::string path) : path_(std::move(path)) {}
  ~FileWriteback();
  FileWriteback(const FileWriteback&) = delete;
  FileWriteback& operator=(const FileWriteback&) = delete;
  /// False if the file cannot be opened or the writes cannot be started.
  bool push();

 private:
  std::string path_;
  int fd_ = -1;
};

/// Keeps the WAL's unsynced pages bounded while a reader holds the checkpoints back (a snapshot's
/// pinned view, for seconds): with synchronous=NORMAL only a checkpoint syncs the WAL, so without
/// this every frame written meanwhile stays dirty in the page cache and the first checkpoint
/// after the view is released flushes them in one burst (hundreds of MB on a busy node), which
/// the Raft log's fdatasync queues behind. after_checkpoint() pushes the WAL to the disk
/// (FileWriteback) every `batch` frames (the pattern of RocksDB's bytes_per_sync). Writeback
/// only: durability is still the checkpoint's sync. Checkpoint thread only.
class WalWriteback {
 public:
  WalWriteback(std::string wal_path, int batch) : file_(std::move(wal_path)), batch_(batch) {}
  /// After a PASSIVE checkpoint: `frames` in the WAL, `copied` of them in the database file
  /// (both -1 if the checkpoint did not run).
  void after_checkpoint(int frames, int copied);

 private:
  FileWriteback file_;  // the WAL file exists once the database is in WAL mode
  int batch_;
  int pushed_ = 0;  // frames handed to the disk so far in this round of the WAL
};

struct Store::Impl {
  std::unique_ptr<Conn> writer;  // apply thread only
  ReadPool readers;
  std::atomic<uint64_t> applied_index{0};
  std::atomic<uint64_t> revision{0};
  // Raft's applied term and membership: staged by the apply thread, written with the next
  // applied_index in the same transaction; read under raft_mu by any thread.
  mutable std::mutex raft_mu;
  uint64_t raft_term = 0;
  std::string raft_conf;
  bool raft_staged = false;
  uint64_t staged_term = 0;
  std::string staged_conf;

  /// Live gray releases (active, paused, halted) in the writer's view, so that a config write
  /// skips the per-key release check when there are none (nearly always): -1 when unknown.
  /// Known only across config writes and rollbacks, which never change gray_release; any other
  /// command, a rolled-back transaction and a restore forget it, and the next config write
  /// counts again. Apply thread.
  int64_t live_releases = -1;

  /// An open group of applies (Store::begin_group): one transaction for several entries,
  /// published to readers by commit_group(). Apply thread.
  struct Group {
    bool open = false;
    bool failed = false;    // an entry's SQLite error rolled the whole group back
    uint64_t index = 0;     // the last entry written in the group
    uint64_t revision = 0;  // the revision after it
    bool auth_changed = false;
    bool members_changed = false;
  } group;

  /// WAL checkpoints on a thread and connection of their own (Store::open), so that copying
  /// pages back into the database never stalls the apply (Raft) thread. The writer's WAL hook
  /// wakes the thread once the WAL holds kCheckpointPages, and checkpoints in the committing
  /// thread itself only past kCheckpointBound (under steady writes a concurrent checkpoint never
  /// catches the last frames, and only a checkpoint between two commits lets the WAL restart).
  static constexpr int kCheckpointPages = 1000;
  static constexpr int kCheckpointBound = 3000;
  /// Past this many pages the writer waits for the thread's checkpoint instead of giving way to
  /// it (a slow disk): the WAL's hard bound, reached only when a checkpoint stalls.
  static constexpr int kCheckpointLimit = 4 * kCheckpointBound;
  int checkpoint_wake_at = kCheckpointPages;  // WAL size that wakes the thread next (writer only)
  std::unique_ptr<Conn> checkpointer;
  std::thread checkpoint_thread;
  std::mutex checkpoint_mu;
  std::mutex checkpoint_run_mu;  // held by the thread while its checkpoint runs
  std::condition_variable checkpoint_cv;
  bool checkpoint_wanted = false;  // under checkpoint_mu
  bool checkpoint_stop = false;    // under checkpoint_mu
  void start_checkpoints(Conn& writer, std::unique_ptr<Conn> conn);
  static int wal_committed(void* impl, sqlite3* db, const char* name, int pages);
  void stop_checkpoints();  // idempotent; also on destruction (an open() that fails later)
  ~Impl() { stop_checkpoints(); }

  /// Makes a committed transaction visible: applied index, revision, Raft state, and the
  /// generations of what it changed. Apply thread, after COMMIT.
  void publish(Conn& db, uint64_t index, uint64_t rev, bool auth_changed, bool members_changed);

  /// Writes the staged Raft state (inside the caller's transaction). Apply thread.
  void write_staged_raft_state(Conn& db) {
    if (!raft_staged) return;
    // Unchanged (almost every group): the database holds them already. raft_term/raft_conf are
    // written only by this thread, the lock is for the readers on others.
    if (staged_term == raft_term && staged_conf == raft_conf) return;
    write_meta(db, "raft_term", static_cast<int64_t>(staged_term));
    write_meta_text(db, "raft_conf", staged_conf);
  }
  /// After the transaction committed. Apply thread.
  void publish_staged_raft_state() {
    if (!raft_staged) return;
    std::lock_guard lock(raft_mu);
    raft_term = staged_term;
    raft_conf = staged_conf;
    raft_staged = false;
  }
  void load_raft_state(Conn& db) {
    std::lock_guard lock(raft_mu);
    raft_term = static_cast<uint64_t>(read_meta(db, "raft_term"));
    raft_conf = read_meta_text(db, "raft_conf");
    raft_staged = false;
    members = read_meta_text(db, "cluster_members");
    ++members_generation;
    ++auth_generation;
  }
  std::string members;  // under raft_mu
  std::atomic<uint64_t> members_generation{0};
  std::atomic<uint64_t> auth_generation{0};

  /// The last time (monotonic ms) and reason a write transaction failed in SQLite itself;
  /// cleared by the next one that commits. Apply thread writes, any thread reads.
  void note_write_failure(std::string why) {
    std::lock_guard lock(failure_mu);
    failure = std::move(why);
    failure_ms = monotonic_ms();
  }
  void clear_write_failure() { failure_ms = 0; }  // every commit: no lock
  mutable std::mutex failure_mu;  // guards `failure`
  std::atomic<int64_t> failure_ms{0};
  std::string failure;

  Impl(const std::string& path, const std::function<void(std::string_view, int64_t)>* on_query)
      : readers(path, on_query) {}
};

// Row readers: the column lists below and these functions go together.
inline constexpr const char* kNamespaceColumns =
    "n.id, n.name, n.description, n.status, n.revision, n.created_at, n.updated_at, "
    "(SELECT patterns FROM namespace_secret WHERE namespace_id = n.id)";
NamespaceRow read_namespace_row(const Stmt& s, int first = 0);

inline constexpr const char* kConfigColumns =
    "c.id, c.namespace_id, n.name, c.\"key\", c.value, c.version, c.description, c.status, "
    "c.created_by, c.updated_by, c.created_at, c.updated_at, c.revision";
ConfigRow read_config_row(const Stmt& s, int first = 0);

inline constexpr const char* kReleaseColumns =
    "id, namespace_id, namespace, state, stage, spec, changes, revision, stage_revision, "
    "description, created_by, created_at, updated_at, stage_started_at, reason, transitions";
ReleaseRow read_release_row(const Stmt& s);

/// Connection flags shared by the writer and the readers.
inline constexpr int kOpenFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

}  // namespace cairn::store
