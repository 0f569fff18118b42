#include "common/gradual_delete.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace cairn {

GradualDeleter::GradualDeleter(GradualDeleteOptions options) : opts_(options) {
  thread_ = std::thread([this] { run(); });
}

GradualDeleter::~GradualDeleter() { stop(); }

std::error_code GradualDeleter::remove(const std::string& path) {
  // Opened before the unlink: the descriptor is what keeps the blocks for the thread to free.
  // A file that cannot be opened for writing (a symlink, no permission) is simply unlinked.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (::unlink(path.c_str()) != 0) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    return {e, std::generic_category()};
  }
  if (fd >= 0) release(fd);
  return {};
}

bool GradualDeleter::should_queue(int fd, uint64_t* size) const {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink > 0) return false;
  *size = static_cast<uint64_t>(st.st_size);
  return *size > opts_.small_file_bytes;
}

void GradualDeleter::release(int fd) {
  if (fd < 0) return;
  uint64_t size = 0;
  if (should_queue(fd, &size)) {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queue_.push_back(Item{fd, size});
      ++files_queued_;
      cv_.notify_one();
      return;
    }
  }
  ::close(fd);  // small, still linked elsewhere, or stopped: the kernel frees it now
}

void GradualDeleter::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  std::lock_guard lock(mu_);
  for (const Item& item : queue_) ::close(item.fd);
  queue_.clear();
  idle_cv_.notify_all();
}

bool GradualDeleter::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return queue_.empty(); });
}

uint64_t GradualDeleter::pending_bytes() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const Item& item : queue_) total += item.size;
  return total;
}

uint64_t GradualDeleter::files_queued() const {
  std::lock_guard lock(mu_);
  return files_queued_;
}

void GradualDeleter::run() {
  // Below the Raft, HTTP and snapshot threads: freeing blocks is never urgent (Linux: a
  // thread's nice value is its own).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  const uint64_t step = std::max<uint64_t>(1, opts_.step_bytes);
  const uint64_t rate = std::max<uint64_t>(1, opts_.bytes_per_second);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    // Only this thread pops or changes queue_.front(); stop() touches the queue after the join.
    const int fd = queue_.front().fd;
    lock.unlock();
    uint64_t left = 0, cut = 0;
    bool done = false;
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_nlink > 0) {
      done = true;  // linked again (or unreadable): not ours to empty
    } else {
      const uint64_t size = static_cast<uint64_t>(st.st_size);
      const uint64_t next = size > step ? size - step : 0;
      if (::ftruncate(fd, static_cast<off_t>(next)) != 0) {
        done = true;  // the close below frees the rest at once
      } else {
        // Commits the step now: its discard then happens at this pace even when nothing else
        // on the disk syncs (a later commit would otherwise free several steps at once).
        (void)::fdatasync(fd);
        cut = size - next;
        left = next;
        done = next == 0;
      }
    }
    lock.lock();
    if (done) {
      ::close(fd);
      queue_.pop_front();
      if (queue_.empty()) idle_cv_.notify_all();
    } else {
      queue_.front().size = left;
    }
    if (cut > 0) {
      const auto pause = std::chrono::microseconds(cut * 1'000'000 / rate);
      cv_.wait_for(lock, pause, [this] { return stop_; });
    }
  }
}

}  // namespace cairn
