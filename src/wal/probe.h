#pragma once

#include <cstdint>

namespace cairn::wal {

/// Counts what one WalLogStore did, for the telemetry layer to export. Plain counters, read on
/// the store's thread via WalLogStore::probe().
struct WalProbe {
  uint64_t syncs = 0;          // sync() calls that had something to make durable
  uint64_t fdatasyncs = 0;     // fdatasync() of segment files (sync(), truncation, recovery)
  uint64_t dir_syncs = 0;      // fsync() of the directory (segment created/removed, META renamed)
  uint64_t meta_writes = 0;    // atomic replacements of META (hard state or snapshot point)
  uint64_t bytes_written = 0;  // record bytes written to segment files
  uint64_t entries_appended = 0;
  uint64_t segments_created = 0;
  uint64_t segments_removed = 0;    // by compaction, reset, truncation or recovery
  uint64_t segments = 0;            // live segments now (a gauge)
  uint64_t suffix_truncations = 0;  // truncate_suffix() calls that cut data already in a file
  uint64_t tail_truncations = 0;    // torn or corrupt tails dropped while opening
  uint64_t failures = 0;            // I/O errors that failed the store (write, fdatasync, ...)
  uint64_t sync_ns = 0;             // time spent in sync() calls that had something to write
  uint64_t slow_syncs = 0;          // of those, the ones at or above WalOptions::slow_sync_ms
};

}  // namespace cairn::wal
