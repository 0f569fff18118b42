// Groups of applies in one transaction (Store::begin_group / commit_group): invisible until
// committed, and all or nothing when the commit fails.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

class GroupTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    ok(ns_create("svc"));
  }
  size_t visible_configs() {
    ConfigFilter f;
    f.ns = "svc";
    auto page = store_->list_configs(f, {});
    return page.ok() ? page->items.size() : 0;
  }
};

TEST_F(GroupTest, InvisibleUntilCommittedThenAllAtOnce) {
  const uint64_t applied = store_->applied_index();
  const uint64_t revision = store_->revision();
  store_->begin_group();
  ok(write("svc", op_create("a", "1")));
  err(write("svc", op_create("a", "2")), api::Errc::kKeyExists);  // sees the group's own write
  ok(write("svc", op_create("b", "2")));
  store_->mark_applied(++index_);
  EXPECT_EQ(store_->written_index(), index_);
  EXPECT_EQ(store_->applied_index(), applied);  // readers see the state before the group
  EXPECT_EQ(store_->revision(), revision);
  EXPECT_EQ(visible_configs(), 0u);
  ASSERT_TRUE(store_->commit_group());
  EXPECT_EQ(store_->applied_index(), index_);
  EXPECT_EQ(store_->revision(), revision + 2);
  EXPECT_EQ(visible_configs(), 2u);
  reopen();
  EXPECT_EQ(store_->applied_index(), index_);
  EXPECT_EQ(visible_configs(), 2u);
}

TEST_F(GroupTest, ACommitThatFailsLeavesNothingAndTheEntriesApplyAgain) {
  const uint64_t applied = store_->applied_index();
  const uint64_t revision = store_->revision();
  store_->begin_group();
  ok(write("svc", op_create("a", "1")));
  ok(write("svc", op_create("b", "2")));
  // The file size limit makes every write to the database files fail, as a full disk would.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  const bool committed = store_->commit_group();
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  EXPECT_FALSE(committed);
  EXPECT_EQ(store_->applied_index(), applied);
  EXPECT_EQ(store_->written_index(), applied);
  EXPECT_EQ(store_->revision(), revision);
  EXPECT_EQ(visible_configs(), 0u);
  EXPECT_TRUE(store_->recent_write_failure(60'000).has_value());
  // Raft offers the same entries again.
  index_ = applied;
  store_->begin_group();
  ok(write("svc", op_create("a", "1")));
  ok(write("svc", op_create("b", "2")));
  ASSERT_TRUE(store_->commit_group());
  EXPECT_EQ(store_->applied_index(), applied + 2);
  EXPECT_EQ(store_->revision(), revision + 2);
  EXPECT_EQ(visible_configs(), 2u);
  EXPECT_FALSE(store_->recent_write_failure(60'000).has_value());
}

TEST_F(GroupTest, AFaultedStoreFailsEachEntryAndKeepsTheOthers) {
  const uint64_t applied = store_->applied_index();
  store_->begin_group();
  ok(write("svc", op_create("a", "1")));
  store_->set_fault("disk gone");
  Applied refused = run(write("svc", op_create("b", "2")));
  EXPECT_EQ(refused.result.code, api::Errc::kDatabase);
  store_->set_fault("");
  EXPECT_EQ(store_->written_index(), applied + 1);
  ASSERT_TRUE(store_->commit_group());
  EXPECT_EQ(store_->applied_index(), applied + 1);
  EXPECT_EQ(visible_configs(), 1u);
}

}  // namespace
}  // namespace cairn::store::testing
