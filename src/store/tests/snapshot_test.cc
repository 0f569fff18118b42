#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "store/impl.h"
#include "store/schema.h"
#include "store/tests/store_test_util.h"

namespace cairn::store::testing {
namespace {

class SnapshotTest : public StoreFixture {
 protected:
  void fill() {
    ok(ns_create("svc"));
    ok(writes("svc", {op_create("a", R"({"x":1})"), op_create("b", "[1,2]")}, true));
    ok(write("svc", op_update("a", R"({"x":2})")));
  }
};

TEST_F(SnapshotTest, RoundTrip) {
  fill();
  std::string snap = dir_.file("snap.db");
  ASSERT_TRUE(store_->write_snapshot(snap).ok());
  std::string sum = store_->checksum();
  uint64_t idx = store_->applied_index();
  uint64_t rev = store_->revision();

  // A second store moves on, then restores the snapshot.
  TempDir other_dir;
  auto other = open_store(other_dir.file("other.db"));
  other->apply(ns_create("zzz"), 1, 1);
  other->apply(ns_create("yyy"), 2, 2);
  ASSERT_TRUE(other->restore_snapshot(snap).ok());
  EXPECT_EQ(other->checksum(), sum);
  EXPECT_EQ(other->applied_index(), idx);
  EXPECT_EQ(other->revision(), rev);
  auto configs = other->list_configs({"svc", ""}, {});
  ASSERT_TRUE(configs.ok());
  EXPECT_EQ(configs->total, 2);
  EXPECT_TRUE(other->list_namespaces({"zzz", std::nullopt}, {})->items.empty());
  // Applies continue after the snapshot's index, and survive a reopen.
  Applied a = other->apply(write("svc", op_update("b", "3")), idx + 1, 99);
  EXPECT_TRUE(a.result.ok()) << a.result.details;
  std::string after = other->checksum();
  other.reset();
  other = open_store(other_dir.file("other.db"));
  EXPECT_EQ(other->checksum(), after);
  EXPECT_EQ(other->applied_index(), idx + 1);
}

// The view is pinned when begin_snapshot() returns: applies that commit before the copy is
// written (on another thread, as the Raft state machine does) are not in it.
TEST_F(SnapshotTest, SourcePinsTheStateWhileAppliesContinue) {
  fill();
  const std::string sum = store_->checksum();
  const uint64_t idx = store_->applied_index();
  auto source = store_->begin_snapshot();
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->applied_index(), idx);
  ok(write("svc", op_create("c", "1")));
  ok(write("svc", op_update("a", R"({"x":3})")));
  ASSERT_GT(store_->applied_index(), idx);
  std::string snap = dir_.file("snap.db");
  std::thread writer([&] { ASSERT_TRUE((*source)->write(snap).ok()); });
  writer.join();
  source->reset();
  ok(write("svc", op_create("d", "1")));  // the view released, the store goes on
  TempDir other_dir;
  auto other = open_store(other_dir.file("other.db"));
  ASSERT_TRUE(other->restore_snapshot(snap).ok());
  EXPECT_EQ(other->applied_index(), idx);
  EXPECT_EQ(other->checksum(), sum);
}

// write() releases the view as soon as the copy holds it and checkpoints what the view held
// back, on the writing thread (not the applying one): when it returns, with the source still
// alive, every frame committed meanwhile is in the database file.
TEST_F(SnapshotTest, WriteReleasesTheViewAndCheckpointsTheBacklog) {
  fill();
  auto source = store_->begin_snapshot();
  ASSERT_TRUE(source.ok());
  for (int i = 0; i < 50; ++i) ok(write("svc", op_create("k" + std::to_string(i), "1")));
  std::string snap = dir_.file("snap.db");
  ASSERT_TRUE((*source)->write(snap).ok());
  auto conn = Conn::open(path_, kOpenFlags);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->exec("SELECT count(*) FROM sqlite_master"));  // opens the WAL
  int frames = -1, copied = -1;
  ASSERT_EQ(sqlite3_wal_checkpoint_v2((*conn)->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                      &frames, &copied),
            SQLITE_OK);
  EXPECT_GT(frames, 0);
  EXPECT_EQ(copied, frames) << "frames the view held back are still outside the database file";
  source->reset();
  TempDir other_dir;
  auto other = open_store(other_dir.file("other.db"));
  ASSERT_TRUE(other->restore_snapshot(snap).ok());
  EXPECT_TRUE(other->list_configs({"svc", ""}, {}).ok());
}

// A database of many backup steps (the copy goes a few MiB at a time) written while applies
// commit on another thread: the copy is the pinned view, whole and valid.
TEST_F(SnapshotTest, LargeCopyInStepsWhileAppliesCommit) {
  ok(ns_create("svc"));
  const std::string big = "\"" + std::string(16000, 'x') + "\"";
  for (int i = 0; i < 600; ++i) ok(write("svc", op_create("k" + std::to_string(i), big)));
  const std::string sum = store_->checksum();
  const uint64_t idx = store_->applied_index();
  auto source = store_->begin_snapshot();
  ASSERT_TRUE(source.ok());
  std::string snap = dir_.file("snap.db");
  std::thread writer([&] { ASSERT_TRUE((*source)->write(snap).ok()); });
  for (int i = 0; i < 200; ++i) ok(write("svc", op_update("k" + std::to_string(i), "1")));
  writer.join();
  source->reset();
  EXPECT_GT(std::filesystem::file_size(snap), 8u << 20);
  TempDir other_dir;
  auto other = open_store(other_dir.file("other.db"));
  ASSERT_TRUE(other->restore_snapshot(snap).ok());
  EXPECT_EQ(other->applied_index(), idx);
  EXPECT_EQ(other->checksum(), sum);
}

