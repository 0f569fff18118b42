// Tokens and the audit log in the replicated tables (docs/security.md).

#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

using api::Errc;

api::Command token(const std::string& id, const std::string& name, char hash_fill,
                   std::vector<api::Grant> grants = {{"a-*", "read"}}, int64_t expires = 0) {
  return api::Command{
      "req-" + id, "root",
      api::CreateToken{id, name, std::string(64, hash_fill), std::move(grants), expires},
      "10.0.0.9"};
}

class AuthStoreTest : public StoreFixture {};

TEST_F(AuthStoreTest, TokensAreStoredWithTheirGrantsAndRevoked) {
  uint64_t generation = store_->auth_generation();
  auto created = ok(token("t1", "svc-a", 'a', {{"a-*", "read"}, {"", "cluster-admin"}}, 99));
  EXPECT_EQ(created.message, "令牌创建成功");
  EXPECT_GT(store_->auth_generation(), generation);
  uint64_t revision = store_->revision();
  err(token("t1", "other", 'b'), Errc::kConflict);  // same id
  err(token("t2", "other", 'a'), Errc::kConflict);  // same secret hash
  err(token("t3", "", 'c'), Errc::kValidation);     // no name
  EXPECT_EQ(store_->revision(), revision) << "token commands are no config changes";

  auto tokens = store_->tokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  const TokenRow& t = (*tokens)[0];
  EXPECT_EQ(t.name, "svc-a");
  EXPECT_EQ(t.secret_hash, std::string(64, 'a'));
  EXPECT_EQ(t.created_by, "root");
  EXPECT_EQ(t.expires_at_ms, 99);
  ASSERT_EQ(t.grants.size(), 2u);
  EXPECT_EQ(t.grants[1].permission, "cluster-admin");
  EXPECT_EQ(t.revoked_at_ms, 0);

  generation = store_->auth_generation();
  ok(api::Command{"r", "root", api::RevokeToken{"t1"}});
  EXPECT_GT(store_->auth_generation(), generation);
  err(api::Command{"r", "root", api::RevokeToken{"t1"}}, Errc::kNotFound);
  err(api::Command{"r", "root", api::RevokeToken{"nope"}}, Errc::kNotFound);
  EXPECT_GT((*store_->tokens())[0].revoked_at_ms, 0);
}

TEST_F(AuthStoreTest, EveryAdminCommandIsAuditedWithItsResult) {
  api::Command create = ns_create("a-svc");
  create.operator_name = "alice";
  create.client_ip = "10.1.1.1";
  ok(create);
  ok(write("a-svc", op_create("k", "1")));
  err(write("a-svc", op_create("k", "2")), Errc::kKeyExists);
  ok(token("t1", "svc-a", 'a'));
  ok(api::Command{"r", "node1",
                  api::AppendAudit{{{5, "svc-a", "10.2.2.2", "GET /api/v1/config/get", "b-svc", "k",
                                     40301, "denied-1"}}}});

  auto all = store_->audit({}, {1, 100});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->total, 5);
  std::vector<std::pair<std::string, int64_t>> seen;
  for (const auto& row : all->items) seen.emplace_back(row.entry.action, row.entry.code);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{
                      {"GET /api/v1/config/get", 40301},
                      {"token.create", 0},
                      {"config.create", 40902},
                      {"config.create", 0},
                      {"namespace.create", 0}}));  // newest first
  const auto& first = all->items.back().entry;
  EXPECT_EQ(first.actor, "alice");
  EXPECT_EQ(first.client_ip, "10.1.1.1");
  EXPECT_EQ(first.ns, "a-svc");
  EXPECT_EQ(first.at_ms, now_ms_ - 4 * 1000) << "stamped with the entry's time";

  AuditFilter by_ns;
  by_ns.ns = "a-svc";
  EXPECT_EQ(store_->audit(by_ns, {1, 100})->total, 3);
  AuditFilter by_action;
  by_action.action = "config.*";
  EXPECT_EQ(store_->audit(by_action, {1, 100})->total, 2);
  AuditFilter by_actor;
  by_actor.actor = "svc-a";
  by_actor.to_ms = 6;
  EXPECT_EQ(store_->audit(by_actor, {1, 100})->total, 1);
  auto page2 = store_->audit({}, {2, 2});
  ASSERT_EQ(page2->items.size(), 2u);
  EXPECT_EQ(page2->items[0].entry.action, "config.create");
}

TEST_F(AuthStoreTest, TheScheduledCleanupPrunesOldAuditRows) {
  ok(ns_create("a"));
  const int64_t day = 86'400'000;
  ok(api::Command{"r", "n",
                  api::AppendAudit{{{now_ms_ - 3 * day, "x", "", "GET /a", "", "", 40101, "old"},
                                    {now_ms_ - day / 2, "x", "", "GET /a", "", "", 40101, "new"}}}});
  ASSERT_EQ(store_->audit({}, {1, 100})->total, 3);  // namespace.create and the two denials

  api::CleanupVersions dry;
  dry.dry_run = true;
  dry.audit_keep_days = 1;
  auto preview = ok(api::Command{"r", "retention", dry});
  EXPECT_NE(preview.data.find(R"("audit_removed":1)"), std::string::npos) << preview.data;
  EXPECT_EQ(store_->audit({}, {1, 100})->total, 4) << "a dry run removes nothing (and is audited)";

  api::CleanupVersions real;
  real.audit_keep_days = 1;
  ok(api::Command{"r", "retention", real});
  auto rows = store_->audit({}, {1, 100});
  ASSERT_EQ(rows->total, 4);
  for (const auto& row : rows->items) EXPECT_NE(row.entry.request_id, "old");

  api::CleanupVersions bad;
  bad.audit_keep_days = 0;
  err(api::Command{"r", "retention", bad}, Errc::kValidation);
}

TEST_F(AuthStoreTest, ListsShowOnlyVisibleNamespaces) {
  for (const char* ns : {"a-one", "a-two", "b-one", "a_x"}) {
    ok(ns_create(ns));
    ok(write(ns, op_create("k", "1")));
  }
  NamespaceFilter filter;
  filter.visible = std::vector<std::string>{"a-*", "b-one"};
  auto page = store_->list_namespaces(filter, {1, 100});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 3);
  filter.visible = std::vector<std::string>{};
  EXPECT_EQ(store_->list_namespaces(filter, {1, 100})->total, 0);
  filter.visible = std::vector<std::string>{"*"};
  EXPECT_EQ(store_->list_namespaces(filter, {1, 100})->total, 4);
  filter.visible = std::vector<std::string>{"a_*"};  // '_' is no wildcard
  EXPECT_EQ(store_->list_namespaces(filter, {1, 100})->total, 1);

  ConfigFilter configs;
  configs.visible = std::vector<std::string>{"b-*"};
  auto listed = store_->list_configs(configs, {1, 100});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->total, 1);
  EXPECT_EQ(listed->items[0].ns, "b-one");
}

}  // namespace
}  // namespace cairn::store::testing
