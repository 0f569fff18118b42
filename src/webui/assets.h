#pragma once

#include <span>
#include <string_view>

namespace cairn::webui {

/// One file of the admin console (web/*), embedded into the binary at build time by
/// embed.cmake. The table is constant data: any thread, any time.
struct Asset {
  std::string_view name;          // file name under web/, e.g. "index.html"
  std::string_view content_type;  // from the extension
  std::string_view body;
  std::string_view etag;          // quoted strong tag from the content's SHA-256: "\"ab12…\""
};

/// Every embedded file, ordered by name.
std::span<const Asset> assets();

/// The file called `name`, or nullptr.
const Asset* find_asset(std::string_view name);

/// Content-Type for a file name, by extension ("application/octet-stream" when unknown).
std::string_view content_type_for(std::string_view name);

}  // namespace cairn::webui
