// The core API driven in process, without HTTP: a real SQLite store in a temp dir, the index,
// the state machine and a replicator that applies on the calling thread.

#include "core/core.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "cache/probe.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "core/watch_hub.h"
#include "test_support.h"

namespace cairn::core {
namespace {

using api::Errc;

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    ASSERT_TRUE(index_.load(*store_).ok());
    sm_ = std::make_unique<ConfigStateMachine>(*store_, index_);
    sm_->add_listener(
        [this](const api::Command&, const store::Applied& a) { ring_.record(a.changes); });
    replicator_ = std::make_unique<InlineReplicator>(*sm_);
    CoreOptions o;
    o.cache_probe = &probe_;
    o.version_ring = &ring_;
    o.database_down = [this] { return database_down_; };
    core_ = std::make_unique<Core>(std::move(o), *store_, index_, *replicator_);
  }

  api::CommandResult submit(api::CommandBody body) {
    api::CommandResult out;
    core_->submit(any_, api::Command{"req-1", "tester", std::move(body)},
                  [&out](api::CommandResult r) { out = std::move(r); });
    return out;
  }
  api::CommandResult put(const std::string& ns, api::ConfigOp op, const std::string& key,
                         std::optional<std::string> value) {
    api::ConfigWrite w;
    w.op = op;
    w.key = key;
    w.value = std::move(value);
    return submit(api::WriteConfigs{ns, {std::move(w)}, false});
  }

  const api::Principal any_ = api::Principal::unrestricted("tester");
  cairn::test::TempDir dir_{"core_test"};
  std::unique_ptr<store::Store> store_;
  cache::Index index_;
  cache::VersionRing ring_;
  cache::Probe probe_;
  bool database_down_ = false;
  std::unique_ptr<ConfigStateMachine> sm_;
  std::unique_ptr<InlineReplicator> replicator_;
  std::unique_ptr<Core> core_;
};

TEST_F(CoreTest, WritesAnswerWithTypedOutcomes) {
  auto created = submit(api::CreateNamespace{"svc", "orders"});
  ASSERT_TRUE(created.ok()) << created.details;
  const auto* ns = created.as<api::NamespaceCreated>();
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->ns.name, "svc");
  EXPECT_EQ(ns->ns.description, "orders");

  auto written = put("svc", api::ConfigOp::kCreate, "db.port", "5432");
  ASSERT_TRUE(written.ok()) << written.details;
  const auto* w = written.as<api::ConfigsWritten>();
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->ops.size(), 1u);
  EXPECT_EQ(w->ops[0].version, 1);
  EXPECT_TRUE(w->changed());

  auto same = put("svc", api::ConfigOp::kUpdate, "db.port", "5432");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same.as<api::ConfigsWritten>()->changed());  // a no-op update writes nothing
  EXPECT_EQ(same.revision, written.revision);

  auto missing = put("nope", api::ConfigOp::kCreate, "k", "1");
  EXPECT_EQ(missing.code, Errc::kNamespaceNotFound);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(missing.outcome));
}

TEST_F(CoreTest, ReadsCurrentOlderAndMissingValues) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "timeout", "10").ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kUpdate, "timeout", "20.50").ok());

  auto current = core_->get_config(any_, GetConfig{"svc", "timeout", {}, {}});
  ASSERT_TRUE(current.ok()) << current.error().details;
  EXPECT_EQ(current->value, "20.50");  // the number's own text
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(probe_.hits(cache::CacheType::kLocal), 1u);

  auto older = core_->get_config(any_, GetConfig{"svc", "timeout", 1, {}});
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->value, "10");
  EXPECT_EQ(probe_.hits(cache::CacheType::kVersionRing), 1u);  // from the ring, not SQLite

  EXPECT_EQ(core_->get_config(any_, GetConfig{"svc", "absent", {}, {}}).error().code,
            Errc::kConfigNotFound);
  EXPECT_EQ(core_->get_config(any_, GetConfig{"other", "timeout", {}, {}}).error().code,
            Errc::kNamespaceNotFound);
  EXPECT_EQ(core_->get_config(any_, GetConfig{"svc", "timeout", 9, {}}).error().code,
            Errc::kNotFound);
  EXPECT_EQ(core_->get_config(any_, GetConfig{"svc", "timeout", 1, Instant{1, 1}}).error().code,
            Errc::kBadRequest);  // version and at together
}

