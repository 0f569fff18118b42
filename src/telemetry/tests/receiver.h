#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cairn::telemetry {

/// A tiny OTLP receiver on 127.0.0.1 (a free port) for tests: keeps each request body and
/// answers 200. Stopped and joined by the destructor.
class Receiver {
 public:
  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) ::close(c);
          return;
        }
        std::string in;
        char buf[4096];
        for (;;) {
          size_t head = in.find("\r\n\r\n");
          if (head != std::string::npos) {
            size_t cl = in.find("Content-Length: ");
            size_t n = std::stoul(in.substr(cl + 16));
            if (in.size() >= head + 4 + n) {
              std::lock_guard lock(mu_);
              bodies_.push_back(in.substr(head + 4, n));
              break;
            }
          }
          ssize_t r = ::recv(c, buf, sizeof buf, 0);
          if (r <= 0) break;
          in.append(buf, static_cast<size_t>(r));
        }
        const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        (void)!::send(c, ok, sizeof ok - 1, MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~Receiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

}  // namespace cairn::telemetry
