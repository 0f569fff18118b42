// Real-socket tests against a started Server on 127.0.0.1. The client is a tiny blocking POSIX
// one; every receive has a timeout so that a broken server fails a test instead of hanging it.
// No assertion depends on how long something took.
#include "http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/json.h"
#include "test_support.h"

namespace cairn::http {
namespace {

Response make_response(int status, std::string body = {}) {
  Response res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

using namespace std::chrono_literals;
using cairn::test::wait_until;

constexpr int kRecvTimeoutSeconds = 10;

/// A blocking client connection. Not thread-safe; one per thread.
class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{kRecvTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  /// False when the server closed or reset the connection.
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };

  /// Reads one response (Content-Length framed); nullopt on close, reset or timeout.
  std::optional<Reply> read_response() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    Reply r;
    std::string head = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      std::string line = head.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    while (buffer_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  /// True once the server has closed the connection (EOF or reset); false if it stayed open
  /// for the whole receive timeout or sent unexpected data.
  bool wait_closed() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET || errno == EPIPE;
    return false;
  }

 private:
  bool fill() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

/// Describes the request back, so tests can check what the server built.
void echo(RequestPtr req, Reply reply) {
  Json j;
  j["method"] = req->method;
  j["target"] = req->target;
  j["path"] = req->path;
  Json q = Json::array();
  for (const auto& [k, v] : req->query) q.push_back(Json::array({k, v}));
  j["query"] = q;
  j["body"] = req->body;
  j["remote"] = req->remote_address;
  j["x_test"] = req->header("x-test") ? *req->header("x-test") : "";
  j["received"] = req->received_monotonic_ms;
  Response res;
  res.body = j.dump();
  res.headers.emplace_back("X-Extra", "yes");
  reply(std::move(res));
}

ServerOptions test_options() {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 2;
  return o;
}

/// Replies stored by a handler, answered when the test says so.
class Parked {
 public:
  Handler handler() {
    return [this](RequestPtr req, Reply reply) {
      std::lock_guard lock(mu_);
      replies_.emplace_back(std::move(req), std::move(reply));
      cv_.notify_all();
    };
  }
  /// Waits (bounded) for the next parked request and takes its reply.
  std::optional<std::pair<RequestPtr, Reply>> take() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, 10s, [this] { return !replies_.empty(); })) return std::nullopt;
    auto out = std::move(replies_.front());
    replies_.pop_front();
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<RequestPtr, Reply>> replies_;
};

Json envelope(const Client::Reply& r) { return Json::parse(r.body); }

TEST(Server, StartsOnPortZeroAndRefusesSecondStart) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  EXPECT_NE(server.port(), 0);
  EXPECT_FALSE(server.start().ok());

  ServerOptions clash = test_options();
  clash.listen = "127.0.0.1:" + std::to_string(server.port());
  Server other(clash, echo);
  auto r = other.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("bind"), std::string::npos) << r.error();
  ServerOptions bad = test_options();
  bad.listen = "no-port";
  EXPECT_FALSE(Server(bad, echo).start().ok());
}

