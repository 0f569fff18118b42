// The "cairn" VFS (store/wal_vfs.h): a transaction's WAL frames reach the file in one write, and
// reach it before the commit is visible — to another connection, to a connection of SQLite's
// own VFS, and to the next process after a crash.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "store/sqlite.h"
#include "store/tests/store_test_util.h"
#include "store/wal_vfs.h"

namespace cairn::store::testing {
namespace {

constexpr int kFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

std::unique_ptr<Conn> open_conn(const std::string& path) {
  auto c = Conn::open(path, kFlags);
  EXPECT_TRUE(c.ok());
  return c.ok() ? std::move(*c) : nullptr;
}

int64_t count_rows(sqlite3* db) {
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, nullptr), SQLITE_OK);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/// A connection through SQLite's own default VFS, which knows nothing of gathered bytes.
sqlite3* open_plain(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
  return db;
}

/// Through SQLite's own VFS, with this test's connections closed: `rows` rows, and a file that
/// passes integrity_check.
void expect_file_holds(const std::string& path, int64_t rows) {
  sqlite3* plain = open_plain(path);
  EXPECT_EQ(count_rows(plain), rows);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(plain, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
  sqlite3_finalize(st);
  sqlite3_close(plain);
}

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(wal_vfs_name(), nullptr);
    path_ = dir_.path() + "/t.db";
    db_ = open_conn(path_);
    ASSERT_TRUE(db_->exec("PRAGMA journal_mode = WAL"));
    ASSERT_TRUE(db_->exec("PRAGMA synchronous = NORMAL"));
    ASSERT_TRUE(db_->exec("PRAGMA wal_autocheckpoint = 0"));
    ASSERT_TRUE(db_->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"));
    ASSERT_TRUE(db_->exec("CREATE INDEX t_v ON t(v)"));
  }

  /// Inserts `n` rows of ~1 KB in one transaction.
  void insert(int n, bool commit = true) {
    ASSERT_TRUE(db_->exec("BEGIN IMMEDIATE"));
    for (int i = 0; i < n; ++i) {
      auto st = db_->prepare("INSERT INTO t(v) VALUES (?)");
      st.bind(std::to_string(next_++) + std::string(1000, 'x'));
      st.run();
    }
    if (commit) {
      ASSERT_TRUE(db_->exec("COMMIT"));
    }
    ASSERT_FALSE(db_->failed()) << db_->take_error().value_or("");
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<Conn> db_;
  int next_ = 0;
};

TEST_F(WalVfsTest, ATransactionsFramesReachTheFileInOneWrite) {
  insert(1);
  const auto before = wal_vfs_counters();
  insert(200);  // ~100 table and index pages: ~200 writes through SQLite's own VFS
  const auto after = wal_vfs_counters();
  EXPECT_LE(after.writes - before.writes, 2u);
  EXPECT_GE(after.bytes - before.bytes, 100u * (4096 + 24));
}

TEST_F(WalVfsTest, ACommitIsInTheFileBeforeAnotherConnectionCanSeeIt) {
  auto reader = open_conn(path_);
  sqlite3* plain = open_plain(path_);
  for (int round = 0; round < 20; ++round) {
    insert(1 + round * 7);
    EXPECT_EQ(count_rows(reader->handle()), next_);
    EXPECT_EQ(count_rows(plain), next_);
  }
  // A transaction not committed yet is seen by no one, gathered or not.
  insert(50, /*commit=*/false);
  EXPECT_EQ(count_rows(plain), next_ - 50);
  ASSERT_TRUE(db_->exec("ROLLBACK"));
  sqlite3_close(plain);
}

TEST_F(WalVfsTest, ACommittedTransactionSurvivesTheProcessDyingRightAfter) {
  insert(10);
  const int committed = next_ + 300;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child commits 300 rows, starts another transaction it never commits, and dies
    // without closing anything: no destructor, no checkpoint, no flush at close.
    insert(300);
    insert(100, /*commit=*/false);
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  db_.reset();  // this process's connection (its view predates the child's commit)
  expect_file_holds(path_, committed);
}

// A transaction larger than the page cache writes frames before its commit (a spill); a page
// written again after that is overwritten in place, and at commit SQLite rewrites the frame
// headers' checksums after the commit frame (walRewriteChecksums). The rewritten commit header
// must be in the file once the commit is published (at the barrier behind which SQLite
// publishes it), or recovery drops the transaction.
TEST_F(WalVfsTest, ACommitWhoseChecksumsSQLiteRewroteSurvivesTheProcessDying) {
  insert(10);
  const int committed = next_ + 400;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!db_->exec("PRAGMA cache_size = 20")) std::_Exit(3);
    if (!db_->exec("BEGIN IMMEDIATE")) std::_Exit(4);
    for (int i = 0; i < 400; ++i) {
      auto st = db_->prepare("INSERT INTO t(v) VALUES (?)");
      st.bind(std::to_string(next_++) + std::string(1000, 'y'));
      st.run();
    }
    // Pages spilled above are changed again: overwritten in place in the WAL.
    if (!db_->exec("UPDATE t SET v = 'z' || v WHERE id % 3 = 0")) std::_Exit(5);
    if (!db_->exec("COMMIT") || db_->failed()) std::_Exit(6);
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  db_.reset();
  sqlite3* plain = open_plain(path_);
  EXPECT_EQ(count_rows(plain), committed);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(plain, "SELECT count(*) FROM t WHERE v LIKE 'z%'", -1, &st,
                               nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), committed / 3);
  sqlite3_finalize(st);
  sqlite3_close(plain);
}

