#include "store/file_check.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"

namespace cairn::store {
namespace {

class FileCheckTest : public ::testing::Test {
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

  cairn::test::TempDir dir_{"cairn-file-check"};
};

TEST_F(FileCheckTest, ReadsAndWritesWithoutChangingAnything) {
  std::string path = make_db();
  auto r = check_database_file(path);
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

TEST_F(FileCheckTest, FailsOnMissingOrBrokenFiles) {
  EXPECT_FALSE(check_database_file(dir_.file("absent.db")).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_.file("absent.db")));  // never created
  std::string garbage = dir_.file("garbage.db");
  std::ofstream(garbage) << std::string(8192, 'x');
  auto r = check_database_file(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("read"), std::string::npos) << r.error();
}

TEST_F(FileCheckTest, FailsWhileAnotherWriterHoldsTheLock) {
  std::string path = make_db();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = check_database_file(path, /*busy_ms=*/10);
  EXPECT_FALSE(r.ok());
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_TRUE(check_database_file(path).ok());
}

}  // namespace
}  // namespace cairn::store
