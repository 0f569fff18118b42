// Secrets through the core (docs/secrets.md): sealing on the write path, masking and revealing
// on every read, rollback, the reserved shape, rotation. A real SQLite store in a temp dir and
// a replicator that applies on the calling thread.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/core.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "secrets/sealed.h"
#include "test_support.h"

namespace cairn::core {
namespace {

using api::Errc;

std::shared_ptr<const secrets::Keyring> ring(std::vector<std::pair<std::string, char>> keys,
                                             std::string current) {
  std::vector<secrets::Kek> out;
  for (auto& [id, fill] : keys) out.push_back(secrets::Kek{id, std::string(32, fill)});
  return std::make_shared<const secrets::Keyring>(
      *secrets::Keyring::make(std::move(out), std::move(current)));
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

constexpr const char* kPlain = "hunter2-s3cr3t";

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    ASSERT_TRUE(index_.load(*store_).ok());
    sm_ = std::make_unique<ConfigStateMachine>(*store_, index_);
    replicator_ = std::make_unique<InlineReplicator>(*sm_);
    core_ = make_core(ring({{"k1", 'a'}}, "k1"));
    ASSERT_TRUE(submit(api::CreateNamespace{"app", "", {"*.password"}}).ok());
  }

  std::unique_ptr<Core> make_core(std::shared_ptr<const secrets::Keyring> keyring) {
    CoreOptions o;
    o.keyring = std::move(keyring);
    o.on_reveal = [this](const api::Principal& who, const std::string& ns, const std::string& key,
                         int64_t version) {
      reveals_.push_back(who.name + " " + ns + "/" + key + "@" + std::to_string(version));
    };
    return std::make_unique<Core>(std::move(o), *store_, index_, *replicator_);
  }

  api::CommandResult submit(api::CommandBody body, Core* core = nullptr) {
    api::CommandResult out;
    (core ? core : core_.get())
        ->submit(admin_, api::Command{"req-1", "tester", std::move(body)},
                 [&out](api::CommandResult r) { out = std::move(r); });
    return out;
  }
  api::CommandResult write(api::ConfigOp op, const std::string& key, std::string value,
                           bool secret = false) {
    api::ConfigWrite w;
    w.op = op;
    w.key = key;
    w.value = std::move(value);
    w.secret = secret;
    return submit(api::WriteConfigs{"app", {std::move(w)}, false});
  }
  std::string stored(const std::string& key) {
    std::string out;
    index_.read_namespace("app", [&](const cache::NamespaceEntry& e) {
      auto it = e.configs.find(key);
      if (it != e.configs.end()) out = it->second.value;
    });
    return out;
  }

  // The caller's grants: read, or read and reveal; `reveal` is what the request asks.
  api::Principal reader(bool may_reveal, bool asks = true) const {
    std::vector<api::Grant> grants{{"app", "read"}};
    if (may_reveal) grants.push_back({"app", "reveal"});
    auto p = api::Principal::with_grants("alice", grants);
    p.reveal = asks;
    return p;
  }

