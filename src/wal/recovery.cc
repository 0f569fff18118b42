// WalLogStore::recover_(): how a directory left by a clean shutdown or a crash becomes a log.
// Everything is read and checked first; only then are segment files cut or removed, so a directory
// that is refused is left as it was found.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "wal/file.h"
#include "wal/record.h"
#include "wal/wal.h"

namespace cairn::wal {

using raft::Index;

namespace {

/// One segment file of the current generation as found on disk.
struct Found {
  Index first = 0;
  std::string path;
  struct Record {
    raft::Term term;
    uint64_t offset;
    uint32_t size;
  };
  std::vector<Record> records;
  uint64_t valid_bytes = 0;  // records end here; more bytes in the file are a tail to drop
  uint64_t file_bytes = 0;
  std::string tail_reason;
  Index last() const { return first + records.size() - 1; }  // first - 1 when empty
};

/// Reads every record of `f`. A bad record is tolerated only at the end of the last segment
/// and only if no valid record follows it (a torn write); anything else is an error.
Result<Ok, std::string> scan(Found& f, bool is_last) {
  auto bytes = read_file(f.path);
  if (!bytes) return Unexpected{bytes.error()};
  std::string_view in = *bytes;
  f.file_bytes = in.size();
  uint64_t off = 0;
  Index next = f.first;
  while (off < in.size()) {
    RecordView r;
    ParseStatus st = parse_record(in.substr(off), &r);
    if (st == ParseStatus::ok) {
      if (r.index != next)
        return Unexpected{f.path + ": the record at offset " + std::to_string(off) +
                          " holds entry " + std::to_string(r.index) + " but entry " +
                          std::to_string(next) + " was expected; refusing to open"};
      f.records.push_back({r.term, off, r.size});
      off += r.size;
      ++next;
      continue;
    }
    std::string what = std::string(to_string(st)) + " at offset " + std::to_string(off);
    if (!is_last)
      return Unexpected{
          f.path + ": " + what +
          " in a segment that is not the last one; refusing to open (entries after it "
          "may have been acknowledged). Restore this node from a peer."};
    size_t at = 0;
    if (valid_record_after(in, off + 1, next, &at))
      return Unexpected{
          f.path + ": " + what + ", followed by a valid record at offset " + std::to_string(at) +
          "; this is corruption in the middle of the log, not a torn write, so refusing "
          "to open. Restore this node from a peer."};
    f.tail_reason = what;
    break;
  }
  f.valid_bytes = off;
  return Ok{};
}

}  // namespace

Result<Ok, std::string> WalLogStore::recover_() {
  const std::string& dir = opts_.dir;
  auto fail = [&](const std::string& why) { return Unexpected{"wal: " + why}; };

  // The directory: segment files, a META, maybe a META.tmp from an interrupted replacement.
  std::vector<std::pair<Index, uint64_t>> names;  // (first, generation)
  std::error_code ec;
  for (const auto& de : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = de.path().filename().string();
    Index first = 0;
    uint64_t gen = 0;
    if (name == kMetaTempFile) {
      std::string tmp = path_join(dir, name);
      if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return fail(errno_message("unlink", tmp));
    } else if (Segment::parse_file_name(name, &first, &gen)) {
      names.emplace_back(first, gen);
    }
  }
  if (ec) return fail("list " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());

  std::string meta_path = path_join(dir, kMetaFile);
  if (::access(meta_path.c_str(), F_OK) != 0) {
    if (errno != ENOENT) return fail(errno_message("access", meta_path));
    if (!names.empty())
      return fail(dir +
                  " holds segment files but no META (the hard state and snapshot point); "
                  "refusing to open");
    meta_ = Meta{};
    if (auto r = write_meta(dir, meta_); !r) return fail(r.error());
    ++probe_.meta_writes;
    ++probe_.dir_syncs;
  } else {
    auto bytes = read_file(meta_path);
    if (!bytes) return fail(bytes.error());
    auto m = decode_meta(*bytes);
    if (!m) return fail(meta_path + " is corrupt (" + m.error() + "); refusing to open");
    meta_ = *m;
  }
  durable_meta_ = meta_;
  const Index snap = meta_.snap_index;

  // Plan: which files to remove, which tail to cut, which segments make up the log.
  std::vector<std::pair<std::string, std::string>> remove;  // (path, why), logged when removed
  std::vector<Found> found;
  for (const auto& [first, gen] : names) {
    std::string path = path_join(dir, Segment::file_name(first, gen));
    if (gen < meta_.generation) {
      remove.emplace_back(path, "its generation " + std::to_string(gen) + " predates META's " +
                                    std::to_string(meta_.generation) +
                                    " (a reset() interrupted by a crash)");
    } else if (gen > meta_.generation) {
      return fail(path + " has generation " + std::to_string(gen) + ", newer than META's " +
                  std::to_string(meta_.generation) + "; refusing to open");
    } else {
      found.push_back(Found{first, path, {}, 0, 0, {}});
    }
  }
  for (size_t k = 0; k < found.size(); ++k)
    if (auto r = scan(found[k], k + 1 == found.size()); !r) return fail(r.error());

  // Segments whose every entry is covered by the snapshot were being deleted by a compaction
  // (or are emptied by it); the rest must form one contiguous run that starts at or before
  // snap + 1.
  std::vector<Found*> kept;
  for (Found& f : found) {
    if (f.last() <= snap) {
      if (!kept.empty())
        return fail(f.path + " lies inside the range of " + kept.back()->path +
                    "; refusing to open");
      remove.emplace_back(f.path, "all its entries are covered by the snapshot at index " +
                                      std::to_string(snap) +
                                      " (a compaction interrupted by a crash)");
    } else {
      kept.push_back(&f);
    }
  }
  for (size_t k = 0; k < kept.size(); ++k) {
    Index expect = k == 0 ? snap + 1 : kept[k - 1]->last() + 1;
    bool ok = k == 0 ? kept[k]->first <= expect : kept[k]->first == expect;
    if (!ok)
      return fail(kept[k]->path + " starts at entry " + std::to_string(kept[k]->first) +
                  " but the log (" + (k == 0 ? "META's snapshot" : kept[k - 1]->path) +
                  ") ends at entry " + std::to_string(expect - 1) +
                  "; a segment is missing, refusing to open");
  }

  // Apply the plan.
  for (Found* f : kept) {
    auto seg = std::make_unique<Segment>(dir, f->first, meta_.generation, &opts_.io_fault);
    if (auto r = seg->open_existing(f->file_bytes); !r) return fail(r.error());
    if (f->valid_bytes < f->file_bytes) {
      if (auto r = seg->truncate(f->valid_bytes, probe_); !r) return fail(r.error());
      ++probe_.tail_truncations;
      note_("dropped the torn or corrupt tail of " + f->path + ": " + f->tail_reason + ", " +
            std::to_string(f->file_bytes - f->valid_bytes) + " bytes cut");
    }
    for (size_t j = 0; j < f->records.size(); ++j) {
      if (f->first + j <= snap) continue;
      const Found::Record& r = f->records[j];
      index_.push_back(Loc{r.term, r.offset, r.size});
    }
    segs_.push_back(std::move(seg));
  }
  for (const auto& [path, why] : remove) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return fail(errno_message("unlink", path));
    ++probe_.segments_removed;
    note_("removed " + path + ": " + why);
  }
  if (!remove.empty()) {
    if (auto r = fsync_dir(dir); !r) return fail(r.error());
    ++probe_.dir_syncs;
  }
  probe_.segments = segs_.size();
  return Ok{};
}

}  // namespace cairn::wal