TEST_F(SnapshotTest, CorruptOrTruncatedSnapshotIsRefused) {
  fill();
  std::string snap = dir_.file("snap.db");
  ASSERT_TRUE(store_->write_snapshot(snap).ok());
  ok(write("svc", op_create("c", "1")));
  std::string sum = store_->checksum();
  uint64_t idx = store_->applied_index();

  std::string truncated = dir_.file("truncated.db");
  std::filesystem::copy_file(snap, truncated);
  std::filesystem::resize_file(truncated, std::filesystem::file_size(snap) / 2);
  std::string garbage = dir_.file("garbage.db");
  {
    std::ofstream out(garbage, std::ios::binary);
    out << std::string(8192, 'x');
  }
  std::string corrupt = dir_.file("corrupt.db");
  std::filesystem::copy_file(snap, corrupt);
  {
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    f << std::string(3 * 4096, '\x7f');
  }
  std::string not_cairn = dir_.file("empty.db");
  {
    std::ofstream out(not_cairn, std::ios::binary);
  }
  for (const auto& bad : {truncated, garbage, corrupt, not_cairn, dir_.file("missing.db")}) {
    auto r = store_->restore_snapshot(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, api::Errc::kDatabase);
    }
    EXPECT_EQ(store_->checksum(), sum);
    EXPECT_EQ(store_->applied_index(), idx);
  }
  EXPECT_EQ(store_->list_configs({}, {})->total, 3);
  ok(write("svc", op_create("d", "1")));
}

// docs/operations.md, "Rolling upgrade": a snapshot of a newer schema (from a node already
// upgraded) is refused before it replaces anything, naming both versions.
TEST_F(SnapshotTest, NewerSchemaSnapshotIsRefusedNamingBothVersions) {
  fill();
  std::string snap = dir_.file("snap.db");
  ASSERT_TRUE(store_->write_snapshot(snap).ok());
  {
    auto conn = Conn::open(snap, SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(conn.ok());
    (*conn)->exec("UPDATE meta SET value = " + std::to_string(kSchemaVersion + 1) +
                  " WHERE name = 'schema_version'");
  }
  ok(write("svc", op_create("c", "1")));
  std::string sum = store_->checksum();
  auto r = store_->restore_snapshot(snap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, api::Errc::kDatabase);
  EXPECT_EQ(r.error().details, "invalid snapshot: database schema version " +
                                   std::to_string(kSchemaVersion + 1) +
                                   " is newer than this release's " +
                                   std::to_string(kSchemaVersion));
  EXPECT_EQ(store_->checksum(), sum);
}

TEST_F(SnapshotTest, SnapshotIsStandaloneFile) {
  fill();
  std::string snap = dir_.file("snap.db");
  ASSERT_TRUE(store_->write_snapshot(snap).ok());
  EXPECT_FALSE(std::filesystem::exists(snap + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(snap + ".tmp"));
  EXPECT_EQ(dump_tables(snap), dump_tables(path_));
}

}  // namespace
}  // namespace cairn::store::testing

namespace cairn::store::testing {
namespace {

class RaftStateTest : public StoreFixture {};

TEST_F(RaftStateTest, WrittenWithTheNextApplyAndKeptAcrossReopenAndSnapshots) {
  EXPECT_EQ(store_->raft_state().term, 0u);
  store_->stage_raft_state(3, "conf-a");
  // Staged only: nothing visible before the transaction that carries it.
  EXPECT_EQ(store_->raft_state().term, 0u);
  ok(ns_create("svc"));
  EXPECT_EQ(store_->raft_state().term, 3u);
  EXPECT_EQ(store_->raft_state().conf, "conf-a");

  // A failing command still advances the applied index, and the Raft state with it.
  store_->stage_raft_state(4, "conf-b");
  err(ns_create("svc"), api::Errc::kConflict);
  EXPECT_EQ(store_->raft_state().term, 4u);

  // A no-op entry (mark_applied) carries it too.
  store_->stage_raft_state(5, std::string("conf\0c", 6));
  store_->mark_applied(++index_);
  reopen();
  EXPECT_EQ(store_->raft_state().term, 5u);
  EXPECT_EQ(store_->raft_state().conf, std::string("conf\0c", 6));

  // Snapshots carry it: a restore brings back the snapshot's term and membership.
  const std::string snap = dir_.file("snap.db");
  ASSERT_TRUE(store_->write_snapshot(snap).ok());
  store_->stage_raft_state(6, "conf-d");
  ok(ns_create("other"));
  EXPECT_EQ(store_->raft_state().term, 6u);
  ASSERT_TRUE(store_->restore_snapshot(snap).ok());
  EXPECT_EQ(store_->raft_state().term, 5u);
  EXPECT_EQ(store_->raft_state().conf, std::string("conf\0c", 6));
}

}  // namespace
}  // namespace cairn::store::testing
