#pragma once

// Helpers every C++ test binary shares (issue 16 item 8): a temporary directory, a free TCP
// port and a bounded wait. Header-only, standard library and POSIX only, so that the SDK-only
// build (which has no other cairn library) links it too. CMake target: cairn_test_support,
// linked by every cairn_test().

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

namespace cairn::test {

/// A fresh directory under the system temp dir (`$TMPDIR` or /tmp), named `<prefix>.XXXXXX`,
/// removed with everything in it when destroyed unless keep() was called (a failed test keeps
/// its server logs that way). Not copyable; any thread may read path().
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "cairn_test") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = std::move(tmpl);
  }
  ~TempDir() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// `path()/name`: a file or folder inside (not created).
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Leaves the directory in place at destruction.
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). Another
/// process may take it before the caller binds, so a caller that starts a server on it retries
/// on another port when the bind fails. Returns 0 if no socket could be made.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

/// Calls `pred` every `interval` until it returns true or `timeout` has passed; true if it held.
/// For state without a condition variable to wait on (counters, connection sets). Tests never
/// assert on how long it took: the timeout is an upper bound far above the normal case.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10),
                       std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace cairn::test
