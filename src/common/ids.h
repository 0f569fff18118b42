#pragma once

#include <string>
#include <string_view>

namespace cairn {

/// A random RFC 4122 version-4 UUID ("550e8400-e29b-41d4-a716-446655440000"). Thread-safe.
std::string new_uuid();

/// 2*n random lowercase hex characters (trace and span ids). Thread-safe.
std::string random_hex(size_t n_bytes);
/// Appends the same to `out` without a string of its own (per-request ids). Each whole group of
/// 8 bytes (16 hex digits) is never all zeros, which W3C trace and span ids forbid.
void append_random_hex(std::string& out, size_t n_bytes);

}  // namespace cairn
