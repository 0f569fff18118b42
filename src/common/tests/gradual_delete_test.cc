#include "common/gradual_delete.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace cairn {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr uint64_t kMiB = 1ull << 20;

class GradualDeleteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cairn-gradual-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of `bytes` with real blocks (fallocate, or written where that is not supported).
  std::string make_file(const std::string& name, uint64_t bytes) {
    const std::string path = (dir_ / name).string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(fd, 0);
    if (::posix_fallocate(fd, 0, static_cast<off_t>(bytes)) != 0) {
      std::string chunk(1 << 20, 'x');
      for (uint64_t done = 0; done < bytes; done += chunk.size())
        EXPECT_EQ(::write(fd, chunk.data(), chunk.size()), static_cast<ssize_t>(chunk.size()));
    }
    ::close(fd);
    return path;
  }

  static struct stat stat_fd(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return st;
  }

  fs::path dir_;
};

TEST_F(GradualDeleteTest, NameGoesAtOnceBlocksGoInStepsThenAll) {
  GradualDeleter deleter(
      {.step_bytes = 8 * kMiB, .bytes_per_second = 64 * kMiB, .small_file_bytes = 1 * kMiB});
  const std::string path = make_file("big", 32 * kMiB);
  // A second descriptor on the same inode shows what happens to it after the name is gone.
  const int watch = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(watch, 0);
  ASSERT_GT(stat_fd(watch).st_blocks, 0);

  const auto started = Clock::now();
  ASSERT_FALSE(deleter.remove(path));
  EXPECT_FALSE(fs::exists(path));  // gone from the directory when remove() returns
  EXPECT_EQ(deleter.files_queued(), 1u);

  // Not all at once: some state between "whole" and "empty" is observed.
  bool saw_partial = false;
  while (Clock::now() - started < std::chrono::seconds(10)) {
    const auto size = static_cast<uint64_t>(stat_fd(watch).st_size);
    if (size > 0 && size < 32 * kMiB) saw_partial = true;
    if (size == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(deleter.wait_idle(std::chrono::seconds(10)));
  const auto elapsed = Clock::now() - started;
  EXPECT_TRUE(saw_partial);
  // Four steps of 8 MiB at 64 MiB/s: three pauses of 125 ms at least before the last step.
  EXPECT_GE(elapsed, std::chrono::milliseconds(370));
  EXPECT_EQ(stat_fd(watch).st_size, 0);
  EXPECT_EQ(stat_fd(watch).st_blocks, 0);  // the space is released
  EXPECT_EQ(deleter.pending_bytes(), 0u);
  ::close(watch);
}

TEST_F(GradualDeleteTest, ReleaseTakesAnUnlinkedDescriptor) {
  GradualDeleter deleter(
      {.step_bytes = 4 * kMiB, .bytes_per_second = 1024 * kMiB, .small_file_bytes = 1 * kMiB});
  const std::string path = make_file("seg", 16 * kMiB);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  const int watch = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  deleter.release(fd);
  ASSERT_TRUE(deleter.wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(stat_fd(watch).st_blocks, 0);
  EXPECT_EQ(deleter.files_queued(), 1u);
  ::close(watch);
}

TEST_F(GradualDeleteTest, StopIsPromptAndLeavesTheRestToTheKernel) {
  // 1 MiB per second: a 64 MiB file would take a minute.
  GradualDeleter deleter(
      {.step_bytes = 1 * kMiB, .bytes_per_second = 1 * kMiB, .small_file_bytes = 0});
  const std::string path = make_file("slow", 64 * kMiB);
  const int watch = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_FALSE(deleter.remove(path));
  // Wait for the first step, so that stop() lands in a pause.
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (static_cast<uint64_t>(stat_fd(watch).st_size) == 64 * kMiB && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto started = Clock::now();
  deleter.stop();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));  // not the minute it would take
  // The thread stopped part-way; its descriptor is closed, so only `watch` holds the inode now
  // and the kernel frees the rest when it closes.
  const auto left = static_cast<uint64_t>(stat_fd(watch).st_size);
  EXPECT_GT(left, 0u);
  EXPECT_LT(left, 64 * kMiB);
  EXPECT_EQ(deleter.pending_bytes(), 0u);
  // After stop, remove() is a plain unlink.
  const std::string other = make_file("after", 4 * kMiB);
  EXPECT_FALSE(deleter.remove(other));
  EXPECT_FALSE(fs::exists(other));
  ::close(watch);
}

TEST_F(GradualDeleteTest, StopWithAQueueClosesEverythingAtOnce) {
  GradualDeleter deleter(
      {.step_bytes = 1 * kMiB, .bytes_per_second = 1 * kMiB, .small_file_bytes = 0});
  for (int i = 0; i < 5; ++i)
    ASSERT_FALSE(deleter.remove(make_file("f" + std::to_string(i), 8 * kMiB)));
  EXPECT_GT(deleter.pending_bytes(), 0u);
  const auto started = Clock::now();
  deleter.stop();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));  // not the minute it would take
  EXPECT_EQ(deleter.pending_bytes(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(GradualDeleteTest, SmallFilesAreUnlinkedWithoutTheThread) {
  GradualDeleter deleter(
      {.step_bytes = 1 * kMiB, .bytes_per_second = 1 * kMiB, .small_file_bytes = 4 * kMiB});
  const std::string path = make_file("small", 2 * kMiB);
  const int watch = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_FALSE(deleter.remove(path));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(deleter.files_queued(), 0u);
  EXPECT_EQ(stat_fd(watch).st_size, static_cast<off_t>(2 * kMiB));  // never truncated
  ::close(watch);
}

TEST_F(GradualDeleteTest, AnotherHardLinkKeepsTheData) {
  GradualDeleter deleter(
      {.step_bytes = 1 * kMiB, .bytes_per_second = 1024 * kMiB, .small_file_bytes = 0});
  const std::string path = make_file("linked", 8 * kMiB);
  const std::string link = (dir_ / "link").string();
  ASSERT_EQ(::link(path.c_str(), link.c_str()), 0);
  ASSERT_FALSE(deleter.remove(path));
  ASSERT_TRUE(deleter.wait_idle(std::chrono::seconds(10)));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(fs::file_size(link), 8 * kMiB);
}

TEST_F(GradualDeleteTest, MissingFileIsAnError) {
  GradualDeleter deleter;
  EXPECT_EQ(deleter.remove((dir_ / "nothing").string()), std::errc::no_such_file_or_directory);
}

TEST_F(GradualDeleteTest, ACrashLeavesNoName) {
  // A process that dies right after remove() (the thread barely started) leaves neither the
  // file nor any trash name behind: the kernel frees the unlinked inode when the process dies.
  const std::string path = make_file("crash", 32 * kMiB);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    GradualDeleter deleter(
        {.step_bytes = 1 * kMiB, .bytes_per_second = 1 * kMiB, .small_file_bytes = 0});
    if (deleter.remove(path)) ::_exit(2);
    ::_exit(0);  // no destructor, no stop(): a crash
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace cairn
