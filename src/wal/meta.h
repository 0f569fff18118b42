#pragma once

// META: the small file that holds what is not a log entry — the hard state (term, vote,
// commit), the snapshot point the log starts after, and the log generation. It is never edited
// in place: a new version is written to META.tmp, fsynced, renamed over META and the directory
// fsynced, so a crash leaves either the old or the new version, whole.
//
//   offset  size  field (little-endian)
//   0       8     magic "CAIRNWAL"
//   8       4     format version (1)
//   12      4     reserved, 0
//   16      8     generation: names the segments that belong to the log (reset() bumps it)
//   24      8     snapshot index: entries up to here are compacted away
//   32      8     snapshot term
//   40      8     hard state term
//   48      8     hard state vote
//   56      8     hard state commit
//   64      4     crc32c of bytes [0, 64)

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::wal {

inline constexpr char kMetaFile[] = "META";
inline constexpr char kMetaTempFile[] = "META.tmp";
inline constexpr size_t kMetaSize = 68;

struct Meta {
  uint64_t generation = 1;
  raft::Index snap_index = 0;
  raft::Term snap_term = 0;
  raft::HardState hs;
  bool operator==(const Meta&) const = default;
};

std::string encode_meta(const Meta& m);
/// Fails with a reason (without the path) if the bytes are not a valid META.
Result<Meta, std::string> decode_meta(std::string_view bytes);
/// Replaces dir/META atomically and durably (see above). Costs two fsyncs.
Result<Ok, std::string> write_meta(const std::string& dir, const Meta& m);

}  // namespace cairn::wal
