#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

/// Every JSON document in Cairn keeps its object keys in the order the user wrote them, so a value
/// reads back exactly as it was stored (modulo whitespace).
using Json = nlohmann::ordered_json;

/// Maximum nesting depth of the outermost document reached while scanning `text`, counting
/// arrays and objects, ignoring brackets inside strings. Stops early and returns `limit + 1` as
/// soon as the depth exceeds `limit`. Linear time, constant stack: safe on hostile input, which
/// is why it runs before the (recursive) parser sees the text.
int json_depth(std::string_view text, int limit);

/// Depth of an already parsed document (a scalar is 0, `[]` is 1, `[[1]]` is 2).
int json_depth(const Json& value);

/// Parses `text` if it is valid JSON no deeper than `max_depth`; nullopt otherwise.
std::optional<Json> parse_json(std::string_view text, int max_depth);

/// Appends `s` to `out` as a JSON string literal (quotes included). Invalid UTF-8 is replaced
/// with U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal.
std::string json_quote(std::string_view s);

/// Compact serialisation used everywhere a value is stored or compared: no spaces, keys in
/// insertion order, invalid UTF-8 replaced.
std::string dump_compact(const Json& value);

}  // namespace cairn
