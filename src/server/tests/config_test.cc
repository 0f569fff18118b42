#include "server/config.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "test_support.h"

namespace cairn::server {
namespace {

Result<ServerConfig, std::string> parse(std::vector<std::string> args) {
  CLI::App app;
  ConfigFlags flags(app);
  std::vector<const char*> argv = {"cairn"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return flags.finish();
}

std::string write_yaml(const std::string& text) {
  static const cairn::test::TempDir dir("cairn_config_test");
  std::string path = dir.file("config.yaml");
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsWithoutFlags) {
  auto c = parse({});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->listen_http, "127.0.0.1:8080");
  EXPECT_EQ(c->max_value_bytes, 1 << 20);
  EXPECT_EQ(c->http_read_timeout_ms, 30000);
}

TEST(Config, FlagsOverrideFileOverridesDefaults) {
  std::string path = write_yaml("data_dir: /tmp/x\nlisten_http: 127.0.0.1:9000\n"
                                "http_idle_timeout: 5s\naccess_log: false\n");
  auto c = parse({"--config", path, "--listen-http", "127.0.0.1:9100"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_EQ(c->listen_http, "127.0.0.1:9100");
  EXPECT_EQ(c->http_idle_timeout_ms, 5000);
  EXPECT_FALSE(c->access_log);
}

TEST(Config, BareBooleanFlagsMeanTrue) {
  auto c = parse({"--auth-enabled", "--auth-failure-burst", "3", "--access-log=false"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->auth_enabled);
  EXPECT_EQ(c->auth_failure_burst, 3);
  EXPECT_FALSE(c->access_log);
  auto d = parse({"--auth-enabled", "false", "--metrics-public"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->auth_enabled);
  EXPECT_TRUE(d->metrics_public);
  EXPECT_FALSE(parse({"--auth-enabled=maybe"}).ok());
  auto last = parse({"--data-dir", "/a", "--data-dir", "/b", "--access-log", "--access-log=no"});
  ASSERT_TRUE(last.ok()) << last.error();
  EXPECT_EQ(last->data_dir, "/b") << "the last of a repeated flag wins";
  EXPECT_FALSE(last->access_log);
}

TEST(Config, RejectsUnknownKeysBadTypesAndBounds) {
  EXPECT_FALSE(parse({"--config", write_yaml("nope: 1\n")}).ok());
  EXPECT_FALSE(parse({"--config", write_yaml("max_body_bytes: lots\n")}).ok());
  EXPECT_FALSE(parse({"--max-body-bytes", "1"}).ok());
  EXPECT_FALSE(parse({"--http-read-timeout", "fast"}).ok());
  EXPECT_FALSE(parse({"--access-log=maybe"}).ok());
  EXPECT_FALSE(parse({"--access-log", "maybe"}).ok());
  EXPECT_FALSE(parse({"--config", "/nonexistent/cairn.yaml"}).ok());
}

TEST(Config, EveryKeyIsAFlagWithHelp) {
  CLI::App app;
  ConfigFlags flags(app);
  std::string help = app.help();
  for (const auto& key : config_schema()) {
    std::string flag = std::string("--") + key.name;
    for (char& ch : flag) {
      if (ch == '_') ch = '-';
    }
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
    EXPECT_NE(help.find(key.description), std::string::npos) << key.name;
  }
}

}  // namespace
}  // namespace cairn::server
