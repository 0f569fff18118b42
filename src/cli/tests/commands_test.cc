// The CLI in-process: argument parsing, value input, output formats and exit codes, against the
// SDK's fake server.

#include "cli/commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/tests/fake_server.h"

namespace cairn::cli {
namespace {

using namespace cairn::testing;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `cairn ARGS…` in-process, capturing stdout and stderr.
Run run(std::vector<std::string> args) {
  CLI::App app{"test", "cairn"};
  app.require_subcommand(1);
  Run r;
  int code = 0;
  register_client_commands(app, code);
  std::vector<const char*> argv{"cairn"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::stringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.exit_code = code;
  } catch (const CLI::ParseError& e) {
    r.exit_code = app.exit(e);
  }
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(ReadValue, JsonTextFileAndFallbackToString) {
  Json v;
  std::string err;
  ASSERT_TRUE(read_value("{\"a\":1}", &v, &err));
  EXPECT_EQ(v["a"], 1);
  ASSERT_TRUE(read_value("42", &v, &err));
  EXPECT_EQ(v, 42);
  ASSERT_TRUE(read_value("hello world", &v, &err));
  EXPECT_EQ(v, "hello world");
  auto path = std::filesystem::temp_directory_path() / "cairn-cli-value.json";
  std::ofstream(path) << "{\"z\":1,\"a\":2}\n";
  ASSERT_TRUE(read_value("@" + path.string(), &v, &err));
  EXPECT_EQ(v.dump(), "{\"z\":1,\"a\":2}");  // key order kept
  std::filesystem::remove(path);
  EXPECT_FALSE(read_value("@/nonexistent/file", &v, &err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}

TEST(RenderTable, AlignsColumns) {
  auto t = render_table({"A", "LONGER"}, {{"xxxx", "1"}, {"y", "22"}});
  EXPECT_EQ(t, "A     LONGER\nxxxx  1\ny     22\n");
}

TEST(Commands, GetPrintsTableOrJson) {
  FakeCairn cairn("app");
  cairn.put("db", Json{{"host", "a"}});
  auto human = run({"get", "app", "db", "--endpoints", cairn.url()});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("app/db  version 1"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("\"host\": \"a\""), std::string::npos) << human.out;
  auto json = run({"--endpoints", cairn.url(), "-o", "json", "get", "app", "db"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["value"]["host"], "a");
  EXPECT_EQ(j["version"], 1);
}

TEST(Commands, ServerErrorGoesToStderrWithExitCode1) {
  FakeCairn cairn("app");
  auto r = run({"get", "app", "nope", "--endpoints", cairn.url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error 40403 (HTTP 404)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no such key"), std::string::npos) << r.err;
}

TEST(Commands, UnreachableIsExitCode3) {
  auto r = run({"ns", "list", "--endpoints", "http://127.0.0.1:" + std::to_string(dead_port()),
                "--timeout", "1"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("request failed"), std::string::npos) << r.err;
}

TEST(Commands, EndpointsFromTheEnvironment) {
  FakeCairn cairn("app");
  cairn.put("k", 1);
  ::setenv("CAIRN_ENDPOINTS", cairn.url().c_str(), 1);
  auto r = run({"get", "app", "k"});
  ::unsetenv("CAIRN_ENDPOINTS");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Commands, PutUpdatesOrCreates) {
  std::mutex mu;
  std::set<std::string> keys{"exists"};
  FakeServer server([&](const FakeRequest& r) {
    std::lock_guard lock(mu);
    Json body = Json::parse(r.body, nullptr, false);
    std::string key = body.is_object() ? body.value("key", "") : "";
    if (r.method == "PUT") {
      if (!keys.count(key)) return error(404, 40403, "no such key");
      return ok({{"namespace", "app"}, {"key", key}, {"version", 2}, {"old_version", 1}});
    }
    if (r.method == "POST") {
      keys.insert(key);
      return ok({{"id", 1}, {"namespace", "app"}, {"key", key}, {"version", 1}});
    }
    return error(404, 40401, "?");
  });
  auto up = run({"put", "app", "exists", "{\"a\":1}", "--endpoints", server.url()});
  EXPECT_EQ(up.exit_code, 0) << up.err;
  EXPECT_NE(up.out.find("updated app/exists: version 1 -> 2"), std::string::npos) << up.out;
  auto created = run({"put", "app", "fresh", "text value", "--endpoints", server.url()});
  EXPECT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.out.find("created app/fresh: version 1"), std::string::npos) << created.out;
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(Json::parse(reqs[2].body)["value"], "text value");
}

TEST(Commands, UsageErrorsAreNotSent) {
  auto r = run({"get", "app"});
  EXPECT_NE(r.exit_code, 0);
  auto bad =
      run({"watch", "app", "--prefix", "a", "--keys", "b", "--endpoints", "http://127.0.0.1:1"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(Commands, WatchPrintsChangesAndStopsAfterCount) {
  FakeCairn cairn("app");
  cairn.put("k", 1);
  std::thread writer([&] {
    while (cairn.watch_requests() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    cairn.put("k", 2);
    cairn.put("other", 3);
  });
  auto r = run(
      {"watch", "app", "--keys", "k", "--count", "1", "-o", "json", "--endpoints", cairn.url()});
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["key"], "k");
  EXPECT_EQ(j["old_value"], 1);
  EXPECT_EQ(j["new_value"], 2);
}

}  // namespace
}  // namespace cairn::cli
