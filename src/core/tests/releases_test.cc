// Gray releases in process (docs/releases.md): targeting, the spec, the replicated commands on a
// real SQLite store, the client registry and the plan's decisions.

#include "core/releases.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/client_registry.h"
#include "core/core.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "test_support.h"

namespace cairn::core {
namespace {

using api::Errc;

ClientIdentity client(std::string id, std::string ip = "10.0.0.1",
                      std::vector<std::pair<std::string, std::string>> labels = {}) {
  ClientIdentity c;
  c.id = std::move(id);
  c.ip = std::move(ip);
  c.labels = std::move(labels);
  return c;
}

ReleaseSpec spec_of(const char* target, const char* plan = nullptr) {
  Json t = *parse_json(target, 16);
  std::optional<Json> p;
  if (plan) p = *parse_json(plan, 16);
  auto spec = parse_release_spec(t, p ? &*p : nullptr);
  EXPECT_TRUE(spec.ok()) << spec.error().details;
  return spec.ok() ? *spec : ReleaseSpec{};
}

std::set<std::string> targeted(const ReleaseSpec& spec, const std::string& release_id) {
  std::set<std::string> out;
  for (int i = 0; i < 1000; ++i) {
    std::string id = "host-" + std::to_string(i) + ":" + std::to_string(1000 + i);
    if (release_targets(spec, 0, release_id, client(id))) out.insert(id);
  }
  return out;
}

TEST(ReleaseTargeting, PercentIsStableAndWithinTheBinomialBound) {
  ReleaseSpec spec = spec_of(R"({"percent": 10})");
  auto a = targeted(spec, "r-0123456789abcdef");
  auto b = targeted(spec_of(R"({"percent": 10})"), "r-0123456789abcdef");
  EXPECT_EQ(a, b);
  // n = 1000, p = 0.1: mean 100, sd 9.49; 5 sd either side.
  EXPECT_GE(a.size(), 53u);
  EXPECT_LE(a.size(), 147u);
  // Another release picks another slice.
  EXPECT_NE(a, targeted(spec, "r-fedcba9876543210"));
  // The bucket is a fixed function: this value must never change between versions.
  EXPECT_EQ(percent_bucket("r-1", "host:1"), percent_bucket("r-1", "host:1"));
  EXPECT_LT(percent_bucket("r-1", "host:1"), 10000u);
  // A stage with a larger percent keeps every client of the smaller one.
  ReleaseSpec staged = spec_of("{}", R"({"stages": [{"percent": 10}, {"percent": 50}]})");
  for (int i = 0; i < 1000; ++i) {
    auto c = client("c" + std::to_string(i));
    if (release_targets(staged, 0, "r-x", c)) {
      EXPECT_TRUE(release_targets(staged, 1, "r-x", c));
    }
  }
  EXPECT_EQ(targeted(spec_of(R"({"percent": 0})"), "r-x").size(), 0u);
  EXPECT_EQ(targeted(spec_of(R"({"percent": 100})"), "r-x").size(), 1000u);
}

TEST(ReleaseTargeting, LabelsAndIpsAreExact) {
  ReleaseSpec spec = spec_of(R"({"labels": {"zone": ["eu-1", "eu-2"], "app": "orders"}})");
  EXPECT_TRUE(release_targets(spec, 0, "r", client("a", "1.1.1.1", {{"app", "orders"}, {"zone", "eu-1"}})));
  EXPECT_TRUE(release_targets(spec, 0, "r", client("a", "1.1.1.1", {{"app", "orders"}, {"zone", "eu-2"}})));
  EXPECT_FALSE(release_targets(spec, 0, "r", client("a", "1.1.1.1", {{"app", "orders"}, {"zone", "us-1"}})));
  EXPECT_FALSE(release_targets(spec, 0, "r", client("a", "1.1.1.1", {{"zone", "eu-1"}})));

  ReleaseSpec ips = spec_of(R"({"ips": ["10.0.0.7", "10.1.0.0/16", "fd00::/8"]})");
  EXPECT_TRUE(release_targets(ips, 0, "r", client("a", "10.0.0.7")));
  EXPECT_FALSE(release_targets(ips, 0, "r", client("a", "10.0.0.8")));
  EXPECT_TRUE(release_targets(ips, 0, "r", client("a", "10.1.255.3")));
  EXPECT_FALSE(release_targets(ips, 0, "r", client("a", "10.2.0.1")));
  EXPECT_TRUE(release_targets(ips, 0, "r", client("a", "fd12::1")));
  EXPECT_FALSE(release_targets(ips, 0, "r", client("a", "fe80::1")));
  EXPECT_TRUE(release_targets(ips, 0, "r", client("a", "::ffff:10.0.0.7")));

  // labels AND (ips OR percent).
  ReleaseSpec both = spec_of(R"({"labels": {"app": "orders"}, "ips": ["10.0.0.7"], "percent": 0})");
  EXPECT_TRUE(release_targets(both, 0, "r", client("a", "10.0.0.7", {{"app", "orders"}})));
  EXPECT_FALSE(release_targets(both, 0, "r", client("a", "10.0.0.7", {{"app", "billing"}})));
  EXPECT_FALSE(release_targets(both, 0, "r", client("a", "10.0.0.8", {{"app", "orders"}})));
  // Nothing but labels: every client they select.
  ReleaseSpec all = spec_of("{}");
  EXPECT_TRUE(release_targets(all, 0, "r", client("a")));
}

TEST(ReleaseTargeting, TheConsoleAndTheCliAreNeverTargetedNorCounted) {
  ReleaseSpec all = spec_of(R"({"percent": 100})");
  EXPECT_FALSE(release_targets(all, 0, "r", client("cairn-console:0a1b2c3d")));
  EXPECT_FALSE(release_targets(all, 0, "r", client("cairn-cli@build-7")));
  EXPECT_TRUE(release_targets(all, 0, "r", client("cairn-clinic:1")));

  Release release;
  release.row.id = "r-1";
  release.row.ns = "orders";
  release.row.revision = 5;
  release.spec = all;
  auto entry = [](const char* id) {
    return Json{{"id", id},
                {"ip", "10.0.0.1"},
                {"namespaces", Json::array({Json{{"namespace", "orders"},
                                                 {"release_id", "r-1"}}})}};
  };
  Json clients = Json::array({entry("cairn-console:0a1b2c3d"), entry("cairn-cli@h"), entry("app:1")});
  ReleaseProgress p = release_progress(release, clients);
  EXPECT_EQ(p.targeted, 1);
  EXPECT_EQ(p.received, 1);
  EXPECT_EQ(p.silent, 1);
}

TEST(ReleaseSpecTest, RefusesBadInputWithTheField) {
  struct Case {
    const char* target;
    const char* plan;
    const char* field;
  };
  const Case cases[] = {
      {R"({"percent": 101})", nullptr, "target.percent"},
      {R"({"percent": -1})", nullptr, "target.percent"},
      {R"({"percent": "10"})", nullptr, "target.percent"},
      {R"({"labels": {"-bad": "x"}})", nullptr, "target.labels.-bad"},
      {R"({"labels": {"app": "has space"}})", nullptr, "target.labels.app"},
      {R"({"labels": {"app": []}})", nullptr, "target.labels.app"},
      {R"({"labels": ["app"]})", nullptr, "target.labels"},
      {R"({"ips": ["10.0.0.0/33"]})", nullptr, "target.ips"},
      {R"({"ips": ["not-an-ip"]})", nullptr, "target.ips"},
      {R"({"selector": 1})", nullptr, "target.selector"},
      {"{}", R"({"stages": []})", "plan.stages"},
      {"{}", R"({"stages": [{"percent": 50}, {"percent": 10}]})", "plan.stages[1].percent"},
      {"{}", R"({"stages": [{"percent": 5, "hold": "ten minutes"}]})", "plan.stages[0].hold"},
      {"{}", R"({"stages": [{"percent": 5}], "guard": {"max_failed_ratio": 2}})",
       "plan.guard.max_failed_ratio"},
      {"{}", R"({"stages": [{"percent": 5}], "on_failure": "explode"})", "plan.on_failure"},
  };
  for (const auto& c : cases) {
    Json t = *parse_json(c.target, 16);
    std::optional<Json> p;
    if (c.plan) p = *parse_json(c.plan, 16);
    auto spec = parse_release_spec(t, p ? &*p : nullptr);
    ASSERT_FALSE(spec.ok()) << c.target << " " << (c.plan ? c.plan : "");
    EXPECT_EQ(spec.error().code, Errc::kValidation);
    EXPECT_EQ(spec.error().field, c.field) << c.target;
  }
  EXPECT_EQ(parse_go_duration("1h30m"), 5'400'000);
  EXPECT_EQ(parse_go_duration("90s"), 90'000);
  EXPECT_EQ(parse_go_duration("250ms"), 250);
  EXPECT_EQ(parse_go_duration("5x"), -1);
  EXPECT_EQ(format_go_duration(5'400'000), "1h30m");
  // The canonical text parses back to the same spec.
  ReleaseSpec spec = spec_of(R"({"labels": {"zone": ["eu-1"]}, "ips": ["10.0.0.0/8"], "percent": 12.5})",
                             R"({"stages": [{"percent": 5, "hold": "10m"}, {"percent": 100}],
                                 "guard": {"max_failed_ratio": 0.01, "min_acks": 20, "ack_timeout": "2m"},
                                 "on_failure": "abort"})");
  // Without the optional parts too.
  ReleaseSpec bare = spec_of("{}", R"({"stages": [{"percent": 5}], "guard": {"min_acks": 2}})");
  auto bare_again = parse_release_spec_text(dump_compact(bare.canonical()));
  ASSERT_TRUE(bare_again.ok()) << bare_again.error().details;
  EXPECT_EQ(dump_compact(bare_again->canonical()), dump_compact(bare.canonical()));
  auto again = parse_release_spec_text(dump_compact(spec.canonical()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(dump_compact(again->canonical()), dump_compact(spec.canonical()));
}

class ReleaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void open() {
    store::Options options;
    options.path = dir_.file("cairn.db");
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    index_ = std::make_unique<cache::Index>();
    ASSERT_TRUE(index_->load(*store_).ok());
    sm_ = std::make_unique<ConfigStateMachine>(*store_, *index_);
    sm_->add_listener([this](const api::Command& c, const store::Applied&) {
      if (std::holds_alternative<api::StartRelease>(c.body) ||
          std::holds_alternative<api::TransitionRelease>(c.body)) {
        releases_.reload(*store_);
      }
    });
    replicator_ = std::make_unique<InlineReplicator>(*sm_);
    core_ = std::make_unique<Core>(CoreOptions{}, *store_, *index_, *replicator_);
    releases_.reload(*store_);
  }
  void close() {
    core_.reset();
    replicator_.reset();
    sm_.reset();
    store_.reset();
  }

  api::CommandResult submit(api::CommandBody body) {
    api::CommandResult out;
    core_->submit(any_, api::Command{"req", "tester", std::move(body)},
                  [&out](api::CommandResult r) { out = std::move(r); });
    return out;
  }
  api::CommandResult put(const std::string& key, std::string value, bool force = false) {
    api::ConfigWrite w;
    w.op = value_of(key) ? api::ConfigOp::kUpdate : api::ConfigOp::kCreate;
    w.key = key;
    w.value = std::move(value);
    api::WriteConfigs cmd{"svc", {std::move(w)}, false};
    cmd.force = force;
    return submit(std::move(cmd));
  }
  std::optional<std::string> value_of(const std::string& key) {
    std::optional<std::string> out;
    index_->read_namespace("svc", [&](const cache::NamespaceEntry& n) {
      auto it = n.configs.find(key);
      if (it != n.configs.end()) out = it->second.value;
    });
    return out;
  }
  api::CommandResult start(std::string id, std::string target = R"({"percent":10})") {
    api::StartRelease s;
    s.id = std::move(id);
    s.ns = "svc";
    s.changes = {{"db.pool", R"({"size":20})"}, {"old.flag", std::nullopt}};
    s.spec = dump_compact(spec_of(target.c_str()).canonical());
    return submit(std::move(s));
  }
  api::CommandResult transition(const std::string& id, const std::string& action,
                                int64_t stage = 0) {
    return submit(api::TransitionRelease{id, "svc", action, stage, "", false});
  }

  const api::Principal any_ = api::Principal::unrestricted("tester");
  cairn::test::TempDir dir_{"releases_test"};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<cache::Index> index_;
  std::unique_ptr<ConfigStateMachine> sm_;
  std::unique_ptr<InlineReplicator> replicator_;
  std::unique_ptr<Core> core_;
  Releases releases_;
};

TEST_F(ReleaseStoreTest, TargetingIsTheSameAfterARestart) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("db.pool", R"({"size":10})").ok());
  ASSERT_TRUE(start("r-restart1").ok());
  auto gray_set = [this] {
    std::set<std::string> out;
    for (int i = 0; i < 1000; ++i) {
      auto c = client("pod-" + std::to_string(i));
      if (releases_.gray_for("svc", c)) out.insert(c.id);
    }
    return out;
  };
  auto before = gray_set();
  EXPECT_GE(before.size(), 53u);
  EXPECT_LE(before.size(), 147u);
  const std::string checksum = store_->checksum();
  close();
  open();
  EXPECT_EQ(gray_set(), before);
  EXPECT_EQ(store_->checksum(), checksum);
}

TEST_F(ReleaseStoreTest, LifecycleWritesConflictsAndPromote) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("db.pool", R"({"size":10})").ok());
  ASSERT_TRUE(put("old.flag", "true").ok());
  ASSERT_TRUE(put("other", "1").ok());
  const uint64_t rev_before = store_->revision();
  auto started = start("r-life1", R"({"percent":100})");
  ASSERT_TRUE(started.ok()) << started.details;
  EXPECT_EQ(started.revision, rev_before + 1);
  auto live = releases_.live_for("svc");
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live->row.state, "active");
  EXPECT_EQ(live->row.revision, started.revision);
  EXPECT_EQ(*live->changes.at("db.pool"), R"({"size":20})");
  EXPECT_FALSE(live->changes.at("old.flag").has_value());

  // A second release on the namespace, a direct write to a key of the release: 40901.
  EXPECT_EQ(start("r-life2").code, Errc::kConflict);
  auto refused = put("db.pool", R"({"size":11})");
  EXPECT_EQ(refused.code, Errc::kConflict);
  EXPECT_NE(refused.details.find("r-life1"), std::string::npos);
  EXPECT_TRUE(put("other", "2").ok());  // not a key of the release
  EXPECT_TRUE(put("db.pool", R"({"size":12})", /*force=*/true).ok());

  EXPECT_EQ(transition("r-nope", "promote").code, Errc::kNotFound);
  EXPECT_EQ(transition("r-life1", "resume").code, Errc::kConflict);  // active
  EXPECT_TRUE(transition("r-life1", "pause").ok());
  EXPECT_EQ(releases_.live_for("svc")->row.state, "paused");
  EXPECT_TRUE(transition("r-life1", "resume").ok());
  auto promoted = transition("r-life1", "promote");
  ASSERT_TRUE(promoted.ok()) << promoted.details;
  EXPECT_EQ(releases_.live_for("svc"), nullptr);
  EXPECT_EQ(transition("r-life1", "promote").code, Errc::kConflict);  // promote twice
  EXPECT_EQ(transition("r-life1", "abort").code, Errc::kConflict);

  // The gray values are ordinary versions now; history says RELEASE with the release id.
  EXPECT_EQ(value_of("db.pool").value_or(""), R"({"size":20})");
  EXPECT_FALSE(value_of("old.flag"));
  auto history = store_->history("svc", "db.pool", {1, 10});
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->items[0].operation, "RELEASE");
  EXPECT_EQ(history->items[0].release_id, "r-life1");
  // Rollback works as for any version.
  auto rolled = submit(api::RollbackConfig{"svc", "db.pool", 1, std::nullopt});
  EXPECT_TRUE(rolled.ok()) << rolled.details;

  auto rows = store_->releases();
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  auto transitions = parse_json((*rows)[0].transitions, 16);
  ASSERT_TRUE(transitions && transitions->is_array());
  EXPECT_EQ(transitions->size(), 4u);  // started, paused, resumed, promoted
}

