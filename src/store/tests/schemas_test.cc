// Typed namespaces in the state machine (docs/schemas.md): every write path checks values
// against the namespace's schemas inside apply, refusals change nothing but applied_index, and
// schema changes are checked against current data.

#include <gtest/gtest.h>

#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

using api::Errc;

const char* kSchemas =
    R"([{"keys":"db.*","schema":{"type":"object","required":["port"],"properties":{"port":{"type":"integer","maximum":65535}}}}])";

class SchemasTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    ok(ns_create("svc"));
    ok(set(kSchemas, false, false));
  }
  api::Command set(const std::string& schemas, bool strict, bool force) {
    return api::Command{"r", "alice", api::SetNamespaceSchema{1, schemas, strict, force}};
  }
  std::string violations(const Rendered& r) { return r.extra; }
};

TEST_F(SchemasTest, WritesAreCheckedAndRefusalsListEveryViolation) {
  ok(write("svc", op_create("db.a", R"({"port":1})")));
  auto r = err(write("svc", op_create("db.b", R"({"port":"1"})")), Errc::kValidation);
  EXPECT_EQ(r.field, "value");
  EXPECT_EQ(violations(r),
            R"({"violations":[{"key":"db.b","path":"/port","rule":"type","message":"must be of type integer, not string"}]})");
  r = err(writes("svc", {op_create("db.c", "{}"), op_update("db.a", R"({"port":70000})"),
                         op_create("free", "1")},
                 true),
          Errc::kValidation);
  EXPECT_EQ(r.field, "operations");
  EXPECT_NE(violations(r).find(R"("key":"db.c","path":"","rule":"required")"), std::string::npos);
  EXPECT_NE(violations(r).find(R"("key":"db.a","path":"/port","rule":"maximum")"), std::string::npos);
  auto list = store_->list_configs({"svc", "", std::nullopt}, {});
  ASSERT_EQ(list->items.size(), 1u);  // nothing of the batch was written
  ok(write("svc", op_create("free", R"("anything")")));
}

TEST_F(SchemasTest, SchemaChangesAreCheckedAgainstDataAndVersioned) {
  ok(write("svc", op_create("db.a", R"({"port":80})")));
  const char* narrower =
      R"([{"keys":"db.*","schema":{"properties":{"port":{"minimum":1024}}}}])";
  auto r = err(set(narrower, false, false), Errc::kConflict);
  EXPECT_NE(violations(r).find(R"("key":"db.a","path":"/port","rule":"minimum")"), std::string::npos);
  auto row = store_->namespace_schema("svc");
  EXPECT_EQ(row->version, 1);
  r = ok(set(narrower, false, true));
  EXPECT_NE(r.data.find(R"("forced":true)"), std::string::npos);
  row = store_->namespace_schema("svc");
  EXPECT_EQ(row->version, 2);
  EXPECT_EQ(row->flagged, std::vector<std::string>{"db.a"});
  EXPECT_EQ(row->updated_by, "alice");
  auto list = store_->list_configs({"svc", "", std::nullopt}, {});
  EXPECT_TRUE(list->items.at(0).schema_violation);
  ok(write("svc", op_update("db.a", R"({"port":2000})")));
  EXPECT_TRUE(store_->namespace_schema("svc")->flagged.empty());
  auto history = store_->schema_history("svc");
  ASSERT_EQ(history->size(), 2u);
  EXPECT_TRUE(history->at(0).forced);
  EXPECT_FALSE(history->at(1).forced);
  // A bad schema is refused by apply too (a command not checked by a front-end).
  err(set(R"([{"keys":"a","schema":{"minimum":"x"}}])", false, false), Errc::kValidation);
  // Strict: uncovered keys are refused.
  ok(set(narrower, true, true));
  r = err(write("svc", op_create("other", "1")), Errc::kValidation);
  EXPECT_NE(violations(r).find(R"("rule":"strict")"), std::string::npos);
}

TEST_F(SchemasTest, RollbackChecksTheTargetUnlessForced) {
  ok(write("svc", op_create("db.a", R"({"port":1,"old":true})")));
  ok(write("svc", op_update("db.a", R"({"port":1,"tls":true})")));
  ok(set(R"([{"keys":"db.*","schema":{"required":["tls"]}}])", false, false));
  auto r = err(rollback("svc", "db.a", 1), Errc::kValidation);
  EXPECT_EQ(r.field, "target_version");
  auto forced = rollback("svc", "db.a", 1);
  std::get<api::RollbackConfig>(forced.body).force = true;
  ok(forced);
  EXPECT_EQ(store_->namespace_schema("svc")->flagged, std::vector<std::string>{"db.a"});
}

TEST_F(SchemasTest, SurvivesReopen) {
  reopen();
  err(write("svc", op_create("db.b", R"({"port":"1"})")), Errc::kValidation);
  EXPECT_EQ(store_->namespace_schema("svc")->version, 1);
}

}  // namespace
}  // namespace cairn::store::testing
