// Round trips through close and reopen, group commit, rotation, locking, and a seeded random
// comparison against the memory store.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "raft/memory_log_store.h"
#include "raft/tests/log_store_conformance.h"
#include "wal/crc32c.h"
#include "wal/meta.h"
#include "wal/record.h"
#include "wal/tests/test_util.h"

namespace cairn::wal::test {
namespace {

using raft::Entry;
using raft::EntryType;
using raft::HardState;
using raft::Index;
using raft::LogError;
using raft::MemoryLogStore;
using raft::test::make_entries;

std::vector<Entry> all_entries(const raft::LogStore& s) {
  if (s.last_index() < s.first_index()) return {};
  auto es = s.entries(s.first_index(), s.last_index() + 1, UINT64_MAX);
  EXPECT_TRUE(es);
  return es ? *es : std::vector<Entry>{};
}

/// Same first/last index, snapshot term, hard state and entries.
void expect_same(const raft::LogStore& a, const raft::LogStore& b, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_EQ(a.first_index(), b.first_index());
  ASSERT_EQ(a.last_index(), b.last_index());
  EXPECT_EQ(*a.term(a.first_index() - 1), *b.term(b.first_index() - 1));
  EXPECT_EQ(a.hard_state(), b.hard_state());
  EXPECT_EQ(all_entries(a), all_entries(b));
}

std::unique_ptr<WalLogStore> reopen(std::unique_ptr<WalLogStore> w,
                                    uint64_t max_segment_bytes = 64ull << 20) {
  std::string dir = w->options().dir;
  w.reset();
  return open_wal(dir, max_segment_bytes);
}

TEST(Wal, FreshDirectoryHasMetaAndLock) {
  TempDir t;
  auto w = open_wal(t.file("wal"));
  ASSERT_TRUE(w);
  EXPECT_TRUE(std::filesystem::exists(t.file("wal/META")));
  EXPECT_TRUE(std::filesystem::exists(t.file("wal/LOCK")));
  EXPECT_TRUE(segment_files(t.file("wal")).empty());
  EXPECT_TRUE(w->sync());
  EXPECT_EQ(w->probe().syncs, 0u);  // nothing to do
}

// docs/operations.md, "Upgrades": a log written by a newer release is refused, naming both
// versions, and left as it is.
TEST(Wal, NewerFormatVersionIsRefusedNamingBothVersions) {
  TempDir t;
  { ASSERT_TRUE(open_wal(t.file("wal"))); }
  std::string meta = encode_meta(Meta{});
  meta[8] = 2;  // format version, little-endian u32 at offset 8
  uint32_t crc = crc32c(std::string_view(meta).substr(0, kMetaSize - 4));
  for (int i = 0; i < 4; ++i) meta[kMetaSize - 4 + i] = static_cast<char>(crc >> (8 * i));
  {
    std::ofstream out(t.file("wal/META"), std::ios::binary | std::ios::trunc);
    out << meta;
  }
  auto decoded = decode_meta(meta);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error(), "WAL format version 2 is newer than this release's 1");
  WalOptions o;
  o.dir = t.file("wal");
  auto opened = WalLogStore::open(o);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().find("WAL format version 2 is newer than this release's 1"),
            std::string::npos)
      << opened.error();
}

TEST(Wal, AppendSyncReopen) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 100, 1)));
  ASSERT_TRUE(w->append({Entry{2, 101, EntryType::conf_change, std::string(1000, 'x')}}));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first_index(), 1u);
  EXPECT_EQ(w->last_index(), 101u);
  EXPECT_EQ(*w->term(100), 1u);
  auto es = w->entries(1, 102, UINT64_MAX);
  ASSERT_TRUE(es);
  auto want = make_entries(1, 100, 1);
  want.push_back(Entry{2, 101, EntryType::conf_change, std::string(1000, 'x')});
  EXPECT_EQ(*es, want);
  EXPECT_TRUE(w->recovery_notes().empty());
}

