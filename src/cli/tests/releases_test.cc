// `cairn clients` and `cairn release …` in-process: the request built from the flags, what is
// refused before sending, the paths and headers sent, and the table / JSON output, against the
// SDK's fake server.

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/tests/run_cli.h"
#include "client/tests/fake_server.h"

namespace cairn::cli {
namespace {

using namespace cairn::testing;

using cli::harness::Run;
using cli::harness::run;

Json build(const ReleaseArgs& a) {
  Json out;
  std::string why;
  EXPECT_TRUE(build_release_request(a, &out, &why)) << why;
  return out;
}

std::string refused(const ReleaseArgs& a) {
  Json out;
  std::string why;
  EXPECT_FALSE(build_release_request(a, &out, &why)) << out.dump();
  return why;
}

TEST(ReleaseRequest, FullPlanAsTheContractSpellsIt) {
  ReleaseArgs a;
  a.ns = "orders";
  a.sets = {"db.pool={\"size\":20}", "feature.x=true", "name=plain text"};
  a.deletes = {"old.flag"};
  a.labels = {"zone=eu-1", "app=orders", "zone=eu-2"};
  a.ips = {"10.0.0.7", "10.1.0.0/16"};
  a.percent = "10";
  a.stages = {"5:10m", "25:1h30m", "100"};
  a.max_failed_ratio = 0.01;
  a.min_acks = 20;
  a.ack_timeout = "2m";
  a.on_failure = "abort";
  a.description = "bigger pool";
  Json expected = Json::parse(R"({
    "namespace": "orders",
    "changes": {"db.pool": {"size": 20}, "feature.x": true, "name": "plain text", "old.flag": null},
    "target": {"labels": {"zone": ["eu-1", "eu-2"], "app": "orders"},
               "ips": ["10.0.0.7", "10.1.0.0/16"], "percent": 10},
    "plan": {"stages": [{"percent": 5, "hold": "10m"}, {"percent": 25, "hold": "1h30m"},
                        {"percent": 100}],
             "guard": {"max_failed_ratio": 0.01, "min_acks": 20, "ack_timeout": "2m"},
             "on_failure": "abort"},
    "description": "bigger pool"})");
  EXPECT_EQ(build(a), expected);
}

TEST(ReleaseRequest, MinimalAndLabelLists) {
  ReleaseArgs a;
  a.ns = "orders";
  a.deletes = {"k"};
  EXPECT_EQ(build(a), Json::parse(R"({"namespace":"orders","changes":{"k":null},"target":{}})"));
  a.labels = {"zone=eu-1,eu-2"};
  a.percent = "2.5";
  Json j = build(a);
  EXPECT_EQ(j["target"]["labels"]["zone"], Json::parse(R"(["eu-1","eu-2"])"));
  EXPECT_EQ(j["target"]["percent"], 2.5);
  EXPECT_FALSE(j.contains("plan"));
}

TEST(ReleaseRequest, BadInputIsRefusedBeforeSending) {
  ReleaseArgs base;
  base.ns = "orders";
  base.sets = {"a=1"};
  EXPECT_NE(refused(ReleaseArgs{}).find("namespace"), std::string::npos);
  ReleaseArgs a = base;
  a.sets = {};
  EXPECT_NE(refused(a).find("nothing to release"), std::string::npos);
  a = base;
  a.sets = {"novalue"};
  EXPECT_NE(refused(a).find("KEY=JSON"), std::string::npos);
  a = base;
  a.deletes = {"a"};
  EXPECT_NE(refused(a).find("twice"), std::string::npos);
  for (const char* p : {"101", "-1", "ten", "5%", ""}) {
    a = base;
    a.percent = p;
    if (std::string(p).empty()) {
      build(a);  // empty = not given
      continue;
    }
    EXPECT_NE(refused(a).find("--percent"), std::string::npos) << p;
  }
  a = base;
  a.labels = {"zone"};
  EXPECT_NE(refused(a).find("NAME=VALUE"), std::string::npos);
  a = base;
  a.stages = {"5:10 minutes"};
  EXPECT_NE(refused(a).find("duration"), std::string::npos);
  a = base;
  a.stages = {"150"};
  EXPECT_NE(refused(a).find("--stage"), std::string::npos);
  a = base;
  a.max_failed_ratio = 1.5;
  EXPECT_NE(refused(a).find("--max-failed-ratio"), std::string::npos);
  a = base;
  a.ack_timeout = "2 minutes";
  EXPECT_NE(refused(a).find("--ack-timeout"), std::string::npos);
  a = base;
  a.on_failure = "rollback";
  EXPECT_NE(refused(a).find("halt or abort"), std::string::npos);
  a = base;
  a.sets = {"name=t\xab" "ext"};  // found by fuzz_client_input: not UTF-8, not JSON
  EXPECT_NE(refused(a).find("UTF-8"), std::string::npos);
  a = base;
  a.description = "\xff";
  EXPECT_NE(refused(a).find("UTF-8"), std::string::npos);
  a = base;
  a.ips = {"10.0.0.1,10.0.0.2"};
  EXPECT_NE(refused(a).find("--ip"), std::string::npos);
}

TEST(ReleaseRequest, GoDurations) {
  for (const char* ok : {"90s", "10m", "1h30m", "1.5h", "500ms", "2m30s", "1h0m0s", ".5s"}) {
    EXPECT_TRUE(valid_duration(ok)) << ok;
  }
  for (const char* bad : {"", "10", "m", "10 m", "-5m", "1d", "10mm", "1.h5", "h1"}) {
    EXPECT_FALSE(valid_duration(bad)) << bad;
  }
}

/// A fake server that records requests and answers by path.
struct Recorder {
  std::mutex mu;
  std::vector<FakeRequest> seen;
  FakeServer server{[this](const FakeRequest& r) {
    {
      std::lock_guard lock(mu);
      seen.push_back(r);
    }
    if (r.path == "/api/v1/clients") {
      return ok(Json::parse(R"({"clients": [
        {"id": "web-1:42", "labels": {"app": "orders", "zone": "eu-1"}, "ip": "10.0.0.7",
         "protocol": "native", "node": 2, "first_seen": "2026-12-02T10:00:00Z",
         "last_seen": "2026-12-02T10:05:00Z", "first_seen_ms": 1, "last_seen_ms": 2,
         "namespaces": [{"namespace": "orders", "watching": true, "sent_revision": 12,
                         "acked_revision": 11, "ack_status": "failed", "ack_error": "bad pool",
                         "acked_at": "2026-12-02T10:04:00Z", "release_id": "r-9", "gray": true}]}],
        "total": 1,
        "unreachable": [{"id": 3, "address": "127.0.0.1:8003", "error": "timed out"}]})"));
    }
    if (r.path == "/api/v1/admin/releases" && r.method == "GET") {
      return ok({{"releases", Json::array({release()})}, {"total", 1}});
    }
    if (r.path.rfind("/api/v1/admin/releases/r-404", 0) == 0) {
      return error(404, 40401, "no release r-404");
    }
    if (r.path == "/api/v1/admin/releases/r-9/promote") {
      return error(409, 40901, "release r-9 is promoted already");
    }
    return ok(release());
  }};

