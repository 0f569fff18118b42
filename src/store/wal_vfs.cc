// The "cairn" VFS: SQLite's default VFS with the WAL's frames written in one pwrite per run
// (wal_vfs.h). Every method but xOpen forwards to the default VFS; a file handle wraps the
// default VFS's handle, which lives in the same allocation right behind it.

#include "store/wal_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <map>
#include <new>
#include <shared_mutex>
#include <string>
#include <vector>

namespace cairn::store {
namespace {

constexpr size_t kMaxGathered = 1u << 20;       // a longer run is written at once

std::atomic<uint64_t> g_writes{0};
std::atomic<uint64_t> g_bytes{0};
std::atomic<uint64_t> g_cached_reads{0};

struct WalFile;

/// The WAL handles of one database file, of every connection (in practice one writes: the
/// connection holding SQLite's WAL write lock).
struct Group {
  std::mutex mu;
  std::vector<WalFile*> wals;
  std::atomic<int> commits{0};  // handles holding a gathered commit frame header
};

/// The live object of type V for `key`, made when none is (a registry of weak pointers: an entry
/// lives as long as some handle holds it).
template <class Map>
auto shared_for(std::mutex& mu, Map& map, const typename Map::key_type& key) {
  using V = typename Map::mapped_type::element_type;
  std::lock_guard lock(mu);
  auto& weak = map[key];
  std::shared_ptr<V> live = weak.lock();
  if (!live) {
    live = std::make_shared<V>();
    weak = live;
  }
  // Drop the entries of files nobody has open any more (tests open thousands).
  if (map.size() > 64) {
    for (auto it = map.begin(); it != map.end();) {
      it = it->second.expired() ? map.erase(it) : std::next(it);
    }
  }
  return live;
}

std::mutex g_groups_mu;
std::map<std::string, std::weak_ptr<Group>> g_groups;  // by the WAL's path

std::shared_ptr<Group> group_for(const std::string& wal_path) {
  return shared_for(g_groups_mu, g_groups, wal_path);
}

/// The bytes most recently written to one WAL file (by inode), up to kRecentBytes of it in one
/// window: the checkpoint copies frames a few thousand pages behind the writer, and readers
/// fetch recently written pages from the WAL, each a pread of one page; from here they are a
/// memcpy (issue 21 §3). Every write to the file goes through a WalFile of this process (SQLite
/// is the only writer of the node's database), and updates the window after it reached the file.
class RecentBytes {
 public:
  static constexpr int64_t kRecentBytes = 8 << 20;

  /// `n` bytes at `at` are in the file now.
  void wrote(int64_t at, const char* p, size_t n) {
    std::unique_lock lock(mu_);
    if (!ring_) ring_.reset(new char[kRecentBytes]);  // not zeroed: pages touched when written
    if (static_cast<int64_t>(n) > kRecentBytes) {
      const size_t skip = n - static_cast<size_t>(kRecentBytes);
      p += skip;
      at += static_cast<int64_t>(skip);
      n -= skip;
    }
    if (at < start_ || at > end_) start_ = end_ = at;  // not within or right after: start over
    copy_in(at, p, n);
    end_ = std::max(end_, at + static_cast<int64_t>(n));
    start_ = std::max(start_, end_ - kRecentBytes);
  }
  /// A write at `at` failed: what the file holds there is unknown.
  void forget() {
    std::unique_lock lock(mu_);
    start_ = end_ = 0;
  }
  void truncated(int64_t size) {
    std::unique_lock lock(mu_);
    end_ = std::min(end_, size);
    start_ = std::min(start_, end_);
  }
  /// Copies [at, at + n) into `out` when the window holds all of it.
  bool read(int64_t at, void* out, size_t n) const {
    std::shared_lock lock(mu_);
    if (at < start_ || at + static_cast<int64_t>(n) > end_) return false;
    const size_t pos = static_cast<size_t>(at % kRecentBytes);
    const size_t first = std::min(n, static_cast<size_t>(kRecentBytes) - pos);
    std::memcpy(out, ring_.get() + pos, first);
    std::memcpy(static_cast<char*>(out) + first, ring_.get(), n - first);
    return true;
  }