TEST(Server, GetAndPostRoundTrip) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.connected());

  ASSERT_TRUE(c.send(get("/a/b%20c?x=1+2&y=%E2%9C%93&x=3", "X-Test: Hello\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("server"), "cairn");
  EXPECT_EQ(r->header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  EXPECT_EQ(r->header("x-extra"), "yes");
  auto j = envelope(*r);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["target"], "/a/b%20c?x=1+2&y=%E2%9C%93&x=3");
  EXPECT_EQ(j["path"], "/a/b c");
  EXPECT_EQ(j["query"], Json::parse(R"([["x","1 2"],["y","✓"],["x","3"]])"));
  EXPECT_EQ(j["x_test"], "Hello");
  EXPECT_EQ(j["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u);
  EXPECT_GT(j["received"].get<int64_t>(), 0);

  const std::string body = R"({"namespace":"a","value":"日本"})";
  ASSERT_TRUE(c.send(post("/api/v1/admin/config", body)));
  r = c.read_response();
  ASSERT_TRUE(r);
  j = envelope(*r);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["body"], body);
}

// Issue 15 item 12: HEAD is handed on as a GET (req->head set) and answered with the GET's
// status and headers, Content-Length included, and no body bytes: the next response on the
// connection starts right after the head.
TEST(Server, HeadAnswersLikeGetWithoutTheBody) {
  Server server(test_options(), [](RequestPtr req, Reply reply) {
    Response res;
    res.status = req->path == "/missing" ? 404 : 200;
    res.body = std::string(req->head ? "head:" : "get:") + req->method + req->path;
    res.headers.emplace_back("ETag", "\"1\"");
    reply(std::move(res));
  });
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send("HEAD /a HTTP/1.1\r\nHost: t\r\n\r\n" + get("/b") +
                     "HEAD /missing HTTP/1.1\r\nHost: t\r\n\r\n" + get("/c")));
  // The head of the HEAD's answer, read by hand: read_response() would take Content-Length
  // bytes of the next response as its body.
  std::string raw;
  char buf[4096];
  while (raw.find("get:GET/c") == std::string::npos) {
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << raw;
    raw.append(buf, static_cast<size_t>(n));
  }
  const std::string body_a = "head:GET/a";  // what the GET would have sent
  const size_t first_end = raw.find("\r\n\r\n") + 4;
  const std::string first = raw.substr(0, first_end);
  EXPECT_EQ(first.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(first.find("Content-Length: " + std::to_string(body_a.size()) + "\r\n"),
            std::string::npos)
      << raw;
  EXPECT_NE(first.find("ETag: \"1\"\r\n"), std::string::npos) << raw;
  EXPECT_NE(first.find("Content-Type: application/json"), std::string::npos) << raw;
  EXPECT_EQ(raw.find(body_a), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(first_end, 17), "HTTP/1.1 200 OK\r\n") << raw;  // no body in between
  EXPECT_NE(raw.find("get:GET/b"), std::string::npos) << raw;
  EXPECT_NE(raw.find("HTTP/1.1 404 Not Found\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("head:GET/missing"), std::string::npos) << raw;
}

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(get("/n/" + std::to_string(i))));
    auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(envelope(*r)["path"], "/n/" + std::to_string(i));
    EXPECT_NE(r->header("connection"), "close");
  }
  // Pipelined: both requests in one write, answered in order.
  ASSERT_TRUE(c.send(get("/p/1") + get("/p/2")));
  auto r1 = c.read_response();
  auto r2 = c.read_response();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(envelope(*r1)["path"], "/p/1");
  EXPECT_EQ(envelope(*r2)["path"], "/p/2");
}

TEST(Server, ConnectionCloseAndHttp10CloseAfterTheResponse) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  {
    Client c(server.port());
    ASSERT_TRUE(c.send("GET /x HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.wait_closed());
  }
  {
    Client c(server.port());  // HTTP/1.0 asking for keep-alive gets it
    ASSERT_TRUE(c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    ASSERT_TRUE(c.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    ASSERT_TRUE(c.read_response());
  }
  {
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/x", "Connection: close\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
}

TEST(Server, HandlerRepliesLaterFromAnotherThread) {
  Parked parked;
  Server server(test_options(), parked.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/slow")));
  auto p = parked.take();
  ASSERT_TRUE(p);
  std::thread worker([reply = p->second] {
    std::this_thread::sleep_for(100ms);
    reply(make_response(201, "late"));
    reply(make_response(500, "ignored"));  // a second call is ignored
  });
  auto r = c.read_response();
  worker.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "late");
  // The connection is still usable, and the second reply did not leak onto it.
  ASSERT_TRUE(c.send(get("/again")));
  auto p2 = parked.take();
  ASSERT_TRUE(p2);
  p2->second(make_response(200, "again"));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "again");
}

TEST(Server, WorkPostedToARequestsLoopRunsThereAndAnswers) {
  Parked parked;
  std::optional<std::pair<RequestPtr, Reply>> held;
  {
    ServerOptions o = test_options();
    o.stop_grace_ms = 100;
    Server server(o, parked.handler());
    ASSERT_TRUE(server.start().ok());
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/held")));
    auto p = parked.take();
    ASSERT_TRUE(p);
    std::thread::id worker_id, ran_on;
    std::thread worker([&] {
      worker_id = std::this_thread::get_id();
      auto loop = p->first->loop.lock();
      ASSERT_TRUE(loop);
      EXPECT_TRUE(loop->post([&ran_on, reply = p->second] {
        ran_on = std::this_thread::get_id();
        reply(make_response(200, "posted"));
      }));
    });
    auto r = c.read_response();
    worker.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "posted");
    EXPECT_NE(ran_on, worker_id);  // on the connection's io thread
    EXPECT_NE(ran_on, std::thread::id());

    // Once the server has stopped, nothing runs there any more.
    ASSERT_TRUE(c.send(get("/held-again")));
    held = parked.take();
    ASSERT_TRUE(held);
    server.stop();
    auto loop = held->first->loop.lock();
    if (loop) {
      bool ran = false;
      EXPECT_FALSE(loop->post([&ran] { ran = true; }));
      EXPECT_FALSE(ran);
    }
  }
  held.reset();
}

TEST(Server, DroppedReplyAnswers500) {
  Server server(test_options(), [](RequestPtr, Reply) {});
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/x", "X-Request-ID: drop-1\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(envelope(*r)["code"], 50001);
  EXPECT_EQ(envelope(*r)["request_id"], "drop-1");
}

TEST(Server, ThrowingHandlerAnswers500) {
  Server server(test_options(), [](RequestPtr, Reply) { throw std::runtime_error("boom"); });
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/x")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST(Server, OversizedBodyIs413) {
  ServerOptions o = test_options();
  o.max_body_bytes = 1024;
  Server server(o, echo);
  ASSERT_TRUE(server.start().ok());
  {
    // Declared by Content-Length: refused from the header, before the body is read.
    Client c(server.port());
    ASSERT_TRUE(
        c.send("POST /x HTTP/1.1\r\nHost: t\r\nX-Request-ID: big-1\r\n"
               "Content-Length: 100000\r\n\r\n" +
               std::string(20000, 'a')));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("x-request-id"), "big-1");
    EXPECT_FALSE(r->header("traceparent").empty());
    auto j = envelope(*r);
    EXPECT_EQ(j["code"], 41301);
    EXPECT_EQ(j["request_id"], "big-1");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    // Chunked: found while reading the body.
    Client c(server.port());
    std::string chunk = std::string(800, 'b');
    ASSERT_TRUE(
        c.send("POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "320\r\n" +
               chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(envelope(*r)["code"], 41301);
    EXPECT_EQ(envelope(*r)["request_id"].get<std::string>().size(), 36u);
  }
  {
    Client c(server.port());  // exactly at the limit is fine
    ASSERT_TRUE(c.send(post("/x", std::string(1024, 'c'))));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(Server, ExpectContinueIsHonoured) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(
      c.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("hello"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(envelope(*r)["body"], "hello");
}

TEST(Server, HugeHeaderBlockIs431) {
  ServerOptions o = test_options();
  o.max_header_bytes = 1024;
  Server server(o, echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(
      c.send(get("/x", "X-Request-ID: hdr-1\r\nX-Big: " + std::string(4000, 'h') + "\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  auto j = envelope(*r);
  EXPECT_EQ(j["code"], 40001);
  EXPECT_EQ(j["request_id"], "hdr-1");
  EXPECT_TRUE(c.wait_closed());
}

TEST(Server, GarbageIs400) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  for (std::string garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
        std::string("GET / FTP/1.1\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00",
                    7),  // no header end: refused at once std::string("GET / HTTP/1.1\r\nBad
                         // Header\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")}) {
    Client c(server.port());
    ASSERT_TRUE(c.send(garbage));
    auto r = c.read_response();
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    auto j = envelope(*r);
    EXPECT_EQ(j["code"], 40001);
    EXPECT_EQ(r->header("x-request-id"), j["request_id"].get<std::string>());
    EXPECT_TRUE(c.wait_closed());
  }
}

TEST(Server, BadPercentEncodingIs400AndKeepsTheConnection) {
  Server server(test_options(), echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/a%zz?x=1", "X-Request-ID: pct-1\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(envelope(*r)["code"], 40001);
  EXPECT_EQ(envelope(*r)["request_id"], "pct-1");
  ASSERT_TRUE(c.send(get("/fine")));
  r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(Server, IdleConnectionIsClosed) {
  ServerOptions o = test_options();
  o.idle_timeout_ms = 200;
  Server server(o, echo);
  ASSERT_TRUE(server.start().ok());
  Client after_request(server.port());
  ASSERT_TRUE(after_request.send(get("/x")));
  ASSERT_TRUE(after_request.read_response());
  Client silent(server.port());
  EXPECT_TRUE(after_request.wait_closed());
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
}

TEST(Server, SlowRequestIsCutOff) {
  ServerOptions o = test_options();
  o.read_timeout_ms = 200;
  Server server(o, echo);
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send("GET /x HTTP/1.1\r\nHost: t\r\n"));  // never finishes the header
  EXPECT_TRUE(c.wait_closed());
}

TEST(Server, ClientGoneBeforeDelayedReply) {
  Parked parked;
  Server server(test_options(), parked.handler());
  ASSERT_TRUE(server.start().ok());
  {
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/slow")));
    auto p = parked.take();
    ASSERT_TRUE(p);
    c.close();
    std::this_thread::sleep_for(50ms);
    p->second(make_response(200, "nobody listens"));
  }
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
  // The server still works.
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/x")));
  auto p = parked.take();
  ASSERT_TRUE(p);
  p->second(make_response(200, "ok"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "ok");
}

TEST(Server, StopLetsInFlightRequestsFinish) {
  Parked parked;
  ServerOptions o = test_options();
  o.stop_grace_ms = 10'000;
  Server server(o, parked.handler());
  ASSERT_TRUE(server.start().ok());
  Client busy(server.port());
  Client idle(server.port());
  ASSERT_TRUE(busy.send(get("/slow")));
  auto p = parked.take();
  ASSERT_TRUE(p);

  std::thread stopper([&server] { server.stop(); });
  std::this_thread::sleep_for(100ms);
  p->second(make_response(200, "finished"));
  auto r = busy.read_response();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  EXPECT_TRUE(idle.wait_closed());
  server.stop();  // idempotent
  Client refused(server.port());
  EXPECT_FALSE(refused.connected() && refused.send(get("/x")) && refused.read_response());
}

TEST(Server, StopGivesUpOnRequestsThatNeverFinish) {
  Parked parked;
  std::optional<std::pair<RequestPtr, Reply>> p;
  {
    ServerOptions o = test_options();
    o.stop_grace_ms = 100;
    Server server(o, parked.handler());
    ASSERT_TRUE(server.start().ok());
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/never")));
    p = parked.take();
    ASSERT_TRUE(p);
    server.stop();
    EXPECT_TRUE(c.wait_closed());
  }
  // The server is gone; answering now is ignored without crashing.
  p->second(make_response(200, "too late"));
  p.reset();
}

TEST(Server, ManyConcurrentConnections) {
  ServerOptions o = test_options();
  o.threads = 4;
  Server server(o, echo);
  ASSERT_TRUE(server.start().ok());
  constexpr int kConnections = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(server.port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (int i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(clients[i]->send(post("/c/" + std::to_string(i), "body-" + std::to_string(i))));
  }
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == kConnections; }));
  for (int i = 0; i < kConnections; ++i) {
    auto r = clients[i]->read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(envelope(*r)["body"], "body-" + std::to_string(i));
  }

  // And from many threads at once, two requests per connection.
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&server, &ok, t] {
      for (int i = 0; i < 25; ++i) {
        Client c(server.port());
        for (int k = 0; k < 2; ++k) {
          std::string path = "/t/" + std::to_string(t) + "/" + std::to_string(i);
          if (!c.send(get(path))) return;
          auto r = c.read_response();
          if (r && Json::parse(r->body)["path"] == path) ++ok;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8 * 25 * 2);
}

}  // namespace
}  // namespace cairn::http

namespace cairn::http {
namespace {

TEST(Server, HangUpDuringAHeldRequestFiresItsCancellation) {
  Parked parked;
  Server server(test_options(), parked.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/held")));
  auto p = parked.take();
  ASSERT_TRUE(p);
  std::atomic<bool> fired{false};
  p->first->cancellation->on_cancel([&] { fired = true; });
  EXPECT_FALSE(p->first->cancellation->cancelled());
  c.close();
  EXPECT_TRUE(wait_until([&] { return fired.load(); }));
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
  // Registering after the fact runs at once.
  bool late = false;
  p->first->cancellation->on_cancel([&] { late = true; });
  EXPECT_TRUE(late);
  p->second(make_response(200, "nobody listens"));  // ignored
}

TEST(Server, PipelinedRequestBehindAHeldOneIsNotAHangUp) {
  Parked parked;
  Server server(test_options(), parked.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/first")));
  auto first = parked.take();
  ASSERT_TRUE(first);
  std::atomic<bool> fired{false};
  first->first->cancellation->on_cancel([&] { fired = true; });
  ASSERT_TRUE(c.send(get("/second")));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fired.load());
  first->second(make_response(200, "one"));
  auto r1 = c.read_response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body, "one");
  auto second = parked.take();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first->path, "/second");
  second->second(make_response(200, "two"));
  auto r2 = c.read_response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body, "two");
  EXPECT_FALSE(fired.load());
}

/// A handler that answers every request with an event stream and hands its writer to the test.
class StreamCatcher {
 public:
  Handler handler() {
    return [this](RequestPtr req, Reply reply) {
      req->cancellation->on_cancel([this] { cancelled = true; });
      Response res;
      res.content_type = "text/event-stream";
      res.headers.emplace_back("Cache-Control", "no-cache");
      res.on_stream = [this](StreamPtr w) {
        std::lock_guard lock(mu_);
        writer_ = std::move(w);
        cv_.notify_all();
      };
      reply(std::move(res));
    };
  }
  /// Waits (bounded) for the stream of the request just sent.
  StreamPtr take() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return writer_ != nullptr; });
    return std::move(writer_);
  }
  std::atomic<bool> cancelled{false};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  StreamPtr writer_;
};

TEST(Server, StreamedResponseSendsChunksUntilClosed) {
  StreamCatcher catcher;
  Server server(test_options(), catcher.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/events")));
  StreamPtr writer = catcher.take();
  ASSERT_TRUE(writer);
  EXPECT_TRUE(writer->write("data: one\n\n"));
  EXPECT_TRUE(writer->write("data: two\n\n"));
  writer->close();
  EXPECT_TRUE(writer->closed());
  EXPECT_FALSE(writer->write("data: late\n\n"));
  // The whole response: headers, two chunks, the last chunk, then the server closes.
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  EXPECT_NE(raw.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Type: text/event-stream\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Cache-Control: no-cache\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n"), std::string::npos)
      << raw;
  EXPECT_EQ(raw.find("late"), std::string::npos);
  writer.reset();
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
}

// Issue 15 item 12: HEAD of a stream sends the stream's head and closes at once: the stream
// itself never starts, so nothing is held for a client that wants no body.
TEST(Server, HeadOfAStreamSendsTheHeadOnly) {
  StreamCatcher catcher;
  Server server(test_options(), catcher.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send("HEAD /events HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Content-Type: text/event-stream\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.size(), raw.find("\r\n\r\n") + 4) << raw;  // nothing after the head
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
}

TEST(Server, StreamClientHangUpClosesTheWriterAndCancels) {
  StreamCatcher catcher;
  Server server(test_options(), catcher.handler());
  ASSERT_TRUE(server.start().ok());
  StreamPtr writer;
  {
    Client c(server.port());
    ASSERT_TRUE(c.send(get("/events")));
    writer = catcher.take();
    ASSERT_TRUE(writer);
  }  // the client hangs up
  EXPECT_TRUE(wait_until([&] { return catcher.cancelled.load(); }));
  EXPECT_TRUE(wait_until([&] { return writer->closed(); }));
  EXPECT_FALSE(writer->write("data: x\n\n"));
  writer.reset();
  EXPECT_TRUE(wait_until([&] { return server.open_connections() == 0; }));
}

TEST(Server, StopEndsOpenStreams) {
  StreamCatcher catcher;
  Server server(test_options(), catcher.handler());
  ASSERT_TRUE(server.start().ok());
  Client c(server.port());
  ASSERT_TRUE(c.send(get("/events")));
  StreamPtr writer = catcher.take();
  ASSERT_TRUE(writer);
  server.stop();  // must not wait for the stream's grace period to run out
  EXPECT_TRUE(writer->closed());
  // The client sees the headers, the end of the body, then the end of the connection.
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(c.fd(), buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(n, 0) << "connection not closed";
  EXPECT_NE(raw.find("0\r\n\r\n"), std::string::npos) << raw;
}

}  // namespace
}  // namespace cairn::http
