// The Consul KV front-end's request parsers (src/frontends/consul/codec.h): /v1/txn bodies, Go
// durations (?wait=), indexes (?index=, ?cas=, ?flags=), key paths and the ?keys listing. Any
// input must be refused or parsed, never crash, and what parses must encode back to JSON.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "frontends/consul/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto txn = consul::parse_txn(in);
  if (txn.ok()) {
    std::vector<consul::KvEntry> entries;
    for (const consul::TxnOp& op : *txn) {
      entries.push_back(consul::KvEntry{op.key, op.value, op.flags, op.index, op.index});
    }
    std::string out = consul::kv_array_json(entries);
    if (!parse_json(out, 8)) __builtin_trap();
  } else if (txn.error().status != 400 && txn.error().status != 413) {
    __builtin_trap();
  }

  if (auto ms = consul::parse_go_duration_ms(in); ms && (*ms < 0 || *ms > 86'400'000)) {
    __builtin_trap();
  }
  if (auto n = consul::parse_uint64(in)) {  // leading zeros allowed, as Go's ParseUint does
    std::string_view digits = in.substr(std::min(in.find_first_not_of('0'), in.size() - 1));
    if (std::to_string(*n) != digits) __builtin_trap();
  }
  consul::KeyPath path = consul::split_key(in);
  if (path.ns.size() > in.size()) __builtin_trap();
  (void)consul::flags_of(in);

  // The input's lines as keys, its first line as the prefix and '/' as the separator.
  std::vector<std::string> keys;
  size_t start = 0;
  while (start <= in.size() && keys.size() < 64) {
    size_t nl = in.find('\n', start);
    if (nl == std::string_view::npos) nl = in.size();
    keys.emplace_back(in.substr(start, nl - start));
    start = nl + 1;
  }
  std::string prefix = keys.empty() ? std::string() : keys.front();
  std::sort(keys.begin(), keys.end());
  for (const std::string& k : consul::list_keys(keys, prefix, "/")) {
    if (!std::string_view(k).starts_with(prefix)) __builtin_trap();
  }
  std::string json = consul::string_array_json(keys);
  if (!parse_json(json, 4)) __builtin_trap();
  return 0;
}
