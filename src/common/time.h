#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

/// An instant named by a caller: unix milliseconds and the precision it was given with (1 for
/// milliseconds, 1000 for a time to the second, 100 for one tenth, …).
struct Instant {
  int64_t unix_ms = 0;
  int64_t precision_ms = 1;
  /// The last millisecond the instant names: a time given to the second covers that second.
  int64_t last_ms() const { return unix_ms + precision_ms - 1; }
};

/// Parses RFC 3339 ("2026-12-02T06:30:00Z", "2026-12-02T06:30:00.25+01:00"; 'T' may be 't' or
/// a space, 'Z' may be 'z'; fractions up to nanoseconds, kept to the millisecond) or unix
/// milliseconds (digits only). nullopt when malformed or out of range (years 1970-9999).
std::optional<Instant> parse_instant(std::string_view text);

}  // namespace cairn
