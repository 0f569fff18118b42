#pragma once

#include <string>
#include <vector>

#include "common/json.h"

namespace cairn {

/// One difference between two JSON documents.
struct JsonChange {
  std::string path;  // "a.b[2].c"; "" for the whole document
  Json from;         // null when added
  Json to;           // null when removed
  std::string type;  // "added", "removed" or "modified"
};

/// Differences from `from` to `to`: objects member by member (in `from`'s order, then members
/// only in `to`), arrays element by element, anything else as a whole. Member names that are not
/// plain identifiers are written `["name"]`. Depth is bounded by the caller (values are at most
/// 64 deep), so the recursion is bounded too.
std::vector<JsonChange> json_diff(const Json& from, const Json& to);

}  // namespace cairn
