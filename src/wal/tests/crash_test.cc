// What recovery makes of files a crash (or a disk) could leave behind: torn tails at every byte
// offset, flipped bytes, garbage after the last record, half-done compaction and reset.

#include <gtest/gtest.h>

#include <random>

#include "raft/tests/log_store_conformance.h"
#include "wal/record.h"
#include "wal/tests/test_util.h"

namespace cairn::wal::test {
namespace {

using raft::Entry;
using raft::HardState;
using raft::Index;
using raft::test::make_entries;

constexpr Index kRecords = 12;

/// A synced WAL of kRecords entries in one segment, closed; returns the segment's path.
std::string build(const std::string& dir, uint64_t max_segment_bytes = 64ull << 20) {
  auto w = open_wal(dir, max_segment_bytes);
  EXPECT_TRUE(w->append(make_entries(1, kRecords, 1)));
  w->set_hard_state(HardState{1, 1, 5});
  EXPECT_TRUE(w->sync());
  return segment_files(dir).back();
}

/// Offset of the record of entry `i` in a segment starting at `first` holding make_entries().
uint64_t offset_of(Index first, Index i) {
  uint64_t off = 0;
  for (const Entry& e : make_entries(first, i - 1, 1)) off += entry_record_size(e.data.size());
  return off;
}

/// Opens a copy of `src` in which the segment file (by name) has been replaced by `bytes`.
Result<std::unique_ptr<WalLogStore>, std::string> open_mutated(
    const std::string& src, const std::string& dst, const std::string& segment,
    const std::string& bytes, uint64_t max_segment_bytes = 64ull << 20) {
  copy_dir(src, dst);
  std::filesystem::remove(dst + "/LOCK");
  write_bytes(dst + "/" + std::filesystem::path(segment).filename().string(), bytes);
  return WalLogStore::open(options(dst, max_segment_bytes));
}

void expect_prefix(WalLogStore& w, Index last) {
  ASSERT_EQ(w.last_index(), last);
  if (last > 0) {
    auto es = w.entries(1, last + 1, UINT64_MAX);
    ASSERT_TRUE(es) << w.last_error();
    EXPECT_EQ(*es, make_entries(1, last, 1));
  }
  EXPECT_EQ(w.hard_state(), (HardState{1, 1, 5}));
}

TEST(Crash, CutAtEveryOffsetOfTheLastRecord) {
  TempDir t;
  std::string seg = build(t.file("src"));
  std::string bytes = read_bytes(seg);
  uint64_t last_at = offset_of(1, kRecords);
  ASSERT_LT(last_at, bytes.size());
  for (uint64_t cut = last_at; cut < bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    auto w = open_mutated(t.file("src"), t.file("dst"), seg, bytes.substr(0, cut));
    ASSERT_TRUE(w) << w.error();
    expect_prefix(**w, kRecords - 1);
    EXPECT_EQ((*w)->probe().tail_truncations, cut > last_at ? 1u : 0u);
    // The tail is gone from the file: new records land right after the last whole one.
    ASSERT_TRUE((*w)->append(make_entries(kRecords, kRecords + 1, 2)));
    ASSERT_TRUE((*w)->sync());
    w->reset();
    auto again = WalLogStore::open(options(t.file("dst")));
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ((*again)->last_index(), kRecords + 1);
    EXPECT_EQ(*(*again)->term(kRecords), 2u);
    EXPECT_TRUE((*again)->recovery_notes().empty());
  }
}

TEST(Crash, CutAnywhereGivesTheWholeRecordsBeforeTheCut) {
  TempDir t;
  std::string seg = build(t.file("src"));
  std::string bytes = read_bytes(seg);
  for (uint64_t cut = 0; cut <= bytes.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    Index whole = 0;
    while (whole < kRecords && offset_of(1, whole + 2) <= cut) ++whole;
    auto w = open_mutated(t.file("src"), t.file("dst"), seg, bytes.substr(0, cut));
    ASSERT_TRUE(w) << w.error();
    expect_prefix(**w, whole);
    w->reset();  // close, then reopen the repaired directory
    auto again = WalLogStore::open(options(t.file("dst")));
    ASSERT_TRUE(again) << again.error();
    expect_prefix(**again, whole);
    EXPECT_TRUE((*again)->recovery_notes().empty());
    ASSERT_TRUE((*again)->append(make_entries(whole + 1, whole + 1, 1)));
    ASSERT_TRUE((*again)->sync());
  }
}

TEST(Crash, FlippedByteInTheLastRecordDropsIt) {
  TempDir t;
  std::string seg = build(t.file("src"));
  std::string bytes = read_bytes(seg);
  for (uint64_t at = offset_of(1, kRecords); at < bytes.size(); ++at) {
    SCOPED_TRACE("flip at " + std::to_string(at));
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    auto w = open_mutated(t.file("src"), t.file("dst"), seg, bad);
    ASSERT_TRUE(w) << w.error();
    expect_prefix(**w, kRecords - 1);
    ASSERT_EQ((*w)->recovery_notes().size(), 1u);
    EXPECT_NE((*w)->recovery_notes()[0].find("tail"), std::string::npos);
  }
}

TEST(Crash, FlippedByteInAMiddleRecordRefusesToOpen) {
  TempDir t;
  std::string seg = build(t.file("src"));
  std::string bytes = read_bytes(seg);
  const Index victim = 5;
  uint64_t begin = offset_of(1, victim), end = offset_of(1, victim + 1);
  for (uint64_t at = begin; at < end; ++at) {
    SCOPED_TRACE("flip at " + std::to_string(at));
    std::string bad = bytes;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    auto w = open_mutated(t.file("src"), t.file("dst"), seg, bad);
    ASSERT_FALSE(w);
    const std::string& msg = w.error();
    EXPECT_NE(msg.find(std::filesystem::path(seg).filename().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("offset " + std::to_string(begin)), std::string::npos) << msg;
    EXPECT_NE(msg.find("refusing to open"), std::string::npos) << msg;
    // Refused directories are left untouched.
    EXPECT_EQ(read_bytes(t.file("dst") + "/" + std::filesystem::path(seg).filename().string()), bad);
  }
}

TEST(Crash, GarbageAfterTheLastRecordIsDropped) {
  TempDir t;
  std::string seg = build(t.file("src"));
  std::string bytes = read_bytes(seg);
  std::mt19937 rng(7);
  for (size_t len : {1, 8, 9, 26, 100, 4096}) {
    for (bool zeros : {true, false}) {
      SCOPED_TRACE(std::to_string(len) + (zeros ? " zero bytes" : " random bytes"));
      std::string junk(len, '\0');
      if (!zeros)
        for (char& c : junk) c = static_cast<char>(rng());
      auto w = open_mutated(t.file("src"), t.file("dst"), seg, bytes + junk);
      ASSERT_TRUE(w) << w.error();
      expect_prefix(**w, kRecords);
      EXPECT_EQ(std::filesystem::file_size(t.file("dst") + "/" +
                                           std::filesystem::path(seg).filename().string()),
                bytes.size());
    }
  }
}

TEST(Crash, CorruptionInANonLastSegmentRefusesToOpen) {
  TempDir t;
  build(t.file("src"), 60);  // a few records per segment
  auto files = segment_files(t.file("src"));
  ASSERT_GE(files.size(), 3u);
  // Cut or flip the very last byte of the first segment: a tail, but not of the last segment.
  std::string first = read_bytes(files[0]);
  auto cut =
      open_mutated(t.file("src"), t.file("dst"), files[0], first.substr(0, first.size() - 1), 60);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().find("not the last"), std::string::npos) << cut.error();
  EXPECT_NE(cut.error().find(std::filesystem::path(files[0]).filename().string()),
            std::string::npos);
  std::string flipped = first;
  flipped.back() = static_cast<char>(flipped.back() ^ 1);
  EXPECT_FALSE(open_mutated(t.file("src"), t.file("dst"), files[0], flipped, 60));
}

// A crash right after a new segment's file was created: it is empty or holds a torn first
// record (or its directory entry never made it). The log ends with the previous segment, and
// the next append goes into the (now empty) file.
TEST(Crash, NewSegmentEmptyTornOrMissing) {
  TempDir t;
  build(t.file("src"), 60);
  auto files = segment_files(t.file("src"));
  ASSERT_GE(files.size(), 3u);
  Index last_first = 0;
  uint64_t gen = 0;
  ASSERT_TRUE(Segment::parse_file_name(std::filesystem::path(files.back()).filename().string(),
                                       &last_first, &gen));
  std::string last = read_bytes(files.back());
  for (size_t keep : {size_t{0}, size_t{5}, size_t{20}, std::string::npos}) {
    SCOPED_TRACE("keep " + std::to_string(keep));
    copy_dir(t.file("src"), t.file("dst"));
    std::string name = t.file("dst") + "/" + std::filesystem::path(files.back()).filename().string();
    if (keep == std::string::npos) {
      std::filesystem::remove(name);
    } else {
      write_bytes(name, last.substr(0, keep));
    }
    {
      auto w = open_wal(t.file("dst"), 60);
      ASSERT_TRUE(w);
      ASSERT_EQ(w->last_index(), last_first - 1);
      ASSERT_TRUE(w->append(make_entries(last_first, last_first + 3, 3)));
      ASSERT_TRUE(w->sync());
    }
    auto w = open_wal(t.file("dst"), 60);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->last_index(), last_first + 3);
    EXPECT_EQ(*w->term(last_first), 3u);
    EXPECT_EQ(*w->term(last_first - 1), 1u);
  }
}

TEST(Crash, MissingMiddleSegmentRefusesToOpen) {
  TempDir t;
  build(t.file("src"), 60);
  auto files = segment_files(t.file("src"));
  ASSERT_GE(files.size(), 3u);
  copy_dir(t.file("src"), t.file("dst"));
  std::filesystem::remove(t.file("dst") + "/" + std::filesystem::path(files[1]).filename().string());
  auto w = WalLogStore::open(options(t.file("dst"), 60));
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().find("missing"), std::string::npos) << w.error();
}

