#pragma once

// `cairn recover --data-dir D` (docs/wal.md, "Disk faults"): rebuilds a cluster node whose
// write-ahead log, database or snapshots are damaged from its peers, without deleting anything.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "raft/types.h"

namespace cairn::server {

/// What recover_data_dir() did.
struct RecoverReport {
  std::string aside;               // the folder the damaged state was moved into
  std::vector<std::string> moved;  // names (relative to the data dir) moved there
  bool hard_state_kept = false;    // the old log's term and vote carried over
  raft::HardState hard_state;      // what the new log starts with
};

/// Moves the node's replicated state — the Raft log (wal/), the database (cairn.db with its
/// -wal/-shm files) and the snapshots (snap/) — into `<data_dir>/damaged-<UTC time>/`, and
/// starts a new, empty log that keeps the old log's term and vote when its META is readable (a
/// node must never vote twice in a term). Everything else in the data directory (tokens,
/// secrets, LOCK) stays. The node, started again with its usual flags, has nothing applied and
/// no configuration of its own, so it cannot campaign; the leader sends it the log or a
/// snapshot and it converges. Refuses while a node holds the data directory's LOCK.
/// `now_ms`: Unix milliseconds, names the folder.
Result<RecoverReport, std::string> recover_data_dir(const std::string& data_dir, int64_t now_ms);

/// Adds `cairn recover`; sets `rc` when it runs.
void register_recover_command(CLI::App& app, int& rc);

}  // namespace cairn::server