TEST(Wal, UnsyncedMutationsAreLostOnReopen) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 3, 1)));
  w->set_hard_state(HardState{1, 2, 3});
  ASSERT_TRUE(w->sync());
  ASSERT_TRUE(w->append(make_entries(4, 6, 2)));
  w->set_hard_state(HardState{2, 0, 3});
  ASSERT_TRUE(w->compact_prefix(2));
  w = reopen(std::move(w));
  EXPECT_EQ(w->first_index(), 1u);
  EXPECT_EQ(w->last_index(), 3u);
  EXPECT_EQ(w->hard_state(), (HardState{1, 2, 3}));
}

TEST(Wal, ReadsSeeBufferedAndWrittenEntriesTogether) {
  TempDir t;
  auto w = open_wal(t.path(), 100);
  ASSERT_TRUE(w->append(make_entries(1, 10, 1)));
  ASSERT_TRUE(w->sync());
  ASSERT_TRUE(w->append(make_entries(11, 20, 2)));  // buffered, some in a segment with no file yet
  auto es = w->entries(5, 21, UINT64_MAX);
  ASSERT_TRUE(es);
  std::vector<Entry> want = make_entries(5, 10, 1);
  for (auto& e : make_entries(11, 20, 2)) want.push_back(e);
  EXPECT_EQ(*es, want);
}

TEST(Wal, GroupCommitIsOneFdatasync) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 1, 1)));
  ASSERT_TRUE(w->sync());  // creates the segment
  WalProbe before = w->probe();
  for (Index i = 2; i <= 101; ++i) ASSERT_TRUE(w->append(make_entries(i, i, 1)));
  EXPECT_EQ(w->probe().fdatasyncs, before.fdatasyncs);  // appends never sync
  EXPECT_EQ(w->probe().bytes_written, before.bytes_written);
  ASSERT_TRUE(w->sync());
  EXPECT_EQ(w->probe().syncs, before.syncs + 1);
  EXPECT_EQ(w->probe().fdatasyncs, before.fdatasyncs + 1);
  EXPECT_EQ(w->probe().dir_syncs, before.dir_syncs);
  EXPECT_EQ(w->probe().meta_writes, before.meta_writes);
  uint64_t expect_bytes = 0;
  for (auto& e : make_entries(2, 101, 1)) expect_bytes += entry_record_size(e.data.size());
  EXPECT_EQ(w->probe().bytes_written, before.bytes_written + expect_bytes);
  EXPECT_EQ(w->probe().entries_appended, 101u);
  ASSERT_TRUE(w->sync());  // nothing new
  EXPECT_EQ(w->probe().syncs, before.syncs + 1);
}

TEST(Wal, HardStateIsWrittenOnlyWhenChanged) {
  TempDir t;
  auto w = open_wal(t.path());
  uint64_t writes = w->probe().meta_writes;
  w->set_hard_state(HardState{3, 1, 0});
  ASSERT_TRUE(w->sync());
  EXPECT_EQ(w->probe().meta_writes, writes + 1);
  w->set_hard_state(HardState{3, 1, 0});
  ASSERT_TRUE(w->sync());
  EXPECT_EQ(w->probe().meta_writes, writes + 1);
  w->set_hard_state(HardState{4, 0, 2});
  ASSERT_TRUE(w->sync());
  EXPECT_EQ(w->probe().meta_writes, writes + 2);
  EXPECT_FALSE(std::filesystem::exists(t.file("META.tmp")));
  w = reopen(std::move(w));
  EXPECT_EQ(w->hard_state(), (HardState{4, 0, 2}));
}

TEST(Wal, RotationAcrossManySegments) {
  TempDir t;
  constexpr uint64_t kSeg = 200;
  auto w = open_wal(t.path(), kSeg);
  for (Index i = 1; i <= 500; i += 7) ASSERT_TRUE(w->append(make_entries(i, i + 6, 1 + i / 100)));
  ASSERT_TRUE(w->sync());
  auto files = segment_files(t.path());
  EXPECT_GT(files.size(), 20u);
  EXPECT_EQ(w->probe().segments, files.size());
  EXPECT_EQ(w->probe().segments_created, files.size());
  for (const auto& f : files) EXPECT_LT(std::filesystem::file_size(f), kSeg + 64) << f;
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "00000000000000000001-00000001.wal");
  auto before = all_entries(*w);
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->last_index(), 504u);
  EXPECT_EQ(all_entries(*w), before);
  EXPECT_EQ(*w->term(250), 3u);
  // Paged reads across segment boundaries.
  Index next = 1;
  while (next <= w->last_index()) {
    auto es = w->entries(next, w->last_index() + 1, 30);
    ASSERT_TRUE(es);
    ASSERT_FALSE(es->empty());
    EXPECT_EQ(es->front().index, next);
    next += es->size();
  }
}