 private:
  void copy_in(int64_t at, const char* p, size_t n) {
    const size_t pos = static_cast<size_t>(at % kRecentBytes);
    const size_t first = std::min(n, static_cast<size_t>(kRecentBytes) - pos);
    std::memcpy(ring_.get() + pos, p, first);
    std::memcpy(ring_.get(), p + first, n - first);
  }

  mutable std::shared_mutex mu_;
  std::unique_ptr<char[]> ring_;  // file offset o at ring_[o % kRecentBytes]
  int64_t start_ = 0;             // the window: [start_, end_) of the file
  int64_t end_ = 0;
};

std::mutex g_recent_mu;
std::map<std::pair<dev_t, ino_t>, std::weak_ptr<RecentBytes>> g_recent;  // by the WAL's inode

/// One window per file, not per name: a WAL deleted and created again under the same name (a
/// restored snapshot, a test) starts empty.
std::shared_ptr<RecentBytes> recent_for(const struct stat& st) {
  return shared_for(g_recent_mu, g_recent, {st.st_dev, st.st_ino});
}

/// Our part of a file handle; SQLite's sqlite3_file must come first.
struct File {
  sqlite3_file base{};
  sqlite3_file* real = nullptr;  // the default VFS's handle, behind this struct
  std::shared_ptr<Group> group;  // the database's WAL handles (main database and WAL files)
};

struct WalFile : File {
  std::mutex mu;
  std::shared_ptr<RecentBytes> recent;  // the last bytes written to this file
  int fd = -1;                 // our own descriptor of the WAL (SQLite's VFS writes ≤ 128 KiB
                               // per call; we write whole runs), closed with the handle
  std::string gathered;        // bytes for the file at `gathered_at`, not written yet
  sqlite3_int64 gathered_at = 0;
  bool commit_page_next = false;  // the last write was a commit frame's header
  bool holds_commit = false;      // a commit frame's header is among the gathered bytes
  bool poisoned = false;       // a run was lost: the transaction's later writes fail (until
                               // its write lock is released)

  /// Writes the gathered run; the caller holds mu.
  int flush_locked() {
    if (gathered.empty()) return SQLITE_OK;
    const char* p = gathered.data();
    size_t left = gathered.size();
    off_t at = static_cast<off_t>(gathered_at);
    int rc = SQLITE_OK;
    while (left > 0) {
      ssize_t n = ::pwrite(fd, p, left, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        rc = n < 0 && (errno == ENOSPC || errno == EDQUOT) ? SQLITE_FULL : SQLITE_IOERR_WRITE;
        break;
      }
      p += n;
      at += n;
      left -= static_cast<size_t>(n);
    }
    g_writes.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(gathered.size(), std::memory_order_relaxed);
    if (rc == SQLITE_OK) {
      recent->wrote(gathered_at, gathered.data(), gathered.size());
    } else {
      recent->forget();
    }
    discard_locked();
    // The run is gone; SQLite gets the error and rolls the transaction back. Until then no
    // later frame of it may reach the file without these (a commit missing frames).
    if (rc != SQLITE_OK) poisoned = true;
    return rc;
  }

  /// Drops the gathered bytes; the caller holds mu.
  void discard_locked() {
    gathered.clear();
    if (gathered.capacity() > 2 * kMaxGathered) std::string().swap(gathered);
    if (holds_commit) {
      holds_commit = false;
      group->commits.fetch_sub(1, std::memory_order_release);
    }
  }

