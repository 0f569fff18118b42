#include "client/http_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cctype>
#include <cstring>

#include "common/address.h"
#include "common/tls.h"

namespace cairn::client_detail {

namespace http = boost::beast::http;

std::optional<Endpoint> parse_endpoint(const std::string& text) {
  std::string rest = text;
  bool tls = false;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
    tls = true;
  } else if (rest.find("://") != std::string::npos) {
    return std::nullopt;  // no other scheme
  }
  const std::string default_port = tls ? "443" : "80";
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
  auto hp = split_host_port(rest, default_port);
  if (!hp.ok() || std::stoi(hp->port) < 1) return std::nullopt;
  Endpoint e;
  e.host = std::move(hp->host);
  e.port = std::move(hp->port);
  e.tls = tls;
  e.url = (tls ? "https://" : "http://") + join_host_port(e.host, e.port);
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
    bool typed = false;
    for (const auto& h : request.headers) typed = typed || h.first == "Content-Type";
    if (!typed) out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += request.body;
  return out;
}

bool send_all(Conn& conn, const std::string& data, Clock::time_point deadline, int cancel_fd,
              TransportError* error) {
  size_t off = 0;
  while (off < data.size()) {
    short wait = 0;
    std::string why;
    long n = conn.write_some(data.data() + off, data.size() - off, &wait, &why);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n == -1) {
      int w = wait_fd(conn.fd(), wait, deadline, cancel_fd);
      if (w == 1) continue;
      set_error(error, w == -1 ? TransportFailure::kCancelled : TransportFailure::kSend,
                w == -1 ? "cancelled" : "send timed out");
      return false;
    }
    set_error(error, TransportFailure::kSend, "send: " + why);
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

uint64_t ResponseReader::body_received() const {
  return impl_->parser.is_header_done() ? impl_->parser.get().body().size() : 0;
}

uint64_t ResponseReader::content_length() const {
  if (!impl_->parser.is_header_done()) return 0;
  auto n = impl_->parser.content_length();
  return n ? *n : 0;
}

bool receive_response(Conn& conn, ResponseReader& reader, Clock::time_point deadline,
                      int cancel_fd, TransportError* error, const ProgressFn* progress) {
  char buf[16384];
  for (;;) {
    short wait = 0;
    std::string why;
    long n = conn.read_some(buf, sizeof buf, &wait, &why);
    if (n > 0) {
      auto state = reader.feed(buf, static_cast<size_t>(n));
      if (state == ResponseReader::State::kDone) {
        if (progress && *progress) (*progress)(reader.body_received(), reader.content_length());
        return true;
      }
      if (state == ResponseReader::State::kError) {
        set_error(error, TransportFailure::kBadResponse, "bad HTTP response: " + reader.error());
        return false;
      }
      if (progress && *progress) (*progress)(reader.body_received(), reader.content_length());
      continue;
    }
    if (n == 0) {
      if (reader.feed_eof() == ResponseReader::State::kDone) return true;
      set_error(error, TransportFailure::kReceive, reader.error());
      return false;
    }
    if (n == -1) {
      int w = wait_fd(conn.fd(), wait, deadline, cancel_fd);
      if (w == 1) continue;
      set_error(error, w == -1 ? TransportFailure::kCancelled : TransportFailure::kReceive,
                w == -1 ? "cancelled" : "timed out waiting for the response");
      return false;
    }
    set_error(error, TransportFailure::kReceive, "recv: " + why);
    return false;
  }
}

bool http_exchange(const Endpoint& endpoint, const TlsContext* tls, const HttpRequest& request,
                   std::chrono::milliseconds connect_timeout,
                   std::chrono::milliseconds request_timeout, int cancel_fd, HttpResponse* response,
                   TransportError* error, const ProgressFn* progress) {
  Conn conn;
  if (!open_connection(endpoint, tls, connect_timeout, cancel_fd, &conn, error)) {
    if (error != nullptr && error->what.find(endpoint.url) == std::string::npos) {
      error->what = endpoint.url + ": " + error->what;
    }
    return false;
  }
  const auto deadline = Clock::now() + request_timeout;
  bool ok = send_all(conn, serialize_request(endpoint, request), deadline, cancel_fd, error);
  if (ok) {
    ResponseReader reader;
    ok = receive_response(conn, reader, deadline, cancel_fd, error, progress);
    if (ok) *response = reader.take();
  }
  conn.close();
  if (!ok && error != nullptr && error->what.find(endpoint.url) == std::string::npos) {
    error->what = endpoint.url + ": " + error->what;
  }
  return ok;
}

// ---- TLS (OpenSSL over the non-blocking socket) -------------------------------------------

std::shared_ptr<TlsContext> TlsContext::create(const std::string& ca_file,
                                               const std::string& cert, const std::string& key,
                                               std::string* error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  auto configured =
      ctx ? tls::configure(ctx, tls::Role::kClient, {cert, key, ca_file})
          : Result<Ok, std::string>(Unexpected{std::string("cannot create a TLS context")});
  if (!configured.ok()) {
    if (ctx) SSL_CTX_free(ctx);
    if (error) *error = configured.error();
    return nullptr;
  }
  return std::shared_ptr<TlsContext>(new TlsContext(ctx));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Conn::Conn(Conn&& other) noexcept : fd_(other.fd_), ssl_(other.ssl_) {
  other.fd_ = -1;
  other.ssl_ = nullptr;
}

Conn& Conn::operator=(Conn&& other) noexcept {
  if (this != &other) {
    close();
    std::swap(fd_, other.fd_);
    std::swap(ssl_, other.ssl_);
  }
  return *this;
}

void Conn::close() {
  if (ssl_) SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Conn::buffered() const { return ssl_ && SSL_pending(ssl_) > 0; }

namespace {

/// After an SSL_* call returned `rc` <= 0: -1 with the events to wait for, or -2 with a reason.
long ssl_outcome(SSL* ssl, int rc, short* wait, std::string* error) {
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ:
      *wait = POLLIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      *wait = POLLOUT;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    case SSL_ERROR_SYSCALL:
      if (errno == EINTR) {
        *wait = POLLIN | POLLOUT;
        return -1;
      }
      *error = errno ? std::strerror(errno) : "connection closed during TLS";
      ERR_clear_error();
      return -2;
    default: {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      ERR_clear_error();
      *error = std::string("TLS: ") + buf;
      return -2;
    }
  }
}

}  // namespace

long Conn::read_some(char* buf, size_t size, short* wait, std::string* error) {
  if (ssl_) {
    int n = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    if (n > 0) return n;
    long r = ssl_outcome(ssl_, n, wait, error);
    // A server that closes without close_notify: the HTTP framing decides (feed_eof).
    if (r == -2 && SSL_get_error(ssl_, n) == SSL_ERROR_SYSCALL) return 0;
    return r;
  }
  for (;;) {
    ssize_t n = ::recv(fd_, buf, size, 0);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *wait = POLLIN;
      return -1;
    }
    *error = std::strerror(errno);
    return -2;
  }
}

/// OpenSSL writes with send() without MSG_NOSIGNAL: SIGPIPE is held back on this thread while
/// it writes, and one it raised is taken off the thread's pending set, so a server that closed
/// the connection cannot kill the application.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    already_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    if (!already_pending_) {
      sigset_t pending;
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        timespec zero{0, 0};
        sigtimedwait(&pipe_, nullptr, &zero);
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
  bool already_pending_ = false;
};