TEST_F(ReleaseStoreTest, AbortAndPlanAdvanceAndBadInput) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("db.pool", R"({"size":10})").ok());
  api::StartRelease s;
  s.id = "r-plan1";
  s.ns = "svc";
  s.changes = {{"db.pool", "30"}};
  s.spec = dump_compact(spec_of("{}", R"({"stages": [{"percent": 5}, {"percent": 100}]})").canonical());
  ASSERT_TRUE(submit(s).ok());
  EXPECT_EQ(transition("r-plan1", "advance", 2).code, Errc::kConflict);  // not the next stage
  ASSERT_TRUE(transition("r-plan1", "advance", 1).ok());
  EXPECT_EQ(releases_.live_for("svc")->row.stage, 1);
  ASSERT_TRUE(transition("r-plan1", "abort").ok());
  EXPECT_EQ(releases_.live_for("svc"), nullptr);
  EXPECT_EQ(value_of("db.pool").value_or(""), R"({"size":10})");  // abort leaves them

  // Bad input changes nothing.
  const std::string checksum = store_->checksum();
  api::StartRelease bad = s;
  bad.id = "r-bad";
  bad.ns = "missing";
  EXPECT_EQ(submit(bad).code, Errc::kNamespaceNotFound);
  bad.ns = "svc";
  bad.changes = {{"db.pool", "{not json"}};
  EXPECT_EQ(submit(bad).code, Errc::kValidation);
  bad.changes = {};
  EXPECT_EQ(submit(bad).code, Errc::kValidation);
  EXPECT_EQ(transition("r-plan1", "explode").code, Errc::kValidation);
  // The audit log records the refusals; the release table is untouched.
  auto rows = store_->releases();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 1u);
  (void)checksum;

  // A disabled namespace takes no release.
  auto ns_id = core_->namespace_id("svc");
  ASSERT_TRUE(ns_id);
  api::UpdateNamespace off;
  off.id = *ns_id;
  off.status = 0;
  ASSERT_TRUE(submit(off).ok());
  bad.changes = {{"db.pool", "1"}};
  EXPECT_EQ(submit(bad).code, Errc::kConflict);
}

