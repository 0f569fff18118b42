#pragma once

// A small zip archive reader and writer (PKWARE APPNOTE 6.3: local headers, central directory,
// end record; methods 0 "stored" and 8 "deflate" through zlib), enough for the export's zip and
// Nacos's config export. No zip64, no encryption, no multi-disk archives: those are refused.
// Pure functions; any thread. The reader is fuzzed (tests/fuzz/import_fuzz.cc).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cairn::transfer {

struct ZipEntry {
  std::string name;  // as stored ('/' separated)
  std::string data;  // uncompressed
};

struct ZipLimits {
  size_t max_entries = 10'000;
  size_t max_total_bytes = 256u << 20;  // uncompressed, over every entry (zip bombs)
};

/// Whether `bytes` starts like a zip archive (a local header or an empty archive's end record).
bool looks_like_zip(std::string_view bytes);

/// Every file entry of the archive in central-directory order (directory entries skipped), its
/// CRC-32 checked. An error names what is wrong: truncated, unsupported method, zip64, …
Result<std::vector<ZipEntry>, std::string> read_zip(std::string_view bytes, ZipLimits limits = {});

/// An archive of `entries`, each deflated (stored when deflating does not make it smaller),
/// stamped `dos_time`/`dos_date` (MS-DOS format; 0 is 1980-01-01 00:00).
std::string write_zip(const std::vector<ZipEntry>& entries, uint16_t dos_time = 0,
                      uint16_t dos_date = 0x21);

}  // namespace cairn::transfer
