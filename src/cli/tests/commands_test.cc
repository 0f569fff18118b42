// The CLI in-process: argument parsing, value input, output formats and exit codes, against the
// SDK's fake server.

#include "cli/commands.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/tests/run_cli.h"
#include "client/tests/fake_server.h"
#include "test_support.h"

namespace cairn::cli {
namespace {

using namespace cairn::testing;

using cli::harness::Run;
using cli::harness::run;

TEST(ReadValue, JsonTextFileAndFallbackToString) {
  Json v;
  std::string err;
  ASSERT_TRUE(read_value("{\"a\":1}", &v, &err));
  EXPECT_EQ(v["a"], 1);
  ASSERT_TRUE(read_value("42", &v, &err));
  EXPECT_EQ(v, 42);
  ASSERT_TRUE(read_value("hello world", &v, &err));
  EXPECT_EQ(v, "hello world");
  cairn::test::TempDir dir("cairn-cli");
  auto path = dir.file("value.json");
  std::ofstream(path) << "{\"z\":1,\"a\":2}\n";
  ASSERT_TRUE(read_value("@" + path, &v, &err));
  EXPECT_EQ(v.dump(), "{\"z\":1,\"a\":2}");  // key order kept
  EXPECT_FALSE(read_value("@/nonexistent/file", &v, &err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}

TEST(RenderTable, AlignsColumns) {
  auto t = render_table({"A", "LONGER"}, {{"xxxx", "1"}, {"y", "22"}});
  EXPECT_EQ(t, "A     LONGER\nxxxx  1\ny     22\n");
}

TEST(ParseInstant, RfcThreeThreeThreeNineAndUnixMilliseconds) {
  using std::chrono::milliseconds;
  TimePoint at;
  std::string err;
  const TimePoint expected{milliseconds(1796193000000)};  // 2026-12-02T06:30:00Z
  ASSERT_TRUE(parse_instant("2026-12-02T06:30:00Z", &at, &err)) << err;
  EXPECT_EQ(at, expected);
  ASSERT_TRUE(parse_instant("2026-12-02T07:30:00+01:00", &at, &err)) << err;
  EXPECT_EQ(at, expected);
  ASSERT_TRUE(parse_instant("2026-12-01t20:00:00-10:30", &at, &err)) << err;
  EXPECT_EQ(at, expected);
  ASSERT_TRUE(parse_instant("2026-12-02 06:30:00.123z", &at, &err)) << err;
  EXPECT_EQ(at, expected + milliseconds(123));
  ASSERT_TRUE(parse_instant("2026-12-02T07:30:00.5+01:00", &at, &err)) << err;
  EXPECT_EQ(at, expected + milliseconds(500));
  ASSERT_TRUE(parse_instant("2026-12-02T06:30:00.123999999Z", &at, &err)) << err;  // 9 digits
  EXPECT_EQ(at, expected + milliseconds(123));  // beyond milliseconds: dropped
  ASSERT_TRUE(parse_instant("1796193000123", &at, &err)) << err;
  EXPECT_EQ(at, expected + milliseconds(123));
  ASSERT_TRUE(parse_instant("0", &at, &err)) << err;
  EXPECT_EQ(at, TimePoint{});
  ASSERT_TRUE(parse_instant("2024-02-29T00:00:00Z", &at, &err)) << err;  // leap day

  for (const char* bad : {"",
                          "yesterday",
                          "2026-12-02",
                          "2026-12-02T06:30:00",
                          "2026-12-02T06:30Z",
                          "2026-13-02T06:30:00Z",
                          "2026-02-30T06:30:00Z",
                          "2023-02-29T00:00:00Z",
                          "2026-12-02T24:00:00Z",
                          "2026-12-02T06:60:00Z",
                          "2026-12-02T06:30:61Z",
                          "2026-12-02T06:30:00.Z",
                          "2026-12-02T06:30:00.1234567890Z",
                          "2026-12-02T06:30:00+0100",
                          "2026-12-02T06:30:00+24:00",
                          "2026-12-02T06:30:00Zjunk",
                          "1969-12-31T23:59:59Z",
                          "1970-01-01T00:30:00+01:00",
                          "-1",
                          "1796193000000.5",
                          "99999999999999999999",
                          "253402300800000",
                          "+2026-12-02T06:30:00Z"}) {
    err.clear();
    EXPECT_FALSE(parse_instant(bad, &at, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

/// A server that answers config/get and config/namespace as of `at` (any `at`: the old value).
FakeServer past_server() {
  return FakeServer([](const FakeRequest& r) -> FakeResponse {
    const bool past = r.query.count("at") != 0;
    if (r.path == "/api/v1/config/get") {
      return ok({{"namespace", "app"},
                 {"key", r.query.at("key")},
                 {"value", past ? Json{{"host", "old"}} : Json{{"host", "new"}}},
                 {"version", past ? 1 : 2},
                 {"updated_at", "2026-12-02T06:29:00Z"}});
    }
    if (r.path == "/api/v1/config/namespace/app") {
      return ok({{"namespace", "app"},
                 {"configs", {{"db", past ? Json{{"host", "old"}} : Json{{"host", "new"}}}}},
                 {"version", past ? 3 : 4},
                 {"updated_at", "2026-12-02T06:29:00Z"},
                 {"unavailable", past ? Json{"pruned"} : Json::array()}});
    }
    return error(404, 40401, "no such route");
  });
}

TEST(Commands, GetAtSendsTheInstantAndPrintsTheValueOfThen) {
  FakeServer server = past_server();
  auto human =
      run({"get", "app", "db", "--at", "2026-12-02T07:30:00+01:00", "--endpoints", server.url()});
  EXPECT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("app/db  version 1"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("(as of 2026-12-02T07:30:00+01:00)"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("\"host\": \"old\""), std::string::npos) << human.out;
  auto json =
      run({"-o", "json", "get", "app", "db", "--at", "1796193000123", "--endpoints", server.url()});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["value"]["host"], "old");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["at"], "1796193000123");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/api/v1/config/get");
  // As given: the server reads a time to the second as that whole second.
  EXPECT_EQ(reqs[0].query.at("at"), "2026-12-02T07:30:00+01:00");
  EXPECT_EQ(reqs[0].query.count("version"), 0u);
  EXPECT_EQ(reqs[1].query.at("at"), "1796193000123");
}

TEST(Commands, GetAtOfATimeWithNoVersionIsTheServersError) {
  FakeServer server([](const FakeRequest&) {
    return error(404, 40401, "no version of app/db was current at that time");
  });
  auto r = run({"get", "app", "db", "--at", "2020-01-01T00:00:00Z", "--endpoints", server.url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error 40401 (HTTP 404)"), std::string::npos) << r.err;
}

TEST(Commands, MalformedAtIsRefusedBeforeSending) {
  FakeServer server = past_server();
  auto bad = run({"get", "app", "db", "--at", "2026-12-02T06:30:00", "--endpoints", server.url()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--at 2026-12-02T06:30:00: no time zone"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("RFC 3339"), std::string::npos) << bad.err;
  auto both = run(
      {"get", "app", "db", "--at", "1796193000000", "--version", "2", "--endpoints", server.url()});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--at and --version cannot be used together"), std::string::npos)
      << both.err;
  auto ns = run({"ns", "get", "app", "--at", "last tuesday", "--endpoints", server.url()});
  EXPECT_EQ(ns.exit_code, 2);
  EXPECT_NE(ns.err.find("--at last tuesday"), std::string::npos) << ns.err;
  EXPECT_EQ(server.request_count(), 0);
}

TEST(Commands, NsGetPrintsTheNamespaceNowOrAsOfATime) {
  FakeServer server = past_server();
  auto now = run({"ns", "get", "app", "--endpoints", server.url()});
  EXPECT_EQ(now.exit_code, 0) << now.err;
  EXPECT_NE(now.out.find("# app  revision 4"), std::string::npos) << now.out;
  EXPECT_NE(now.out.find("db   {\"host\":\"new\"}"), std::string::npos) << now.out;
  auto past =
      run({"ns", "get", "app", "--at", "2026-12-02T06:30:00Z", "--endpoints", server.url()});
  EXPECT_EQ(past.exit_code, 0) << past.err;
  EXPECT_NE(past.out.find("# app  revision 3"), std::string::npos) << past.out;
  EXPECT_NE(past.out.find("(as of 2026-12-02T06:30:00Z)"), std::string::npos) << past.out;
  EXPECT_NE(past.out.find("db      {\"host\":\"old\"}"), std::string::npos) << past.out;
  EXPECT_NE(past.out.find("pruned  (unavailable: retention removed the version of then)"),
            std::string::npos)
      << past.out;
  auto json =
      run({"-o", "json", "ns", "get", "app", "--at", "1796193000000", "--endpoints", server.url()});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  Json j = Json::parse(json.out);
  EXPECT_EQ(j["configs"]["db"]["host"], "old");
  EXPECT_EQ(j["revision"], 3);
  EXPECT_EQ(j["unavailable"], Json{"pruned"});
  EXPECT_EQ(j["at"], "1796193000000");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].query.count("at"), 0u);
  EXPECT_EQ(reqs[1].path, "/api/v1/config/namespace/app");
  EXPECT_EQ(reqs[1].query.at("at"), "2026-12-02T06:30:00Z");
  EXPECT_EQ(reqs[2].query.at("at"), "1796193000000");
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

// -o json prints rows exactly as the CLI always has: the wire's rows, without the members the
// SDK does not return (history revision, version tags, namespace retention).
TEST(Commands, JsonOutputOfRowsIsUnchanged) {
  const Json page = {{"page", 1}, {"page_size", 20}, {"total", 1}, {"total_pages", 1}};
  FakeServer server([&](const FakeRequest& r) -> FakeResponse {
    if (r.path == "/api/v1/config/get") {
      return ok({{"namespace", "app"},
                 {"key", "a"},
                 {"value", {{"b", {1, "\u00e9\"x\""}}}},
                 {"version", 3},
                 {"updated_at", "2024-01-20T10:00:00Z"}});
    }
    if (r.path == "/api/v1/admin/config/list") {
      return ok({{"list",
                  {{{"id", 1},
                    {"namespace", "app"},
                    {"key", "a"},
                    {"value", {{"x", 1}}},
                    {"version", 2},
                    {"description", "d"},
                    {"status", 0},
                    {"created_by", "bob"},
                    {"updated_by", "ann"},
                    {"created_at", "2024-01-20T10:00:00Z"},
                    {"updated_at", "2024-01-21T10:00:00Z"}}}},
                 {"pagination", page}});
    }
    if (r.path == "/api/v1/admin/config/history") {
      return ok({{"list",
                  {{{"id", 9},
                    {"namespace", "app"},
                    {"key", "a"},
                    {"old_value", nullptr},
                    {"new_value", "v"},
                    {"version", 1},
                    {"operation", "CREATE"},
                    {"operator", "bob"},
                    {"revision", 4},
                    {"created_at", "2024-01-20T10:00:00Z"}}}},
                 {"pagination", page}});
    }
    if (r.path == "/api/v1/config/versions") {
      return ok({{"namespace", "app"},
                 {"key", "a"},
                 {"list",
                  {{{"version", 2},
                    {"value", true},
                    {"created_by", "bob"},
                    {"created_at", "2024-01-20T10:00:00Z"},
                    {"is_current", true},
                    {"tags", {"prod"}}}}},
                 {"pagination", page}});
    }
    if (r.path == "/api/v1/admin/namespace/list") {
      return ok({{"list",
                  {{{"id", 1},
                    {"name", "app"},
                    {"description", ""},
                    {"status", 1},
                    {"config_count", 2},
                    {"revision", 7},
                    {"created_at", "2024-01-20T10:00:00Z"},
                    {"updated_at", "2024-01-21T10:00:00Z"},
                    {"retention", {{"keep_latest", 30}, {"keep_days", 30}}}}}},
                 {"pagination", page}});
    }
    if (r.path == "/api/v1/config/diff") {
      return ok({{"namespace", "app"},
                 {"key", "a"},
                 {"from_version", 1},
                 {"to_version", 2},
                 {"changes", {{{"path", "x"}, {"from", 1}, {"to", nullptr}, {"type", "removed"}}}}});
    }
    if (r.path == "/api/v1/admin/config/rollback") {
      return ok(
          {{"namespace", "app"}, {"key", "a"}, {"current_version", 3}, {"previous_version", 2}});
    }
    return error(404, 40401, "unknown path " + r.path);
  });
  auto json = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoints", server.url(), "-o", "json"});
    auto r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  const std::string p = R"("pagination":{"page":1,"page_size":20,"total":1,"total_pages":1})";
  EXPECT_EQ(json({"get", "app", "a"}),
            "{\"namespace\":\"app\",\"key\":\"a\",\"value\":{\"b\":[1,\"\u00e9\\\"x\\\"\"]},"
            "\"version\":3,\"updated_at\":\"2024-01-20T10:00:00Z\",\"stale\":false}\n");
  EXPECT_EQ(json({"get", "app", "a", "--at", "1000"}),
            "{\"namespace\":\"app\",\"key\":\"a\",\"value\":{\"b\":[1,\"\u00e9\\\"x\\\"\"]},"
            "\"version\":3,\"updated_at\":\"2024-01-20T10:00:00Z\",\"stale\":false,"
            "\"at\":\"1000\"}\n");
  EXPECT_EQ(json({"list"}),
            R"({"list":[{"id":1,"namespace":"app","key":"a","value":{"x":1},"version":2,)"
            R"("description":"d","status":0,"created_by":"bob","updated_by":"ann",)"
            R"("created_at":"2024-01-20T10:00:00Z","updated_at":"2024-01-21T10:00:00Z"}],)" +
                p + "}\n");
  EXPECT_EQ(json({"history", "app", "a"}),
            R"({"list":[{"id":9,"namespace":"app","key":"a","old_value":null,"new_value":"v",)"
            R"("version":1,"operation":"CREATE","operator":"bob",)"
            R"("created_at":"2024-01-20T10:00:00Z"}],)" +
                p + "}\n");
  EXPECT_EQ(json({"versions", "app", "a"}),
            R"({"list":[{"version":2,"value":true,"created_by":"bob",)"
            R"("created_at":"2024-01-20T10:00:00Z","is_current":true}],)" +
                p + "}\n");
  EXPECT_EQ(json({"ns", "list"}),
            R"({"list":[{"id":1,"name":"app","description":"","status":1,"config_count":2,)"
            R"("revision":7,"created_at":"2024-01-20T10:00:00Z",)"
            R"("updated_at":"2024-01-21T10:00:00Z"}],)" +
                p + "}\n");
  EXPECT_EQ(json({"diff", "app", "a", "1", "2"}),
            R"({"namespace":"app","key":"a","from_version":1,"to_version":2,)"
            R"("changes":[{"path":"x","from":1,"to":null,"type":"removed"}]})"
            "\n");
  EXPECT_EQ(json({"rollback", "app", "a", "2"}),
            R"({"namespace":"app","key":"a","current_version":3,"previous_version":2})"
            "\n");
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
    cairn::test::wait_until([&] { return cairn.watch_requests() > 0; });
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