TEST(ClientRegistryTest, RecordsAcksMergesAndIsBounded) {
  ClientRegistryOptions options;
  options.max_clients = 3;
  options.max_namespaces = 2;
  ClientRegistry registry(options);
  auto a = client("a", "10.0.0.1", {{"app", "orders"}});
  registry.sent(a, "svc", 5, "r-1", +1);
  registry.ack(a, "svc", 5, "failed", std::string(5000, 'x'), "r-1");
  Json view = registry.view({}, 2);
  ASSERT_EQ(view.size(), 1u);
  EXPECT_EQ(view[0]["node"], 2);
  const Json& ns = view[0]["namespaces"][0];
  EXPECT_EQ(ns["sent_revision"], 5);
  EXPECT_EQ(ns["watching"], true);
  EXPECT_EQ(ns["ack_status"], "failed");
  EXPECT_EQ(ns["ack_error"].get<std::string>().size(), 1024u);
  EXPECT_EQ(ns["release_id"], "r-1");
  for (const char* n : {"n1", "n2", "n3"}) registry.sent(a, n, 1, "");
  EXPECT_EQ(registry.view({}, 2)[0]["namespaces"].size(), 2u);
  for (const char* id : {"b", "c", "d", "e"}) registry.sent(client(id), "svc", 1, "");
  EXPECT_EQ(registry.size(), 3u);

  ClientFilter by_label;
  by_label.labels = {{"app", "orders"}};
  // Merge: the same client seen on two nodes.
  ClientRegistry other;
  auto b = client("b");
  other.sent(b, "svc", 9, "r-1");
  other.ack(b, "svc", 9, "applied", "", "r-1");
  ClientRegistry mine;
  mine.sent(b, "svc", 3, "");
  Json merged = merge_client_views({mine.view({}, 1), other.view({}, 2)});
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0]["namespaces"][0]["sent_revision"], 9);
  EXPECT_EQ(merged[0]["namespaces"][0]["ack_status"], "applied");
}

