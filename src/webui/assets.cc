#include "webui/assets.h"

#include <algorithm>
#include <vector>

namespace cairn::webui {

// Written by embed.cmake into the build tree (assets_data.cc).
struct RawAsset {
  const char* name;
  const unsigned char* data;
  std::size_t size;
  const char* etag;
};
extern const RawAsset kRawAssets[];
extern const std::size_t kRawAssetCount;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const std::vector<Asset>& table() {
  static const std::vector<Asset> t = [] {
    std::vector<Asset> v;
    for (std::size_t i = 0; i < kRawAssetCount; ++i) {
      const RawAsset& r = kRawAssets[i];
      v.push_back(Asset{r.name, content_type_for(r.name),
                        std::string_view(reinterpret_cast<const char*>(r.data), r.size), r.etag});
    }
    std::sort(v.begin(), v.end(), [](const Asset& a, const Asset& b) { return a.name < b.name; });
    return v;
  }();
  return t;
}

}  // namespace

std::span<const Asset> assets() { return table(); }

const Asset* find_asset(std::string_view name) {
  const auto& t = table();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const Asset& a, std::string_view n) { return a.name < n; });
  return it != t.end() && it->name == name ? &*it : nullptr;
}

std::string_view content_type_for(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".png")) return "image/png";
  if (ends_with(name, ".json")) return "application/json; charset=utf-8";
  if (ends_with(name, ".ico")) return "image/x-icon";
  return "application/octet-stream";
}

}  // namespace cairn::webui
