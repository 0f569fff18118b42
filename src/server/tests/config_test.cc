#include "server/config.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
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

// Sets environment variables for one test and removes them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [name, value] : vars_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& var : vars_) ::unsetenv(var.first.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST(Config, EnvironmentSitsBetweenFileAndFlags) {
  std::string path = write_yaml("data_dir: /tmp/file\nlisten_http: 127.0.0.1:9000\n"
                                "access_log: true\nnode_id: from-file\n");
  ScopedEnv env({{"CAIRN_CONFIG", path},
                 {"CAIRN_LISTEN_HTTP", "0.0.0.0:9200"},
                 {"CAIRN_ACCESS_LOG", "false"},
                 {"CAIRN_NODE_ID", ""},  // set but empty: ignored
                 {"CAIRN_DATA_DIR", "/tmp/env"}});
  auto c = parse({"--data-dir", "/tmp/flag"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->listen_http, "0.0.0.0:9200") << "the variable wins over the file";
  EXPECT_EQ(c->data_dir, "/tmp/flag") << "the flag wins over the variable";
  EXPECT_FALSE(c->access_log);
  EXPECT_EQ(c->node_id, "from-file");
  EXPECT_EQ(env_name(config_schema().front()), "CAIRN_NODE_ID");
}

TEST(Config, EnvironmentErrorsNameTheVariable) {
  ScopedEnv env({{"CAIRN_MAX_BODY_BYTES", "lots"}});
  auto c = parse({});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("CAIRN_MAX_BODY_BYTES"), std::string::npos) << c.error();
  EXPECT_TRUE(parse({"--max-body-bytes", "2048"}).ok()) << "a flag replaces the bad variable";
}

TEST(Config, RaftIdFromStatefulSetOrdinal) {
  EXPECT_EQ(ordinal_raft_id("cairn-0").value(), 1);
  EXPECT_EQ(ordinal_raft_id("my-cairn-12").value(), 13);
  EXPECT_FALSE(ordinal_raft_id("cairn").ok());
  EXPECT_FALSE(ordinal_raft_id("cairn-").ok());
  EXPECT_FALSE(ordinal_raft_id("cairn-x1").ok());
  EXPECT_FALSE(ordinal_raft_id("cairn-+1").ok());
  EXPECT_FALSE(ordinal_raft_id("cairn-1x").ok());
}

TEST(Config, OrdinalNodeBeyondTheMembersJoins) {
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  auto id = ordinal_raft_id(host);
  if (!id.ok()) {
    EXPECT_FALSE(parse({"--raft-id", "ordinal"}).ok());
    GTEST_SKIP() << "host name '" << host << "' has no -N suffix";
  }
  const std::string self = std::to_string(*id) + "@a:1@a:2";
  auto listed = parse({"--raft-id", "ordinal", "--members", "99@b:1@b:2," + self});
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_EQ(listed->raft_id, *id);
  EXPECT_FALSE(listed->join);
  auto beyond = parse({"--raft-id", "ordinal", "--members", "99@b:1@b:2"});
  ASSERT_TRUE(beyond.ok()) << beyond.error();
  EXPECT_TRUE(beyond->join);
  auto fixed = parse({"--raft-id", "7", "--members", "99@b:1@b:2"});
  ASSERT_TRUE(fixed.ok()) << fixed.error();
  EXPECT_FALSE(fixed->join) << "only an ordinal id implies join";
}

}  // namespace
}  // namespace cairn::server