TEST_F(CoreTest, ReadsAtAnInstant) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "k", R"("a")").ok());
  // The inline replicator stamps every command with the same time: the last one wins.
  auto at = core_->get_config(any_, GetConfig{"svc", "k", {}, Instant{1705744800000, 1}});
  ASSERT_TRUE(at.ok()) << at.error().details;
  EXPECT_EQ(at->value, R"("a")");
  EXPECT_EQ(core_->get_config(any_, GetConfig{"svc", "k", {}, Instant{1000, 1}}).error().code,
            Errc::kNotFound);  // nothing was current before it was created
  auto ns = core_->get_namespace(any_, "svc", Instant{1705744800000, 1});
  ASSERT_TRUE(ns.ok());
  ASSERT_TRUE(ns->at_ms.has_value());
  ASSERT_EQ(ns->configs.size(), 1u);
  EXPECT_TRUE(ns->unavailable.empty());
}

TEST_F(CoreTest, DisabledNamespacesAndConfigsAreHiddenFromClients) {
  auto created = submit(api::CreateNamespace{"svc", ""});
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "on", "true").ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "off", "false").ok());
  api::ConfigWrite disable;
  disable.op = api::ConfigOp::kUpdate;
  disable.key = "off";
  disable.status = 0;
  ASSERT_TRUE(submit(api::WriteConfigs{"svc", {disable}, false}).ok());

  auto keys = core_->get_keys(any_, "svc", {"on", "off", "none"});
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->configs.size(), 1u);
  EXPECT_EQ(keys->configs[0].key, "on");
  EXPECT_EQ(keys->missing, (std::vector<std::string>{"off", "none"}));
  EXPECT_EQ(core_->get_config(any_, GetConfig{"svc", "off", {}, {}}).error().code,
            Errc::kConfigNotFound);
  auto ns = core_->get_namespace(any_, "svc", std::nullopt);
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(ns->configs.size(), 1u);
  EXPECT_EQ(ns->configs[0].first, "on");

  api::UpdateNamespace off;
  off.id = created.as<api::NamespaceCreated>()->ns.id;
  off.status = 0;
  ASSERT_TRUE(submit(off).ok());
  EXPECT_EQ(core_->hidden_from_clients(any_, "svc", "on")->code, Errc::kNamespaceNotFound);
  EXPECT_EQ(core_->get_keys(any_, "svc", {"on"}).error().code, Errc::kNamespaceNotFound);
  EXPECT_EQ(core_->get_namespace(any_, "svc", std::nullopt).error().code, Errc::kNamespaceNotFound);
}

TEST_F(CoreTest, DegradedReadsBeyondTheRingSayWhy) {
  ASSERT_TRUE(submit(api::CreateNamespace{"svc", ""}).ok());
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "k", "0").ok());
  for (int i = 1; i <= static_cast<int>(cache::VersionRing::kSize) + 1; ++i) {
    ASSERT_TRUE(put("svc", api::ConfigOp::kUpdate, "k", std::to_string(i)).ok());
  }
  database_down_ = true;
  auto first = core_->get_config(any_, GetConfig{"svc", "k", 1, {}});
  ASSERT_TRUE(first.ok());  // SQLite is still readable here; the warning says the ring missed
  EXPECT_NE(first->warning.find("not among the last"), std::string::npos) << first->warning;
}

}  // namespace
}  // namespace cairn::core