long Conn::write_some(const char* buf, size_t size, short* wait, std::string* error) {
  if (ssl_) {
    SigpipeGuard guard;
    int n = SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
    if (n > 0) return n;
    long r = ssl_outcome(ssl_, n, wait, error);
    return r == 0 ? -2 : r;
  }
  for (;;) {
    ssize_t n = ::send(fd_, buf, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      *wait = POLLOUT;
      return -1;
    }
    *error = std::strerror(errno);
    return -2;
  }
}

struct ConnOpener {
  static bool open(const Endpoint& endpoint, const TlsContext* tls,
                   std::chrono::milliseconds timeout, int cancel_fd, Conn* conn,
                   TransportError* error) {
    conn->close();
    if (endpoint.tls && !tls) {
      set_error(error, TransportFailure::kConnect, endpoint.url + ": no TLS settings for https");
      return false;
    }
    const auto deadline = Clock::now() + timeout;
    conn->fd_ = connect_socket(endpoint, timeout, cancel_fd, error);
    if (conn->fd_ < 0) return false;
    if (!endpoint.tls) return true;
    conn->ssl_ = SSL_new(tls->get());
    if (!conn->ssl_ || SSL_set_fd(conn->ssl_, conn->fd_) != 1) {
      conn->close();
      set_error(error, TransportFailure::kConnect, endpoint.url + ": cannot start TLS");
      return false;
    }
    // The certificate must be valid for the host we dialed (a name or an IP address).
    X509_VERIFY_PARAM* param = SSL_get0_param(conn->ssl_);
    in6_addr addr6;
    in_addr addr4;
    bool is_ip = ::inet_pton(AF_INET, endpoint.host.c_str(), &addr4) == 1 ||
                 ::inet_pton(AF_INET6, endpoint.host.c_str(), &addr6) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, endpoint.host.c_str(), 0);
      SSL_set_tlsext_host_name(conn->ssl_, endpoint.host.c_str());
    }
    for (;;) {
      int rc = SSL_connect(conn->ssl_);
      if (rc == 1) return true;
      short wait = 0;
      std::string why;
      if (ssl_outcome(conn->ssl_, rc, &wait, &why) != -1) {
        long verify = SSL_get_verify_result(conn->ssl_);
        if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        conn->close();
        set_error(error, TransportFailure::kConnect,
                  endpoint.url + ": TLS handshake failed: " + (why.empty() ? "closed" : why));
        return false;
      }
      int w = wait_fd(conn->fd_, wait, deadline, cancel_fd);
      if (w != 1) {
        conn->close();
        set_error(error, w == -1 ? TransportFailure::kCancelled : TransportFailure::kConnect,
                  w == -1 ? "cancelled" : endpoint.url + ": TLS handshake timed out");
        return false;
      }
    }
  }
};

bool open_connection(const Endpoint& endpoint, const TlsContext* tls,
                     std::chrono::milliseconds timeout, int cancel_fd, Conn* conn,
                     TransportError* error) {
  return ConnOpener::open(endpoint, tls, timeout, cancel_fd, conn, error);
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
