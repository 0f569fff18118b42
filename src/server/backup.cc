#include "server/backup.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/ids.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "raft/types.h"
#include "routes/table.h"
#include "server/raft_state_machine.h"
#include "store/backup.h"
#include "telemetry/telemetry.h"

namespace cairn::server {

namespace fs = std::filesystem;

namespace {

constexpr char kPrefix[] = "cairn-backup-";
constexpr char kSuffix[] = ".cairn";

bool is_backup_name(const std::string& name) {
  return name.rfind(kPrefix, 0) == 0 && name.size() > sizeof kPrefix + sizeof kSuffix &&
         name.compare(name.size() - (sizeof kSuffix - 1), sizeof kSuffix - 1, kSuffix) == 0;
}

/// cairn-backup-<UTC yyyymmddThhmmssZ>-<node>.cairn: sorts by time.
std::string backup_name(const std::string& node_id, int64_t at_ms) {
  std::time_t t = static_cast<std::time_t>(at_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string node;
  for (char c : node_id) node += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  return std::string(kPrefix) + stamp + "-" + node + kSuffix;
}

std::vector<fs::path> backup_files(const std::string& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && is_backup_name(e.path().filename().string())) {
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Backups::Backups(const ServerConfig& config, const store::Store& store)
    : config_(config), store_(store) {
  dir_ = config.backup_dir.empty() ? config.data_dir + "/backups" : config.backup_dir;
  started_ms_ = wall_clock_ms();
  // The newest backup already there counts as the last good one (its time of writing), so
  // that the age metric survives a restart.
  for (const auto& p : backup_files(dir_)) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    int64_t ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    if (ms > last_success_ms_) last_success_ms_ = ms;
  }
}

Backups::~Backups() { stop(); }

void Backups::start() {
  thread_ = std::thread([this] { run(); });
  if (config_.backup_interval_ms > 0) {
    spdlog::info("scheduled backups every {} s into {}, keeping {}",
                 config_.backup_interval_ms / 1000, dir_, config_.backup_keep);
  }
}

void Backups::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Backups::run() {
  int64_t next = config_.backup_interval_ms > 0 ? monotonic_ms() + config_.backup_interval_ms : 0;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!jobs_.empty()) {
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
      continue;
    }
    if (next != 0 && monotonic_ms() >= next) {
      lock.unlock();
      scheduled();
      lock.lock();
      next = monotonic_ms() + config_.backup_interval_ms;
      continue;
    }
    if (next == 0) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(1, next - monotonic_ms())));
    }
  }
  // Requests still queued are answered: each job sees stopping_ and replies with an error.
  auto left = std::move(jobs_);
  jobs_.clear();
  lock.unlock();
  for (auto& job : left) job();
}

Result<api::BackupHeader, api::Error> Backups::write_to(const std::string& path) const {
  api::BackupHeader identity;
  identity.cluster_id = config_.raft_id == 0 ? "" : config_.cluster_id;
  identity.node_id = config_.node_id;
  identity.cairn_version = telemetry::version();
  identity.created_at_ms = wall_clock_ms();
  return store::write_backup(store_, identity, path);
}

void Backups::scheduled() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const std::string path = dir_ + "/" + backup_name(config_.node_id, wall_clock_ms());
  auto written = ec ? Result<api::BackupHeader, api::Error>(Unexpected{api::make_error(
                          api::Errc::kDatabase, "cannot create " + dir_ + ": " + ec.message())})
                    : write_to(path);
  if (!written.ok()) {
    ++failed_;
    spdlog::error("scheduled backup failed: {}", written.error().details);
    return;
  }
  ++ok_;
  last_success_ms_ = wall_clock_ms();
  spdlog::info("backup written: {} ({} bytes, revision {}, applied index {})", path,
               written->payload_bytes, written->revision, written->applied_index);
  prune();
}

void Backups::prune() const {
  auto files = backup_files(dir_);
  std::error_code ec;
  while (files.size() > static_cast<size_t>(std::max<int64_t>(1, config_.backup_keep))) {
    fs::remove(files.front(), ec);
    files.erase(files.begin());
  }
}

void Backups::register_routes(http::Router& router) {
  router.add(routes::kAdminBackup, [this](http::RequestPtr req, http::Reply reply) {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return native::reply_error(reply, *req,
                                 api::make_error(api::Errc::kUnavailable, "the node is stopping"));
    }
    jobs_.push_back([this, req, reply] {
      bool stopping;
      {
        std::lock_guard l(mu_);
        stopping = stopping_;
      }
      if (stopping) {
        return native::reply_error(
            reply, *req, api::make_error(api::Errc::kUnavailable, "the node is stopping"));
      }
      const std::string path = config_.data_dir + "/backup-" + new_uuid() + ".tmp";
      auto written = write_to(path);
      if (!written.ok()) {
        std::remove(path.c_str());
        ++failed_;
        spdlog::error("backup for {} failed: {}", req->remote_address, written.error().details);
        return native::reply_error(reply, *req, written.error());
      }
      http::Response res;
      {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream all;
        all << in.rdbuf();
        res.body = std::move(all).str();
      }
      std::remove(path.c_str());
      ++ok_;
      res.content_type = "application/octet-stream";
      res.headers.emplace_back(
          "Content-Disposition",
          "attachment; filename=\"" + backup_name(config_.node_id, written->created_at_ms) + "\"");
      res.headers.emplace_back("X-Cairn-Backup-Revision", std::to_string(written->revision));
      res.headers.emplace_back("X-Cairn-Backup-Checksum", written->checksum);
      res.headers.emplace_back("Cache-Control", "no-store");
      spdlog::info("backup sent to {}: {} bytes, revision {}, applied index {}",
                   req->remote_address, res.body.size(), written->revision,
                   written->applied_index);
      reply(std::move(res));
    });
    cv_.notify_all();
  });
}