  ~WalFile() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr size_t kFileBytes = (sizeof(WalFile) + 15) & ~size_t{15};

sqlite3_vfs* g_real = nullptr;  // the default VFS

File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
WalFile* as_wal(sqlite3_file* f) { return static_cast<WalFile*>(as_file(f)); }
sqlite3_file* real_of(sqlite3_file* f) { return as_file(f)->real; }

[[noreturn]] void stop_after_failed_write(int rc) {
  std::fprintf(stderr,
               "FATAL: a deferred write of SQLite's write-ahead log failed (%s). Stopping now "
               "(exit code %d) rather than serving data that may not be on disk; a restart "
               "applies the transaction again from the Raft log "
               "(docs/storage.md, \"Writing the WAL\")\n",
               sqlite3_errstr(rc), kDeferredWalWriteExitCode);
  std::fflush(stderr);
  std::_Exit(kDeferredWalWriteExitCode);
}

/// At a shared-memory barrier, where SQLite publishes a commit: writes every gathered run that
/// holds a commit frame's header (one SQLite rewrote after writing its commit frame, in
/// walRewriteChecksums). Spilled frames of a transaction in progress stay gathered. A failure
/// cannot be reported to SQLite here: the node stops.
void flush_commits(Group* group) {
  if (group == nullptr || group->commits.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(group->mu);
  for (WalFile* w : group->wals) {
    std::lock_guard wl(w->mu);
    if (!w->holds_commit) continue;
    if (int rc = w->flush_locked(); rc != SQLITE_OK) stop_after_failed_write(rc);
  }
}

/// The WAL's write lock was released: the transaction is over, committed (its frames are in the
/// file: written with the commit frame, and at the barrier that published it) or rolled back.
/// What is still gathered belongs to no commit and is dropped; a poisoned handle may write again.
void end_of_write(Group* group) {
  if (group == nullptr) return;
  std::lock_guard lock(group->mu);
  for (WalFile* w : group->wals) {
    std::lock_guard wl(w->mu);
    if (w->holds_commit) {  // not expected: a commit header the barrier did not see
      if (int rc = w->flush_locked(); rc != SQLITE_OK) stop_after_failed_write(rc);
    }
    w->discard_locked();
    w->commit_page_next = false;
    w->poisoned = false;
  }
}

// ---- the WAL's handle

int wal_close(sqlite3_file* f) {
  WalFile* w = as_wal(f);
  int rc;
  {
    std::lock_guard gl(w->group->mu);
    std::lock_guard wl(w->mu);
    rc = w->flush_locked();
    std::erase(w->group->wals, w);
  }
  int rc2 = w->real->pMethods->xClose(w->real);
  w->~WalFile();
  return rc != SQLITE_OK ? rc : rc2;
}

/// A 24-byte write is a frame's header (SQLite writes the header, then the page); bytes 4–7 hold
/// the database's size after a commit, zero in every frame but a transaction's last.
bool is_commit_header(const void* data, int amount) {
  if (amount != 24) return false;
  const auto* b = static_cast<const unsigned char*>(data);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int wal_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* w = as_wal(f);
  std::lock_guard lock(w->mu);
  if (w->poisoned) return SQLITE_IOERR_WRITE;
  const bool continues =
      !w->gathered.empty() &&
      offset == w->gathered_at + static_cast<sqlite3_int64>(w->gathered.size());
  if (!w->gathered.empty() && !continues) {
    if (int rc = w->flush_locked(); rc != SQLITE_OK) return rc;
  }
  if (w->gathered.empty()) w->gathered_at = offset;
  w->gathered.append(static_cast<const char*>(data), static_cast<size_t>(amount));
  // The page of a commit frame ends the transaction's frames: the run goes to the file now,
  // inside SQLite's commit, so that a failure is SQLite's to report and roll back (the commit
  // is published after this returns).
  const bool commit_page = w->commit_page_next;
  w->commit_page_next = is_commit_header(data, amount);
  if (w->commit_page_next && !w->holds_commit) {
    w->holds_commit = true;
    w->group->commits.fetch_add(1, std::memory_order_release);
  }
  if (commit_page || w->gathered.size() >= kMaxGathered) return w->flush_locked();
  return SQLITE_OK;
}

/// Every other use of the WAL handle sees the file with the gathered bytes in it: `then(w)` runs
/// after they are written, under the handle's lock.
template <class Then>
int after_flush(sqlite3_file* f, Then then) {
  WalFile* w = as_wal(f);
  std::lock_guard lock(w->mu);
  if (int rc = w->flush_locked(); rc != SQLITE_OK) return rc;
  return then(w);
}

int wal_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return after_flush(f, [&](WalFile* w) {
    if (amount > 0 && w->recent->read(offset, out, static_cast<size_t>(amount))) {
      g_cached_reads.fetch_add(1, std::memory_order_relaxed);
      return SQLITE_OK;
    }
    return w->real->pMethods->xRead(w->real, out, amount, offset);
  });
}
int wal_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return after_flush(f, [&](WalFile* w) {
    int rc = w->real->pMethods->xTruncate(w->real, size);
    w->recent->truncated(size);
    return rc;
  });
}
int wal_sync(sqlite3_file* f, int flags) {
  return after_flush(f, [&](WalFile* w) { return w->real->pMethods->xSync(w->real, flags); });
}
int wal_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return after_flush(f, [&](WalFile* w) { return w->real->pMethods->xFileSize(w->real, size); });
}
int wal_file_control(sqlite3_file* f, int op, void* arg) {
  return after_flush(f,
                     [&](WalFile* w) { return w->real->pMethods->xFileControl(w->real, op, arg); });
}

// ---- the main database's handle (and any other file: journals, temp files)

int db_close(sqlite3_file* f) {
  File* p = as_file(f);
  int rc = p->real->pMethods->xClose(p->real);
  p->~File();
  return rc;
}
int db_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  return real_of(f)->pMethods->xRead(real_of(f), out, amount, offset);
}
int db_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  return real_of(f)->pMethods->xWrite(real_of(f), data, amount, offset);
}
int db_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int db_sync(sqlite3_file* f, int flags) { return real_of(f)->pMethods->xSync(real_of(f), flags); }
int db_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int db_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