TEST(Wal, TruncateSuffixThenReopen) {
  TempDir t;
  constexpr uint64_t kSeg = 120;
  auto w = open_wal(t.path(), kSeg);
  ASSERT_TRUE(w->append(make_entries(1, 40, 1)));
  ASSERT_TRUE(w->sync());
  size_t files_before = segment_files(t.path()).size();
  ASSERT_TRUE(w->truncate_suffix(12));  // into an early segment: later files go at once
  EXPECT_EQ(w->last_index(), 11u);
  EXPECT_LT(segment_files(t.path()).size(), files_before);
  ASSERT_TRUE(w->append(make_entries(12, 30, 2)));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->last_index(), 30u);
  EXPECT_EQ(*w->term(11), 1u);
  EXPECT_EQ(*w->term(12), 2u);
  std::vector<Entry> want = make_entries(1, 11, 1);
  for (auto& e : make_entries(12, 30, 2)) want.push_back(e);
  EXPECT_EQ(all_entries(*w), want);

  // A truncation that is never followed by a sync is still in effect after reopen: it is
  // applied to the files at once (and is always a prefix of history).
  ASSERT_TRUE(w->truncate_suffix(20));
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->last_index(), 19u);

  // Truncating only buffered entries touches no file.
  ASSERT_TRUE(w->append(make_entries(20, 25, 3)));
  uint64_t fsyncs = w->probe().fdatasyncs;
  ASSERT_TRUE(w->truncate_suffix(22));
  EXPECT_EQ(w->probe().fdatasyncs, fsyncs);
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->last_index(), 21u);
  EXPECT_EQ(*w->term(21), 3u);
}

// A truncation that cuts written records is applied to the files at once; mutations made before
// it (hard state, compaction) must then be durable too, or a crash could expose a state that
// never existed (the cut without them).
TEST(Wal, TruncationMakesEarlierMutationsDurableFirst) {
  TempDir t;
  auto w = open_wal(t.path(), 100);
  ASSERT_TRUE(w->append(make_entries(1, 30, 1)));
  ASSERT_TRUE(w->sync());
  w->set_hard_state(HardState{2, 3, 4});
  ASSERT_TRUE(w->compact_prefix(5));
  ASSERT_TRUE(w->truncate_suffix(20));
  ASSERT_TRUE(w->append(make_entries(20, 22, 2)));  // not synced: lost
  w = reopen(std::move(w), 100);
  EXPECT_EQ(w->hard_state(), (HardState{2, 3, 4}));
  EXPECT_EQ(w->first_index(), 6u);
  EXPECT_EQ(w->last_index(), 19u);
  EXPECT_EQ(all_entries(*w), make_entries(6, 19, 1));
}

TEST(Wal, TruncateWholeLogThenReopen) {
  TempDir t;
  auto w = open_wal(t.path(), 100);
  ASSERT_TRUE(w->append(make_entries(1, 20, 1)));
  ASSERT_TRUE(w->sync());
  ASSERT_TRUE(w->truncate_suffix(1));
  EXPECT_EQ(w->last_index(), 0u);
  w = reopen(std::move(w), 100);
  EXPECT_EQ(w->last_index(), 0u);
  ASSERT_TRUE(w->append(make_entries(1, 5, 2)));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w), 100);
  EXPECT_EQ(all_entries(*w), make_entries(1, 5, 2));
}