namespace cairn::core {
namespace {

/// Records what a subscription is told.
class RecordingSubscriber final : public Subscriber {
 public:
  void opened() override { log.push_back("opened"); }
  bool changes(const std::vector<WatchEvent>& events) override {
    for (const auto& e : events) log.push_back(e.key + "@" + std::to_string(e.revision));
    return true;
  }
  void reset(const std::string& ns, uint64_t revision) override {
    log.push_back("reset " + ns + "@" + std::to_string(revision));
  }
  void heartbeat() override {}
  void end() override { log.push_back("end"); }
  std::vector<std::string> log;
};

// State a reader combines with the index's (a gray release with a namespace read) must never
// lag behind the index: listeners added with add_listener_before_index() run before the index
// takes a command's changes, the others after.
TEST_F(CoreTest, BeforeIndexListenersRunBeforeTheIndexTakesTheChange) {
  std::vector<std::string> seen;
  auto has_ns = [this] { return index_.namespace_id("ordered").has_value(); };
  sm_->add_listener([&](const api::Command&, const store::Applied&) {
    seen.push_back(std::string("after:") + (has_ns() ? "in index" : "not in index"));
  });
  sm_->add_listener_before_index([&](const api::Command&, const store::Applied&) {
    seen.push_back(std::string("before:") + (has_ns() ? "in index" : "not in index"));
  });
  ASSERT_TRUE(submit(api::CreateNamespace{"ordered", ""}).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"before:not in index", "after:in index"}));
}

TEST_F(CoreTest, WatchersHearOfWritesThroughCallbacks) {
  WatchHub hub({}, index_, store_->revision());
  sm_->add_listener([&hub](const api::Command&, const store::Applied& a) {
    hub.on_applied(a.changes, a.result.revision);
  });
  auto created = submit(api::CreateNamespace{"svc", ""});
  ASSERT_TRUE(created.ok());
  auto sub = std::make_shared<RecordingSubscriber>();
  const uint64_t id = hub.subscribe("svc", created.revision, {}, sub);
  ASSERT_NE(id, 0u);
  std::vector<WatchAnswer> answers;
  ASSERT_NE(hub.poll("svc", created.revision, {}, 60'000,
                     [&answers](const WatchAnswer& a) { answers.push_back(a); }),
            0u);  // held: nothing changed yet

  auto written = put("svc", api::ConfigOp::kCreate, "k", "1");
  ASSERT_TRUE(written.ok());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_TRUE(answers[0].changed);
  ASSERT_EQ(answers[0].changes.size(), 1u);
  EXPECT_EQ(*answers[0].changes[0].value, "1");
  const std::string k = "k@" + std::to_string(written.revision);
  EXPECT_EQ(sub->log, (std::vector<std::string>{"opened", k}));

  api::UpdateNamespace off;
  off.id = created.as<api::NamespaceCreated>()->ns.id;
  off.status = 0;
  auto disabled = submit(off);
  ASSERT_TRUE(disabled.ok());
  const std::string reset = "reset svc@" + std::to_string(disabled.revision);
  EXPECT_EQ(sub->log, (std::vector<std::string>{"opened", k, reset, "end"}));
  hub.cancel(id);  // already over: ignored
  EXPECT_EQ(hub.open_streams(), 0u);
  hub.shutdown();
}

/// A replication group that records what it was asked.
class FakeCluster : public Cluster {
 public:
  ClusterView view() const override {
    ClusterView v;
    v.raft_id = 1;
    v.role = "leader";
    v.leader = 1;
    v.members = {{1, true, "127.0.0.1:1", "127.0.0.1:2"}};
    return v;
  }
  void transfer_leader(uint64_t to, Done done) override {
    asked.push_back("transfer " + std::to_string(to));
    done(Ok{});
  }
  void add_member(uint64_t id, std::string peer, std::string, bool voter, Done done) override {
    asked.push_back("add " + std::to_string(id) + " " + peer + (voter ? "" : " learner"));
    done(Ok{});
  }
  void remove_member(uint64_t id, Done done) override {
    asked.push_back("remove " + std::to_string(id));
    done(Unexpected{api::make_error(Errc::kNotFound, "not a member")});
  }
  std::vector<std::string> asked;
};

