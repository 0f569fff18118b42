#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::api {

/// Limits from DESIGN.md §5. The server's config may lower or raise the value limits; the name
/// rules are part of the contract and fixed.
inline constexpr size_t kMaxNamespaceLength = 128;
inline constexpr size_t kMaxKeyLength = 256;
inline constexpr size_t kMaxDescriptionBytes = 512;
inline constexpr size_t kMaxOperatorLength = 64;
inline constexpr int kMaxValueDepth = 64;
inline constexpr size_t kDefaultMaxValueBytes = 1 << 20;
inline constexpr size_t kMaxBatchOperations = 1000;

/// Each returns nullopt when the input is acceptable, else a sentence saying what is wrong
/// (used as `error.details` of a 40002).
std::optional<std::string> check_namespace_name(std::string_view name);
std::optional<std::string> check_key(std::string_view key);
std::optional<std::string> check_description(std::string_view description);
std::optional<std::string> check_status(long long status);
/// A version tag: 1–64 of [A-Za-z0-9._-].
inline constexpr size_t kMaxTagLength = 64;
std::optional<std::string> check_tag(std::string_view tag);

/// A namespace name that a create may use: check_namespace_name's rules, and not made only of
/// digits, since `/admin/namespace/{id}` reads an all-digit segment as an id (issue 15 item 6).
/// Only creates check this: namespaces created before the rule keep working (by id in paths, by
/// name everywhere else), which is why check_namespace_name itself, used on every other path
/// and by the state machine when it replays old commands, does not refuse them.
std::optional<std::string> check_new_namespace_name(std::string_view name);

/// The X-Operator header as given: nullopt when acceptable (valid UTF-8 without control
/// characters: C0, DEL, C1), else why not. Length is not checked: sanitize_operator shortens.
std::optional<std::string> check_operator(std::string_view raw);

/// The operator recorded in created_by/updated_by/operator from an X-Operator header that passed
/// check_operator: cut to kMaxOperatorLength characters (code points, as the seed's utf8mb4
/// varchar(64) counts them), then trimmed of spaces; "anonymous" when nothing is left.
std::string sanitize_operator(std::string_view raw);

}  // namespace cairn::api
