#include "limit/classify.h"

namespace cairn::limit {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<RequestClass> classify(std::string_view method, std::string_view path) {
  if (starts_with(path, "/api/v1/config/")) {
    if (starts_with(path, "/api/v1/config/watch")) return std::nullopt;  // held, not served
    if (method == "GET") return RequestClass::kRead;
    if (method == "POST" && path == "/api/v1/config/batch-get") return RequestClass::kRead;
    return std::nullopt;  // answered 405 without touching any data
  }
  if (starts_with(path, "/api/v1/admin/")) {
    // Looking is reading, wherever it is done: the console's lists and histories must not
    // spend the small budget kept for changes to namespaces and the cluster.
    if (method == "GET" || method == "HEAD") return RequestClass::kRead;
    if (starts_with(path, "/api/v1/admin/config")) return RequestClass::kWrite;
    return RequestClass::kAdmin;
  }
  return std::nullopt;
}

bool is_valid_client_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    if (ch < 0x21 || ch > 0x7e) return false;
  }
  return true;
}

}  // namespace cairn::limit
