#include "wal/record.h"

#include "common/endian.h"
#include "wal/crc32c.h"

namespace cairn::wal {
namespace {

// Records are little-endian (docs/wal.md).
void put32(std::string& out, uint32_t v) { endian::append_le<uint32_t>(out, v); }
void put64(std::string& out, uint64_t v) { endian::append_le<uint64_t>(out, v); }
uint32_t get32(const char* p) { return endian::load_le<uint32_t>(p); }
uint64_t get64(const char* p) { return endian::load_le<uint64_t>(p); }

}  // namespace

const char* to_string(ParseStatus s) {
  switch (s) {
    case ParseStatus::ok:
      return "ok";
    case ParseStatus::incomplete:
      return "incomplete record";
    case ParseStatus::corrupt:
      return "bad checksum or layout";
  }
  return "?";
}

size_t encode_entry_record(std::string& out, const raft::Entry& e) {
  size_t start = out.size();
  put32(out, 0);  // checksum, filled in below
  put32(out, static_cast<uint32_t>(kEntryFixedSize + e.data.size()));
  out.push_back(static_cast<char>(RecordType::entry));
  put64(out, e.term);
  put64(out, e.index);
  out.push_back(static_cast<char>(e.type));
  out.append(e.data);
  uint32_t crc = crc32c(out.data() + start + 4, out.size() - start - 4);
  endian::store_le<uint32_t>(out.data() + start, crc);
  return out.size() - start;
}

ParseStatus parse_record(std::string_view in, RecordView* out) {
  if (in.size() < kRecordHeaderSize) return ParseStatus::incomplete;
  uint32_t len = get32(in.data() + 4);
  if (len > kMaxRecordPayload) return ParseStatus::corrupt;
  if (in.size() - kRecordHeaderSize < len) return ParseStatus::incomplete;
  if (crc32c(in.data() + 4, 5 + static_cast<size_t>(len)) != get32(in.data()))
    return ParseStatus::corrupt;
  if (static_cast<uint8_t>(in[8]) != static_cast<uint8_t>(RecordType::entry))
    return ParseStatus::corrupt;
  if (len < kEntryFixedSize) return ParseStatus::corrupt;
  const char* p = in.data() + kRecordHeaderSize;
  auto type = static_cast<uint8_t>(p[16]);
  if (type > static_cast<uint8_t>(raft::EntryType::conf_change)) return ParseStatus::corrupt;
  out->size = static_cast<uint32_t>(kRecordHeaderSize + len);
  out->term = get64(p);
  out->index = get64(p + 8);
  out->type = static_cast<raft::EntryType>(type);
  out->data = std::string_view(p + kEntryFixedSize, len - kEntryFixedSize);
  return ParseStatus::ok;
}

bool valid_record_after(std::string_view in, size_t from, raft::Index min_index, size_t* found_at) {
  constexpr size_t kMin = kRecordHeaderSize + kEntryFixedSize;
  for (size_t pos = from; pos + kMin <= in.size(); ++pos) {
    const char* p = in.data() + pos;
    if (static_cast<uint8_t>(p[8]) != static_cast<uint8_t>(RecordType::entry)) continue;
    uint32_t len = get32(p + 4);
    if (len < kEntryFixedSize || len > in.size() - pos - kRecordHeaderSize) continue;
    if (get64(p + kRecordHeaderSize + 8) < min_index) continue;
    RecordView r;
    if (parse_record(in.substr(pos), &r) == ParseStatus::ok) {
      *found_at = pos;
      return true;
    }
  }
  return false;
}

}  // namespace cairn::wal
