// The snapshot folder's deletions: old images and crash leftovers go through the GradualDeleter
// (name at once, blocks later), and an image that is being sent is not pruned under its reader.

#include "server/raft_state_machine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "test_support.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

void write_file(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(1 << 16, 'x');
  for (size_t done = 0; done < bytes; done += chunk.size()) out.write(chunk.data(), chunk.size());
}

class RaftStateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Options options;
    options.path = dir_.file("cairn.db");
    options.synchronous_full = false;
    auto opened = store::Store::open(options);
    ASSERT_TRUE(opened.ok()) << opened.error().details;
    store_ = std::move(*opened);
    ASSERT_TRUE(index_.load(*store_).ok());
    machine_ = std::make_unique<core::ConfigStateMachine>(*store_, index_);
    snap_ = dir_.file("snap");
    fs::create_directories(snap_);
  }

  void start() {
    sm_ = std::make_unique<RaftStateMachine>(*store_, *machine_, index_, nullptr, snap_, deleter_);
    sm_->set_poster([this](std::function<void(raft::Node&)>) {
      std::lock_guard lock(mu_);
      ++reports_;
      cv_.notify_all();
    });
  }

  // Applies one no-op entry and saves a snapshot at it; waits for the background copy.
  void snapshot_at(uint64_t index) {
    raft::ConfState conf;
    conf.voters = {1};
    sm_->begin_applies();
    ASSERT_TRUE(sm_->apply(raft::Entry{1, index, raft::EntryType::noop, ""}, conf).has_value());
    ASSERT_TRUE(sm_->finish_applies());
    raft::SnapshotMeta meta = sm_->applied_state();
    ASSERT_EQ(meta.index, index);
    std::unique_lock lock(mu_);
    const int before = reports_;
    ASSERT_TRUE(sm_->save_snapshot(meta).ok());
    ASSERT_TRUE(cv_.wait_for(lock, std::chrono::seconds(30), [&] { return reports_ > before; }));
  }

  static std::string image(uint64_t index) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "snap-%020llu-1.db", static_cast<unsigned long long>(index));
    return buf;
  }

  test::TempDir dir_;
  std::string snap_;
  std::unique_ptr<store::Store> store_;
  cache::Index index_;
  std::unique_ptr<core::ConfigStateMachine> machine_;
  // Every file counts as large, and the pace is fast: the test sees each deletion queued.
  std::shared_ptr<GradualDeleter> deleter_ = std::make_shared<GradualDeleter>(GradualDeleteOptions{
      .step_bytes = 1 << 20, .bytes_per_second = 1ull << 30, .small_file_bytes = 0});
  std::unique_ptr<RaftStateMachine> sm_;
  std::mutex mu_;
  std::condition_variable cv_;
  int reports_ = 0;
};

TEST_F(RaftStateMachineTest, CrashLeftoversAreDeletedGraduallyAtStart) {
  write_file(snap_ + "/incoming-snap-00000000000000000009-1.db", 4 << 20);
  write_file(snap_ + "/snap-00000000000000000009-1.db.7.tmp", 4 << 20);
  start();
  EXPECT_TRUE(names_in(snap_).empty());
  EXPECT_EQ(deleter_->files_queued(), 2u);
  EXPECT_TRUE(deleter_->wait_idle(std::chrono::seconds(10)));
}

TEST_F(RaftStateMachineTest, OldImagesArePrunedThroughTheDeleterButNotWhileSent) {
  start();
  snapshot_at(1);
  snapshot_at(2);
  EXPECT_EQ(deleter_->files_queued(), 0u);
  snapshot_at(3);  // keeps 2 and 3
  EXPECT_EQ(deleter_->files_queued(), 1u);
  EXPECT_FALSE(names_in(snap_).count(image(1)));
  EXPECT_FALSE(names_in(snap_).count("snap-00000000000000000001-1.meta"));

  auto reader = sm_->open_snapshot();  // the newest: 3
  ASSERT_TRUE(reader);
  ASSERT_EQ(reader->meta().index, 3u);
  const uint64_t size = reader->size();
  snapshot_at(4);  // 2 goes
  snapshot_at(5);  // 3 would go, but it is being sent
  EXPECT_EQ(deleter_->files_queued(), 2u);
  EXPECT_TRUE(names_in(snap_).count(image(3)));
  ASSERT_TRUE(deleter_->wait_idle(std::chrono::seconds(10)));
  auto whole = reader->read(0, size);  // still whole, not truncated under the reader
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), size);
  reader.reset();
  snapshot_at(6);  // now 3 and 4 go
  EXPECT_EQ(deleter_->files_queued(), 4u);
  std::set<std::string> dbs;
  for (const auto& n : names_in(snap_))
    if (fs::path(n).extension() == ".db") dbs.insert(n);
  EXPECT_EQ(dbs, (std::set<std::string>{image(5), image(6)}));
}

}  // namespace
}  // namespace cairn::server