  const api::Principal admin_ = api::Principal::unrestricted("tester");
  cairn::test::TempDir dir_{"secrets_test"};
  std::unique_ptr<store::Store> store_;
  cache::Index index_;
  std::unique_ptr<ConfigStateMachine> sm_;
  std::unique_ptr<InlineReplicator> replicator_;
  std::unique_ptr<Core> core_;
  std::vector<std::string> reveals_;
};

TEST_F(SecretsTest, ASecretIsStoredSealedAndMaskedWithoutReveal) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "api_key", std::string("\"") + kPlain + "\"", true)
                  .ok());
  EXPECT_TRUE(stored("api_key").starts_with(secrets::sealed_prefix("k1")));
  // Every byte of the database file and its WAL.
  std::string bytes = file_bytes(dir_.file("cairn.db")) + file_bytes(dir_.file("cairn.db-wal"));
  EXPECT_EQ(bytes.find(kPlain), std::string::npos);
  EXPECT_NE(bytes.find("$sealed"), std::string::npos);

  auto masked = core_->get_config(reader(false), GetConfig{"app", "api_key", {}, {}});
  ASSERT_TRUE(masked.ok());
  EXPECT_EQ(masked->value, "\"******\"");
  EXPECT_TRUE(masked->secret);
  // Holding reveal but not asking: masked too (the native API's default).
  auto not_asked = core_->get_config(reader(true, false), GetConfig{"app", "api_key", {}, {}});
  EXPECT_EQ(not_asked->value, "\"******\"");
  EXPECT_TRUE(reveals_.empty());

  auto plain = core_->get_config(reader(true), GetConfig{"app", "api_key", {}, {}});
  ASSERT_TRUE(plain.ok()) << plain.error().details;
  EXPECT_EQ(plain->value, std::string("\"") + kPlain + "\"");
  EXPECT_TRUE(plain->secret);
  ASSERT_EQ(reveals_.size(), 1u);
  EXPECT_EQ(reveals_[0], "alice app/api_key@1");

  // Every other read carrying the value.
  auto batch = core_->get_keys(reader(false), "app", {"api_key"});
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->configs[0].value, "\"******\"");
  EXPECT_TRUE(batch->configs[0].secret);
  auto ns = core_->get_namespace(reader(false), "app", std::nullopt);
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->configs[0].second, "\"******\"");
  EXPECT_EQ(ns->secret_keys, std::vector<std::string>{"api_key"});
  auto range = core_->get_range(reader(false), "app", "", true);
  EXPECT_EQ(range->items[0].value, "\"******\"");
  auto versions = core_->versions(reader(false), "app", "api_key", {1, 20});
  EXPECT_EQ(versions->items[0].value, "\"******\"");
  EXPECT_TRUE(versions->items[0].secret);
  auto history = core_->history(reader(false), "app", "api_key", {1, 20});
  EXPECT_EQ(history->items[0].new_value, "\"******\"");
  EXPECT_TRUE(history->items[0].secret);
  auto list = core_->list_configs(reader(false), store::ConfigFilter{"app", "", {}}, {1, 20});
  EXPECT_EQ(list->items[0].value, "\"******\"");
  auto history_plain = core_->history(reader(true), "app", "api_key", {1, 20});
  EXPECT_EQ(history_plain->items[0].new_value, std::string("\"") + kPlain + "\"");
}

TEST_F(SecretsTest, PatternsMakeKeysSecretAndSecretNessStays) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "db.password", "\"p1\"").ok());
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "db.user", "\"u\"").ok());
  EXPECT_TRUE(secrets::looks_sealed(stored("db.password")));
  EXPECT_EQ(stored("db.user"), "\"u\"");
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "token", "\"t1\"", true).ok());
  // An update without `secret` keeps the key secret.
  ASSERT_TRUE(write(api::ConfigOp::kUpdate, "token", "\"t2\"").ok());
  EXPECT_TRUE(secrets::looks_sealed(stored("token")));
  auto v = core_->get_config(reader(true), GetConfig{"app", "token", {}, {}});
  EXPECT_EQ(v->value, "\"t2\"");
  EXPECT_EQ(v->version, 2);
  // The same plaintext again writes nothing (no new version).
  auto again = write(api::ConfigOp::kUpdate, "token", "\"t2\"");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again.as<api::ConfigsWritten>()->changed());
  EXPECT_EQ(core_->get_config(reader(true), GetConfig{"app", "token", {}, {}})->version, 2);
}

TEST_F(SecretsTest, RollbackOpensTheTargetAndSealsItForTheNewVersion) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "token", "\"one\"", true).ok());
  ASSERT_TRUE(write(api::ConfigOp::kUpdate, "token", "\"two\"").ok());
  auto rolled = submit(api::RollbackConfig{"app", "token", 1, std::nullopt});
  ASSERT_TRUE(rolled.ok()) << rolled.details;
  auto v = core_->get_config(reader(true), GetConfig{"app", "token", {}, {}});
  ASSERT_TRUE(v.ok()) << v.error().details;
  EXPECT_EQ(v->value, "\"one\"");
  EXPECT_EQ(v->version, 3);
  EXPECT_EQ(secrets::decode_sealed(stored("token"))->version, 3);
}