TEST(Crash, CorruptMetaRefusesToOpen) {
  TempDir t;
  build(t.file("src"));
  copy_dir(t.file("src"), t.file("dst"));
  std::string meta = read_bytes(t.file("dst/META"));
  meta[45] ^= 1;
  write_bytes(t.file("dst/META"), meta);
  auto w = WalLogStore::open(options(t.file("dst")));
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().find("META is corrupt"), std::string::npos) << w.error();
  std::filesystem::remove(t.file("dst/META"));
  w = WalLogStore::open(options(t.file("dst")));
  ASSERT_FALSE(w);
  EXPECT_NE(w.error().find("no META"), std::string::npos) << w.error();
}

TEST(Crash, LeftoverMetaTempIsIgnored) {
  TempDir t;
  build(t.file("src"));
  write_bytes(t.file("src/META.tmp"), "half a replacement");
  auto w = open_wal(t.file("src"));
  ASSERT_TRUE(w);
  expect_prefix(*w, kRecords);
  EXPECT_FALSE(std::filesystem::exists(t.file("src/META.tmp")));
}

// compact_prefix() writes META, then unlinks: a crash in between leaves old segments that the
// new snapshot point covers. Put them back and check recovery removes them.
TEST(Crash, CompactionInterruptedBeforeUnlink) {
  TempDir t;
  build(t.file("src"), 60);
  copy_dir(t.file("src"), t.file("before"));
  std::filesystem::remove(t.file("before/LOCK"));
  {
    auto w = open_wal(t.file("src"), 60);
    ASSERT_TRUE(w->compact_prefix(9));
    ASSERT_TRUE(w->sync());
  }
  size_t after = segment_files(t.file("src")).size();
  for (const auto& f : segment_files(t.file("before")))
    std::filesystem::copy(f, t.file("src"), std::filesystem::copy_options::skip_existing);
  ASSERT_GT(segment_files(t.file("src")).size(), after);
  auto w = open_wal(t.file("src"), 60);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first_index(), 10u);
  EXPECT_EQ(w->last_index(), kRecords);
  EXPECT_EQ(segment_files(t.file("src")).size(), after);
  EXPECT_FALSE(w->recovery_notes().empty());
}

// reset() writes META with a new generation, then unlinks: old-generation segments left by a
// crash are obsolete whatever indexes they hold, even ones past the new snapshot point.
TEST(Crash, ResetInterruptedBeforeUnlink) {
  TempDir t;
  build(t.file("src"), 60);
  copy_dir(t.file("src"), t.file("before"));
  {
    auto w = open_wal(t.file("src"), 60);
    ASSERT_TRUE(w->reset(6, 3));
    ASSERT_TRUE(w->append(make_entries(7, 8, 4)));
    ASSERT_TRUE(w->sync());
  }
  for (const auto& f : segment_files(t.file("before")))
    std::filesystem::copy(f, t.file("src"), std::filesystem::copy_options::skip_existing);
  auto w = open_wal(t.file("src"), 60);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->first_index(), 7u);
  EXPECT_EQ(*w->term(6), 3u);
  auto es = w->entries(7, 9, UINT64_MAX);
  ASSERT_TRUE(es);
  EXPECT_EQ(*es, make_entries(7, 8, 4));
  for (const auto& f : segment_files(t.file("src")))
    EXPECT_NE(f.find("-00000002.wal"), std::string::npos) << f;
}

}  // namespace
}  // namespace cairn::wal::test