void Backups::add_metrics(telemetry::Registry& registry) {
  registry.callback(
      "cairn_backup_age_seconds",
      "Seconds since the last good backup of this node (scheduled or downloaded); since the "
      "start while there is none",
      telemetry::MetricType::kGauge, {}, [this] {
        int64_t last = last_success_ms_.load();
        int64_t from = last > 0 ? last : started_ms_.load();
        std::vector<telemetry::Sample> out(1);
        out[0].value = static_cast<double>(std::max<int64_t>(0, wall_clock_ms() - from)) / 1000.0;
        return out;
      });
  registry.callback("cairn_backup_last_success_timestamp_seconds",
                    "Unix time of the last good backup of this node; 0: none",
                    telemetry::MetricType::kGauge, {}, [this] {
                      std::vector<telemetry::Sample> out(1);
                      out[0].value = static_cast<double>(last_success_ms_.load()) / 1000.0;
                      return out;
                    });
  registry.callback("cairn_backup_interval_seconds",
                    "backup_interval of this node; 0: no scheduled backups",
                    telemetry::MetricType::kGauge, {}, [this] {
                      std::vector<telemetry::Sample> out(1);
                      out[0].value = static_cast<double>(config_.backup_interval_ms) / 1000.0;
                      return out;
                    });
  registry.callback("cairn_backups_total", "Backups taken by this node, by result",
                    telemetry::MetricType::kCounter, {"result"}, [this] {
                      std::vector<telemetry::Sample> out(2);
                      out[0].labels = {"ok"};
                      out[0].value = static_cast<double>(ok_.load());
                      out[1].labels = {"failed"};
                      out[1].value = static_cast<double>(failed_.load());
                      return out;
                    });
}

Result<api::BackupHeader, std::string> restore_data_dir(
    const ServerConfig& config, const std::string& backup_file, bool force,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  using U = Unexpected<std::string>;
  const std::string& dir = config.data_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return U{"cannot create data directory " + dir + ": " + ec.message()};
  // The same lock a running node holds: never restore under a live server.
  int lock = ::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return U{"cannot open " + dir + "/LOCK: " + std::strerror(errno)};
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock};
  if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    return U{"data directory " + dir + " is in use by a running cairn process"};
  }
  std::vector<std::string> present;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name != "LOCK") present.push_back(name);
  }
  std::sort(present.begin(), present.end());
  if (!present.empty() && !force) {
    std::string list;
    for (size_t i = 0; i < present.size() && i < 5; ++i) list += (i ? ", " : "") + present[i];
    return U{"data directory " + dir + " is not empty (" + list +
             (present.size() > 5 ? ", …" : "") +
             "): a restore seeds a new node; pass --force to replace its database, log and "
             "snapshots"};
  }
  auto header = store::verify_backup(backup_file, dir + "/restore.db.tmp", progress);
  if (!header.ok()) {
    fs::remove(dir + "/restore.db.tmp", ec);
    return U{header.error().details};
  }
  if (config.raft_id != 0 && !header->cluster_id.empty() &&
      header->cluster_id == config.cluster_id) {
    fs::remove(dir + "/restore.db.tmp", ec);
    return U{"the backup is of cluster '" + header->cluster_id +
             "': a restored cluster is a new one and needs a new --cluster-id, so that no "
             "surviving node of the old cluster can join it"};
  }
  if (force) {
    for (const char* name : {"cairn.db", "cairn.db-wal", "cairn.db-shm", "wal", "snap",
                             "cairn.pid"}) {
      fs::remove_all(dir + "/" + name, ec);
    }
  }
  std::string conf;
  raft::SnapshotMeta meta;
  if (config.raft_id != 0) {
    meta.conf.voters = {static_cast<raft::NodeId>(config.raft_id)};
    conf = raft::encode_conf_state(meta.conf);
  }
  const std::string staged = dir + "/restore.db.tmp";
  auto term = store::prepare_restored_database(staged, conf);
  if (!term.ok()) {
    fs::remove(staged, ec);
    return U{"cannot prepare the restored database: " + term.error().details};
  }
  if (config.raft_id != 0) {
    // Members added later need the state up to the backup's last entry, which no log holds:
    // the same database is the snapshot the leader sends them.
    meta.index = header->applied_index;
    meta.term = *term;
    if (auto seeded = seed_snapshot(dir + "/snap", meta, staged); !seeded.ok()) {
      fs::remove(staged, ec);
      return U{seeded.error()};
    }
  }
  fs::rename(staged, dir + "/cairn.db", ec);
  if (ec) return U{"cannot move the restored database into place: " + ec.message()};
  return *header;
}

}  // namespace cairn::server