TEST_F(SecretsTest, ReservedShapeAndMissingKeyringAreRefused) {
  auto reserved = write(api::ConfigOp::kCreate, "x", R"({"$sealed":"cairn1.k1.1.a.b.c"})");
  EXPECT_EQ(reserved.code, Errc::kValidation);
  auto none = make_core(nullptr);
  api::ConfigWrite w{api::ConfigOp::kCreate, "db.password", "\"p\"", {}, {}, {}, false};
  auto refused = submit(api::WriteConfigs{"app", {w}, false}, none.get());
  EXPECT_EQ(refused.code, Errc::kSecretUnavailable);
  // A plain write to a key that must be secret, bypassing the seal (as a stale leader's would),
  // is refused by apply with the marker that makes a leader seal again.
  api::CommandResult direct;
  replicator_->propose(api::Command{"r", "t", api::WriteConfigs{"app", {w}, false}},
                       [&](api::CommandResult r) { direct = std::move(r); });
  EXPECT_EQ(direct.code, Errc::kConflict);
  EXPECT_NE(direct.details.find(secrets::kResealMarker), std::string::npos);
}

TEST_F(SecretsTest, AValueSealedForAnotherVersionIsSealedAgain) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "token", "\"one\"", true).ok());
  auto keys = ring({{"k1", 'a'}}, "k1");
  // Sealed for version 5 while the key's next is 2: apply refuses it.
  auto sealed = *secrets::seal(*keys, "app", "token", 5, "\"x\"");
  api::ConfigWrite w{api::ConfigOp::kUpdate, "token", sealed, {}, {}, {}, false};
  api::CommandResult direct;
  replicator_->propose(api::Command{"r", "t", api::WriteConfigs{"app", {w}, false}},
                       [&](api::CommandResult r) { direct = std::move(r); });
  EXPECT_EQ(direct.code, Errc::kConflict);
  EXPECT_NE(direct.details.find(secrets::kResealMarker), std::string::npos);
}

TEST_F(SecretsTest, TamperedOrMovedValuesFailWithTheSecretCode) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "token", "\"one\"", true).ok());
  std::string text = stored("token");
  bool is_secret = false;
  // Moved to another key.
  auto moved = core_->present(reader(true), "app", "other", 1, text, &is_secret);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, Errc::kSecretUnavailable);
  EXPECT_EQ(moved.error().http_status(), 500);
  // A flipped ciphertext character.
  std::string bad = text;
  bad[bad.size() - 6] = bad[bad.size() - 6] == 'A' ? 'B' : 'A';
  auto tampered = core_->present(reader(true), "app", "token", 1, bad, &is_secret);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.error().code, Errc::kSecretUnavailable);
  // Without reveal the mask is answered: nothing is opened.
  EXPECT_EQ(*core_->present(reader(false), "app", "token", 1, bad, &is_secret), "\"******\"");
}

TEST_F(SecretsTest, RotationRewrapsEveryValueWithoutNewVersions) {
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(write(api::ConfigOp::kCreate, "k" + std::to_string(i) + ".password",
                      "\"v" + std::to_string(i) + "\"")
                    .ok());
  }
  ASSERT_TRUE(write(api::ConfigOp::kUpdate, "k0.password", "\"v0b\"").ok());
  ASSERT_TRUE(write(api::ConfigOp::kDelete, "k1.password", "").ok());
  const uint64_t revision = store_->revision();
  auto both = make_core(ring({{"k1", 'a'}, {"k2", 'b'}}, "k2"));
  auto before = both->secret_status(admin_);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->to_rewrap, 31);  // 30 creates and one update (history keeps the deleted)
  std::optional<Result<RewrapProgress, api::Error>> done;
  both->rewrap(admin_, 7, 100, [&](Result<RewrapProgress, api::Error> r) { done = std::move(r); });
  ASSERT_TRUE(done && done->ok()) << (done ? done->error().details : "no answer");
  EXPECT_EQ((*done)->remaining, 0);
  EXPECT_EQ((*done)->rewrapped, 31);
  EXPECT_EQ(store_->revision(), revision);  // no version, no revision moved
  // The old key can go: a node with only the new one opens everything, old versions too.
  ASSERT_TRUE(index_.load(*store_).ok());  // a restarted node's index
  auto only_new = make_core(ring({{"k2", 'b'}}, "k2"));
  auto status = only_new->secret_status(admin_);
  EXPECT_TRUE(status->missing_keys.empty());
  EXPECT_EQ(only_new->get_config(reader(true), GetConfig{"app", "k0.password", 1, {}})->value,
            "\"v0\"");
  EXPECT_EQ(only_new->get_config(reader(true), GetConfig{"app", "k0.password", {}, {}})->value,
            "\"v0b\"");
  EXPECT_EQ(only_new->get_config(reader(true), GetConfig{"app", "k1.password", 1, {}})->value,
            "\"v1\"");
  // A node still holding only the old key reports the new one missing.
  auto only_old = make_core(ring({{"k1", 'a'}}, "k1"));
  EXPECT_EQ(only_old->missing_secret_keys(), std::vector<std::string>{"k2"});
  auto refused = only_old->get_config(reader(true), GetConfig{"app", "k2.password", {}, {}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kSecretUnavailable);
}