TEST(Wal, CompactPrefixDeletesWholeSegmentsAndSurvivesReopen) {
  TempDir t;
  constexpr uint64_t kSeg = 150;
  auto w = open_wal(t.path(), kSeg);
  ASSERT_TRUE(w->append(make_entries(1, 60, 1)));
  ASSERT_TRUE(w->sync());
  size_t files_before = segment_files(t.path()).size();
  ASSERT_TRUE(w->compact_prefix(33));
  ASSERT_TRUE(w->sync());
  auto files = segment_files(t.path());
  EXPECT_LT(files.size(), files_before);
  Index first_in_file = 0;
  uint64_t gen = 0;
  ASSERT_TRUE(Segment::parse_file_name(std::filesystem::path(files[0]).filename().string(),
                                       &first_in_file, &gen));
  EXPECT_LE(first_in_file, 34u);  // the segment holding entry 34 stays
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->first_index(), 34u);
  EXPECT_EQ(w->last_index(), 60u);
  EXPECT_EQ(*w->term(33), 1u);
  EXPECT_EQ(w->term(32).error(), LogError::compacted);
  EXPECT_EQ(all_entries(*w), make_entries(34, 60, 1));
  // Compact everything, then append: the log continues.
  ASSERT_TRUE(w->compact_prefix(60));
  ASSERT_TRUE(w->append(make_entries(61, 62, 2)));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->first_index(), 61u);
  EXPECT_EQ(all_entries(*w), make_entries(61, 62, 2));
}

// With a GradualDeleter the compacted segments still leave the directory in sync(), after META,
// and only then are their descriptors handed to the deleter, which frees them in steps.
TEST(Wal, CompactedSegmentsGoToTheDeleterAfterTheirUnlink) {
  TempDir t;
  constexpr uint64_t kSeg = 150;
  auto deleter = std::make_shared<GradualDeleter>(
      GradualDeleteOptions{.step_bytes = 64, .bytes_per_second = 1ull << 30, .small_file_bytes = 0});
  WalOptions o = options(t.path(), kSeg);
  o.deleter = deleter;
  auto w = std::move(WalLogStore::open(o)).value();
  ASSERT_TRUE(w->append(make_entries(1, 60, 1)));
  ASSERT_TRUE(w->sync());
  const auto files_before = segment_files(t.path());
  ASSERT_TRUE(w->compact_prefix(33));
  EXPECT_EQ(segment_files(t.path()), files_before);  // nothing happens before sync()
  EXPECT_EQ(deleter->files_queued(), 0u);
  ASSERT_TRUE(w->sync());
  const auto files = segment_files(t.path());
  ASSERT_LT(files.size(), files_before.size());
  EXPECT_EQ(deleter->files_queued(), files_before.size() - files.size());
  EXPECT_EQ(w->probe().segments_removed, files_before.size() - files.size());
  ASSERT_TRUE(deleter->wait_idle(std::chrono::seconds(10)));
  EXPECT_EQ(deleter->pending_bytes(), 0u);
  // The live segments were not touched.
  w = reopen(std::move(w), kSeg);
  EXPECT_EQ(w->first_index(), 34u);
  EXPECT_EQ(all_entries(*w), make_entries(34, 60, 1));
}

TEST(Wal, CompactEverythingWithoutAppendSurvivesReopen) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 10, 1)));
  ASSERT_TRUE(w->compact_prefix(10));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w));
  EXPECT_EQ(w->first_index(), 11u);
  EXPECT_EQ(w->last_index(), 10u);
  EXPECT_EQ(*w->term(10), 1u);
  ASSERT_TRUE(w->append(make_entries(11, 12, 1)));
  ASSERT_TRUE(w->sync());
  w = reopen(std::move(w));
  EXPECT_EQ(all_entries(*w), make_entries(11, 12, 1));
}

TEST(Wal, ResetThenReopen) {
  TempDir t;
  auto w = open_wal(t.path(), 100);
  ASSERT_TRUE(w->append(make_entries(1, 30, 1)));
  ASSERT_TRUE(w->sync());
  ASSERT_TRUE(w->reset(20, 4));
  ASSERT_TRUE(w->append(make_entries(21, 25, 5)));
  ASSERT_TRUE(w->sync());
  for (const auto& f : segment_files(t.path()))
    EXPECT_NE(f.find("-00000002.wal"), std::string::npos) << f;
  w = reopen(std::move(w), 100);
  EXPECT_EQ(w->first_index(), 21u);
  EXPECT_EQ(*w->term(20), 4u);
  EXPECT_EQ(all_entries(*w), make_entries(21, 25, 5));
  // Reset to an index below the old log, with no append.
  ASSERT_TRUE(w->reset(3, 6));
  ASSERT_TRUE(w->sync());
  EXPECT_TRUE(segment_files(t.path()).empty());
  w = reopen(std::move(w), 100);
  EXPECT_EQ(w->first_index(), 4u);
  EXPECT_EQ(w->last_index(), 3u);
  EXPECT_EQ(*w->term(3), 6u);
}

