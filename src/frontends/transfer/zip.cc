#include "frontends/transfer/zip.h"

#include <zlib.h>

#include <cstring>

namespace cairn::transfer {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr size_t kEndSize = 22;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;

uint16_t u16(std::string_view b, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               (static_cast<uint8_t>(b[at + 1]) << 8));
}
uint32_t u32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(u16(b, at)) | (static_cast<uint32_t>(u16(b, at + 2)) << 16);
}
void put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v & 0xffff));
  put16(out, static_cast<uint16_t>(v >> 16));
}

uint32_t crc_of(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t off = 0;
  while (off < data.size()) {
    const uInt n = static_cast<uInt>(std::min<size_t>(data.size() - off, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + off), n);
    off += n;
  }
  return static_cast<uint32_t>(crc);
}

/// Raw deflate (no zlib header) of `data` into exactly `size` bytes, refusing more than that.
Result<std::string, std::string> inflate_raw(std::string_view data, size_t size) {
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return Unexpected{std::string("inflate init failed")};
  std::string out(size, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(size);
  int rc = inflate(&z, Z_FINISH);
  const size_t produced = size - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != size) {
    return Unexpected{std::string("deflated data is corrupt or does not match its size")};
  }
  return out;
}

std::string deflate_raw(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return {};
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return {};
  return out;
}

}  // namespace

bool looks_like_zip(std::string_view bytes) {
  return bytes.size() >= 4 && (u32(bytes, 0) == kLocalSig || u32(bytes, 0) == kEndSig);
}

Result<std::vector<ZipEntry>, std::string> read_zip(std::string_view b, ZipLimits limits) {
  using Err = Unexpected<std::string>;
  if (b.size() < kEndSize) return Err{"not a zip archive (too short)"};
  // The end record: the last signature that leaves room for the record and its comment.
  size_t end = std::string_view::npos;
  const size_t lowest = b.size() >= kEndSize + 0xffff ? b.size() - kEndSize - 0xffff : 0;
  for (size_t at = b.size() - kEndSize + 1; at-- > lowest;) {
    if (u32(b, at) == kEndSig && at + kEndSize + u16(b, at + 20) == b.size()) {
      end = at;
      break;
    }
  }
  if (end == std::string_view::npos) return Err{"not a zip archive (no end of central directory)"};
  const uint16_t disk = u16(b, end + 4), cd_disk = u16(b, end + 6);
  const uint16_t count = u16(b, end + 10);
  const uint32_t cd_size = u32(b, end + 12), cd_offset = u32(b, end + 16);
  if (disk != 0 || cd_disk != 0 || u16(b, end + 8) != count) {
    return Err{"multi-disk zip archives are not supported"};
  }
  if (count == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
    return Err{"zip64 archives are not supported"};
  }
  if (static_cast<uint64_t>(cd_offset) + cd_size > end) {
    return Err{"truncated zip archive (central directory out of bounds)"};
  }
  if (count > limits.max_entries) {
    return Err{"zip archive has " + std::to_string(count) + " entries; at most " +
               std::to_string(limits.max_entries)};
  }
  std::vector<ZipEntry> out;
  size_t total = 0;
  size_t at = cd_offset;
  for (uint16_t i = 0; i < count; ++i) {
    if (at + kCentralSize > end || u32(b, at) != kCentralSig) {
      return Err{"corrupt zip central directory (entry " + std::to_string(i) + ")"};
    }
    const uint16_t flags = u16(b, at + 8), method = u16(b, at + 10);
    const uint32_t crc = u32(b, at + 16), csize = u32(b, at + 20), usize = u32(b, at + 24);
    const uint16_t name_len = u16(b, at + 28), extra_len = u16(b, at + 30),
                   comment_len = u16(b, at + 32);
    const uint32_t local = u32(b, at + 42);
    const size_t next = at + kCentralSize + name_len + extra_len + comment_len;
    if (next > end) return Err{"corrupt zip central directory (entry " + std::to_string(i) + ")"};
    std::string name(b.substr(at + kCentralSize, name_len));
    at = next;
    if (csize == 0xffffffff || usize == 0xffffffff || local == 0xffffffff) {
      return Err{"zip64 archives are not supported"};
    }
    if (flags & 0x1) return Err{"encrypted zip entries are not supported: " + name};
    if (!name.empty() && name.back() == '/') continue;  // a directory
    if (static_cast<uint64_t>(local) + kLocalSize > b.size() || u32(b, local) != kLocalSig) {
      return Err{"corrupt zip local header: " + name};
    }
    const size_t data_at =
        static_cast<size_t>(local) + kLocalSize + u16(b, local + 26) + u16(b, local + 28);
    if (data_at > b.size() || csize > b.size() - data_at) {
      return Err{"truncated zip entry: " + name};
    }
    total += usize;
    if (usize > limits.max_total_bytes || total > limits.max_total_bytes) {
      return Err{"zip archive expands beyond " + std::to_string(limits.max_total_bytes) +
                 " bytes"};
    }
    std::string_view data = b.substr(data_at, csize);
    ZipEntry entry;
    entry.name = std::move(name);
    if (method == 0) {
      if (csize != usize) return Err{"stored zip entry with two sizes: " + entry.name};
      entry.data = std::string(data);
    } else if (method == 8) {
      auto inflated = inflate_raw(data, usize);
      if (!inflated.ok()) return Err{inflated.error() + ": " + entry.name};
      entry.data = std::move(*inflated);
    } else {
      return Err{"zip compression method " + std::to_string(method) +
                 " is not supported (stored and deflate are): " + entry.name};
    }
    if (crc_of(entry.data) != crc) return Err{"zip entry fails its CRC-32: " + entry.name};
    out.push_back(std::move(entry));
  }
  return out;
}

std::string write_zip(const std::vector<ZipEntry>& entries, uint16_t dos_time,
                      uint16_t dos_date) {
  std::string out, central;
  for (const auto& e : entries) {
    const uint32_t crc = crc_of(e.data);
    std::string deflated = deflate_raw(e.data);
    const bool stored = deflated.empty() || deflated.size() >= e.data.size();
    const std::string& body = stored ? e.data : deflated;
    const uint16_t method = stored ? 0 : 8;
    const uint32_t offset = static_cast<uint32_t>(out.size());
    auto header = [&](std::string& to, bool is_central) {
      put32(to, is_central ? kCentralSig : kLocalSig);
      if (is_central) put16(to, 20);  // made by: MS-DOS-compatible, spec 2.0
      put16(to, 20);                  // needed to extract
      put16(to, 0x0800);              // names are UTF-8
      put16(to, method);
      put16(to, dos_time);
      put16(to, dos_date);
      put32(to, crc);
      put32(to, static_cast<uint32_t>(body.size()));
      put32(to, static_cast<uint32_t>(e.data.size()));
      put16(to, static_cast<uint16_t>(e.name.size()));
      put16(to, 0);  // extra
      if (is_central) {
        put16(to, 0);  // comment
        put16(to, 0);  // disk
        put16(to, 0);  // internal attributes
        put32(to, 0);  // external attributes
        put32(to, offset);
      }
      to += e.name;
    };
    header(out, false);
    out += body;
    header(central, true);
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, kEndSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(entries.size()));
  put16(out, static_cast<uint16_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace cairn::transfer