TEST_F(WalVfsTest, TheCheckpointCopiesRecentFramesFromMemory) {
  insert(300);
  const auto before = wal_vfs_counters();
  ASSERT_TRUE(db_->exec("PRAGMA wal_checkpoint(PASSIVE)"));
  const auto after = wal_vfs_counters();
  EXPECT_GE(after.cached_reads - before.cached_reads, 100u);  // ~300 pages copied
  // What the checkpoint copied is what the file holds: with the WAL gone (the last connection
  // checkpoints and deletes it), SQLite's own VFS reads every row from the database file.
  db_.reset();
  expect_file_holds(path_, next_);
}

// Two readers and a checkpointer on connections of their own while the writer commits: every
// read sees whole transactions only, rows intact (read through the window of recent bytes or the
// file), and the file ends with every row.
TEST_F(WalVfsTest, ReadersAndACheckpointBesideTheWriterSeeWholeCommitsOnly) {
  constexpr int kPerCommit = 20;
  constexpr int kCommits = 150;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  const uint64_t cached_before = wal_vfs_counters().cached_reads;
  auto reader = [&] {
    auto c = open_conn(path_);
    int64_t last = 0;
    while (!done.load()) {
      // A row is bad unless v is its id - 1 followed by 1,000 'x' (insert() writes that).
      auto st = c->prepare(
          "SELECT count(*), total(length(v) <> length(id - 1) + 1000 OR "
          "substr(v, 1, length(id - 1)) <> CAST(id - 1 AS TEXT) OR "
          "rtrim(substr(v, length(id - 1) + 1), 'x') <> '') FROM t");
      if (!st.step()) {
        failures.fetch_add(1);
        continue;
      }
      const int64_t n = st.i64(0);
      const int64_t bad = st.i64(1);
      if (n % kPerCommit != 0 || n < last || bad != 0) failures.fetch_add(1);
      last = n;
      reads.fetch_add(1);
    }
  };
  auto checkpointer = [&] {
    auto c = open_conn(path_);
    while (!done.load()) {
      c->exec("PRAGMA wal_checkpoint(PASSIVE)");
      c->clear_error();
      std::this_thread::yield();
    }
  };
  std::thread r1(reader);
  std::thread r2(reader);
  std::thread ck(checkpointer);
  for (int i = 0; i < kCommits; ++i) insert(kPerCommit);
  done = true;
  r1.join();
  r2.join();
  ck.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GT(wal_vfs_counters().cached_reads, cached_before);
  db_.reset();
  expect_file_holds(path_, kPerCommit * kCommits);
}

TEST_F(WalVfsTest, TheWalRestartsAndShrinksWithEveryRowKept) {
  auto reader = open_conn(path_);
  for (int round = 0; round < 30; ++round) {
    insert(40);
    if (round % 3 == 0) {
      ASSERT_TRUE(db_->exec("PRAGMA wal_checkpoint(RESTART)"));
    }
    if (round % 7 == 0) {
      ASSERT_TRUE(db_->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
    }
    EXPECT_EQ(count_rows(reader->handle()), next_);
  }
  reader.reset();
  db_.reset();
  expect_file_holds(path_, next_);
}

}  // namespace
}  // namespace cairn::store::testing
