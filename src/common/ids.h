#pragma once

#include <string>
#include <string_view>

namespace cairn {

/// A random RFC 4122 version-4 UUID ("550e8400-e29b-41d4-a716-446655440000"). Thread-safe.
std::string new_uuid();

/// 2*n random lowercase hex characters (trace and span ids). Thread-safe.
std::string random_hex(size_t n_bytes);

}  // namespace cairn
