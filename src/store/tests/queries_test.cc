#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <thread>

#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

using api::Errc;

class QueriesTest : public StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    ok(ns_create("b-ns"));
    ok(ns_create("a-ns"));
    ok(writes("b-ns", {op_create("k1", "1"), op_create("a_b", "2"), op_create("a.b", "3"),
                       op_create("axb", "4")},
              true));
    ok(writes("a-ns", {op_create("z", "5"), op_create("k1", "6")}, true));
  }
};

// Every config write asks whether a live gray release holds its keys; that lookup must be an
// index search, not a scan of every release the namespace (or any namespace) ever had.
TEST_F(QueriesTest, TheLiveReleaseLookupOfEveryWriteIsAnIndexSearch) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT id FROM gray_release WHERE "
                               "namespace_id = ? AND state IN ('active', 'paused', 'halted') "
                               "ORDER BY seq DESC LIMIT 1",
                               -1, &s, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(s) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
    plan += "\n";
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  EXPECT_NE(plan.find("USING INDEX idx_gray_release_live"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN gray_release"), std::string::npos) << plan;
}

TEST_F(QueriesTest, ListConfigsOrderAndPagination) {
  auto all = store_->list_configs({}, {1, 4});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 6);
  ASSERT_EQ(all->items.size(), 4u);
  EXPECT_EQ(all->items[0].ns, "a-ns");
  EXPECT_EQ(all->items[0].key, "k1");
  EXPECT_EQ(all->items[1].key, "z");
  EXPECT_EQ(all->items[2].ns, "b-ns");
  EXPECT_EQ(all->items[2].key, "a.b");
  auto page2 = store_->list_configs({}, {2, 4});
  EXPECT_EQ(page2->items.size(), 2u);
  EXPECT_EQ(page2->total, 6);
  auto far = store_->list_configs({}, {1000000, 1000});
  EXPECT_TRUE(far->items.empty());
  EXPECT_EQ(store_->list_configs({}, {0, 20}).error().code, Errc::kValidation);
  EXPECT_EQ(store_->list_configs({}, {1, 1001}).error().code, Errc::kValidation);
}

TEST_F(QueriesTest, FiltersAreLiteral) {
  auto r = store_->list_configs({"b-ns", "a_b"}, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->total, 1);
  EXPECT_EQ(r->items[0].key, "a_b");
  // Keys cannot hold '%', but the filter may: it matches nothing rather than everything.
  EXPECT_EQ(store_->list_configs({std::nullopt, "%"}, {})->total, 0);
  EXPECT_EQ(store_->list_configs({std::nullopt, "a%b"}, {})->total, 0);
  r = store_->list_configs({std::nullopt, "k1"}, {});
  EXPECT_EQ(r->total, 2);
  EXPECT_EQ(store_->list_configs({"missing", ""}, {}).error().code, Errc::kNamespaceNotFound);
  auto ns = store_->list_namespaces({"-", std::nullopt}, {});
  ASSERT_EQ(ns->total, 2);
  EXPECT_EQ(ns->items[0].name, "a-ns");
  EXPECT_EQ(ns->items[0].config_count, 2);
  EXPECT_EQ(ns->items[1].config_count, 4);
  EXPECT_EQ(store_->list_namespaces({"_", std::nullopt}, {})->total, 0);
  EXPECT_EQ(store_->list_namespaces({"", 0}, {})->total, 0);
  EXPECT_EQ(store_->list_namespaces({"", 1}, {})->total, 2);
}

TEST_F(QueriesTest, PerKeyReadErrors) {
  EXPECT_EQ(store_->history("nope", "k1", {}).error().code, Errc::kNamespaceNotFound);
  EXPECT_EQ(store_->history("a-ns", "never", {}).error().code, Errc::kConfigNotFound);
  EXPECT_EQ(store_->versions("a-ns", "never", {}).error().code, Errc::kConfigNotFound);
  EXPECT_EQ(store_->get_version("a-ns", "never", 1).error().code, Errc::kConfigNotFound);
  EXPECT_EQ(store_->get_version("a-ns", "k1", 2).error().code, Errc::kNotFound);
  auto v = store_->get_version("a-ns", "k1", 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, "6");
  EXPECT_EQ(v->created_by, "bob");
}

TEST_F(QueriesTest, LoadAllAndReadCounter) {
  uint64_t before = store_->read_queries();
  std::vector<std::string> seen;
  auto r = store_->load_all([&](const NamespaceRow& n) { seen.push_back("ns:" + n.name); },
                            [&](const ConfigRow& c) { seen.push_back(c.ns + "/" + c.key); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"ns:b-ns", "ns:a-ns", "b-ns/a.b", "b-ns/a_b",
                                            "b-ns/axb", "b-ns/k1", "a-ns/k1", "a-ns/z"}));
  EXPECT_TRUE(store_->ping().ok());
  EXPECT_EQ(store_->read_queries(), before + 2);
}

TEST_F(QueriesTest, ConcurrentReadsDuringApplies) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        // A batch writes two keys at once: a read must see both or neither.
        auto page = store_->list_configs({"a-ns", "pair"}, {1, 1000});
        if (!page.ok() || page->total % 2 != 0 ||
            page->total != static_cast<int64_t>(page->items.size())) {
          ++failures;
        }
        if (!store_->list_namespaces({}, {}).ok()) ++failures;
        ++reads;
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    ok(writes("a-ns", {op_create("pair" + n + ".x", n), op_create("pair" + n + ".y", n)}, true));
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace cairn::store::testing
