#include "wal/wal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iostream>

#include "wal/file.h"
#include "wal/record.h"

namespace cairn::wal {

using raft::Entry;
using raft::Index;
using raft::LogError;
using raft::Term;

namespace {
constexpr char kLockFile[] = "LOCK";
}  // namespace

WalLogStore::WalLogStore(WalOptions options) : opts_(std::move(options)) {}

WalLogStore::~WalLogStore() {
  segs_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<WalLogStore>, std::string> WalLogStore::open(WalOptions options) {
  if (options.dir.empty()) return Unexpected{std::string("wal: no directory given")};
  if (options.max_segment_bytes == 0)
    return Unexpected{std::string("wal: max_segment_bytes must be > 0")};
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return Unexpected{"wal: create directory " + options.dir + ": " + ec.message()};
  std::unique_ptr<WalLogStore> s(new WalLogStore(std::move(options)));
  if (auto r = s->lock_(); !r) return Unexpected{r.error()};
  if (auto r = s->recover_(); !r) return Unexpected{r.error()};
  return s;
}

Result<Ok, std::string> WalLogStore::lock_() {
  std::string path = path_join(opts_.dir, kLockFile);
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Unexpected{"wal: " + errno_message("open", path)};
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Unexpected{"wal: directory " + opts_.dir + " is already in use: " + path +
                        " is locked by another process (or another open store)"};
    return Unexpected{"wal: " + errno_message("flock", path)};
  }
  return Ok{};
}

void WalLogStore::note_(std::string line) {
  line = "wal: " + line;
  if (opts_.log) {
    opts_.log(line);
  } else {
    std::cerr << line << '\n';
  }
  notes_.push_back(std::move(line));
}

Unexpected<LogError> WalLogStore::fail_(std::string why) {
  const bool first = !failed_;
  failed_ = true;
  last_error_ = "wal: " + std::move(why) + " (the store is now failed; reopen it to recover)";
  ++probe_.failures;
  if (first && opts_.on_failure) opts_.on_failure(last_error_);
  return Unexpected{LogError::io};
}

Segment* WalLogStore::segment_for_(Index i) const {
  auto it =
      std::upper_bound(segs_.begin(), segs_.end(), i,
                       [](Index v, const std::unique_ptr<Segment>& s) { return v < s->first(); });
  return std::prev(it)->get();
}

void WalLogStore::retire_(std::unique_ptr<Segment> s) {
  if (s->on_disk()) obsolete_.push_back(s->path());
}

Result<Term, LogError> WalLogStore::term(Index i) const {
  if (i < meta_.snap_index) return Unexpected{LogError::compacted};
  if (i > last_index()) return Unexpected{LogError::out_of_range};
  if (i == meta_.snap_index) return meta_.snap_term;
  return loc_(i).term;
}

Result<std::vector<Entry>, LogError> WalLogStore::entries(Index lo, Index hi,
                                                          uint64_t max_bytes) const {
  if (lo < first_index()) return Unexpected{LogError::compacted};
  if (hi > last_index() + 1 || lo > hi) return Unexpected{LogError::out_of_range};
  // Decide how many entries fit from the index alone, then read each segment's run at once.
  Index end = lo;
  uint64_t bytes = 0;
  while (end < hi) {
    uint64_t data = loc_(end).size - kRecordHeaderSize - kEntryFixedSize;
    if (end > lo && bytes + data > max_bytes) break;
    bytes += data;
    ++end;
  }
  std::vector<Entry> out;
  out.reserve(end - lo);
  std::string buf;
  for (Index i = lo; i < end;) {
    auto it =
        std::upper_bound(segs_.begin(), segs_.end(), i,
                         [](Index v, const std::unique_ptr<Segment>& s) { return v < s->first(); });
    const Segment& seg = **std::prev(it);
    Index run_end = it == segs_.end() ? end : std::min(end, (*it)->first());
    uint64_t from = loc_(i).offset;
    uint64_t to = loc_(run_end - 1).offset + loc_(run_end - 1).size;
    buf.resize(to - from);
    if (auto r = seg.read(from, buf.size(), buf.data()); !r) {
      last_error_ = "wal: " + r.error();
      return Unexpected{LogError::io};
    }
    for (; i < run_end; ++i) {
      const Loc& l = loc_(i);
      RecordView v;
      ParseStatus st = parse_record(std::string_view(buf).substr(l.offset - from, l.size), &v);
      if (st != ParseStatus::ok || v.index != i || v.term != l.term || v.size != l.size) {
        last_error_ = "wal: " + seg.path() + ": the record of entry " + std::to_string(i) +
                      " at offset " + std::to_string(l.offset) + " reads back corrupt (" +
                      (st != ParseStatus::ok ? to_string(st) : "unexpected index or term") + ")";
        return Unexpected{LogError::io};
      }
      out.push_back(Entry{v.term, v.index, v.type, std::string(v.data)});
    }
  }
  return out;
}

Result<Ok, LogError> WalLogStore::append(const std::vector<Entry>& entries) {
  if (failed_) return Unexpected{LogError::io};
  Index expect = last_index() + 1;
  for (const Entry& e : entries) {
    if (e.index != expect++) {
      last_error_ = "wal: append of entry " + std::to_string(e.index) + ", expected " +
                    std::to_string(expect - 1);
      return Unexpected{LogError::invalid};
    }
    if (e.data.size() > kMaxRecordPayload - kEntryFixedSize) {
      last_error_ = "wal: entry " + std::to_string(e.index) + " is too large for a record";
      return Unexpected{LogError::invalid};
    }
  }
  for (const Entry& e : entries) {
    Segment* s = segs_.empty() ? nullptr : segs_.back().get();
    if (s == nullptr || (s->size() > 0 && s->size() >= opts_.max_segment_bytes)) {
      // The new segment's file is created by the next sync(), after the previous segment is
      // durable, so a non-last segment is never torn.
      segs_.push_back(std::make_unique<Segment>(opts_.dir, e.index, meta_.generation,
                                                     &opts_.io_fault));
      s = segs_.back().get();
      probe_.segments = segs_.size();
    }
    uint64_t offset = s->size();
    size_t n = encode_entry_record(s->buffer(), e);
    index_.push_back(Loc{e.term, offset, static_cast<uint32_t>(n)});
  }
  probe_.entries_appended += entries.size();
  return Ok{};
}

Result<Ok, LogError> WalLogStore::truncate_suffix(Index from) {
  if (failed_) return Unexpected{LogError::io};
  if (from < first_index()) return Unexpected{LogError::compacted};
  if (from > last_index() + 1) return Unexpected{LogError::out_of_range};
  if (from == last_index() + 1) return Ok{};
  auto it =
      std::upper_bound(segs_.begin(), segs_.end(), from,
                       [](Index v, const std::unique_ptr<Segment>& s) { return v < s->first(); });
  Segment& seg = **std::prev(it);
  uint64_t offset = loc_(from).offset;
  std::vector<std::unique_ptr<Segment>> later(std::make_move_iterator(it),
                                              std::make_move_iterator(segs_.end()));
  segs_.erase(it, segs_.end());
  index_.resize(from - first_index());
  probe_.segments = segs_.size();

  bool cuts_files = offset < seg.base();
  for (const auto& s : later) cuts_files = cuts_files || s->on_disk();
  if (!cuts_files) {
    // Everything removed is still in the write buffer: nothing on disk to undo.
    seg.buffer().resize(offset - seg.base());
    return Ok{};
  }

  // Records that may already be durable are removed now, not at the next sync(): otherwise new
  // appends could reach the disk in front of stale records. Every pending byte lies at or after
  // `from` (it is past the written part of `seg`), so drop them, make earlier pending mutations
  // (META, obsolete segments) durable, then remove later segments newest first and cut `seg`.
  ++probe_.suffix_truncations;
  if (offset < seg.base()) {
    seg.buffer().clear();
  } else {
    seg.buffer().resize(offset - seg.base());
  }
  if (auto r = flush_(); !r) return fail_(r.error());
  bool removed = false;
  for (auto s = later.rbegin(); s != later.rend(); ++s) {
    if (!(*s)->on_disk()) continue;
    std::string path = (*s)->path();
    s->reset();
    if (::unlink(path.c_str()) != 0) return fail_(errno_message("unlink", path));
    ++probe_.segments_removed;
    removed = true;
  }
  if (removed) {
    if (auto r = fsync_dir(opts_.dir); !r) return fail_(r.error());
    ++probe_.dir_syncs;
  }
  if (auto r = seg.truncate(offset, probe_); !r) return fail_(r.error());
  return Ok{};
}

Result<Ok, LogError> WalLogStore::compact_prefix(Index upto) {
  if (failed_) return Unexpected{LogError::io};
  if (upto < meta_.snap_index) return Unexpected{LogError::compacted};
  if (upto > last_index()) return Unexpected{LogError::out_of_range};
  if (upto == meta_.snap_index) return Ok{};
  meta_.snap_term = loc_(upto).term;
  index_.erase(index_.begin(),
               index_.begin() + static_cast<std::ptrdiff_t>(upto - meta_.snap_index));
  meta_.snap_index = upto;
  // A segment goes once the next one starts at or before upto + 1. The last one always stays:
  // it is where appends go, and recovery ignores the compacted records at its front.
  while (segs_.size() >= 2 && segs_[1]->first() <= upto + 1) {
    retire_(std::move(segs_.front()));
    segs_.erase(segs_.begin());
  }
  probe_.segments = segs_.size();
  return Ok{};
}

Result<Ok, LogError> WalLogStore::reset(Index index, Term term) {
  if (failed_) return Unexpected{LogError::io};
  for (auto& s : segs_) retire_(std::move(s));
  segs_.clear();
  index_.clear();
  meta_.snap_index = index;
  meta_.snap_term = term;
  // Segments of the old generation are obsolete the moment META carries the new one, whatever
  // indexes they hold; recovery deletes any that a crash left behind.
  ++meta_.generation;
  probe_.segments = 0;
  return Ok{};
}

bool WalLogStore::dirty_() const {
  if (!(meta_ == durable_meta_) || !obsolete_.empty()) return true;
  return std::any_of(segs_.begin(), segs_.end(),
                     [](const auto& s) { return s->pending_bytes() > 0; });
}

Result<Ok, LogError> WalLogStore::sync() {
  if (failed_) return Unexpected{LogError::io};
  if (!dirty_()) return Ok{};
  const auto start = std::chrono::steady_clock::now();
  if (auto r = flush_(); !r) return fail_(r.error());
  ++probe_.syncs;
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - start).count();
  probe_.sync_ns += static_cast<uint64_t>(ns);
  if (opts_.slow_sync_ms > 0 && ns >= opts_.slow_sync_ms * 1'000'000) note_slow_sync_(ns);
  return Ok{};
}

