#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cairn::wal {

/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of iSCSI, ext4 and
/// LevelDB. Computed in software (slicing-by-8, tables built at compile time), so it needs no
/// library and no CPU feature; ~1-2 GB/s, far above what an fdatasync-bound log writes.
/// Pure functions, safe from any thread.

/// Continues a checksum: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start from 0.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

inline uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
inline uint32_t crc32c(std::string_view s) { return crc32c(s.data(), s.size()); }

}  // namespace cairn::wal
