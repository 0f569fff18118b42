// Opening and closing the store, the applied index and the small reads that need no query file.

#include <fcntl.h>
#include <unistd.h>

#include "common/json.h"
#include "common/time.h"
#include "store/impl.h"
#include "store/schema.h"

namespace cairn::store {

Result<std::unique_ptr<ReadPool::Lease>, api::Error> ReadPool::borrow() {
  if (auto f = fault()) return Unexpected{*f};
  std::unique_ptr<Conn> conn;
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!conn) {
    auto opened = Conn::open(path_, kOpenFlags);
    if (!opened.ok()) return Unexpected{opened.error()};
    conn = std::move(*opened);
    if (!conn->exec("PRAGMA query_only = 1")) return Unexpected{*conn->db_error()};
    conn->observe(on_query_);
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  lent_.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<Lease>(*this, std::move(conn));
}

void ReadPool::close_idle() {
  std::lock_guard lock(mu_);
  open_.fetch_sub(idle_.size(), std::memory_order_relaxed);
  idle_.clear();
}

void ReadPool::give_back(std::unique_ptr<Conn> conn) {
  if (!conn) return;
  conn->clear_error();
  lent_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  if (idle_.size() < kMaxIdle) {
    idle_.push_back(std::move(conn));
  } else {
    open_.fetch_sub(1, std::memory_order_relaxed);  // closed as it goes out of scope
  }
}

NamespaceRow read_namespace_row(const Stmt& s, int first) {
  NamespaceRow row;
  row.id = s.i64(first);
  row.name = s.text(first + 1);
  row.description = s.text(first + 2);
  row.status = static_cast<int>(s.i64(first + 3));
  row.revision = static_cast<uint64_t>(s.i64(first + 4));
  row.created_at_ms = s.i64(first + 5);
  row.updated_at_ms = s.i64(first + 6);
  if (!s.is_null(first + 7)) {
    // A JSON array of strings, written by apply (namespace_secret).
    if (auto patterns = parse_json(s.text(first + 7), 4); patterns && patterns->is_array()) {
      for (const auto& p : *patterns) {
        if (p.is_string()) row.secret_keys.push_back(p.get<std::string>());
      }
    }
  }
  return row;
}

ConfigRow read_config_row(const Stmt& s, int first) {
  ConfigRow row;
  row.id = s.i64(first);
  row.namespace_id = s.i64(first + 1);
  row.ns = s.text(first + 2);
  row.key = s.text(first + 3);
  row.value = s.text(first + 4);
  row.version = s.i64(first + 5);
  row.description = s.text(first + 6);
  row.status = static_cast<int>(s.i64(first + 7));
  row.created_by = s.text(first + 8);
  row.updated_by = s.text(first + 9);
  row.created_at_ms = s.i64(first + 10);
  row.updated_at_ms = s.i64(first + 11);
  row.revision = static_cast<uint64_t>(s.i64(first + 12));
  return row;
}

ReleaseRow read_release_row(const Stmt& s) {
  ReleaseRow row;
  row.id = s.text(0);
  row.namespace_id = s.i64(1);
  row.ns = s.text(2);
  row.state = s.text(3);
  row.stage = s.i64(4);
  row.spec = s.text(5);
  row.changes = s.text(6);
  row.revision = static_cast<uint64_t>(s.i64(7));
  row.stage_revision = static_cast<uint64_t>(s.i64(8));
  row.description = s.text(9);
  row.created_by = s.text(10);
  row.created_at_ms = s.i64(11);
  row.updated_at_ms = s.i64(12);
  row.stage_started_ms = s.i64(13);
  row.reason = s.text(14);
  row.transitions = s.text(15);
  return row;
}

Store::Store(Options options) : options_(std::move(options)) {}

/// SQLite's WAL hook on the writer, after every commit (in the committing thread).
int Store::Impl::wal_committed(void* arg, sqlite3* db, const char* /*name*/, int pages) {
  auto* impl = static_cast<Impl*>(arg);
  if (pages < kCheckpointPages) {
    impl->checkpoint_wake_at = kCheckpointPages;  // the WAL restarted
    return SQLITE_OK;
  }
  if (pages >= kCheckpointBound) {
    int frames = -1, copied = -1;
    int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (rc == SQLITE_BUSY && pages >= kCheckpointLimit) {
      // The thread's checkpoint is still running (its database fsync on a slow disk) and the
      // WAL has grown on meanwhile: wait for it rather than let the WAL grow without bound.
      std::lock_guard run(impl->checkpoint_run_mu);
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    }
    // Done here, unless a reader (a snapshot's view) holds the frames back: then the thread
    // writes them back meanwhile (WalWriteback), off this one.
    if (frames - copied < kCheckpointPages) return SQLITE_OK;
  } else if (pages < impl->checkpoint_wake_at) {
    return SQLITE_OK;
  } else {
    // Once per kCheckpointPages new frames, not after every commit: each checkpoint copies
    // every page changed since the last one and syncs the database file, so a checkpoint per
    // commit would copy the same hot pages (the tables' last pages, the namespace row) and sync
    // the file over and over.
    impl->checkpoint_wake_at = pages + kCheckpointPages;
  }
  std::lock_guard lock(impl->checkpoint_mu);
  impl->checkpoint_wanted = true;
  impl->checkpoint_cv.notify_one();
  return SQLITE_OK;
}

void Store::Impl::start_checkpoints(Conn& w, std::unique_ptr<Conn> conn) {
  checkpointer = std::move(conn);
  // A connection opens the WAL on its first read; until then a checkpoint through it does
  // nothing (SQLite answers OK with -1 frames), and every checkpoint fell to the writer.
  checkpointer->exec("SELECT count(*) FROM sqlite_master");
  checkpointer->clear_error();
  sqlite3_wal_hook(w.handle(), &wal_committed, this);  // replaces SQLite's auto-checkpoint
  const char* wal = sqlite3_filename_wal(sqlite3_db_filename(w.handle(), "main"));
  checkpoint_thread = std::thread([this, wal_path = std::string(wal ? wal : "")] {
    WalWriteback writeback(wal_path, kCheckpointPages);
    std::unique_lock lock(checkpoint_mu);
    for (;;) {
      checkpoint_cv.wait(lock, [this] { return checkpoint_wanted || checkpoint_stop; });
      if (checkpoint_stop) return;
      checkpoint_wanted = false;
      lock.unlock();
      // PASSIVE: copies what no reader still needs, never waits for (or blocks) anyone.
      int frames = -1, copied = -1;
      {
        std::lock_guard run(checkpoint_run_mu);
        sqlite3_wal_checkpoint_v2(checkpointer->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                  &frames, &copied);
      }
      writeback.after_checkpoint(frames, copied);
      lock.lock();
    }
  });
}

FileWriteback::~FileWriteback() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileWriteback::push() {
  if (fd_ < 0 && !path_.empty()) fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return false;
  return ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE) == 0;
}

