#include "api/outcome.h"

#include <gtest/gtest.h>

namespace cairn::api {
namespace {

CommandResult ok_with(Outcome outcome) {
  CommandResult r;
  r.revision = 7;
  r.outcome = std::move(outcome);
  return r;
}

/// Every alternative survives the in-process codec with every member.
TEST(OutcomeCodec, RoundTripsEveryAlternative) {
  std::vector<Outcome> outcomes = {
      NamespaceCreated{{1, "svc", "d", 1, 1000, 2000}},
      NamespaceUpdated{{1, "svc", "d", 0, 1000, 3000}, true, {5, 6, true, false}, false},
      NamespaceDeleted{3, "old"},
      ConfigsWritten{"svc", true, 9, {{ConfigOp::kUpdate, "a", 4, 3, 2, false},
                                      {ConfigOp::kDelete, "b", 5, 1, 1, true}}},
      ConfigRolledBack{"svc", "k", 4, 3},
      MemberAddressSet{2, true},
      VersionTagged{"svc", "k", 2, "stable", false, {"a", "stable"}},
      VersionsCleaned{false, {{"svc", 30, 7, 1}}, {{"svc", "k", 1, 5000}}, "archive/x", true, 2},
      TokenCreated{"t1", "ci", {{"svc", "read"}}, 1000, 0},
      TokenRevoked{"t1", 4000},
      AuditAppended{3},
  };
  for (const auto& o : outcomes) {
    CommandResult back = decode_result(encode_result(ok_with(o)));
    ASSERT_TRUE(back.ok()) << back.details;
    EXPECT_EQ(back.revision, 7u);
    EXPECT_EQ(back.outcome.index(), o.index());
    EXPECT_EQ(outcome_data_json(back.outcome), outcome_data_json(o));
    EXPECT_EQ(outcome_message(back.outcome), outcome_message(o));
  }
}

TEST(OutcomeCodec, CarriesFailures) {
  CommandResult r = CommandResult::failure(make_error(Errc::kConflict, "busy", "name"));
  CommandResult back = decode_result(encode_result(r));
  EXPECT_EQ(back.code, Errc::kConflict);
  EXPECT_EQ(back.details, "busy");
  EXPECT_EQ(back.field, "name");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(back.outcome));
}

TEST(OutcomeCodec, GarbageIsAnInternalErrorNotACrash) {
  for (std::string bad : {"", "{", "[]", R"({"c":0})", R"({"c":0,"d":"","f":"","r":1,"t":99})",
                          R"({"c":0,"d":"","f":"","r":1,"t":4,"o":{"ns":1}})"}) {
    CommandResult r = decode_result(bad);
    EXPECT_EQ(r.code, Errc::kInternal) << bad;
  }
}

/// The native rendering: the seed's success messages and data shapes (seed §3.8).
TEST(OutcomeRendering, SingleWritesAndBatches) {
  ConfigsWritten created{"svc", false, 2, {{ConfigOp::kCreate, "db.host", 1, 1, 0, true}}};
  EXPECT_EQ(outcome_message(created), "配置创建成功");
  EXPECT_EQ(outcome_data_json(created), R"({"id":1,"namespace":"svc","key":"db.host","version":1})");
  ConfigsWritten deleted{"svc", false, 3, {{ConfigOp::kDelete, "db.host", 1, 2, 2, true}}};
  EXPECT_EQ(outcome_message(deleted), "配置删除成功");
  EXPECT_EQ(outcome_data_json(deleted), R"({"namespace":"svc","key":"db.host","version":2})");
  ConfigsWritten batch{"svc", true, 3, {{ConfigOp::kCreate, "a", 1, 1, 0, true}}};
  EXPECT_EQ(outcome_message(batch), "批量操作成功");
  EXPECT_EQ(outcome_data_json(batch),
            R"({"namespace":"svc","revision":3,"results":[{"op":"create","key":"a","version":1}]})");
  EXPECT_EQ(outcome_message(VersionTagged{"s", "k", 1, "t", true, {}}), "标签删除成功");
  EXPECT_EQ(outcome_message(VersionsCleaned{true, {}, {}, "", false, 0}), "版本清理预览");
  EXPECT_EQ(outcome_message(AuditAppended{1}), "success");
}

TEST(OutcomeRendering, TokenExpiryIsNullWhenNever) {
  TokenCreated t{"t1", "ci", {{"svc-*", "write"}}, 1705734400000, 0};
  EXPECT_EQ(outcome_data_json(t),
            R"({"id":"t1","name":"ci","grants":[{"namespace":"svc-*","permission":"write"}],)"
            R"("created_at":"2024-01-20T07:06:40Z","expires_at":null})");
}

}  // namespace
}  // namespace cairn::api
