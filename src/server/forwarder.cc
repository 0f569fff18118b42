// The second (and last) translation unit with Beast: a small blocking HTTP client.
#include "server/forwarder.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace cairn::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

struct Forwarder::Tls {
  ssl::context context{ssl::context::tls_client};
};

namespace {

bool hop_by_hop(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
      "upgrade", "content-length", "host", "expect"};
  for (auto n : kNames) {
    if (name == n) return true;
  }
  return false;
}

}  // namespace

Forwarder::Forwarder(int threads, int64_t timeout_ms) : timeout_ms_(timeout_ms) {
  for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { run(); });
}

Result<Ok, std::string> Forwarder::use_tls(const std::string& ca_file, const std::string& cert,
                                          const std::string& key) {
  auto tls = std::make_shared<Tls>();
  beast::error_code ec;
  tls->context.set_options(ssl::context::default_workarounds | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1);
  if (ca_file.empty()) {
    tls->context.set_default_verify_paths(ec);
  } else {
    tls->context.load_verify_file(ca_file, ec);
  }
  if (ec) return Unexpected{"forwarding over HTTPS: cannot load CA " + ca_file + ": " + ec.message()};
  if (!cert.empty()) {
    tls->context.use_certificate_chain_file(cert, ec);
    if (!ec) tls->context.use_private_key_file(key, ssl::context::pem, ec);
    if (ec) return Unexpected{"forwarding over HTTPS: cannot load " + cert + ": " + ec.message()};
  }
  tls->context.set_verify_mode(ssl::verify_peer);
  tls_ = std::move(tls);
  return Ok{};
}

Forwarder::~Forwarder() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    left.swap(queue_);
    cv_.notify_all();
  }
  for (auto& job : left) job.done(std::nullopt, "the node is stopping", false);
  for (auto& t : workers_) t.join();
}

void Forwarder::forward(const http::Request& req, std::string http_address,
                        std::vector<std::pair<std::string, std::string>> extra_headers,
                        Done done) {
  Job job;
  job.address = std::move(http_address);
  job.method = req.method;
  job.target = req.target;
  job.body = req.body;
  for (const auto& [name, value] : req.headers) {
    // Request id and trace context come from extra_headers: the caller's would make the
    // leader's span a sibling of ours instead of its child.
    if (hop_by_hop(name) || name == "x-request-id" || name == "traceparent" ||
        name == "x-trace-id") {
      continue;
    }
    job.headers.emplace_back(name, value);
  }
  for (auto& h : extra_headers) job.headers.push_back(std::move(h));
  job.done = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return;
    }
  }
  job.done(std::nullopt, "the node is stopping", false);
}

void Forwarder::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    execute(job);
  }
}

void Forwarder::execute(Job& job) {
  // Asynchronous operations on a private io_context, so that the deadline (tcp_stream's
  // expiry) bounds every step; blocking reads would ignore socket timeouts and could hang for
  // as long as a paused leader keeps its connections open.
  const size_t colon = job.address.rfind(':');
  if (colon == std::string::npos) {
    return job.done(std::nullopt, "bad address " + job.address, false);
  }
  std::string host = job.address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port = job.address.substr(colon + 1);

  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) return job.done(std::nullopt, "cannot resolve " + job.address + ": " + ec.message(), false);

  beast::tcp_stream stream(ioc);
  bhttp::request<bhttp::string_body> out{bhttp::string_to_verb(job.method), job.target, 11};
  out.set(bhttp::field::host, job.address);
  for (const auto& [name, value] : job.headers) out.insert(name, value);
  out.set(bhttp::field::connection, "close");
  out.body() = std::move(job.body);
  out.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256u << 20);

  bool sent = false;  // from the first byte written on, the peer may act on the request
  std::string error;
  bool ok = false;
  // Write the request and read the answer on `s` (plain TCP, or TLS after its handshake).
  auto exchange = [&](auto& s) {
    sent = true;
    bhttp::async_write(s, out, [&](beast::error_code we, size_t) {
      if (we) {
        error = "write: " + we.message();
        return;
      }
      bhttp::async_read(s, buffer, parser, [&](beast::error_code re, size_t) {
        if (re) {
          error = "read: " + re.message();
          return;
        }
        ok = true;
      });
    });
  };
  std::optional<ssl::stream<beast::tcp_stream&>> tls;
  if (tls_) {
    tls.emplace(stream, tls_->context);
    tls->set_verify_callback(ssl::host_name_verification(host));
    SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
  }
  stream.expires_after(std::chrono::milliseconds(timeout_ms_));
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      error = "connect: " + e.message();
      return;
    }
    stream.socket().set_option(tcp::no_delay(true), e);
    if (!tls) return exchange(stream);
    tls->async_handshake(ssl::stream_base::client, [&](beast::error_code he) {
      if (he) {
        error = "TLS handshake: " + he.message();
        return;
      }
      exchange(*tls);
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (!ok) return job.done(std::nullopt, error, sent);

  auto& in = parser.get();
  http::Response res;
  res.status = static_cast<int>(in.result_int());
  for (const auto& field : in) {
    std::string name(field.name_string());
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "content-type") {
      res.content_type = std::string(field.value());
    } else if (!hop_by_hop(lower) && lower != "server" && lower != "date") {
      res.headers.emplace_back(std::move(name), std::string(field.value()));
    }
  }
  res.body = std::move(in.body());
  job.done(std::move(res), {}, true);
}

}  // namespace cairn::server