TEST(Wal, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w);
  auto again = WalLogStore::open(options(t.path()));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().find("LOCK"), std::string::npos) << again.error();
  w.reset();
  EXPECT_TRUE(WalLogStore::open(options(t.path())));
}

TEST(Wal, BadOptionsAreRefused) {
  EXPECT_FALSE(WalLogStore::open(options("")));
  TempDir t;
  EXPECT_FALSE(WalLogStore::open(options(t.path(), 0)));
}

TEST(Wal, CorruptionFoundWhileReadingIsAnIoError) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(w->sync());
  std::string path = segment_files(t.path())[0];
  std::string bytes = read_bytes(path);
  bytes[bytes.size() - 1] ^= 1;  // last byte of entry 5's data
  write_bytes(path, bytes);
  EXPECT_TRUE(w->entries(1, 5, UINT64_MAX));
  auto bad = w->entries(4, 6, UINT64_MAX);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), LogError::io);
  EXPECT_NE(w->last_error().find(path), std::string::npos) << w->last_error();
}

TEST(Wal, FailsAfterAnIoErrorUntilReopened) {
  TempDir t;
  auto w = open_wal(t.path());
  ASSERT_TRUE(w->append(make_entries(1, 2, 1)));
  ASSERT_TRUE(w->sync());
  // Make META.tmp impossible to create: a directory in its place.
  std::filesystem::create_directory(t.file("META.tmp"));
  std::filesystem::create_directory(t.file("META.tmp/x"));
  w->set_hard_state(HardState{1, 1, 0});
  auto r = w->sync();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LogError::io);
  EXPECT_NE(w->last_error().find("META.tmp"), std::string::npos) << w->last_error();
  EXPECT_FALSE(w->append(make_entries(3, 3, 1)));
  std::filesystem::remove_all(t.file("META.tmp"));
  w = reopen(std::move(w));
  EXPECT_EQ(w->last_index(), 2u);
  EXPECT_EQ(w->hard_state(), HardState{});
}

// fsyncgate: an fdatasync that failed is never retried as if the data were safe. The sync
// reports the error (naming the file and errno), the entries are never reported durable, the
// store refuses every later mutation and sync (even once the disk "works" again), and the
// failure is reported once through on_failure. Reopening reads back what the files hold.
TEST(Wal, FailedFdatasyncFailsTheStoreForGood) {
  TempDir t;
  int failing = 0;  // the errno the next fdatasyncs return; 0: the disk works
  int faults_seen = 0;
  std::vector<std::string> reported;
  WalOptions o = options(t.path());
  o.io_fault = [&](IoOp op, const std::string&) {
    if (op != IoOp::sync) return 0;
    if (failing != 0) ++faults_seen;
    return failing;
  };
  o.on_failure = [&](const std::string& why) { reported.push_back(why); };
  auto opened = WalLogStore::open(o);
  ASSERT_TRUE(opened) << opened.error();
  auto w = std::move(opened).value();
  ASSERT_TRUE(w->append(make_entries(1, 3, 1)));
  ASSERT_TRUE(w->sync());

  failing = EIO;
  ASSERT_TRUE(w->append(make_entries(4, 5, 1)));
  auto r = w->sync();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LogError::io);
  EXPECT_EQ(faults_seen, 1);
  std::string path = segment_files(t.path())[0];
  EXPECT_NE(w->last_error().find("fdatasync " + path), std::string::npos) << w->last_error();
  EXPECT_NE(w->last_error().find(std::strerror(EIO)), std::string::npos) << w->last_error();
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], w->last_error());
  EXPECT_EQ(w->probe().failures, 1u);

  // The disk recovers: the store still refuses, and never fdatasyncs again to "confirm".
  failing = 0;
  EXPECT_FALSE(w->sync());
  EXPECT_FALSE(w->append(make_entries(6, 6, 1)));
  EXPECT_FALSE(w->truncate_suffix(2));
  EXPECT_FALSE(w->compact_prefix(2));
  EXPECT_FALSE(w->reset(10, 2));
  EXPECT_EQ(reported.size(), 1u) << "on_failure is called once";

  // Reopened, the log holds at least what was synced.
  w = reopen(std::move(w));
  ASSERT_TRUE(w);
  EXPECT_GE(w->last_index(), 3u);
  auto es = w->entries(1, 4, UINT64_MAX);
  ASSERT_TRUE(es);
  EXPECT_EQ(*es, make_entries(1, 3, 1));
}

