#include <gtest/gtest.h>

#include "client/http_transport.h"

namespace cairn::client_detail {
namespace {

TEST(Endpoint, Parses) {
  auto a = parse_endpoint("http://127.0.0.1:8001");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "8001");
  EXPECT_EQ(a->url, "http://127.0.0.1:8001");
  auto b = parse_endpoint("localhost:9000/");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->url, "http://localhost:9000");
  auto c = parse_endpoint("http://[::1]:8001");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(parse_endpoint("example.com")->port, "80");
  auto h = parse_endpoint("https://cairn.example.com");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->tls);
  EXPECT_EQ(h->port, "443");
  EXPECT_EQ(h->url, "https://cairn.example.com:443");
  EXPECT_FALSE(parse_endpoint("http://x:1")->tls);
  EXPECT_FALSE(parse_endpoint("ftp://x:1"));
  EXPECT_FALSE(parse_endpoint("http://x:0"));
  EXPECT_FALSE(parse_endpoint("http://x:99999"));
  EXPECT_FALSE(parse_endpoint("http://x:1/path"));
  EXPECT_FALSE(parse_endpoint(""));
}

TEST(UrlEncode, EscapesReserved) {
  EXPECT_EQ(url_encode("a b/c&d=e"), "a%20b%2Fc%26d%3De");
  EXPECT_EQ(url_encode("k.-_~9"), "k.-_~9");
}

TEST(ResponseReader, ContentLengthInPieces) {
  std::string raw = "HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 5\r\n\r\nhello";
  ResponseReader r;
  for (size_t i = 0; i + 1 < raw.size(); ++i) {
    ASSERT_EQ(r.feed(raw.data() + i, 1), ResponseReader::State::kNeedMore) << i;
  }
  ASSERT_EQ(r.feed(raw.data() + raw.size() - 1, 1), ResponseReader::State::kDone);
  auto resp = r.take();
  EXPECT_EQ(resp.status, 429);
  EXPECT_EQ(resp.header("retry-after"), "3");
  EXPECT_EQ(resp.body, "hello");
}

TEST(ResponseReader, ChunkedAndUntilClose) {
  std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ResponseReader a;
  ASSERT_EQ(a.feed(chunked.data(), chunked.size()), ResponseReader::State::kDone);
  EXPECT_EQ(a.take().body, "abcde");

  std::string until_close = "HTTP/1.1 200 OK\r\n\r\nbody";
  ResponseReader b;
  ASSERT_EQ(b.feed(until_close.data(), until_close.size()), ResponseReader::State::kNeedMore);
  ASSERT_EQ(b.feed_eof(), ResponseReader::State::kDone);
  EXPECT_EQ(b.take().body, "body");

  std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
  ResponseReader c;
  EXPECT_EQ(c.feed(garbage.data(), garbage.size()), ResponseReader::State::kError);
}

}  // namespace
}  // namespace cairn::client_detail

namespace cairn::client_detail {
namespace {

TEST(ResponseReader, EofBeforeAnyByteIsAnError) {
  ResponseReader r;
  EXPECT_EQ(r.feed_eof(), ResponseReader::State::kError);
  EXPECT_FALSE(r.error().empty());
}

}  // namespace
}  // namespace cairn::client_detail
