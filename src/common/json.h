#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
/// Whether parse_json(text, max_depth) would succeed, without building the document (the
/// same lexer and grammar; no allocation per value).
bool json_valid(std::string_view text, int max_depth);

/// Appends `s` to `out` as a JSON string literal (quotes included). Invalid UTF-8 is replaced
/// with U+FFFD so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal.
std::string json_quote(std::string_view s);

/// Compact serialisation of a parsed document: no spaces, keys in insertion order, invalid
/// UTF-8 replaced. Numbers come out in the parser's form (`1E2` → `100.0`, integers beyond 64
/// bits as doubles): stored values use compact_json_text instead, which keeps them.
std::string dump_compact(const Json& value);

/// `text` without the whitespace between its tokens. Every token is kept byte for byte: numbers
/// as written (`1E2`, `-0`, `18446744073709551616`), strings with their escapes. `text` must be
/// valid JSON (already accepted by the parser): this only drops space, tab, CR and LF outside
/// strings, and a leading UTF-8 byte order mark (which the parser skips). This is the stored form
/// of a config value (docs/api.md, "Numbers").
std::string compact_json_text(std::string_view text);

/// The raw text of member `name` of the JSON object `object_text` (surrounding whitespace and a
/// leading byte order mark allowed), without the whitespace around it. A name written with escapes
/// (`"\u0076alue"`) matches its decoded form. When the name occurs more than once, the last
/// occurrence: the one the parser keeps (nlohmann's object assignment, last wins). nullopt when
/// `object_text` is not an object or has no such member. Meant for text the parser accepted; on
/// other input it never reads out of bounds and returns nullopt or some span of it.
std::optional<std::string_view> json_member_text(std::string_view object_text,
                                                 std::string_view name);

/// The raw texts of the elements of the JSON array `array_text`, in order, in one pass; nullopt
/// when it is not an array. Same input contract as json_member_text.
std::optional<std::vector<std::string_view>> json_element_texts(std::string_view array_text);

/// The members of the JSON object `object_text` in one pass, in order: each member's name
/// (decoded, when written with escapes) and the raw text of its value without the whitespace
/// around it. A name that occurs twice is listed twice. nullopt when `object_text` is not an
/// object. Same input contract as json_member_text.
std::optional<std::vector<std::pair<std::string, std::string_view>>> json_member_texts(
    std::string_view object_text);

/// True when `text` fails to parse because a number in it does not fit a double (`1e400`):
/// nlohmann refuses it ("number overflow") where the JSON grammar allows it. Lets the API say
/// 40002 (out of range) rather than 40001 (not JSON). Only meaningful after parse_json failed.
bool json_number_overflows(std::string_view text);

}  // namespace cairn