// A slow disk stalls the Raft thread that waits for it: say so, at most once every 10 s, with
// the slowest sync and how many were slow since the last line. Not kept in recovery_notes().
void WalLogStore::note_slow_sync_(int64_t ns) {
  ++probe_.slow_syncs;
  ++slow_unreported_;
  slowest_unreported_ns_ = std::max(slowest_unreported_ns_, ns);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_slow_note_ < std::chrono::seconds(10)) return;
  last_slow_note_ = now;
  std::string line = "wal: slow disk: " + std::to_string(slow_unreported_) + " sync(s) of " +
                     opts_.dir + " took " + std::to_string(opts_.slow_sync_ms) +
                     " ms or more, the slowest " + std::to_string(slowest_unreported_ns_ / 1'000'000) +
                     " ms; a leader stalled longer than the election timeout loses its leadership";
  slow_unreported_ = 0;
  slowest_unreported_ns_ = 0;
  if (opts_.log) {
    opts_.log(line);
  } else {
    std::cerr << line << '\n';
  }
}

// The order is what makes a crash at any point recoverable:
//   1. META (hard state before the entries of its term; snapshot point before the segments it
//      makes obsolete);
//   2. obsolete segments, oldest first, so that what survives a crash is a contiguous run;
//   3. buffered records, segment by segment: a new file is created and the directory fsynced
//      before data goes in, and each segment is fdatasynced before the next one is written.
Result<Ok, std::string> WalLogStore::flush_() {
  if (!(meta_ == durable_meta_)) {
    if (auto r = write_meta(opts_.dir, meta_); !r) return r;
    durable_meta_ = meta_;
    ++probe_.meta_writes;
    ++probe_.dir_syncs;
  }
  if (!obsolete_.empty()) {
    // With a deleter, each file is opened before its unlink and the descriptor handed over only
    // once the directory fsync made the unlinks durable: until then the blocks stay allocated,
    // so a crash at any point finds either the whole segment or no name. Without one (or if
    // the open fails), the unlink frees them at once as it always did.
    std::vector<int> held;
    auto close_held = [&held] {
      for (int fd : held) ::close(fd);
    };
    for (const std::string& path : obsolete_) {
      const int fd = opts_.deleter ? ::open(path.c_str(), O_WRONLY | O_CLOEXEC) : -1;
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        const int e = errno;
        if (fd >= 0) ::close(fd);
        close_held();
        errno = e;
        return Unexpected{errno_message("unlink", path)};
      }
      if (fd >= 0) held.push_back(fd);
      ++probe_.segments_removed;
    }
    obsolete_.clear();
    if (auto r = fsync_dir(opts_.dir); !r) {
      close_held();
      return r;
    }
    ++probe_.dir_syncs;
    for (int fd : held) opts_.deleter->release(fd);
  }
  for (auto& s : segs_) {
    if (s->pending_bytes() == 0) continue;
    if (!s->on_disk()) {
      if (auto r = s->create(); !r) return r;
      if (auto r = fsync_dir(opts_.dir); !r) return r;
      ++probe_.dir_syncs;
      ++probe_.segments_created;
    }
    if (auto r = s->flush(probe_); !r) return r;
  }
  return Ok{};
}

}  // namespace cairn::wal