// ---- methods both kinds forward as they are

int any_lock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); }
int any_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int any_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int any_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int any_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int any_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int any_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  // Releasing the WAL's write lock (slot 0, WAL_WRITE_LOCK in SQLite's wal.c) ends a write
  // transaction, committed or rolled back.
  constexpr int kWriteLockSlot = 0;
  if (offset == kWriteLockSlot && (flags & SQLITE_SHM_UNLOCK) != 0 &&
      (flags & SQLITE_SHM_EXCLUSIVE) != 0) {
    end_of_write(as_file(f)->group.get());
  }
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void any_shm_barrier(sqlite3_file* f) {
  // SQLite publishes a commit by rewriting the WAL index header behind this barrier (walIndex-
  // WriteHdr). A commit's frames were written with its last frame (wal_write), except a commit
  // header SQLite rewrote afterwards (walRewriteChecksums): that goes now.
  flush_commits(as_file(f)->group.get());
  real_of(f)->pMethods->xShmBarrier(real_of(f));
}
int any_shm_unmap(sqlite3_file* f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
int any_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
}
int any_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), offset, page);
}

constexpr sqlite3_io_methods kDbMethods = {
    3,           db_close,        db_read,     db_write,       db_truncate, db_sync,
    db_file_size, any_lock,       any_unlock,  any_check_reserved_lock,     db_file_control,
    any_sector_size, any_device_characteristics, any_shm_map, any_shm_lock, any_shm_barrier,
    any_shm_unmap, any_fetch,     any_unfetch,
};

