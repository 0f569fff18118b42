#include "wal/meta.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "common/endian.h"
#include "wal/crc32c.h"
#include "wal/file.h"

namespace cairn::wal {
namespace {

constexpr char kMagic[] = "CAIRNWAL";
constexpr uint32_t kVersion = 1;

// The meta file is little-endian (docs/wal.md); its fields are 4 or 8 bytes wide.
void put(std::string& out, uint64_t v, int bytes) {
  if (bytes == 4) return endian::append_le<uint32_t>(out, static_cast<uint32_t>(v));
  endian::append_le<uint64_t>(out, v);
}
uint64_t get(std::string_view in, size_t at, int bytes) {
  if (bytes == 4) return endian::load_le<uint32_t>(in.data() + at);
  return endian::load_le<uint64_t>(in.data() + at);
}

}  // namespace

std::string encode_meta(const Meta& m) {
  std::string out(kMagic, 8);
  put(out, kVersion, 4);
  put(out, 0, 4);
  put(out, m.generation, 8);
  put(out, m.snap_index, 8);
  put(out, m.snap_term, 8);
  put(out, m.hs.term, 8);
  put(out, m.hs.vote, 8);
  put(out, m.hs.commit, 8);
  put(out, crc32c(out), 4);
  return out;
}

Result<Meta, std::string> decode_meta(std::string_view in) {
  if (in.size() != kMetaSize)
    return Unexpected{"size " + std::to_string(in.size()) + ", expected " +
                      std::to_string(kMetaSize)};
  if (in.substr(0, 8) != std::string_view(kMagic, 8)) return Unexpected{std::string("bad magic")};
  if (crc32c(in.substr(0, kMetaSize - 4)) != get(in, kMetaSize - 4, 4))
    return Unexpected{std::string("bad checksum")};
  // The format version covers META and the segment records (docs/wal.md): a later release
  // that changes either raises it, and this one refuses the log rather than misread it.
  if (const uint64_t v = get(in, 8, 4); v != kVersion) {
    return Unexpected{"WAL format version " + std::to_string(v) +
                      (v > kVersion ? " is newer than this release's " : " is not supported by this release's ") +
                      std::to_string(kVersion)};
  }
  Meta m;
  m.generation = get(in, 16, 8);
  m.snap_index = get(in, 24, 8);
  m.snap_term = get(in, 32, 8);
  m.hs.term = get(in, 40, 8);
  m.hs.vote = get(in, 48, 8);
  m.hs.commit = get(in, 56, 8);
  return m;
}

Result<Ok, std::string> write_meta(const std::string& dir, const Meta& m) {
  std::string tmp = path_join(dir, kMetaTempFile);
  std::string bytes = encode_meta(m);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unexpected{errno_message("create", tmp)};
  auto w = pwrite_all(fd, bytes.data(), bytes.size(), 0, tmp);
  if (w && ::fdatasync(fd) != 0) w = Unexpected{errno_message("fdatasync", tmp)};
  ::close(fd);
  if (!w) return w;
  std::string dst = path_join(dir, kMetaFile);
  if (::rename(tmp.c_str(), dst.c_str()) != 0)
    return Unexpected{errno_message("rename to META", tmp)};
  return fsync_dir(dir);
}

}  // namespace cairn::wal
