// The hand-written response head must match, byte for byte, what Beast's response<string_body>
// serializer sent before (with keep_alive() and prepare_payload()), for every case the server
// can meet.
#include "http/wire.h"

#include <gtest/gtest.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sstream>

namespace cairn::http {
namespace {

namespace bhttp = boost::beast::http;

bool iequals(std::string_view a, std::string_view b) {
  return boost::beast::iequals({a.data(), a.size()}, {b.data(), b.size()});
}

/// What the server did before: build a Beast response and serialize it.
std::string beast_bytes(unsigned version, Response res, bool keep_alive) {
  bhttp::response<bhttp::string_body> out;
  out.version(version);
  int status = res.status >= 200 && res.status <= 599 ? res.status : 500;
  out.result(static_cast<unsigned>(status));
  out.set(bhttp::field::server, "cairn");
  out.set(bhttp::field::content_type, res.content_type);
  for (auto& [name, value] : res.headers) {
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding")) continue;
    if (iequals(name, "connection")) {
      if (iequals(value, "close")) keep_alive = false;
      continue;
    }
    if (iequals(name, "server") || iequals(name, "content-type")) {
      out.set(name, value);
    } else {
      out.insert(name, value);
    }
  }
  if (status != 204 && status != 304) out.body() = std::move(res.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (status == 204 || status == 304) {  // no content, so no metadata of it (issue 15 item 15)
    out.erase(bhttp::field::content_type);
    out.erase(bhttp::field::content_length);
  }
  std::ostringstream os;
  os << out;
  return os.str();
}

std::string our_bytes(unsigned version, Response res, bool keep_alive) {
  if (asks_close(res)) keep_alive = false;
  int status = res.status >= 200 && res.status <= 599 ? res.status : 500;
  if (status == 204 || status == 304) res.body.clear();
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  std::string out;
  append_response_head(out, version, status, std::string_view(reason.data(), reason.size()), res,
                       keep_alive, res.body.size());
  return out + res.body;
}

TEST(ResponseHead, MatchesBeastForEveryCase) {
  using Headers = std::vector<std::pair<std::string, std::string>>;
  const std::vector<Headers> header_sets = {
      {},
      {{"X-Request-ID", "abc"}, {"traceparent", "00-1-2-01"}, {"ETag", "\"7\""}},
      {{"Server", "other"}, {"X-A", "1"}},
      {{"X-A", "1"}, {"content-type", "text/plain"}, {"X-B", "2"}, {"Content-Type", "a/b"}},
      {{"Connection", "close"}, {"X-A", "1"}},
      {{"connection", "keep-alive"}},
      {{"Content-Length", "999"}, {"Transfer-Encoding", "chunked"}, {"Allow", "GET, PUT"}},
      {{"Retry-After", "1"}, {"X-RateLimit-Limit", "10"}, {"x-ratelimit-limit", "11"}},
  };
  int cases = 0;
  for (unsigned version : {10u, 11u}) {
    for (int status : {200, 201, 204, 304, 400, 404, 405, 429, 500, 503, 0, 99, 600}) {
      for (const auto& headers : header_sets) {
        for (bool keep_alive : {true, false}) {
          for (const char* body : {"", "{\"code\":0}"}) {
            Response res;
            res.status = status;
            res.headers = headers;
            res.body = body;
            EXPECT_EQ(our_bytes(version, res, keep_alive), beast_bytes(version, res, keep_alive))
                << "version " << version << " status " << status << " keep_alive " << keep_alive
                << " headers " << headers.size() << " body " << body;
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 800);
}

TEST(ResponseHead, ContentTypeOfTheResponse) {
  Response res;
  res.content_type = "text/event-stream; charset=utf-8";
  res.body = "x";
  std::string out;
  append_response_head(out, 11, 200, "OK", res, true, 1);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: cairn\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
            "Content-Length: 1\r\n\r\n");
}

// Issue 15 item 15: a 304 (If-None-Match) used to say `Content-Type: application/json` and
// `Content-Length: 0` for the content it does not have.
TEST(ResponseHead, NotModifiedAndNoContentCarryNoContentFields) {
  for (int status : {204, 304}) {
    Response res;
    res.status = status;
    res.headers = {{"ETag", "\"7\""}, {"Content-Type", "text/plain"}};
    std::string out;
    append_response_head(out, 11, status, "X", res, true, 0);
    EXPECT_EQ(out,
              "HTTP/1.1 " + std::to_string(status) + " X\r\nServer: cairn\r\nETag: \"7\"\r\n\r\n");
  }
}

TEST(AppendDecimal, Digits) {
  std::string out;
  for (uint64_t v : {uint64_t{0}, uint64_t{7}, uint64_t{10}, uint64_t{1234567890},
                     UINT64_MAX}) {
    out.clear();
    append_decimal(out, v);
    EXPECT_EQ(out, std::to_string(v));
  }
}

}  // namespace
}  // namespace cairn::http
