#pragma once

// The Consul KV front-end's parsers and encoders (docs/compat.md, "Consul KV"): Go durations,
// key paths, flags, the KV entry JSON and /v1/txn bodies. Pure functions of their arguments,
// fuzzed (tests/fuzz/fuzz_consul.cc); any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cairn::consul {

/// Blocking queries (`?wait=`): Consul's default and its ceiling.
inline constexpr int64_t kDefaultWaitMs = 5 * 60 * 1000;
inline constexpr int64_t kMaxWaitMs = 10 * 60 * 1000;
/// Operations in one /v1/txn (Consul's limit).
inline constexpr size_t kMaxTxnOps = 64;

/// A Go duration ("5s", "1m30s", "250ms", "1.5h", "300us", "0"), in milliseconds rounded up
/// (a positive duration never becomes 0). nullopt when it is not one, or beyond a day.
std::optional<int64_t> parse_go_duration_ms(std::string_view text);

/// A decimal uint64 ("0".."18446744073709551615"), nothing else.
std::optional<uint64_t> parse_uint64(std::string_view text);

/// A Consul key split into the Cairn namespace (its first segment) and the Cairn key (the
/// rest, "" when the path has no '/' or ends at it).
struct KeyPath {
  std::string ns;
  std::string key;
};
KeyPath split_key(std::string_view path);

/// Flags live in the config's description (values stay byte-exact): "" for 0, else
/// "consul-flags:<decimal>". Any other description reads as flags 0.
std::string flags_description(uint64_t flags);
uint64_t flags_of(std::string_view description);
bool is_flags_description(std::string_view description);

/// One entry of a KV answer. `key` is the Consul key (namespace/key); `value` the bytes;
/// nullopt answers `"Value": null`.
struct KvEntry {
  std::string key;
  std::optional<std::string> value;
  uint64_t flags = 0;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};
/// {"LockIndex":0,"Key":…,"Flags":…,"Value":base64|null,"CreateIndex":…,"ModifyIndex":…}
std::string kv_json(const KvEntry& entry);
std::string kv_array_json(const std::vector<KvEntry>& entries);
/// A JSON array of strings.
std::string string_array_json(const std::vector<std::string>& items);

/// `?keys`: the keys (sorted) that start with `prefix`, each cut after the first `separator`
/// that follows the prefix (when `separator` is not empty), without duplicates, sorted.
std::vector<std::string> list_keys(const std::vector<std::string>& sorted_keys,
                                   std::string_view prefix, std::string_view separator);

/// One KV operation of a /v1/txn body.
enum class Verb {
  kSet,
  kCas,
  kGet,
  kGetTree,
  kCheckIndex,
  kCheckNotExists,
  kDelete,
  kDeleteTree,
  kDeleteCas,
};
struct TxnOp {
  Verb verb = Verb::kGet;
  std::string key;    // the Consul key (namespace/key)
  std::string value;  // decoded bytes (set, cas)
  uint64_t flags = 0;
  uint64_t index = 0;  // cas, check-index, delete-cas
};
/// Why a txn body was refused: the HTTP status (400, 413) and Consul's plain-text answer.
struct TxnRefusal {
  int status = 400;
  std::string text;
};
/// Parses a /v1/txn body: a JSON array of {"KV": {"Verb", "Key", "Value" (base64), "Flags",
/// "Index"}} (field names matched without regard to case, as Go's decoder does), at most
/// kMaxTxnOps of them.
Result<std::vector<TxnOp>, TxnRefusal> parse_txn(std::string_view body);

}  // namespace cairn::consul
