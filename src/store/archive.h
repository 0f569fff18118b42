#pragma once

#include <cstdint>
#include <string>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::store {

/// The archive of versions removed by retention (docs/versions.md):
/// `<dir of the database>/archive/<YYYY-MM-DD>.jsonl`, the date (UTC) of the log entry that
/// removed them, one JSON object per line.
std::string archive_path(const std::string& database_path, int64_t timestamp_ms);

/// Appends `lines` (each ending in '\n') to `path`, creating the folder and file as needed, and
/// returns only once the data (and a new file's directory entry) is on stable storage. Apply
/// thread. After a crash between this and the commit of the removal, the entry is applied
/// again and the same lines are appended a second time: readers deduplicate on
/// (namespace, key, version).
Result<Ok, api::Error> append_archive(const std::string& path, const std::string& lines);

}  // namespace cairn::store
