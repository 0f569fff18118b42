// `cairn recover`: the damaged state is moved aside, never deleted; the new log keeps the term
// and vote; a running node's data directory is refused.

#include "server/recover.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "test_support.h"
#include "wal/file.h"
#include "wal/meta.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;
using ::cairn::test::TempDir;

void touch(const std::string& path, const std::string& text = "x") {
  std::ofstream(path) << text;
}

TEST(Recover, MovesTheReplicatedStateAsideAndKeepsTermAndVote) {
  TempDir t;
  const std::string d = t.path();
  fs::create_directories(d + "/wal");
  fs::create_directories(d + "/snap");
  wal::Meta meta;
  meta.generation = 3;
  meta.snap_index = 40;
  meta.snap_term = 6;
  meta.hs = raft::HardState{7, 2, 55};
  ASSERT_TRUE(wal::write_meta(d + "/wal", meta).ok());
  touch(d + "/wal/00000000000000000041-00000003.wal");
  touch(d + "/cairn.db");
  touch(d + "/cairn.db-wal");
  touch(d + "/snap/snap-00000000000000000040-6.db");
  touch(d + "/root.token", "secret");

  // 2026-12-03T05:00:00Z
  auto r = recover_data_dir(d, 1796274000000);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->aside, d + "/damaged-20261203T050000Z");
  EXPECT_EQ(r->moved, (std::vector<std::string>{"wal", "cairn.db", "cairn.db-wal", "snap"}));
  EXPECT_TRUE(fs::exists(r->aside + "/wal/00000000000000000041-00000003.wal"));
  EXPECT_TRUE(fs::exists(r->aside + "/cairn.db"));
  EXPECT_TRUE(fs::exists(r->aside + "/cairn.db-wal"));
  EXPECT_TRUE(fs::exists(r->aside + "/snap/snap-00000000000000000040-6.db"));
  EXPECT_FALSE(fs::exists(d + "/cairn.db"));
  EXPECT_FALSE(fs::exists(d + "/snap"));
  EXPECT_TRUE(fs::exists(d + "/root.token"));  // not replicated state: stays

  ASSERT_TRUE(r->hard_state_kept);
  auto bytes = wal::read_file(d + "/wal/META");
  ASSERT_TRUE(bytes.ok()) << bytes.error();
  auto fresh = wal::decode_meta(*bytes);
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_EQ(fresh->hs, (raft::HardState{7, 2, 0}));
  EXPECT_EQ(fresh->snap_index, 0u);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(d + "/wal")) files += e.path().extension() == ".wal";
  EXPECT_EQ(files, 0u);

  // A second recovery the same second gets a folder of its own.
  touch(d + "/cairn.db");
  auto again = recover_data_dir(d, 1796274000000);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(again->aside, d + "/damaged-20261203T050000Z-2");
  EXPECT_TRUE(fs::exists(r->aside + "/cairn.db"));
}

TEST(Recover, RefusesWhileANodeHoldsTheDataDirectory) {
  TempDir t;
  touch(t.file("cairn.db"));
  int fd = ::open(t.file("LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto r = recover_data_dir(t.path(), 0);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("in use"), std::string::npos) << r.error();
  EXPECT_TRUE(fs::exists(t.file("cairn.db")));
}

TEST(Recover, WithAnUnreadableMetaTheVoteIsNotKept) {
  TempDir t;
  fs::create_directories(t.file("wal"));
  touch(t.file("wal/META"), "garbage");
  auto r = recover_data_dir(t.path(), 0);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE(r->hard_state_kept);
  EXPECT_FALSE(fs::exists(t.file("wal")));
}

TEST(Recover, NothingToRecoverIsAnError) {
  TempDir t;
  EXPECT_FALSE(recover_data_dir(t.path(), 0).ok());
  EXPECT_FALSE(recover_data_dir(t.file("missing"), 0).ok());
}

}  // namespace
}  // namespace cairn::server
