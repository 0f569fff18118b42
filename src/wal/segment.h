#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "raft/types.h"
#include "wal/file.h"
#include "wal/probe.h"

namespace cairn::wal {

/// One segment file, `<first index:020>-<generation:08>.wal`: a run of entry records whose first
/// record is entry `first`, with consecutive indexes. Its logical contents are the bytes already
/// in the file (the first base() bytes) followed by bytes appended but not yet written (the
/// user-space buffer of group commit); offsets are logical, so an entry keeps its offset when its
/// bytes move from the buffer to the file.
///
/// A segment object may exist before its file: the file is created at the first flush().
/// Lifetime: owned by WalLogStore; closes its file descriptor when destroyed (never unlinks).
/// Threads: the store's thread only.
class Segment {
 public:
  /// `fault` (may be null) is consulted before each write and fdatasync; it must outlive the
  /// segment.
  Segment(std::string dir, raft::Index first, uint64_t generation,
          const IoFault* fault = nullptr);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  static std::string file_name(raft::Index first, uint64_t generation);
  /// Parses a name made by file_name(); false for any other file.
  static bool parse_file_name(std::string_view name, raft::Index* first, uint64_t* generation);

  /// Adopts the existing file, of which the first `valid_bytes` are records (recovery).
  Result<Ok, std::string> open_existing(uint64_t valid_bytes);

  raft::Index first() const { return first_; }
  uint64_t generation() const { return generation_; }
  const std::string& path() const { return path_; }
  bool on_disk() const { return fd_ >= 0; }
  uint64_t base() const { return base_; }  // bytes in the file
  uint64_t size() const { return base_ + buf_.size(); }
  uint64_t pending_bytes() const { return buf_.size(); }

  /// The buffer that appended records are encoded into; they land at offset size().
  std::string& buffer() { return buf_; }

  /// Copies logical bytes [offset, offset + n) into out, from the file and/or the buffer.
  Result<Ok, std::string> read(uint64_t offset, size_t n, char* out) const;

  /// Drops logical bytes from `offset` on. Bytes still in the buffer just vanish; bytes already in
  /// the file are cut with ftruncate() + fdatasync() before this returns, so that later writes
  /// never land in front of stale records. Ordering against other files is the caller's job.
  Result<Ok, std::string> truncate(uint64_t offset, WalProbe& probe);

  /// Creates the file (it must not exist). The caller fsyncs the directory.
  Result<Ok, std::string> create();
  /// Writes the buffered bytes to the file and fdatasyncs it: one fdatasync per segment flushed.
  Result<Ok, std::string> flush(WalProbe& probe);

 private:
  std::string path_;
  raft::Index first_;
  uint64_t generation_;
  const IoFault* fault_;
  int fd_ = -1;
  uint64_t base_ = 0;
  std::string buf_;
};

}  // namespace cairn::wal