void WalWriteback::after_checkpoint(int frames, int copied) {
  if (frames < 0 || copied < 0) return;  // SQLITE_BUSY: another checkpoint is running
  if (frames < pushed_) pushed_ = 0;     // the WAL restarted from its first frame
  // Frames a checkpoint copies are synced by it; only a backlog held back by a reader piles up.
  if (frames - copied < batch_ || frames - pushed_ < batch_) return;
  // Waits for the previous batch, then hands this one to the disk: at most ~4 MiB in flight.
  if (file_.push()) pushed_ = frames;
}

void Store::Impl::stop_checkpoints() {
  if (!checkpoint_thread.joinable()) return;
  {
    std::lock_guard lock(checkpoint_mu);
    checkpoint_stop = true;
  }
  checkpoint_cv.notify_all();
  checkpoint_thread.join();
  checkpointer.reset();
}

Store::Connections Store::connections() const {
  const uint64_t own = 1 + (impl_->checkpointer ? 1 : 0);  // the writer, the checkpointer
  return {impl_->readers.open_count() + own, impl_->readers.lent_count()};
}

Store::~Store() {
  if (!impl_) return;
  impl_->stop_checkpoints();
  // Readers first: the last connection to close checkpoints the WAL into the database file.
  impl_->readers.close_idle();
  impl_->writer.reset();
}

Result<std::unique_ptr<Store>, api::Error> Store::open(const Options& options) {
  std::unique_ptr<Store> store(new Store(options));
  auto opened = Conn::open(options.path, kOpenFlags | SQLITE_OPEN_CREATE);
  if (!opened.ok()) return Unexpected{opened.error()};
  auto impl = std::make_unique<Impl>(options.path, &store->options_.on_query);
  impl->writer = std::move(*opened);
  impl->writer->observe(&store->options_.on_query);
  Conn& w = *impl->writer;
  auto mode = w.query_text("PRAGMA journal_mode = WAL");
  if (auto e = w.db_error()) return Unexpected{*e};
  if (!mode || *mode != "wal") {
    return Unexpected{api::make_error(api::Errc::kDatabase,
                                      "cannot switch '" + options.path + "' to WAL mode")};
  }
  w.exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  w.exec("PRAGMA foreign_keys = ON");
  // Each entry of an apply group runs in a SAVEPOINT; the pages it changes go to a
  // sub-journal, which SQLite spills from memory to a temp file in /var/tmp past 64 KiB and
  // then keeps as a file (create, writes, unlink) for the rest of the transaction. At c=64
  // writes that happened several times a second per node (etilqs_* files, 65–78 KB each);
  // in memory it is a copy. Bounded by the pages one entry changes.
  w.exec("PRAGMA temp_store = MEMORY");
  if (auto e = w.db_error()) return Unexpected{*e};
  // A damaged file (a flipped bit in a b-tree page, a torn page) is refused here rather than
  // served: quick_check reads every page and checks each b-tree's structure (docs/storage.md,
  // "Disk faults"). It does not see a changed byte inside a stored value; SQLite keeps no
  // per-page checksum.
  if (auto check = w.query_text("PRAGMA quick_check"); w.db_error() || !check || *check != "ok") {
    std::string why = w.take_error().value_or(check.value_or("no answer"));
    w.clear_error();
    return Unexpected{api::make_error(api::Errc::kDatabase, "database file '" + options.path +
                                                                "' is damaged (quick_check: " +
                                                                why + ")")};
  }
  auto schema = ensure_schema(w);
  if (!schema.ok()) return Unexpected{schema.error()};
  // Checkpoints on their own thread (Impl::start_checkpoints). Without a second connection,
  // SQLite's own checkpoints in the committing thread (every 1,000 pages) stay.
  if (auto conn = Conn::open(options.path, kOpenFlags); conn.ok()) {
    impl->start_checkpoints(w, std::move(*conn));
  }
  impl->applied_index = static_cast<uint64_t>(read_meta(w, "applied_index"));
  impl->revision = static_cast<uint64_t>(read_meta(w, "revision"));
  impl->load_raft_state(w);
  if (auto e = w.db_error()) return Unexpected{*e};
  store->impl_ = std::move(impl);
  return store;
}

