#include "limit/limits.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "test_support.h"

namespace cairn::limit {
namespace {

constexpr size_t R = 0, W = 1, A = 2;

TEST(Limits, DefaultsAreTheSeeds) {
  const Limits l = default_limits();
  EXPECT_EQ(l.global[R], (Quota{10'000, 20'000}));
  EXPECT_EQ(l.global[W], (Quota{1'000, 2'000}));
  EXPECT_EQ(l.global[A], (Quota{100, 200}));
  EXPECT_EQ(l.client_default[R], (Quota{1'000, 2'000}));
  EXPECT_EQ(l.client_default[W], (Quota{100, 200}));
  EXPECT_TRUE(l.client_default[A].unlimited());
  EXPECT_EQ(l.client("core-service")[R], (Quota{5'000, 10'000}));
  EXPECT_EQ(l.client("core-service")[W], (Quota{500, 1'000}));
  EXPECT_EQ(l.client("nobody")[R], l.client_default[R]);
  EXPECT_EQ(l.max_clients, 100'000u);
}

TEST(Limits, EmptyTextGivesDefaults) {
  for (const char* text : {"", "rate_limits:\n", "# nothing\n"}) {
    auto l = parse_limits(text, "x.yaml");
    ASSERT_TRUE(l.ok()) << text << l.error();
    EXPECT_EQ(l->global[R], default_limits().global[R]);
    EXPECT_EQ(l->clients.size(), 1u);
  }
}

TEST(Limits, ParsesTheSeedsExample) {
  auto l = parse_limits(R"(
rate_limits:
  default:
    read_qps: 1000      # 默认每客户端读QPS
    write_qps: 100      # 默认每客户端写QPS

  vip_clients:         # VIP客户端配置
    - client_id: "core-service"
      read_qps: 5000
      write_qps: 500
)",
                        "seed.yaml");
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->client_default[R], (Quota{1'000, 2'000}));
  EXPECT_EQ(l->client("core-service")[W], (Quota{500, 1'000}));
  EXPECT_EQ(l->global[W], (Quota{1'000, 2'000}));  // untouched
}

TEST(Limits, ParsesEveryKeyWithoutTheTopLevelKey) {
  auto l = parse_limits(R"(
global:
  read_qps: 50
  read_burst: 60
  write_qps: 0          # no global write limit
  admin_burst: 7        # the rate stays the default's
default:
  read_qps: 0.5
  read_burst: 3
  admin_qps: 2
vip_clients:
  - client_id: vip
    read_qps: 10
  - client_id: 10.0.0.5
    write_qps: 1
    write_burst: 1
max_clients: 42
)",
                        "all.yaml");
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->global[R], (Quota{50, 60}));
  EXPECT_TRUE(l->global[W].unlimited());
  EXPECT_EQ(l->global[A], (Quota{100, 7}));
  EXPECT_EQ(l->client_default[R], (Quota{0.5, 3}));
  EXPECT_EQ(l->client_default[W], (Quota{100, 200}));
  EXPECT_EQ(l->client_default[A], (Quota{2, 4}));
  // VIP entries inherit what they leave out from `default`; the built-in list is replaced.
  EXPECT_EQ(l->client("vip")[R], (Quota{10, 20}));
  EXPECT_EQ(l->client("vip")[A], (Quota{2, 4}));
  EXPECT_EQ(l->client("10.0.0.5")[W], (Quota{1, 1}));
  EXPECT_EQ(l->client("10.0.0.5")[R], (Quota{0.5, 3}));
  EXPECT_EQ(l->client("core-service")[R], l->client_default[R]);
  EXPECT_EQ(l->max_clients, 42u);
}

TEST(Limits, SmallRatesGetABurstOfAtLeastOne) {
  auto l = parse_limits("default: {read_qps: 0.001}", "x");
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->client_default[R], (Quota{0.001, 1}));
}

void expect_error(const std::string& text, const std::string& fragment) {
  auto l = parse_limits(text, "bad.yaml");
  ASSERT_FALSE(l.ok()) << text;
  EXPECT_NE(l.error().find(fragment), std::string::npos) << l.error();
  EXPECT_EQ(l.error().rfind("bad.yaml", 0), 0u) << l.error();
}

TEST(Limits, Errors) {
  expect_error("rate_limits: [1, 2]", "must be a mapping");
  expect_error("- 1\n- 2\n", "must be a mapping");
  expect_error("rate_limits:\n  default: {}\nother: 1\n", "only the key 'rate_limits'");
  expect_error("defaults:\n  read_qps: 1\n", "unknown key 'defaults'");
  expect_error("default:\n  read_qsp: 1\n", "unknown key 'default.read_qsp'");
  expect_error("default:\n  read_qps: fast\n", "'default.read_qps' must be a number");
  expect_error("default:\n  read_qps: -1\n", "'default.read_qps' must be between 0");
  expect_error("global:\n  write_burst: 0\n", "'global.write_burst' must be between 1");
  expect_error("global:\n  admin_qps: [1]\n", "'global.admin_qps' must be a number");
  expect_error("global: 5\n", "'global' must be a mapping");
  expect_error("vip_clients: {a: 1}\n", "'vip_clients' must be a list");
  expect_error("vip_clients:\n  - read_qps: 1\n", "'vip_clients[0].client_id' is required");
  expect_error("vip_clients:\n  - {client_id: a}\n  - {client_id: a}\n", "listed twice");
  expect_error("vip_clients:\n  - {client_id: a, burst: 3}\n",
               "unknown key 'vip_clients[0].burst'");
  expect_error("max_clients: 0\n", "'max_clients' must be an integer");
  expect_error("max_clients: 1.5\n", "'max_clients' must be an integer");
  expect_error("default: {read_qps: 1\n", "not valid YAML");
}

TEST(Limits, ErrorsNameTheLine) {
  auto l = parse_limits("default:\n  read_qps: 1\n  write_qps: x\n", "f.yaml");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().rfind("f.yaml:3: ", 0), 0u) << l.error();
}

TEST(Limits, LoadsAFile) {
  cairn::test::TempDir dir("cairn-limits");
  const std::string path = dir.file("limits_test.yaml");
  std::ofstream(path) << "rate_limits:\n  default:\n    write_qps: 7\n";
  auto l = load_limits_file(path);
  ASSERT_TRUE(l.ok()) << l.error();
  EXPECT_EQ(l->client_default[W], (Quota{7, 14}));
  std::remove(path.c_str());
  auto missing = load_limits_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("cannot read"), std::string::npos);
}

}  // namespace
}  // namespace cairn::limit
