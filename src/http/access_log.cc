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

AccessLogWriter::AccessLogWriter(std::unique_ptr<AccessLogSink> sink, Options options)
    : sink_(std::move(sink)), options_(options) {
  pending_.reserve(std::min(options_.batch_bytes, options_.max_pending_bytes));
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() { stop(); }

bool AccessLogWriter::append(std::string_view line) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || pending_.size() + in_flight_ + line.size() > options_.max_pending_bytes) {
      dropped_.fetch_add(static_cast<uint64_t>(std::count(line.begin(), line.end(), '\n')),
                         std::memory_order_relaxed);
      return false;
    }
    // Wake the writer only when it may be waiting for this: the first line of a batch, or the
    // line that makes a lingering batch big enough. Every other append is a copy under the lock.
    wake = pending_.empty() || (pending_.size() < options_.batch_bytes &&
                                pending_.size() + line.size() >= options_.batch_bytes);
    pending_.append(line);
    pending_lines_ += static_cast<size_t>(std::count(line.begin(), line.end(), '\n'));
  }
  if (wake) cv_.notify_one();
  return true;
}

void AccessLogWriter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AccessLogWriter::run() {
  std::string batch;
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (!stopping_ && pending_.size() < options_.batch_bytes && options_.linger_ms > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(options_.linger_ms),
                   [this] { return stopping_ || pending_.size() >= options_.batch_bytes; });
    }
    if (pending_.empty()) {
      if (stopping_) return;  // every accepted line is written
      continue;
    }
    batch.swap(pending_);  // pending_ takes the old batch's buffer: no allocation once warm
    pending_.clear();
    const size_t lines = pending_lines_;
    pending_lines_ = 0;
    in_flight_ = batch.size();
    lock.unlock();
    sink_->write(batch);
    written_.fetch_add(lines, std::memory_order_relaxed);
    batch.clear();
    lock.lock();
    in_flight_ = 0;
  }
}

}  // namespace cairn::http