void Store::mark_applied(uint64_t index) {
  Impl& impl = *impl_;
  Impl::Group& g = impl.group;
  if (!g.open) {  // a group of one: the same metadata write and commit as every group
    begin_group();
    if (!g.open) return;  // faulted, or no transaction: not applied
    mark_applied(index);
    commit_group();
    return;
  }
  if (index <= g.index || g.failed) return;
  if (impl.readers.fault()) return;  // not applied: the caller sees written_index() unchanged
  g.index = index;  // written with the group's other metadata at commit_group()
}

void Store::begin_group() {
  Impl& impl = *impl_;
  Impl::Group& g = impl.group;
  if (g.open || impl.readers.fault()) return;  // a faulted store fails each entry by itself
  Conn& w = *impl.writer;
  w.clear_error();
  if (!w.exec("BEGIN IMMEDIATE")) {
    w.clear_error();  // each apply tries its own transaction
    return;
  }
  g = Impl::Group{};
  g.open = true;
  g.index = impl.applied_index.load();
  g.revision = impl.revision.load();
}

bool Store::commit_group() {
  Impl& impl = *impl_;
  Impl::Group& g = impl.group;
  if (!g.open) return true;  // no group was open: every entry stood on its own
  g.open = false;
  if (g.failed) return false;  // rolled back when the entry failed
  Conn& w = *impl.writer;
  w.clear_error();
  const bool wrote = g.index > impl.applied_index.load();
  if (wrote) {  // once per group instead of once per entry
    write_meta(w, "applied_index", static_cast<int64_t>(g.index));
    write_meta(w, "revision", static_cast<int64_t>(g.revision));
    impl.write_staged_raft_state(w);
  }
  if (w.failed() || !w.exec("COMMIT")) {
    std::string why = w.take_error().value_or("commit failed");
    w.exec("ROLLBACK");
    w.clear_error();
    impl.live_releases = -1;
    impl.note_write_failure("sqlite: " + why);
    return false;
  }
  if (wrote) impl.publish(w, g.index, g.revision, g.auth_changed, g.members_changed);
  return true;
}

uint64_t Store::written_index() const {
  const Impl& impl = *impl_;
  return impl.group.open ? impl.group.index : impl.applied_index.load();
}

uint64_t Store::applied_index() const { return impl_->applied_index.load(); }

void Store::stage_raft_state(uint64_t term, std::string conf) {
  impl_->staged_term = term;
  impl_->staged_conf = std::move(conf);
  impl_->raft_staged = true;
}

std::string Store::members_json() const {
  std::lock_guard lock(impl_->raft_mu);
  return impl_->members;
}

uint64_t Store::members_generation() const { return impl_->members_generation.load(); }

RaftState Store::raft_state() const {
  std::lock_guard lock(impl_->raft_mu);
  return RaftState{impl_->raft_term, impl_->raft_conf};
}
uint64_t Store::revision() const { return impl_->revision.load(); }

void Store::set_fault(std::string reason) { impl_->readers.set_fault(std::move(reason)); }

std::optional<api::Error> Store::fault() const { return impl_->readers.fault(); }

std::optional<std::string> Store::recent_write_failure(int64_t within_ms) const {
  const int64_t at = impl_->failure_ms.load();  // asked on every request: no lock when clear
  if (at == 0 || monotonic_ms() - at >= within_ms) return std::nullopt;
  std::lock_guard lock(impl_->failure_mu);
  return impl_->failure;
}

Result<Ok, api::Error> Store::ping() const {
  read_queries_.fetch_add(1, std::memory_order_relaxed);
  auto lease = impl_->readers.borrow();
  if (!lease.ok()) return Unexpected{lease.error()};
  Conn& conn = ***lease;
  conn.clear_error();
  auto one = conn.query_text("SELECT 1");
  if (auto e = conn.take_error()) return Unexpected{api::make_error(api::Errc::kDatabase, *e)};
  if (!one) return Unexpected{api::make_error(api::Errc::kDatabase, "SELECT 1 gave no row")};
  return Ok{};
}

}  // namespace cairn::store