// A write that fails (a full disk, an I/O error) is treated like a failed fdatasync: the bytes
// of the group may be partly in the file, so nothing of it is reported durable, the store fails
// for good and says so once. Reopening finds what was synced before, and drops a partial tail.
TEST(Wal, FailedWriteFailsTheStoreForGood) {
  TempDir t;
  int failing = 0;  // the errno the next writes return
  std::vector<std::string> reported;
  WalOptions o = options(t.path());
  o.io_fault = [&](IoOp op, const std::string&) { return op == IoOp::write ? failing : 0; };
  o.on_failure = [&](const std::string& why) { reported.push_back(why); };
  auto w = std::move(WalLogStore::open(o)).value();
  ASSERT_TRUE(w->append(make_entries(1, 3, 1)));
  ASSERT_TRUE(w->sync());
  const uint64_t synced = w->probe().fdatasyncs;

  failing = ENOSPC;
  ASSERT_TRUE(w->append(make_entries(4, 5, 1)));
  auto r = w->sync();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LogError::io);
  std::string path = segment_files(t.path())[0];
  EXPECT_NE(w->last_error().find("write " + path), std::string::npos) << w->last_error();
  EXPECT_NE(w->last_error().find(std::strerror(ENOSPC)), std::string::npos) << w->last_error();
  EXPECT_EQ(w->probe().fdatasyncs, synced) << "nothing is synced after a failed write";
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(w->probe().failures, 1u);

  failing = 0;
  EXPECT_FALSE(w->sync());
  EXPECT_FALSE(w->append(make_entries(6, 6, 1)));
  EXPECT_EQ(reported.size(), 1u);

  w = reopen(std::move(w));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->last_index(), 3u);
  auto es = w->entries(1, 4, UINT64_MAX);
  ASSERT_TRUE(es);
  EXPECT_EQ(*es, make_entries(1, 3, 1));
}

// A sync slower than slow_sync_ms is counted and said once (the disk is made slow by a fault
// that sleeps before each fdatasync; only a lower bound on time is relied upon).
TEST(Wal, SlowSyncsAreCountedAndLogged) {
  TempDir t;
  std::vector<std::string> lines;
  WalOptions o = options(t.path());
  o.slow_sync_ms = 1;
  o.log = [&](const std::string& line) { lines.push_back(line); };
  o.io_fault = [](IoOp op, const std::string&) {
    if (op == IoOp::sync) std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return 0;
  };
  auto w = std::move(WalLogStore::open(o)).value();
  lines.clear();  // whatever recovery said
  for (Index i = 1; i <= 3; ++i) {
    ASSERT_TRUE(w->append(make_entries(i, i, 1)));
    ASSERT_TRUE(w->sync());
  }
  EXPECT_EQ(w->probe().slow_syncs, 3u);
  EXPECT_GE(w->probe().sync_ns, 9'000'000u);
  ASSERT_EQ(lines.size(), 1u) << "at most one line every 10 s";
  EXPECT_NE(lines[0].find("wal: slow disk: 1 sync(s) of " + t.path()), std::string::npos) << lines[0];
}

TEST(Wal, FailedFdatasyncOfATruncationFailsTheStore) {
  TempDir t;
  int failing = 0;
  WalOptions o = options(t.path());
  o.io_fault = [&](IoOp op, const std::string&) { return op == IoOp::sync ? failing : 0; };
  auto w = std::move(WalLogStore::open(o)).value();
  ASSERT_TRUE(w->append(make_entries(1, 5, 1)));
  ASSERT_TRUE(w->sync());
  failing = EIO;
  auto r = w->truncate_suffix(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), LogError::io);
  EXPECT_NE(w->last_error().find("fdatasync"), std::string::npos) << w->last_error();
  failing = 0;
  EXPECT_FALSE(w->append(make_entries(3, 3, 2)));
  EXPECT_FALSE(w->sync());
}

