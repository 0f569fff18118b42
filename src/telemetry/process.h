#pragma once

#include <optional>

namespace cairn::telemetry {

/// This process as /proc/self sees it (Linux).
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double threads = 0;
  double open_fds = 0;
  double start_time_seconds = 0;  // Unix time
};

/// Reads /proc/self/stat, /proc/self/fd and /proc/stat; nullopt when /proc is unreadable.
std::optional<ProcessStats> read_process_stats();

}  // namespace cairn::telemetry