TEST(ReleasePlanTest, GuardHaltsOrAbortsAndHoldAdvances) {
  store::ReleaseRow row;
  row.id = "r-g";
  row.ns = "svc";
  row.state = "active";
  row.revision = 10;
  row.stage_started_ms = 1'000'000;
  row.spec = dump_compact(
      spec_of("{}", R"({"stages": [{"percent": 100, "hold": "1s"}, {"percent": 100}],
                       "guard": {"max_failed_ratio": 0.1, "min_acks": 20, "ack_timeout": "2m"}})")
          .canonical());
  row.changes = R"({"k":1})";
  auto release = make_release(row);
  // 20 targeted clients, 3 failed, 17 applied.
  Json clients = Json::array();
  for (int i = 0; i < 20; ++i) {
    Json ns{{"namespace", "svc"},
            {"release_id", "r-g"},
            {"acked_release", "r-g"},
            {"acked_revision", 10},
            {"ack_status", i < 3 ? "failed" : "applied"},
            {"ack_error", i < 3 ? "bad pool" : ""}};
    clients.push_back(Json{{"id", "c" + std::to_string(i)}, {"ip", "10.0.0.1"},
                           {"labels", Json::object()}, {"node", 1},
                           {"namespaces", Json::array({ns})}});
  }
  auto progress = release_progress(*release, clients);
  EXPECT_EQ(progress.targeted, 20);
  EXPECT_EQ(progress.received, 20);
  EXPECT_EQ(progress.applied, 17);
  EXPECT_EQ(progress.failed, 3);
  EXPECT_EQ(progress.failed_clients.size(), 3u);
  auto step = plan_step(*release, progress, 1'000'500);
  EXPECT_EQ(step.action, "halt");
  EXPECT_NE(step.reason.find("3 of 20"), std::string::npos);

  row.spec = dump_compact(
      spec_of("{}", R"({"stages": [{"percent": 100, "hold": "1s"}, {"percent": 100}],
                       "guard": {"max_failed_ratio": 0.1, "min_acks": 20}, "on_failure": "abort"})")
          .canonical());
  EXPECT_EQ(plan_step(*make_release(row), progress, 1'000'500).action, "abort");

  // All applied: advances once the hold passed, not before.
  for (auto& c : clients) c["namespaces"][0]["ack_status"] = "applied";
  progress = release_progress(*release, clients);
  EXPECT_EQ(plan_step(*release, progress, 1'000'500).action, "");
  step = plan_step(*release, progress, 1'001'000);
  EXPECT_EQ(step.action, "advance");
  EXPECT_EQ(step.stage, 1);
  // Too few acks by the ack timeout: halts.
  Json few = Json::array({clients[0]});
  for (int i = 1; i < 20; ++i) {
    Json c = clients[static_cast<size_t>(i)];
    c["namespaces"][0]["ack_status"] = nullptr;
    c["namespaces"][0]["acked_release"] = nullptr;
    few.push_back(c);
  }
  progress = release_progress(*release, few);
  EXPECT_EQ(progress.silent, 19);
  EXPECT_EQ(plan_step(*release, progress, 1'001'000).action, "");  // waits for acks
  EXPECT_EQ(plan_step(*release, progress, 1'000'000 + 120'000).action, "halt");
}

}  // namespace
}  // namespace cairn::core
