#pragma once

// How the protocol front-ends carry values (docs/compat.md, "Values"): their protocols carry
// text or bytes, Cairn stores JSON. Text written through a front-end is stored as a JSON string
// holding exactly those bytes; bytes that are not UTF-8 (Consul's binary values) as the JSON
// object {"$binary": "<base64>"}. A value read through a front-end is a JSON string's content,
// the bytes of a {"$binary"} object, or else the compact JSON text as stored.

#include <optional>
#include <string>
#include <string_view>

namespace cairn::frontends {

bool valid_utf8(std::string_view bytes);

std::string base64_encode(std::string_view bytes);
/// Standard alphabet with padding (RFC 4648 §4); nullopt on anything else.
std::optional<std::string> base64_decode(std::string_view text);

/// The stored value (compact JSON text) for bytes a front-end writes: a JSON string when they
/// are UTF-8, else {"$binary": "<base64>"}.
std::string stored_value(std::string_view bytes);
/// The stored value for text only: nullopt when `bytes` is not UTF-8.
std::optional<std::string> stored_text(std::string_view bytes);

/// The bytes a front-end answers for a stored value (compact JSON text, as the core returns it).
std::string value_bytes(std::string_view stored);

}  // namespace cairn::frontends
