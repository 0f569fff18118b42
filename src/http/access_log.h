#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cairn::http {

/// Where an AccessLogWriter puts its bytes: whole lines, each ending in '\n', several per call.
/// Called from the writer's thread only, one call at a time. May block (a full pipe, a slow
/// disk): the writer drops new lines meanwhile instead of making requests wait.
class AccessLogSink {
 public:
  virtual ~AccessLogSink() = default;
  virtual void write(std::string_view lines) = 0;
};

/// A sink writing to a file descriptor it does not own (stderr, where every other log line
/// goes). On a pipe or a socket (journald) each write(2) is at most PIPE_BUF bytes and ends at
/// a line end, so that a log line of another thread never lands inside an access line (writes up
/// to PIPE_BUF are atomic there); on a file or a terminal, up to 64 KiB per write(2).
std::unique_ptr<AccessLogSink> fd_access_log_sink(int fd);

/// Moves access-log lines off the request path: append() copies a line into a buffer of the
/// calling thread's own and returns; the writer's own thread gathers what accumulated in every
/// thread's buffer and hands it to the sink in one call. Lines of one thread reach the sink in
/// the order append() accepted them; lines of different threads are not interleaved line by
/// line (like the access logs of nginx's workers, each line carries its own time).
///
/// Bounded: accepted bytes not yet written (the buffers filling plus the batch at the sink)
/// never exceed `max_pending_bytes`; a line that does not fit is dropped and counted, never
/// waited for. The writer takes a batch as soon as one is waiting and it is idle, but lingers up
/// to `linger_ms` while the batch is smaller than `batch_bytes`, so that under load one write
/// carries many lines.
///
/// One buffer per thread (issue 21 §1): the HTTP threads never wait for each other, and an
/// append takes no lock but its own buffer's (which the writer holds only to swap the buffer
/// out) and touches the writer's mutex only when the writer may be asleep waiting for it.
///
/// Threads: append() and the counters from any thread. Lifetime: stop() (or the destructor)
/// writes every accepted line, then joins the thread; append() after stop() drops the line.
class AccessLogWriter {
 public:
  struct Options {
    size_t max_pending_bytes = 8u << 20;
    size_t batch_bytes = 64u << 10;
    int64_t linger_ms = 20;
  };

  AccessLogWriter(std::unique_ptr<AccessLogSink> sink, Options options);
  explicit AccessLogWriter(std::unique_ptr<AccessLogSink> sink)
      : AccessLogWriter(std::move(sink), Options{}) {}
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  /// Queues `line` (one or more whole lines, each ending in '\n'); false when it was dropped.
  bool append(std::string_view line);
  void stop();

  /// Lines handed to the sink, and lines dropped (buffer full, or after stop()).
  uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  /// One appending thread's buffer.
  struct Slot {
    std::mutex mu;
    std::string lines;  // accepted, waiting for the writer
    size_t count = 0;   // lines in `lines`
    std::string spare;  // the writer's side of the swap: keeps its capacity between batches
  };

  Slot& slot();
  /// Moves every slot's lines into `batch`; returns how many lines.
  size_t gather(std::string& batch);
  void run();

  const std::unique_ptr<AccessLogSink> sink_;
  const Options options_;
  const uint64_t id_;  // tells this writer's slots from an earlier writer's at the same address
  std::mutex slots_mu_;
  std::vector<std::unique_ptr<Slot>> slots_;  // only grows; a thread's slot lives as long as this
  std::mutex mu_;                            // the writer's sleep and stopping_
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};        // set under mu_, read by append under its slot's lock
  std::atomic<size_t> pending_bytes_{0};     // accepted, not yet written (the bound)
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace cairn::http
