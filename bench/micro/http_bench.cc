// The HTTP edge per request: writing a response head (ours vs the Beast message it replaced),
// the middleware chain's request id and traceparent, and a whole keep-alive round trip through
// http::Server on loopback (one client connection, a handler answering at once).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sstream>
#include <string>

#include "http/middleware.h"
#include "http/server.h"
#include "http/wire.h"

namespace {

namespace bhttp = boost::beast::http;
using cairn::http::Response;

Response sample_response() {
  Response res;
  res.body = std::string(300, 'v');
  res.headers = {{"ETag", "\"3\""},
                 {"X-Request-ID", "5afc11ac-7c17-4abf-b053-c0b4e31e8dfc"},
                 {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                 {"X-Trace-ID", "4bf92f3577b34da6a3ce929d0e0e4736"}};
  return res;
}

void BM_ResponseHead(benchmark::State& state) {
  const Response res = sample_response();
  std::string head;
  for (auto _ : state) {
    head.clear();
    cairn::http::append_response_head(head, 11, 200, "OK", res, true, res.body.size());
    benchmark::DoNotOptimize(head.data());
  }
}

/// What the server did before: a Beast response message, serialised (into a string here; the
/// server wrote the same buffer sequence to the socket).
void BM_BeastResponseHead(benchmark::State& state) {
  const Response res = sample_response();
  std::string out;
  for (auto _ : state) {
    bhttp::response<bhttp::string_body> msg;
    msg.version(11);
    msg.result(200);
    msg.set(bhttp::field::server, "cairn");
    msg.set(bhttp::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) msg.insert(name, value);
    msg.body() = res.body;
    msg.keep_alive(true);
    msg.prepare_payload();
    bhttp::serializer<false, bhttp::string_body> sr(msg);
    out.clear();
    boost::beast::error_code ec;
    while (!sr.is_done()) {
      sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
        for (auto b : boost::beast::buffers_range_ref(buffers)) {
          out.append(static_cast<const char*>(b.data()), b.size());
        }
        sr.consume(boost::beast::buffer_bytes(buffers));
      });
    }
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_NextTraceparent(benchmark::State& state) {
  for (auto _ : state) {
    auto tp = cairn::http::next_traceparent({});
    benchmark::DoNotOptimize(tp.data());
  }
}

/// One GET answered at once by the handler, over a kept-alive loopback connection: the server's
/// whole per-request path (read, parse, handler, head, write) plus two loopback syscalls each
/// way. Includes the client's time, so compare runs of this benchmark only.
void BM_ServerRoundTrip(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  cairn::http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.threads = 1;
  const std::string body(300, 'v');
  cairn::http::Server server(options, [&](cairn::http::RequestPtr, cairn::http::Reply reply) {
    Response res;
    res.body = body;
    reply(std::move(res));
  });
  if (!server.start().ok()) {
    state.SkipWithError("cannot start the server");
    return;
  }
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    state.SkipWithError("cannot connect");
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const std::string request =
      "GET /api/v1/config/get?namespace=bench&key=k0000 HTTP/1.1\r\nHost: x\r\n\r\n";
  char buf[4096];
  for (auto _ : state) {
    if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
      state.SkipWithError("send failed");
      break;
    }
    // The answer ends with the 300-byte body; read until it is all there.
    size_t got = 0;
    std::string_view seen;
    while (true) {
      ssize_t n = ::recv(fd, buf + got, sizeof buf - got, 0);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
      seen = std::string_view(buf, got);
      size_t end = seen.find("\r\n\r\n");
      if (end != std::string_view::npos && got >= end + 4 + body.size()) break;
    }
    if (got == 0) {
      state.SkipWithError("connection closed");
      break;
    }
  }
  ::close(fd);
  server.stop();
}

}  // namespace

BENCHMARK(BM_ResponseHead);
BENCHMARK(BM_BeastResponseHead);
BENCHMARK(BM_NextTraceparent);
BENCHMARK(BM_ServerRoundTrip)->UseRealTime();
