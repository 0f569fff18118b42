#pragma once

// Backup and disaster recovery of a node (docs/operations.md): GET /api/v1/admin/backup,
// scheduled backups into backup_dir, and seeding a new cluster from a backup file
// (`cairn server --restore-from`, `cairn restore`).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "api/backup.h"
#include "common/result.h"
#include "http/router.h"
#include "server/config.h"
#include "store/store.h"
#include "telemetry/metrics.h"

namespace cairn::server {

/// Takes backups of one store on a thread of its own, so that neither an io thread nor the
/// apply thread waits for one: on request (the backup route) and every `backup_interval`
/// into `backup_dir`, keeping the newest `backup_keep`. Counts them for the metrics
/// (cairn_backup_age_seconds, cairn_backups_total).
///
/// Lifetime: built by the node after the store, stopped (stop() joins the thread) before the
/// store closes. register_routes() and the metrics read it from io threads; thread-safe.
class Backups {
 public:
  Backups(const ServerConfig& config, const store::Store& store);
  ~Backups();
  Backups(const Backups&) = delete;
  Backups& operator=(const Backups&) = delete;

  void start();
  void stop();

  /// GET /api/v1/admin/backup: answers the backup file (application/octet-stream), or the
  /// error envelope when it cannot be taken.
  void register_routes(http::Router& router);
  void add_metrics(telemetry::Registry& registry);

  /// Writes a backup to `path` on the calling thread (the scheduled ones, and tests).
  Result<api::BackupHeader, api::Error> write_to(const std::string& path) const;

  /// Where scheduled backups go.
  const std::string& dir() const { return dir_; }

 private:
  void run();
  void scheduled();
  void prune() const;

  const ServerConfig config_;
  const store::Store& store_;
  std::string dir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<int64_t> last_success_ms_{0};  // wall clock; 0: none yet
  std::atomic<int64_t> started_ms_{0};
  std::atomic<uint64_t> ok_{0};
  std::atomic<uint64_t> failed_{0};
};

/// `cairn server --restore-from FILE` / `cairn restore FILE`: checks the backup and makes
/// `config.data_dir` the data directory of a new cluster's first member seeded from it (or of
/// a standalone node with raft_id 0): the database with this node as the only voter, and the
/// same database as the snapshot later members are sent. Refuses a data directory that is not
/// empty unless `force` (then its database, log and snapshots are removed), a backup of the
/// cluster id this node is configured with (a new cluster needs a new id, so that a surviving
/// node of the old one can never join it), and a backup whose secrets are wrapped by keys
/// this node's keyring lacks is only warned about (those secrets answer 50005 until the keys
/// are given). `progress(done, total)` is told of the bytes checked. Error text on failure.
Result<api::BackupHeader, std::string> restore_data_dir(
    const ServerConfig& config, const std::string& backup_file, bool force,
    const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace cairn::server
