#include "frontends/consul/codec.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/json.h"
#include "frontends/text.h"

namespace cairn::consul {

namespace {

constexpr std::string_view kFlagsPrefix = "consul-flags:";
constexpr double kDayNs = 86'400.0 * 1e9;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

/// The member of `object` named `name` without regard to case (Go's decoder), or null.
const Json* member(const Json& object, std::string_view name) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (iequals(it.key(), name)) return &it.value();
  }
  return nullptr;
}

std::optional<Verb> verb_of(std::string_view name) {
  if (name == "set") return Verb::kSet;
  if (name == "cas") return Verb::kCas;
  if (name == "get") return Verb::kGet;
  if (name == "get-tree") return Verb::kGetTree;
  if (name == "check-index") return Verb::kCheckIndex;
  if (name == "check-not-exists") return Verb::kCheckNotExists;
  if (name == "delete") return Verb::kDelete;
  if (name == "delete-tree") return Verb::kDeleteTree;
  if (name == "delete-cas") return Verb::kDeleteCas;
  return std::nullopt;
}

Unexpected<TxnRefusal> refuse(std::string text, int status = 400) {
  return Unexpected{TxnRefusal{status, std::move(text)}};
}

/// A JSON number that is a whole uint64 (Go decodes Flags and Index into uint64).
std::optional<uint64_t> uint_of(const Json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < 0) return std::nullopt;
    return static_cast<uint64_t>(i);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> parse_go_duration_ms(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text == "0") return 0;
  size_t i = 0;
  if (text[0] == '+') i = 1;
  if (i == text.size()) return std::nullopt;
  double total_ns = 0;
  while (i < text.size()) {
    // A decimal number: digits, optionally '.' and more digits (at least one digit overall).
    size_t start = i;
    double whole = 0;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      whole = whole * 10 + (text[i] - '0');
      digits = true;
      ++i;
      if (whole > 1e30) return std::nullopt;
    }
    double frac = 0, scale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (scale < 1e18) {
          scale *= 10;
          frac += (text[i] - '0') / scale;
        }
        digits = true;
        ++i;
      }
    }
    if (!digits || i == start) return std::nullopt;
    size_t unit_start = i;
    while (i < text.size() && text[i] != '.' &&
           !std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double ns_per = 0;
    if (unit == "ns") ns_per = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") ns_per = 1e3;
    else if (unit == "ms") ns_per = 1e6;
    else if (unit == "s") ns_per = 1e9;
    else if (unit == "m") ns_per = 60e9;
    else if (unit == "h") ns_per = 3600e9;
    else return std::nullopt;  // a missing or unknown unit
    total_ns += (whole + frac) * ns_per;
    if (total_ns > kDayNs) return std::nullopt;
  }
  return static_cast<int64_t>(std::ceil(total_ns / 1e6));
}

std::optional<uint64_t> parse_uint64(std::string_view text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

KeyPath split_key(std::string_view path) {
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return KeyPath{std::string(path), {}};
  return KeyPath{std::string(path.substr(0, slash)), std::string(path.substr(slash + 1))};
}

std::string flags_description(uint64_t flags) {
  if (flags == 0) return {};
  return std::string(kFlagsPrefix) + std::to_string(flags);
}

bool is_flags_description(std::string_view description) {
  return description.size() > kFlagsPrefix.size() && description.starts_with(kFlagsPrefix) &&
         parse_uint64(description.substr(kFlagsPrefix.size())).has_value();
}

uint64_t flags_of(std::string_view description) {
  if (!is_flags_description(description)) return 0;
  return *parse_uint64(description.substr(kFlagsPrefix.size()));
}

std::string kv_json(const KvEntry& e) {
  std::string out = R"({"LockIndex":0,"Key":)";
  append_json_string(out, e.key);
  out += ",\"Flags\":" + std::to_string(e.flags) + ",\"Value\":";
  if (e.value) {
    out += '"';
    out += frontends::base64_encode(*e.value);
    out += '"';
  } else {
    out += "null";
  }
  out += ",\"CreateIndex\":" + std::to_string(e.create_index) +
         ",\"ModifyIndex\":" + std::to_string(e.modify_index) + "}";
  return out;
}

std::string kv_array_json(const std::vector<KvEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i) out += ',';
    out += kv_json(entries[i]);
  }
  out += ']';
  return out;
}