constexpr sqlite3_io_methods kWalMethods = {
    3,            wal_close,      wal_read,    wal_write,      wal_truncate, wal_sync,
    wal_file_size, any_lock,      any_unlock,  any_check_reserved_lock,      wal_file_control,
    any_sector_size, any_device_characteristics, any_shm_map, any_shm_lock, any_shm_barrier,
    any_shm_unmap, any_fetch,     any_unfetch,
};

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  const bool is_wal = (flags & SQLITE_OPEN_WAL) != 0 && name != nullptr;
  const bool is_main = (flags & SQLITE_OPEN_MAIN_DB) != 0 && name != nullptr;
  File* p = is_wal ? static_cast<File*>(new (f) WalFile()) : new (f) File();
  p->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kFileBytes);
  std::memset(p->real, 0, static_cast<size_t>(g_real->szOsFile));
  // SQLite calls no method of a handle whose pMethods is null (a failed open).
  auto fail = [&](int rc) {
    if (p->real->pMethods != nullptr) p->real->pMethods->xClose(p->real);
    if (is_wal) {
      static_cast<WalFile*>(p)->~WalFile();
    } else {
      p->~File();
    }
    f->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  };
  int rc = g_real->xOpen(g_real, name, p->real, flags, out_flags);
  if (rc != SQLITE_OK || p->real->pMethods == nullptr) return fail(rc);
  if (is_wal) {
    auto* w = static_cast<WalFile*>(p);
    w->fd = ::open(name, O_RDWR | O_CLOEXEC);  // the file SQLite's VFS just opened or created
    struct stat st {};
    if (w->fd < 0 || ::fstat(w->fd, &st) != 0) return fail(SQLITE_CANTOPEN);
    w->recent = recent_for(st);
    w->group = group_for(name);
    std::lock_guard lock(w->group->mu);
    w->group->wals.push_back(w);
  } else if (is_main) {
    p->group = group_for(std::string(name) + "-wal");
  }
  f->pMethods = is_wal ? &kWalMethods : &kDbMethods;
  return SQLITE_OK;
}

// ---- the VFS's other methods: the default VFS's, called with the default VFS

int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void vfs_dl_error(sqlite3_vfs*, int n, char* out) { g_real->xDlError(g_real, n, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_real->xDlSym(g_real, h, sym);
}
void vfs_dl_close(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int vfs_randomness(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int vfs_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int vfs_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_real->xGetLastError(g_real, n, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}
int vfs_set_system_call(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr fn) {
  return g_real->xSetSystemCall(g_real, name, fn);
}
sqlite3_syscall_ptr vfs_get_system_call(sqlite3_vfs*, const char* name) {
  return g_real->xGetSystemCall(g_real, name);
}
const char* vfs_next_system_call(sqlite3_vfs*, const char* name) {
  return g_real->xNextSystemCall(g_real, name);
}

sqlite3_vfs* make_vfs() {
  // Before SQLite initializes (sqlite3_vfs_find does): no memory statistics. With them on (the
  // default) every sqlite3_malloc and sqlite3_free takes one process-wide mutex, from every
  // connection's thread; nothing here reads them (sqlite3_memory_used, sqlite3_status). Refused
  // (SQLITE_MISUSE) if something initialized SQLite first: then they stay on.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr || g_real->iVersion < 3) return nullptr;
  static sqlite3_vfs vfs{};
  vfs.iVersion = 3;
  vfs.szOsFile = static_cast<int>(kFileBytes) + g_real->szOsFile;
  vfs.mxPathname = g_real->mxPathname;
  vfs.zName = "cairn";
  vfs.xOpen = vfs_open;
  vfs.xDelete = vfs_delete;
  vfs.xAccess = vfs_access;
  vfs.xFullPathname = vfs_full_pathname;
  vfs.xDlOpen = vfs_dl_open;
  vfs.xDlError = vfs_dl_error;
  vfs.xDlSym = vfs_dl_sym;
  vfs.xDlClose = vfs_dl_close;
  vfs.xRandomness = vfs_randomness;
  vfs.xSleep = vfs_sleep;
  vfs.xCurrentTime = vfs_current_time;
  vfs.xGetLastError = vfs_get_last_error;
  vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  vfs.xSetSystemCall = vfs_set_system_call;
  vfs.xGetSystemCall = vfs_get_system_call;
  vfs.xNextSystemCall = vfs_next_system_call;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* wal_vfs_name() {
  static sqlite3_vfs* vfs = make_vfs();
  return vfs != nullptr ? vfs->zName : nullptr;  // null: SQLite's default VFS
}

WalVfsCounters wal_vfs_counters() {
  return {g_writes.load(std::memory_order_relaxed), g_bytes.load(std::memory_order_relaxed),
          g_cached_reads.load(std::memory_order_relaxed)};
}

}  // namespace cairn::store
