#include "wal/segment.h"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "wal/file.h"

namespace cairn::wal {

Segment::Segment(std::string dir, raft::Index first, uint64_t generation, const IoFault* fault)
    : path_(path_join(dir, file_name(first, generation))),
      first_(first),
      generation_(generation),
      fault_(fault) {}

Segment::~Segment() {
  if (fd_ >= 0) ::close(fd_);
}

std::string Segment::file_name(raft::Index first, uint64_t generation) {
  char name[64];
  std::snprintf(name, sizeof name, "%020" PRIu64 "-%08" PRIu64 ".wal", first, generation);
  return name;
}

bool Segment::parse_file_name(std::string_view name, raft::Index* first, uint64_t* generation) {
  constexpr std::string_view kExt = ".wal";
  if (name.size() < 20 + 1 + 8 + kExt.size() || name.substr(name.size() - kExt.size()) != kExt)
    return false;
  std::string_view stem = name.substr(0, name.size() - kExt.size());
  if (stem[20] != '-') return false;
  auto number = [](std::string_view digits, uint64_t* out) {
    if (digits.empty() || digits.size() > 20) return false;
    uint64_t v = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (v > (UINT64_MAX - d) / 10) return false;
      v = v * 10 + d;
    }
    *out = v;
    return true;
  };
  return number(stem.substr(0, 20), first) && number(stem.substr(21), generation) && *first > 0;
}

Result<Ok, std::string> Segment::open_existing(uint64_t valid_bytes) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return Unexpected{errno_message("open", path_)};
  base_ = valid_bytes;
  return Ok{};
}

Result<Ok, std::string> Segment::read(uint64_t offset, size_t n, char* out) const {
  if (offset < base_) {
    size_t from_file = static_cast<size_t>(std::min<uint64_t>(n, base_ - offset));
    auto r = pread_exact(fd_, out, from_file, static_cast<off_t>(offset), path_);
    if (!r) return r;
    out += from_file;
    n -= from_file;
    offset += from_file;
  }
  if (n == 0) return Ok{};
  uint64_t at = offset - base_;
  if (at + n > buf_.size())
    return Unexpected{"read " + path_ + ": offset beyond the segment's end"};
  std::memcpy(out, buf_.data() + at, n);
  return Ok{};
}

Result<Ok, std::string> Segment::truncate(uint64_t offset, WalProbe& probe) {
  if (offset >= base_) {
    buf_.resize(std::min<uint64_t>(buf_.size(), offset - base_));
    return Ok{};
  }
  buf_.clear();
  if (::ftruncate(fd_, static_cast<off_t>(offset)) != 0)
    return Unexpected{errno_message("ftruncate", path_)};
  if (auto r = fdatasync_file(fd_, path_, fault_); !r) return r;
  ++probe.fdatasyncs;
  base_ = offset;
  return Ok{};
}

Result<Ok, std::string> Segment::create() {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) return Unexpected{errno_message("create", path_)};
  base_ = 0;
  return Ok{};
}

Result<Ok, std::string> Segment::flush(WalProbe& probe) {
  if (buf_.empty()) return Ok{};
  auto w = pwrite_all(fd_, buf_.data(), buf_.size(), static_cast<off_t>(base_), path_, fault_);
  if (!w) return w;
  if (auto r = fdatasync_file(fd_, path_, fault_); !r) return r;
  ++probe.fdatasyncs;
  probe.bytes_written += buf_.size();
  base_ += buf_.size();
  buf_.clear();
  return Ok{};
}

}  // namespace cairn::wal