std::string string_array_json(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
  return out;
}

std::vector<std::string> list_keys(const std::vector<std::string>& sorted_keys,
                                   std::string_view prefix, std::string_view separator) {
  std::vector<std::string> out;
  for (const std::string& key : sorted_keys) {
    if (!std::string_view(key).starts_with(prefix)) continue;
    std::string item = key;
    if (!separator.empty()) {
      size_t at = key.find(separator, prefix.size());
      if (at != std::string::npos) item = key.substr(0, at + separator.size());
    }
    if (out.empty() || out.back() != item) out.push_back(std::move(item));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<TxnOp>, TxnRefusal> parse_txn(std::string_view body) {
  auto parsed = parse_json(body, 16);
  if (!parsed) return refuse("Failed to parse body: not a JSON document");
  const Json& ops = *parsed;
  if (!ops.is_array()) return refuse("Failed to parse body: expected a JSON array of operations");
  if (ops.size() > kMaxTxnOps) {
    return refuse("Transaction contains too many operations (" + std::to_string(ops.size()) +
                      " > " + std::to_string(kMaxTxnOps) + ")",
                  413);
  }
  std::vector<TxnOp> out;
  out.reserve(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const std::string where = "operation " + std::to_string(i) + ": ";
    const Json& op = ops[i];
    if (!op.is_object()) return refuse("Failed to parse body: " + where + "not an object");
    const Json* kv = member(op, "KV");
    if (!kv || kv->is_null()) {
      for (std::string_view other : {"Node", "Service", "Check", "Session", "Intention"}) {
        if (member(op, other)) {
          return refuse(where + "only KV operations are supported (Cairn has no " +
                        std::string(other) + " catalog)");
        }
      }
      return refuse("Failed to parse body: " + where + "no KV operation");
    }
    if (!kv->is_object()) return refuse("Failed to parse body: " + where + "KV is not an object");
    TxnOp t;
    const Json* verb = member(*kv, "Verb");
    if (!verb || !verb->is_string()) return refuse("Failed to parse body: " + where + "no Verb");
    std::string verb_name = verb->get<std::string>();
    auto v = verb_of(verb_name);
    if (!v) {
      if (verb_name == "lock" || verb_name == "unlock" || verb_name == "check-session") {
        return refuse(where + "verb \"" + verb_name + "\" needs sessions, which Cairn has not");
      }
      return refuse(where + "unknown KV verb \"" + verb_name + "\"");
    }
    t.verb = *v;
    if (const Json* key = member(*kv, "Key"); key && !key->is_null()) {
      if (!key->is_string()) return refuse("Failed to parse body: " + where + "Key is not a string");
      t.key = key->get<std::string>();
    }
    if (const Json* value = member(*kv, "Value"); value && !value->is_null()) {
      if (!value->is_string()) {
        return refuse("Failed to parse body: " + where + "Value is not a base64 string");
      }
      auto bytes = frontends::base64_decode(value->get<std::string>());
      if (!bytes) return refuse("Failed to parse body: " + where + "Value is not valid base64");
      t.value = std::move(*bytes);
    }
    if (const Json* flags = member(*kv, "Flags"); flags && !flags->is_null()) {
      auto f = uint_of(*flags);
      if (!f) return refuse("Failed to parse body: " + where + "Flags is not a uint64");
      t.flags = *f;
    }
    if (const Json* index = member(*kv, "Index"); index && !index->is_null()) {
      auto n = uint_of(*index);
      if (!n) return refuse("Failed to parse body: " + where + "Index is not a uint64");
      t.index = *n;
    }
    if (t.key.empty() && t.verb != Verb::kDeleteTree && t.verb != Verb::kGetTree) {
      return refuse(where + "missing key name");
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace cairn::consul
