#pragma once

// The record format of segment files (docs/wal.md draws the whole layout):
//
//   offset  size  field
//   0       4     crc32c, little-endian, of bytes [4, 9 + length): length, type and payload
//   4       4     length of the payload, little-endian
//   8       1     record type (RecordType)
//   9       len   payload
//
// An `entry` record's payload is term (u64 LE), index (u64 LE), entry type (u8), then the
// entry's data (the rest of the payload). All integers are fixed-width so that a reader can
// tell a record's data size from its length alone.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raft/types.h"

namespace cairn::wal {

inline constexpr size_t kRecordHeaderSize = 9;
inline constexpr size_t kEntryFixedSize = 17;  // term, index, entry type
/// A length field above this is treated as corruption rather than an allocation request.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;

enum class RecordType : uint8_t { entry = 1 };

/// Appends the encoding of `e` to `out` and returns the number of bytes added.
size_t encode_entry_record(std::string& out, const raft::Entry& e);

/// Bytes the record of an entry with `data_size` bytes of data occupies.
inline uint64_t entry_record_size(uint64_t data_size) {
  return kRecordHeaderSize + kEntryFixedSize + data_size;
}

/// One decoded entry record; `data` points into the buffer that was parsed.
struct RecordView {
  uint32_t size = 0;  // whole record, header included
  raft::Term term = 0;
  raft::Index index = 0;
  raft::EntryType type = raft::EntryType::normal;
  std::string_view data;
};

/// incomplete: `in` ends before the record does (a torn write looks like this).
/// corrupt: the bytes are all there but the checksum, type or layout is wrong.
enum class ParseStatus { ok, incomplete, corrupt };
const char* to_string(ParseStatus s);

/// Parses the record at the start of `in`.
ParseStatus parse_record(std::string_view in, RecordView* out);

/// True if a valid entry record whose index is >= `min_index` starts anywhere in `in` at or after
/// byte `from`. Recovery uses it to tell a torn tail (nothing valid after the bad record) from
/// corruption in the middle of the log (valid records follow). Linear in practice: a position is
/// checksummed only when its type, length and index fields are plausible.
bool valid_record_after(std::string_view in, size_t from, raft::Index min_index, size_t* found_at);

}  // namespace cairn::wal
