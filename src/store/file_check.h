#pragma once

#include <string>

#include "common/result.h"

namespace cairn::store {

/// Checks the SQLite database at `path` on a connection of its own: a read (`PRAGMA
/// user_version` and the schema) and a write inside a transaction that is rolled back, so that a
/// read-only or broken file fails while nothing is ever changed. Waits at most `busy_ms` for
/// the write lock held by an apply.
Result<Ok, std::string> check_database_file(const std::string& path, int busy_ms = 1'000);

}  // namespace cairn::store
