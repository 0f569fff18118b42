#include "telemetry/health.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace cairn::telemetry {
namespace {

class HealthTest : public ::testing::Test {
 protected:
  std::string make_db() {
    std::string path = dir_.file("cairn.db");
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES(1);",
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
    return path;
  }

  cairn::test::TempDir dir_{"cairn-health"};
};

TEST_F(HealthTest, SqliteCheckReadsAndWritesWithoutChangingAnything) {
  std::string path = make_db();
  auto r = check_sqlite(path);
  ASSERT_TRUE(r.ok()) << r.error();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1);  // only t: the probe table was rolled back
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_F(HealthTest, SqliteCheckFailsOnMissingOrBrokenFiles) {
  EXPECT_FALSE(check_sqlite(dir_.file("absent.db")).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.file("absent.db")));  // never created
  std::string garbage = dir_.file("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'x');
  auto r = check_sqlite(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("read"), std::string::npos) << r.error();
}

TEST_F(HealthTest, SqliteCheckFailsWhileAnotherWriterHoldsTheLock) {
  std::string path = make_db();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = check_sqlite(path, /*busy_ms=*/10);
  EXPECT_FALSE(r.ok());
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_TRUE(check_sqlite(path).ok());
}

TEST(HealthChecker, FeedsTheGaugeAndKeepsResults) {
  Registry registry;
  auto& status = registry.gauge("health_check_status", "h", {"component"});
  HealthChecker checker(60'000, status);
  bool healthy = true;
  checker.add("database", [&]() -> Result<Ok, std::string> {
    if (healthy) return Ok{};
    return Unexpected{std::string("disk on fire")};
  });
  EXPECT_FALSE(checker.last("database"));
  checker.start();
  ASSERT_TRUE(checker.last("database"));
  EXPECT_TRUE(checker.last("database")->healthy);
  EXPECT_EQ(status.with({"database"}).value(), 1);
  healthy = false;
  checker.check_now();
  EXPECT_FALSE(checker.last("database")->healthy);
  EXPECT_EQ(checker.last("database")->error, "disk on fire");
  EXPECT_EQ(status.with({"database"}).value(), 0);
  checker.stop();
}

}  // namespace
}  // namespace cairn::telemetry