// Random operations against MemoryLogStore. A clean reopen (after sync) must give back exactly
// the model; a reopen without sync must give back the model as it was at some point since the
// last sync (LogStore's contract: a crash loses a suffix of the unsynced mutations).
TEST(Wal, RandomOperationsMatchTheMemoryStore) {
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir t;
    std::mt19937 rng(seed);
    auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
    const uint64_t seg_bytes = 64 + pick(300);
    auto w = open_wal(t.path(), seg_bytes);
    MemoryLogStore model;
    std::vector<MemoryLogStore> since_sync{model};
    raft::Term term = 1;
    for (int step = 0; step < 400; ++step) {
      uint64_t op = pick(100);
      std::string what;
      if (op < 40) {
        Index from = model.last_index() + 1;
        Index n = 1 + pick(8);
        if (pick(4) == 0) ++term;
        std::vector<Entry> es;
        for (Index i = from; i < from + n; ++i)
          es.push_back(Entry{term, i, EntryType::normal,
                             std::string(pick(40), static_cast<char>('a' + i % 26))});
        ASSERT_TRUE(w->append(es));
        ASSERT_TRUE(model.append(es));
        what = "append";
      } else if (op < 50 && model.last_index() >= model.first_index()) {
        Index from = model.first_index() + pick(model.last_index() - model.first_index() + 1);
        ASSERT_TRUE(w->truncate_suffix(from)) << w->last_error();
        ASSERT_TRUE(model.truncate_suffix(from));
        what = "truncate";
      } else if (op < 58 && model.last_index() >= model.first_index()) {
        Index upto = model.first_index() + pick(model.last_index() - model.first_index() + 1);
        ASSERT_TRUE(w->compact_prefix(upto));
        ASSERT_TRUE(model.compact_prefix(upto));
        what = "compact";
      } else if (op < 61) {
        Index at = model.last_index() + pick(20);
        ++term;
        ASSERT_TRUE(w->reset(at, term));
        ASSERT_TRUE(model.reset(at, term));
        what = "reset";
      } else if (op < 70) {
        HardState hs{term, pick(4), model.last_index()};
        w->set_hard_state(hs);
        model.set_hard_state(hs);
        what = "hard state";
      } else if (op < 90) {
        ASSERT_TRUE(w->sync()) << w->last_error();
        since_sync.clear();
        what = "sync";
      } else if (op < 95) {
        ASSERT_TRUE(w->sync());
        since_sync.clear();
        since_sync.push_back(model);
        w = reopen(std::move(w), seg_bytes);
        ASSERT_TRUE(w);
        expect_same(*w, model, "clean reopen at step " + std::to_string(step));
        continue;
      } else {
        w = reopen(std::move(w), seg_bytes);
        ASSERT_TRUE(w);
        bool matched = false;
        for (const auto& m : since_sync) {
          if (m.first_index() == w->first_index() && m.last_index() == w->last_index() &&
              m.hard_state() == w->hard_state() &&
              *m.term(m.first_index() - 1) == *w->term(w->first_index() - 1) &&
              all_entries(m) == all_entries(*w))
            matched = true;
        }
        ASSERT_TRUE(matched) << "unsynced reopen at step " << step
                             << " gave a state that never existed";
        model = MemoryLogStore();
        // Rebuild the model from what survived.
        if (w->first_index() > 1) {
          ASSERT_TRUE(model.reset(w->first_index() - 1, *w->term(w->first_index() - 1)));
        }
        ASSERT_TRUE(model.append(all_entries(*w)));
        model.set_hard_state(w->hard_state());
        since_sync.assign(1, model);
        continue;
      }
      since_sync.push_back(model);
      expect_same(*w, model, what + " at step " + std::to_string(step));
      (void)what;
    }
  }
}

}  // namespace
}  // namespace cairn::wal::test
