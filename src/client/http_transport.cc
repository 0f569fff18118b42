#include "client/http_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstring>

namespace cairn::client_detail {

namespace http = boost::beast::http;

std::optional<Endpoint> parse_endpoint(const std::string& text) {
  std::string rest = text;
  const std::string scheme = "http://";
  if (rest.rfind(scheme, 0) == 0) {
    rest = rest.substr(scheme.size());
  } else if (rest.find("://") != std::string::npos) {
    return std::nullopt;  // https and others are not supported
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
  Endpoint e;
  if (rest.front() == '[') {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string::npos) return std::nullopt;
    e.host = rest.substr(1, close - 1);
    std::string after = rest.substr(close + 1);
    if (after.empty()) {
      e.port = "80";
    } else if (after.front() == ':') {
      e.port = after.substr(1);
    } else {
      return std::nullopt;
    }
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
      e.host = rest;
      e.port = "80";
    } else {
      e.host = rest.substr(0, colon);
      e.port = rest.substr(colon + 1);
    }
  }
  if (e.host.empty() || e.port.empty() || e.port.size() > 5 ||
      !std::all_of(e.port.begin(), e.port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int port = std::stoi(e.port);
  if (port < 1 || port > 65535) return std::nullopt;
  bool v6 = e.host.find(':') != std::string::npos;
  e.url = "http://" + (v6 ? "[" + e.host + "]" : e.host) + ":" + e.port;
  return e;
}

namespace {

int millis_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count(), 1000 * 60 * 60));
}

/// Waits for `events` on fd; 1 ready, 0 timeout, -1 cancelled, -2 error.
int wait_fd(int fd, short events, Clock::time_point deadline, int cancel_fd) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    int n = ::poll(fds, cancel_fd >= 0 ? 2 : 1, millis_until(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -2;
    }
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) return -1;
    if (n == 0) return Clock::now() >= deadline ? 0 : wait_fd(fd, events, deadline, cancel_fd);
    if (fds[0].revents) return 1;
  }
}

void set_error(TransportError* error, TransportFailure kind, std::string what) {
  if (error != nullptr) *error = TransportError{kind, std::move(what)};
}

}  // namespace

int connect_socket(const Endpoint& endpoint, std::chrono::milliseconds timeout, int cancel_fd,
                   TransportError* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(endpoint.host.c_str(), endpoint.port.c_str(), &hints, &found);
  if (rc != 0) {
    set_error(error, TransportFailure::kConnect,
              endpoint.url + ": cannot resolve: " + ::gai_strerror(rc));
    return -1;
  }
  const auto deadline = Clock::now() + timeout;
  std::string last = "no address";
  int result = -1;
  for (addrinfo* ai = found; ai != nullptr && result < 0; ai = ai->ai_next) {
    int fd =
        ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      result = fd;
      break;
    }
    if (errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      continue;
    }
    int w = wait_fd(fd, POLLOUT, deadline, cancel_fd);
    if (w == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        result = fd;
        break;
      }
      last = std::strerror(err);
    } else if (w == -1) {
      ::close(fd);
      ::freeaddrinfo(found);
      set_error(error, TransportFailure::kCancelled, "cancelled");
      return -1;
    } else {
      last = w == 0 ? "connect timed out" : std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  if (result < 0) set_error(error, TransportFailure::kConnect, endpoint.url + ": " + last);
  return result;
}

std::string serialize_request(const Endpoint& endpoint, const HttpRequest& request) {
  std::string out;
  out.reserve(256 + request.body.size());
  out += request.method + " " + request.target + " HTTP/1.1\r\n";
  bool v6 = endpoint.host.find(':') != std::string::npos;
  out += "Host: " + (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + endpoint.port + "\r\n";
  out += "Connection: close\r\nAccept: application/json\r\nUser-Agent: cairn-sdk/0.1\r\n";
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(request.body.size()) +
        "\r\n";
  }
  out += "\r\n";
  out += request.body;
  return out;
}