// A revision this node has not reached (docs/watch.md): a follower a few entries behind
// answers normally once it gets there; one that never gets there within the poll's timeout (a
// cluster restored from an older backup, docs/operations.md) answers reset, as do a plain poll
// and a subscription at once.
TEST_F(CoreTest, WatchesFromARevisionNotYetReached) {
  WatchHub hub({}, index_, store_->revision());
  sm_->add_listener([&hub](const api::Command&, const store::Applied& a) {
    hub.on_applied(a.changes, a.result.revision);
  });
  auto created = submit(api::CreateNamespace{"svc", ""});
  ASSERT_TRUE(created.ok());
  const uint64_t ahead = created.revision + 1;

  std::vector<WatchAnswer> now;
  EXPECT_EQ(hub.poll("svc", ahead, {}, 0, [&now](const WatchAnswer& a) { now.push_back(a); }),
            0u);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_TRUE(now[0].reset);
  auto sub = std::make_shared<RecordingSubscriber>();
  EXPECT_EQ(hub.subscribe("svc", ahead, {}, sub), 0u);
  EXPECT_EQ(sub->log, (std::vector<std::string>{"reset svc@" + std::to_string(created.revision),
                                                "end"}));

  // Held; the node reaches `ahead` (the change the client already saw) and then goes past it.
  std::vector<WatchAnswer> caught_up;
  ASSERT_NE(hub.poll("svc", ahead, {}, 60'000,
                     [&caught_up](const WatchAnswer& a) { caught_up.push_back(a); }),
            0u);
  ASSERT_TRUE(put("svc", api::ConfigOp::kCreate, "a", "1").ok());
  EXPECT_TRUE(caught_up.empty());  // revision `ahead` itself: already seen by the client
  auto next = put("svc", api::ConfigOp::kCreate, "b", "2");
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(caught_up.size(), 1u);
  EXPECT_FALSE(caught_up[0].reset);
  ASSERT_EQ(caught_up[0].changes.size(), 1u);
  EXPECT_EQ(caught_up[0].changes[0].key, "b");

  // Never reached within the timeout: reset at the deadline, with the node's revision.
  std::promise<WatchAnswer> late;
  ASSERT_NE(hub.poll("svc", next.revision + 5, {}, 50,
                     [&late](const WatchAnswer& a) { late.set_value(a); }),
            0u);
  auto f = late.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  WatchAnswer a = f.get();
  EXPECT_TRUE(a.reset);
  EXPECT_FALSE(a.changed);
  EXPECT_EQ(a.revision, next.revision);
  hub.shutdown();
}

TEST_F(CoreTest, ClusterCallsNeedClusterAdminAndACluster) {
  EXPECT_EQ(core_->cluster_view(any_).error().code, Errc::kNotFound);  // a single node

  FakeCluster cluster;
  CoreOptions o;
  o.cluster = &cluster;
  Core core(std::move(o), *store_, index_, *replicator_);
  const auto ops = api::Principal::with_grants("ops", {{"*", "admin"}});
  EXPECT_EQ(core.cluster_view(ops).error().code, Errc::kForbidden);
  auto view = core.cluster_view(any_);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->members.at(0).http, "127.0.0.1:2");

  std::vector<Errc> answers;
  auto record = [&answers](Result<Ok, api::Error> r) {
    answers.push_back(r.ok() ? Errc::kOk : r.error().code);
  };
  core.transfer_leader(ops, 2, record);
  core.add_member(ops, 4, "p", "h", true, record);
  core.transfer_leader(any_, 2, record);
  core.add_member(any_, 4, "10.0.0.4:7000", "10.0.0.4:8000", false, record);
  core.remove_member(any_, 9, record);
  EXPECT_EQ(answers, (std::vector<Errc>{Errc::kForbidden, Errc::kForbidden, Errc::kOk, Errc::kOk,
                                        Errc::kNotFound}));
  EXPECT_EQ(cluster.asked,
            (std::vector<std::string>{"transfer 2", "add 4 10.0.0.4:7000 learner", "remove 9"}));
}

