#include "http/access_log.h"

#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace cairn::http {
namespace {

class FdSink final : public AccessLogSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {
    struct stat st {};
    const bool shared_stream =
        ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    max_write_ = shared_stream ? PIPE_BUF : 64u << 10;
  }

  void write(std::string_view lines) override {
    while (!lines.empty()) {
      // The longest run of whole lines that fits; a single longer line goes alone.
      size_t n = lines.size();
      if (n > max_write_) {
        size_t end = lines.rfind('\n', max_write_ - 1);
        if (end == std::string_view::npos) end = lines.find('\n', max_write_);
        n = end == std::string_view::npos ? lines.size() : end + 1;
      }
      if (!write_all(lines.substr(0, n))) return;  // the descriptor is gone: nothing to do
      lines.remove_prefix(n);
    }
  }

 private:
  bool write_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t w = ::write(fd_, bytes.data(), bytes.size());
      if (w > 0) {
        bytes.remove_prefix(static_cast<size_t>(w));
      } else if (w < 0 && errno == EINTR) {
        continue;
      } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        ::poll(&p, 1, 1000);
      } else {
        return false;
      }
    }
    return true;
  }

  const int fd_;
  size_t max_write_;
};

}  // namespace

std::unique_ptr<AccessLogSink> fd_access_log_sink(int fd) { return std::make_unique<FdSink>(fd); }

namespace {
std::atomic<uint64_t> next_writer_id{1};
}  // namespace

AccessLogWriter::AccessLogWriter(std::unique_ptr<AccessLogSink> sink, Options options)
    : sink_(std::move(sink)), options_(options), id_(next_writer_id.fetch_add(1)) {
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() { stop(); }

AccessLogWriter::Slot& AccessLogWriter::slot() {
  // A few writers per thread at most (one per node; tests make them one after another).
  struct Entry {
    uint64_t writer = 0;
    Slot* slot = nullptr;
  };
  thread_local Entry cache[4];
  thread_local unsigned next_victim = 0;
  for (const Entry& e : cache) {
    if (e.writer == id_) return *e.slot;
  }
  Slot* s;
  {
    std::lock_guard lock(slots_mu_);
    slots_.push_back(std::make_unique<Slot>());
    s = slots_.back().get();
  }
  cache[next_victim++ % 4] = Entry{id_, s};
  return *s;
}

bool AccessLogWriter::append(std::string_view line) {
  const auto lines = static_cast<size_t>(std::count(line.begin(), line.end(), '\n'));
  auto drop = [&] {
    dropped_.fetch_add(lines, std::memory_order_relaxed);
    return false;
  };
  // One shared atomic per line (the bound); everything else is this thread's slot.
  const size_t before = pending_bytes_.fetch_add(line.size());
  if (before + line.size() > options_.max_pending_bytes) {
    pending_bytes_.fetch_sub(line.size());
    return drop();
  }
  {
    Slot& s = slot();
    std::lock_guard lock(s.mu);
    // Checked under the slot's lock: stop() sets stopping_ and then takes every slot's lock
    // once, so an append either sees stopping_ or has put its line in before the last gather.
    if (stopping_.load()) {
      pending_bytes_.fetch_sub(line.size());
      return drop();
    }
    s.lines.append(line);
    s.count += lines;
  }
  // Wake the writer only when it may be waiting for this: the first bytes after it went idle,
  // or the line that makes a lingering batch big enough. Taking mu_ first means the writer is
  // either before its check (and sees pending_bytes_) or asleep (and gets the notification).
  if (before == 0 || (before < options_.batch_bytes && before + line.size() >= options_.batch_bytes)) {
    { std::lock_guard lock(mu_); }
    cv_.notify_one();
  }
  return true;
}

void AccessLogWriter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_.load()) return;
    stopping_.store(true);
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

size_t AccessLogWriter::gather(std::string& batch) {
  std::vector<Slot*> slots;
  {
    std::lock_guard lock(slots_mu_);
    slots.reserve(slots_.size());
    for (const auto& s : slots_) slots.push_back(s.get());
  }
  size_t count = 0;
  for (Slot* s : slots) {
    {
      std::lock_guard lock(s->mu);
      if (s->lines.empty()) continue;
      s->lines.swap(s->spare);  // the appender keeps a buffer with capacity: no allocation
      count += s->count;
      s->count = 0;
    }
    batch.append(s->spare);
    s->spare.clear();
  }
  return count;
}

void AccessLogWriter::run() {
  std::string batch;
  batch.reserve(options_.batch_bytes);
  for (;;) {
    bool stopping;
    {
      // Nothing is at the sink here: pending_bytes_ is what waits in the slots (or is being
      // appended right now).
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_.load() || pending_bytes_.load() > 0; });
      if (!stopping_.load() && pending_bytes_.load() < options_.batch_bytes &&
          options_.linger_ms > 0) {
        cv_.wait_for(lock, std::chrono::milliseconds(options_.linger_ms), [this] {
          return stopping_.load() || pending_bytes_.load() >= options_.batch_bytes;
        });
      }
      stopping = stopping_.load();
    }
    const size_t lines = gather(batch);
    if (!batch.empty()) {
      sink_->write(batch);
      pending_bytes_.fetch_sub(batch.size());
      written_.fetch_add(lines, std::memory_order_relaxed);
      batch.clear();
    } else if (!stopping) {
      std::this_thread::yield();  // counted, not yet in its slot: an append in progress
    }
    if (stopping) {
      // Every append now sees stopping_ or has finished (slot locks taken in gather, after
      // stopping_ was set); one more gather takes what those put in.
      if (gather(batch) > 0 || !batch.empty()) {
        sink_->write(batch);
        pending_bytes_.fetch_sub(batch.size());
        written_.fetch_add(static_cast<uint64_t>(std::count(batch.begin(), batch.end(), '\n')),
                           std::memory_order_relaxed);
        batch.clear();
      }
      return;  // every accepted line is written
    }
  }
}

}  // namespace cairn::http