TEST_F(SecretsTest, RevealIsImpliedByNothing) {
  auto admin = api::Principal::with_grants("root", {{"", "cluster-admin"}, {"*", "admin"}});
  EXPECT_FALSE(admin.may_reveal("app"));
  auto revealer = api::Principal::with_grants("r", {{"app*", "reveal"}});
  EXPECT_TRUE(revealer.may_reveal("app2"));
  EXPECT_FALSE(revealer.allows("app", api::Permission::kRead));
  EXPECT_FALSE(revealer.allows("app", api::Permission::kAdmin));
  EXPECT_TRUE(api::Principal::unrestricted().may_reveal("x"));
}

// A typed namespace (docs/schemas.md) checks a secret's plaintext on the leader, before it is
// sealed: apply sees only ciphertext.
TEST_F(SecretsTest, ASecretsPlaintextIsCheckedAgainstTheSchemaBeforeSealing) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "db.password", "\"short\"").ok());
  ASSERT_TRUE(write(api::ConfigOp::kUpdate, "db.password", "\"long-enough\"").ok());
  api::SetNamespaceSchema schema;
  schema.id = 1;
  schema.schemas_json = R"([{"keys":"*.password","schema":{"type":"string","minLength":8}}])";
  auto set = submit(schema);
  ASSERT_TRUE(set.ok()) << set.details;  // the sealed current value is not checked by apply

  auto refused = write(api::ConfigOp::kUpdate, "db.password", "\"tiny\"");
  EXPECT_EQ(refused.code, Errc::kValidation);
  EXPECT_EQ(refused.field, "value");
  EXPECT_NE(refused.extra.find("minLength"), std::string::npos) << refused.extra;
  EXPECT_EQ(refused.details.find("tiny"), std::string::npos) << "the plaintext leaks into the error";
  EXPECT_EQ(secrets::decode_sealed(stored("db.password"))->version, 2);

  api::ConfigWrite op;
  op.key = "x.password";
  op.value = "7";
  auto batch = submit(api::WriteConfigs{"app", {op}, true});
  EXPECT_EQ(batch.code, Errc::kValidation);
  EXPECT_EQ(batch.field, "operations");

  // Rolling back to the short version is refused, unless forced.
  auto rolled = submit(api::RollbackConfig{"app", "db.password", 1, std::nullopt});
  EXPECT_EQ(rolled.code, Errc::kValidation) << rolled.details;
  EXPECT_EQ(rolled.field, "target_version");
  api::RollbackConfig forced{"app", "db.password", 1, std::nullopt};
  forced.force = true;
  auto done = submit(forced);
  ASSERT_TRUE(done.ok()) << done.details;
  auto v = core_->get_config(reader(true), GetConfig{"app", "db.password", {}, {}});
  ASSERT_TRUE(v.ok()) << v.error().details;
  EXPECT_EQ(v->value, "\"short\"");
}

// A gray release holds its values in the clear until promoted, so secrets are not released gray
// (docs/releases.md).
TEST_F(SecretsTest, AGrayReleaseOfASecretIsRefused) {
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "db.password", "\"one-secret\"").ok());
  ASSERT_TRUE(write(api::ConfigOp::kCreate, "token", "\"two\"", true).ok());
  for (const char* key : {"db.password", "token", "new.password"}) {
    api::StartRelease start;
    start.id = std::string("r-") + (key[0] == 'd' ? "a" : key[0] == 't' ? "b" : "c");
    start.ns = "app";
    api::ReleaseChange change;
    change.key = key;
    change.value = "\"gray\"";
    start.changes = {change};
    start.spec = R"({"target":{"percent":50}})";
    auto r = submit(start);
    EXPECT_EQ(r.code, Errc::kValidation) << key << ": " << r.details;
    EXPECT_NE(r.details.find("secret"), std::string::npos) << r.details;
  }
}

}  // namespace
}  // namespace cairn::core