  static Json release() {
    return Json::parse(R"({"id": "r-9", "namespace": "orders", "state": "halted", "stage": 1,
      "stages": [{"percent": 5, "hold": "10m"}, {"percent": 25, "hold": "10m"}, {"percent": 100}],
      "target": {"labels": {"zone": ["eu-1"]}, "percent": 10},
      "guard": {"max_failed_ratio": 0.01, "min_acks": 20, "ack_timeout": "2m"},
      "on_failure": "halt", "changes": {"db.pool": {"size": 20}, "old.flag": null},
      "revision": 1240, "description": "pool", "created_by": "alice",
      "created_at": "2026-12-02T10:00:00Z", "updated_at": "2026-12-02T10:10:00Z",
      "reason": "guard: 3 of 20 acks failed",
      "progress": {"targeted": 20, "received": 20, "applied": 17, "failed": 3, "silent": 0,
                   "failed_clients": [{"id": "web-3:7", "ip": "10.0.0.9", "node": 1,
                                       "revision": 1240, "error": "pool size refused"}]},
      "transitions": []})");
  }
  std::vector<FakeRequest> requests() {
    std::lock_guard lock(mu);
    return seen;
  }
};

TEST(ClientsCommand, QueryHeadersAndTable) {
  Recorder fake;
  auto r = run({"clients", "orders", "--label", "zone=eu-1", "--label", "app=orders", "--stale",
                "--endpoints", fake.server.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target,
            "/api/v1/clients?namespace=orders&label=zone%3Deu-1%2Capp%3Dorders&stale=true");
  EXPECT_EQ(reqs[0].headers.at("x-client-id"), cli_client_id());
  EXPECT_EQ(reqs[0].headers.count("x-client-labels"), 0u);
  EXPECT_EQ(cli_client_id().rfind("cairn-cli@", 0), 0u);
  EXPECT_NE(r.out.find("CLIENT"), std::string::npos);
  EXPECT_NE(r.out.find("web-1:42"), std::string::npos);
  EXPECT_NE(r.out.find("app=orders,zone=eu-1"), std::string::npos);
  EXPECT_NE(r.out.find("failed: bad pool"), std::string::npos);
  EXPECT_NE(r.out.find("r-9"), std::string::npos);
  EXPECT_NE(r.out.find("1 client(s)"), std::string::npos);
  EXPECT_NE(r.out.find("member 3 (127.0.0.1:8003) did not answer"), std::string::npos);

  auto j = run({"clients", "orders", "-o", "json", "--endpoints", fake.server.url()});
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_EQ(Json::parse(j.out)["clients"][0]["id"], "web-1:42");

  auto bad = run({"clients", "orders", "--label", "zone", "--endpoints", fake.server.url()});
  EXPECT_EQ(bad.exit_code, kExitBadInput);
  EXPECT_EQ(fake.requests().size(), 2u);  // nothing sent for the bad one
}

TEST(ReleaseCommand, StartSendsTheBuiltBody) {
  Recorder fake;
  auto r = run({"release", "start", "orders", "--set", "db.pool={\"size\":20,\"idle\":2}",
                "--delete", "old.flag", "--label", "zone=eu-1,eu-2", "--percent", "10", "--stage", "5:10m",
                "--stage", "25:10m", "--stage", "100", "--max-failed-ratio", "0.01",
                "--min-acks", "20", "--ack-timeout", "2m", "--on-failure", "halt",
                "--endpoints", fake.server.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/api/v1/admin/releases");
  Json body = Json::parse(reqs[0].body);
  EXPECT_EQ(body["changes"]["old.flag"], nullptr);
  EXPECT_EQ(body["target"]["labels"]["zone"], Json::parse(R"(["eu-1","eu-2"])"));
  EXPECT_EQ(body["changes"]["db.pool"], Json::parse(R"({"size":20,"idle":2})"));
  EXPECT_EQ(body["plan"]["stages"].size(), 3u);
  EXPECT_EQ(body["plan"]["guard"]["min_acks"], 20);
  EXPECT_EQ(body["plan"]["on_failure"], "halt");
  EXPECT_NE(r.out.find("started release r-9"), std::string::npos);
  EXPECT_NE(r.out.find("stage:    2/3 (25%)"), std::string::npos);
  EXPECT_NE(r.out.find("labels zone in (eu-1) and 10% of clients"), std::string::npos);
  EXPECT_NE(r.out.find("old.flag  (deleted)"), std::string::npos);
  EXPECT_NE(r.out.find("applied 17, failed 3"), std::string::npos);
  EXPECT_NE(r.out.find("pool size refused"), std::string::npos);

  auto bad = run({"release", "start", "orders", "--percent", "10", "--endpoints",
                  fake.server.url()});
  EXPECT_EQ(bad.exit_code, kExitBadInput);
  EXPECT_NE(bad.err.find("nothing to release"), std::string::npos);
  auto bad2 = run({"release", "start", "orders", "--set", "a=1", "--on-failure", "explode",
                   "--endpoints", fake.server.url()});
  EXPECT_NE(bad2.exit_code, 0);
  EXPECT_EQ(fake.requests().size(), 1u);
}

TEST(ReleaseCommand, StatusListAndActions) {
  Recorder fake;
  auto list = run({"release", "status", "--namespace", "orders", "--state", "halted",
                   "--endpoints", fake.server.url()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("r-9"), std::string::npos);
  EXPECT_NE(list.out.find("halted"), std::string::npos);
  auto one = run({"release", "status", "r-9", "--endpoints", fake.server.url()});
  ASSERT_EQ(one.exit_code, 0);
  EXPECT_NE(one.out.find("reason:   guard: 3 of 20 acks failed"), std::string::npos);
  auto missing = run({"release", "status", "r-404", "--endpoints", fake.server.url()});
  EXPECT_EQ(missing.exit_code, kExitServerError);
  EXPECT_NE(missing.err.find("40401"), std::string::npos);
  auto resume = run({"release", "resume", "r-9", "--reason", "fixed the pool check",
                     "--endpoints", fake.server.url()});
  ASSERT_EQ(resume.exit_code, 0);
  auto twice = run({"release", "promote", "r-9", "--endpoints", fake.server.url()});
  EXPECT_EQ(twice.exit_code, kExitServerError);
  EXPECT_NE(twice.err.find("40901"), std::string::npos);
  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 5u);
  EXPECT_EQ(reqs[0].target, "/api/v1/admin/releases?namespace=orders&state=halted");
  EXPECT_EQ(reqs[1].target, "/api/v1/admin/releases/r-9");
  EXPECT_EQ(reqs[3].method, "POST");
  EXPECT_EQ(reqs[3].path, "/api/v1/admin/releases/r-9/resume");
  EXPECT_EQ(Json::parse(reqs[3].body), Json({{"reason", "fixed the pool check"}}));
  EXPECT_EQ(reqs[4].path, "/api/v1/admin/releases/r-9/promote");
  auto bad = run({"release", "explode", "r-9", "--endpoints", fake.server.url()});
  EXPECT_NE(bad.exit_code, 0);
}

}  // namespace
}  // namespace cairn::cli