bool send_all(int fd, const std::string& data, Clock::time_point deadline, int cancel_fd,
              TransportError* error) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = wait_fd(fd, POLLOUT, deadline, cancel_fd);
      if (w == 1) continue;
      set_error(error, w == -1 ? TransportFailure::kCancelled : TransportFailure::kSend,
                w == -1 ? "cancelled" : "send timed out");
      return false;
    }
    set_error(error, TransportFailure::kSend, std::string("send: ") + std::strerror(errno));
    return false;
  }
  return true;
}

struct ResponseReader::Impl {
  http::response_parser<http::string_body> parser;
  std::string pending;  // bytes not consumed by the parser yet
  std::string error;
  bool done = false;
};

ResponseReader::ResponseReader() : impl_(std::make_unique<Impl>()) {
  impl_->parser.body_limit(64u << 20);
  impl_->parser.eager(true);
}

ResponseReader::~ResponseReader() = default;

ResponseReader::State ResponseReader::feed(const char* data, size_t size) {
  if (impl_->done) return State::kDone;
  impl_->pending.append(data, size);
  while (!impl_->pending.empty()) {
    boost::system::error_code ec;
    size_t used =
        impl_->parser.put(boost::asio::buffer(impl_->pending.data(), impl_->pending.size()), ec);
    impl_->pending.erase(0, used);
    if (ec == http::error::need_more) return State::kNeedMore;
    if (ec) {
      impl_->error = ec.message();
      return State::kError;
    }
    if (impl_->parser.is_done()) {
      impl_->done = true;
      return State::kDone;
    }
    if (used == 0) return State::kNeedMore;
  }
  return impl_->parser.is_done() ? (impl_->done = true, State::kDone) : State::kNeedMore;
}

ResponseReader::State ResponseReader::feed_eof() {
  if (impl_->done) return State::kDone;
  if (!impl_->parser.got_some()) {
    impl_->error = "connection closed without a response";
    return State::kError;
  }
  boost::system::error_code ec;
  impl_->parser.put_eof(ec);
  if (ec || !impl_->parser.is_done()) {
    impl_->error = ec ? ec.message() : "connection closed before the response ended";
    return State::kError;
  }
  impl_->done = true;
  return State::kDone;
}

HttpResponse ResponseReader::take() {
  HttpResponse out;
  auto& msg = impl_->parser.get();
  out.status = static_cast<int>(msg.result_int());
  for (const auto& field : msg) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(msg.body());
  return out;
}

const std::string& ResponseReader::error() const { return impl_->error; }

bool receive_response(int fd, ResponseReader& reader, Clock::time_point deadline, int cancel_fd,
                      TransportError* error) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      auto state = reader.feed(buf, static_cast<size_t>(n));
      if (state == ResponseReader::State::kDone) return true;
      if (state == ResponseReader::State::kError) {
        set_error(error, TransportFailure::kBadResponse, "bad HTTP response: " + reader.error());
        return false;
      }
      continue;
    }
    if (n == 0) {
      if (reader.feed_eof() == ResponseReader::State::kDone) return true;
      set_error(error, TransportFailure::kReceive, reader.error());
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int w = wait_fd(fd, POLLIN, deadline, cancel_fd);
      if (w == 1) continue;
      set_error(error, w == -1 ? TransportFailure::kCancelled : TransportFailure::kReceive,
                w == -1 ? "cancelled" : "timed out waiting for the response");
      return false;
    }
    set_error(error, TransportFailure::kReceive, std::string("recv: ") + std::strerror(errno));
    return false;
  }
}

bool http_exchange(const Endpoint& endpoint, const HttpRequest& request,
                   std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds request_timeout, int cancel_fd, HttpResponse* response,
                   TransportError* error) {
  int fd = connect_socket(endpoint, connect_timeout, cancel_fd, error);
  if (fd < 0) return false;
  const auto deadline = Clock::now() + request_timeout;
  bool ok = send_all(fd, serialize_request(endpoint, request), deadline, cancel_fd, error);
  if (ok) {
    ResponseReader reader;
    ok = receive_response(fd, reader, deadline, cancel_fd, error);
    if (ok) *response = reader.take();
  }
  ::close(fd);
  if (!ok && error != nullptr && error->what.find(endpoint.url) == std::string::npos) {
    error->what = endpoint.url + ": " + error->what;
  }
  return ok;
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace cairn::client_detail
