#pragma once

// The Nacos config protocol's pieces that need no server (docs/compat.md, "Nacos"): request
// parameters as Nacos's servlet reads them, the dataId/group/tenant → namespace/key mapping, the
// listener's Listening-Configs field and its answer, MD5s, and Java's URL encoding. Pure
// functions: any thread; fuzzed (tests/fuzz/nacos_fuzz.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::nacos {

inline constexpr std::string_view kDefaultGroup = "DEFAULT_GROUP";
/// Nacos's default namespace: a tenant that is empty or this is no tenant at all.
inline constexpr std::string_view kPublicTenant = "public";
/// At most this many entries in one Listening-Configs (as Nacos: "too much listener").
inline constexpr size_t kMaxListeners = 10'000;

/// Request parameters in order: the query string's, then a form body's. The first of a name
/// wins, as Java's getParameter answers.
using Params = std::vector<std::pair<std::string, std::string>>;
std::optional<std::string> param(const Params& params, std::string_view name);

/// The fields of an application/x-www-form-urlencoded body ('+' is a space), appended to `out`.
/// False on a malformed percent escape (nothing appended then).
bool decode_form(std::string_view body, Params& out);

/// Java's URLDecoder.decode (UTF-8 bytes, '+' is a space): nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text);
/// Java's URLEncoder.encode: [A-Za-z0-9.*_-] kept, space as '+', every other byte as %XX (upper
/// case).
std::string url_encode(std::string_view bytes);

/// Lower-case hex MD5 of `bytes` (OpenSSL), as Nacos's Content-MD5 and listener compare it.
std::string md5_hex(std::string_view bytes);

/// Where a Nacos config lives in Cairn: namespace `group` when the tenant is empty or "public",
/// else `{tenant}.{group}`; key `dataId`. An empty group is DEFAULT_GROUP.
struct Address {
  std::string ns;
  std::string key;
};

/// Why a dataId/group/tenant cannot name a Cairn config, worded as Nacos words its parameter
/// checks ("invalid dataId : x", "invalid group : x", "invalid tenant"), or the address.
struct AddressResult {
  std::optional<Address> address;
  std::string error;
};
AddressResult map_address(std::string_view data_id, std::string_view group,
                          std::string_view tenant);

/// One entry of a listener request: what the client holds and its MD5 ("" when it holds none).
struct ListenEntry {
  std::string data_id;
  std::string group;
  std::string tenant;  // "" when the entry named none
  std::string md5;
};

/// Parses Listening-Configs (already URL-decoded): entries `dataId^2group^2md5^1` or
/// `dataId^2group^2md5^2tenant^1` (^1 = 0x01, ^2 = 0x02); text after the last ^1 is ignored. A
/// repeated (dataId, group, tenant) keeps its last MD5. nullopt when an entry has too few or too
/// many fields, or there are more than kMaxListeners ("invalid probeModify").
std::optional<std::vector<ListenEntry>> parse_listening_configs(std::string_view text);

/// The listener's answer for `changed`: `dataId^2group[^2tenant]^1` per entry, URL-encoded
/// (the tenant only when the entry named a non-empty one).
std::string encode_changed(const std::vector<ListenEntry>& changed);

/// The Long-Pulling-Timeout header as Java's Long.parseLong reads it; nullopt when it is not a
/// decimal integer of 64 bits.
std::optional<int64_t> parse_long(std::string_view text);

/// How long a listener is held for a Long-Pulling-Timeout of `timeout_ms`: as Nacos, 500 ms
/// less (so that the answer beats the client's own timeout), and at least 10 s; at most
/// `max_ms`.
int64_t hold_ms(int64_t timeout_ms, int64_t max_ms);

/// Java's String.isBlank as Nacos's StringUtils uses it: empty or only whitespace.
bool blank(std::string_view text);

}  // namespace cairn::nacos
