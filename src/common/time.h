#pragma once

#include <cstdint>
#include <string>

namespace cairn {

/// Milliseconds since the Unix epoch from the system clock. Only the edges of the system call
/// it (the proposer stamping a command, the envelope's timestamp); apply never does.
int64_t wall_clock_ms();

/// Monotonic milliseconds, for durations and timeouts.
int64_t monotonic_ms();

/// RFC 3339 UTC with second precision, as in the seed: "2024-01-20T10:00:00Z".
std::string format_utc(int64_t unix_ms);

/// Parses "500ms", "10s", "5m", "1h" or a bare number of milliseconds; -1 when malformed.
int64_t parse_duration_ms(const std::string& text);

}  // namespace cairn
