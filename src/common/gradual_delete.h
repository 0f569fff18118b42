#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

namespace cairn {

/// How fast GradualDeleter gives blocks back.
struct GradualDeleteOptions {
  /// Bytes cut off the end of a file per ftruncate(). On a file system mounted with `discard`
  /// each step is one discard of this size at the next journal commit, which every fdatasync on
  /// the disk then waits for: the step bounds that wait (~10 ms for 16 MiB here).
  uint64_t step_bytes = 16ull << 20;
  /// Pace: after a step of n bytes the thread sleeps n / bytes_per_second.
  uint64_t bytes_per_second = 64ull << 20;
  /// A file no larger than this is freed at once by the caller's unlink(), without the thread.
  uint64_t small_file_bytes = 16ull << 20;
};

/// Deletes large files without freeing all their blocks at once (RocksDB's DeleteScheduler,
/// rate-limited deletes). Freeing 500 MB in one unlink on a `discard` mount stalls every
/// fdatasync on the disk for ~0.4 s (bench/RESULTS.md, issue 21 §2).
///
/// remove(path) opens the file, unlinks it on the caller's thread — so the name is gone from the
/// directory when it returns, exactly as with unlink(2), and the caller's crash-safety ordering
/// is unchanged — and hands the open descriptor to a background thread, which truncates the
/// unlinked inode from the end in steps of `step_bytes` at `bytes_per_second`, fdatasyncs after
/// each step (so the pace holds on an idle disk too) and closes it at zero length.
///
/// Why unlink-and-hold rather than a rename to `*.trash`: nothing is left in any directory, so no
/// listing (snapshot folder, WAL recovery) has to learn to skip trash and nothing needs cleaning
/// at the next start. The price: a deletion cut short by stop() or by a crash is finished by the
/// kernel when the descriptor closes (or by ext4's orphan list at the next mount), at once. A
/// deletion takes seconds, so that is rare, and only at a moment the node is going down anyway.
///
/// The truncation goes to the inode, not to a name: a file still read through another
/// descriptor (this process or another) reads short once its deletion starts. Callers must not
/// remove a file they still read. A file with other hard links is only unlinked (st_nlink is
/// checked before each step).
///
/// Threads: every method from any thread. Stop is prompt: it waits for at most one step.
class GradualDeleter {
 public:
  explicit GradualDeleter(GradualDeleteOptions options = {});
  ~GradualDeleter();  // stop()
  GradualDeleter(const GradualDeleter&) = delete;
  GradualDeleter& operator=(const GradualDeleter&) = delete;

  /// Unlinks `path` now (errors as unlink(2): ENOENT when missing) and frees its blocks in the
  /// background. After stop(), a plain unlink.
  std::error_code remove(const std::string& path);
  /// Takes ownership of `fd`, a file the caller has already unlinked, and frees its blocks in
  /// the background (closes it at once if it is small, still linked or after stop()).
  void release(int fd);
  /// Ends the thread after the step in progress; descriptors still queued are closed, so the
  /// kernel frees what is left of them. Idempotent.
  void stop();

  /// Waits until nothing is queued (tests, tools); false on timeout.
  bool wait_idle(std::chrono::milliseconds timeout);
  /// Bytes still to be freed in the queue.
  uint64_t pending_bytes() const;
  /// Files whose freeing went through the thread (completed or not).
  uint64_t files_queued() const;

 private:
  struct Item {
    int fd;
    uint64_t size;
  };
  void run();
  bool should_queue(int fd, uint64_t* size) const;

  const GradualDeleteOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // work arrived, or stop
  std::condition_variable idle_cv_;  // the queue became empty
  std::deque<Item> queue_;           // under mu_; front() is being truncated
  bool stop_ = false;                // under mu_
  uint64_t files_queued_ = 0;        // under mu_
  std::thread thread_;
};

}  // namespace cairn
