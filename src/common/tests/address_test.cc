#include "common/address.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(SplitHostPort, SplitsHostAndPort) {
  EXPECT_EQ(*split_host_port("127.0.0.1:7001"), (HostPort{"127.0.0.1", "7001"}));
  EXPECT_EQ(*split_host_port("node-1.example:0"), (HostPort{"node-1.example", "0"}));
  EXPECT_EQ(*split_host_port("[::1]:65535"), (HostPort{"::1", "65535"}));
  EXPECT_EQ(*split_host_port("[fe80::1%eth0]:80"), (HostPort{"fe80::1%eth0", "80"}));
}

TEST(SplitHostPort, RefusesMalformedAddresses) {
  for (const char* bad : {"", "host", "host:", ":7001", "host:x1", "host:65536", "host:123456",
                          "::1:7001", "[]:1", "[::1]", "[::1]x:1", "a]:1"}) {
    EXPECT_FALSE(split_host_port(bad)) << bad;
  }
  auto r = split_host_port("host");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("\"host\""), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("lacks :port"), std::string::npos) << r.error();
}

TEST(SplitHostPort, DefaultPortOnlyWhenNoneIsWritten) {
  EXPECT_EQ(*split_host_port("collector", "80"), (HostPort{"collector", "80"}));
  EXPECT_EQ(*split_host_port("[::1]", "443"), (HostPort{"::1", "443"}));
  EXPECT_EQ(*split_host_port("collector:4318", "80"), (HostPort{"collector", "4318"}));
  EXPECT_EQ(*split_host_port("[::1]:6380", "6379"), (HostPort{"::1", "6380"}));
  for (const char* bad : {"", "host:", "::1", "[]", "host:x"}) {
    EXPECT_FALSE(split_host_port(bad, "80")) << bad;
  }
}

TEST(JoinHostPort, BracketsIpv6AndRoundTrips) {
  EXPECT_EQ(join_host_port("127.0.0.1", "80"), "127.0.0.1:80");
  EXPECT_EQ(join_host_port("::1", "8080"), "[::1]:8080");
  for (const char* text : {"a.example:1", "[::1]:2", "10.0.0.1:65535"}) {
    auto hp = split_host_port(text);
    ASSERT_TRUE(hp) << text;
    EXPECT_EQ(join_host_port(hp->host, hp->port), text);
  }
}

TEST(HostOf, StripsThePort) {
  EXPECT_EQ(host_of("10.0.0.7:5555"), "10.0.0.7");
  EXPECT_EQ(host_of("[::1]:8080"), "::1");
  EXPECT_EQ(host_of("::1"), "::1");
  EXPECT_EQ(host_of("localhost"), "localhost");
}

}  // namespace
}  // namespace cairn
