// The HTTP client's one translation unit with Beast and Asio (server.cc is the server's).
#include "http/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "common/address.h"
#include "common/tls.h"

namespace cairn::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {
constexpr uint64_t kMaxResponseBody = 256u << 20;
}  // namespace

struct Client::Tls {
  ssl::context context{ssl::context::tls_client};
};

Client::Client(int64_t timeout_ms, int64_t connect_timeout_ms)
    : timeout_ms_(timeout_ms), connect_timeout_ms_(connect_timeout_ms) {}
Client::~Client() = default;

Result<Ok, std::string> Client::use_tls(const std::string& ca_file, const std::string& cert,
                                        const std::string& key) {
  auto tls = std::make_shared<Tls>();
  auto configured =
      tls::configure(tls->context.native_handle(), tls::Role::kClient, {cert, key, ca_file});
  if (!configured.ok()) return Unexpected{configured.error()};
  tls_ = std::move(tls);
  return Ok{};
}

ClientResult Client::send(const std::string& address, ClientRequest request,
                          const std::function<bool()>& cancelled) const {
  ClientResult result;
  auto hp = split_host_port(address);
  if (!hp.ok()) {
    result.error = "bad address " + address;
    return result;
  }
  const std::string& host = hp->host;

  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto endpoints = resolver.resolve(host, hp->port, ec);
  if (ec) {
    result.error = "cannot resolve " + address + ": " + ec.message();
    return result;
  }

  beast::tcp_stream stream(ioc);
  bhttp::request<bhttp::string_body> out{bhttp::string_to_verb(request.method), request.target, 11};
  out.set(bhttp::field::host, address);
  for (const auto& [name, value] : request.headers) out.insert(name, value);
  out.set(bhttp::field::connection, "close");
  out.body() = std::move(request.body);
  out.prepare_payload();
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(kMaxResponseBody);

  bool ok = false;
  // Write the request and read the answer on `s` (plain TCP, or TLS after its handshake).
  auto exchange = [&](auto& s) {
    result.sent = true;  // from the first byte written on, the peer may act on the request
    bhttp::async_write(s, out, [&](beast::error_code we, size_t) {
      if (we) {
        result.error = "write: " + we.message();
        return;
      }
      bhttp::async_read(s, buffer, parser, [&](beast::error_code re, size_t) {
        if (re) {
          result.error = "read: " + re.message();
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
  const auto started = std::chrono::steady_clock::now();
  const auto whole = std::chrono::milliseconds(timeout_ms_);
  const bool connect_bound = connect_timeout_ms_ > 0 && connect_timeout_ms_ < timeout_ms_;
  stream.expires_after(connect_bound ? std::chrono::milliseconds(connect_timeout_ms_) : whole);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      result.error = "connect: " + e.message();
      if (e == beast::error::timeout && connect_bound) {
        result.error += " (no connection within " + std::to_string(connect_timeout_ms_) + " ms)";
      }
      return;
    }
    // The rest of the exchange has what is left of the whole timeout.
    if (connect_bound) stream.expires_at(started + whole);
    stream.socket().set_option(tcp::no_delay(true), e);
    if (!tls) return exchange(stream);
    tls->async_handshake(ssl::stream_base::client, [&](beast::error_code he) {
      if (he) {
        result.error = "TLS handshake: " + he.message();
        return;
      }
      exchange(*tls);
    });
  });
  if (!cancelled) {
    ioc.run();
  } else {
    while (!ioc.stopped()) {
      ioc.run_for(std::chrono::milliseconds(20));
      if (ioc.stopped() || !cancelled()) continue;
      result.cancelled = true;
      stream.cancel();  // every pending operation completes with operation_aborted
      ioc.run();
      ok = false;
    }
  }
  if (result.cancelled) result.error = "abandoned: " + result.error;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (!ok) return result;

  auto& in = parser.get();
  Response res;
  res.status = static_cast<int>(in.result_int());
  for (const auto& field : in) {
    if (field.name() == bhttp::field::content_type) {
      res.content_type = std::string(field.value());
    } else {
      res.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
  }
  res.body = std::move(in.body());
  result.response = std::move(res);
  return result;
}

}  // namespace cairn::http
