#include "common/json_diff.h"

namespace cairn {
namespace {

bool is_identifier(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string member_path(const std::string& parent, const std::string& name) {
  if (is_identifier(name)) return parent.empty() ? name : parent + "." + name;
  return parent + "[" + json_quote(name) + "]";
}

void diff(const std::string& path, const Json& a, const Json& b, std::vector<JsonChange>& out) {
  if (a.is_object() && b.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      std::string p = member_path(path, it.key());
      if (other == b.end()) {
        out.push_back({p, it.value(), nullptr, "removed"});
      } else {
        diff(p, it.value(), *other, out);
      }
    }
    for (auto it = b.begin(); it != b.end(); ++it) {
      if (!a.contains(it.key())) out.push_back({member_path(path, it.key()), nullptr, it.value(), "added"});
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    size_t common = std::min(a.size(), b.size());
    for (size_t i = 0; i < common; ++i) {
      diff(path + "[" + std::to_string(i) + "]", a[i], b[i], out);
    }
    for (size_t i = common; i < a.size(); ++i) {
      out.push_back({path + "[" + std::to_string(i) + "]", a[i], nullptr, "removed"});
    }
    for (size_t i = common; i < b.size(); ++i) {
      out.push_back({path + "[" + std::to_string(i) + "]", nullptr, b[i], "added"});
    }
    return;
  }
  if (a != b) out.push_back({path, a, b, "modified"});
}

}  // namespace

std::vector<JsonChange> json_diff(const Json& from, const Json& to) {
  std::vector<JsonChange> out;
  diff("", from, to, out);
  return out;
}

}  // namespace cairn