TEST_F(CoreTest, EveryOperationIsCheckedAgainstTheCallersGrants) {
  ASSERT_TRUE(submit(api::CreateNamespace{"app-a", ""}).ok());
  ASSERT_TRUE(submit(api::CreateNamespace{"app-b", ""}).ok());
  ASSERT_TRUE(put("app-a", api::ConfigOp::kCreate, "k", "1").ok());
  ASSERT_TRUE(put("app-b", api::ConfigOp::kCreate, "k", "2").ok());
  const auto reader = api::Principal::with_grants("svc", {{"app-a", "read"}});
  const auto writer = api::Principal::with_grants("ops", {{"app-*", "write"}});

  EXPECT_TRUE(core_->get_config(reader, GetConfig{"app-a", "k", {}, {}}).ok());
  auto denied = core_->get_config(reader, GetConfig{"app-b", "k", {}, {}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, Errc::kForbidden);
  EXPECT_EQ(denied.error().details, "token 'svc' has no read permission on namespace 'app-b'");
  EXPECT_EQ(core_->get_keys(reader, "app-b", {"k"}).error().code, Errc::kForbidden);
  EXPECT_EQ(core_->get_namespace(reader, "app-b", std::nullopt).error().code, Errc::kForbidden);
  EXPECT_EQ(core_->readable_namespace(reader, "app-b")->code, Errc::kForbidden);
  EXPECT_FALSE(core_->readable_namespace(reader, "app-a").has_value());
  EXPECT_EQ(core_->versions(reader, "app-b", "k", {1, 20}).error().code, Errc::kForbidden);
  EXPECT_EQ(core_->history(reader, "app-b", "k", {1, 20}).error().code, Errc::kForbidden);

  // Lists show only what the grants name, whatever the filter asks.
  auto namespaces = core_->list_namespaces(reader, {}, {1, 20});
  ASSERT_TRUE(namespaces.ok());
  ASSERT_EQ(namespaces->items.size(), 1u);
  EXPECT_EQ(namespaces->items[0].name, "app-a");
  auto configs = core_->list_configs(reader, {}, {1, 20});
  ASSERT_TRUE(configs.ok());
  ASSERT_EQ(configs->items.size(), 1u);
  EXPECT_EQ(configs->items[0].ns, "app-a");
  store::ConfigFilter other;
  other.ns = "app-b";
  EXPECT_EQ(core_->list_configs(reader, other, {1, 20}).error().code, Errc::kForbidden);

  // Writes: refused before anything is replicated.
  const uint64_t before = store_->revision();
  auto write = [&](const api::Principal& who, api::CommandBody body) {
    api::CommandResult out;
    core_->submit(who, api::Command{"req", who.name, std::move(body)},
                  [&out](api::CommandResult r) { out = std::move(r); });
    return out;
  };
  api::ConfigWrite w;
  w.op = api::ConfigOp::kUpdate;
  w.key = "k";
  w.value = "3";
  EXPECT_EQ(write(reader, api::WriteConfigs{"app-a", {w}, false}).code, Errc::kForbidden);
  EXPECT_EQ(write(writer, api::CreateNamespace{"app-c", ""}).code, Errc::kForbidden);
  EXPECT_EQ(write(writer, api::CleanupVersions{}).details,
            "every namespace: token 'ops' is not cluster-admin");
  EXPECT_EQ(write(writer, api::RevokeToken{"t"}).code, Errc::kForbidden);
  EXPECT_EQ(store_->revision(), before);
  EXPECT_TRUE(write(writer, api::WriteConfigs{"app-b", {w}, false}).ok());
  EXPECT_EQ(core_->tokens(writer).error().code, Errc::kForbidden);
  EXPECT_EQ(core_->audit(writer, {}, {1, 20}).error().code, Errc::kForbidden);
  EXPECT_TRUE(core_->tokens(any_).ok());
}

}  // namespace
}  // namespace cairn::core
