#include "server/recover.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/time.h"
#include "wal/file.h"
#include "wal/meta.h"

namespace cairn::server {

namespace fs = std::filesystem;

namespace {

// What a cluster node replicates, relative to its data directory. The database's -wal and -shm
// files belong to it: a database moved without its WAL loses the last transactions.
constexpr const char* kReplicated[] = {"wal", "cairn.db", "cairn.db-wal", "cairn.db-shm", "snap"};

std::string utc_stamp(int64_t now_ms) {
  std::time_t t = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

Result<RecoverReport, std::string> recover_data_dir(const std::string& data_dir, int64_t now_ms) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec))
    return Unexpected{"data directory " + data_dir + " does not exist"};
  // The same lock a running node holds (server/node.cc): never move files under a live node.
  const std::string lock_path = data_dir + "/LOCK";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) return Unexpected{"cannot open " + lock_path + ": " + std::strerror(errno)};
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return Unexpected{"data directory " + data_dir +
                      " is in use by a running cairn process; stop the node first"};
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};

  RecoverReport report;
  // The term and vote: kept so that this node never votes twice in one term.
  const std::string meta_path = data_dir + "/wal/" + wal::kMetaFile;
  if (fs::exists(meta_path, ec)) {
    auto bytes = wal::read_file(meta_path);
    if (bytes.ok()) {
      if (auto meta = wal::decode_meta(*bytes); meta.ok()) {
        report.hard_state = raft::HardState{meta->hs.term, meta->hs.vote, 0};
        report.hard_state_kept = true;
      }
    }
  }

  std::vector<std::string> present;
  for (const char* name : kReplicated) {
    if (fs::exists(fs::symlink_status(data_dir + "/" + name, ec))) present.push_back(name);
  }
  if (present.empty()) return Unexpected{"nothing to recover in " + data_dir};

  std::string aside = data_dir + "/damaged-" + utc_stamp(now_ms);
  for (int n = 2; fs::exists(aside, ec); ++n) {
    aside = data_dir + "/damaged-" + utc_stamp(now_ms) + "-" + std::to_string(n);
  }
  fs::create_directory(aside, ec);
  if (ec) return Unexpected{"cannot create " + aside + ": " + ec.message()};
  for (const std::string& name : present) {
    fs::rename(data_dir + "/" + name, aside + "/" + name, ec);
    if (ec) {
      return Unexpected{"cannot move " + data_dir + "/" + name + " to " + aside + ": " +
                        ec.message() + " (what was moved so far stays in " + aside + ")"};
    }
    report.moved.push_back(name);
  }
  if (auto r = wal::fsync_dir(aside); !r.ok()) return Unexpected{r.error()};

  if (report.hard_state_kept) {
    const std::string wal_dir = data_dir + "/wal";
    fs::create_directory(wal_dir, ec);
    if (ec) return Unexpected{"cannot create " + wal_dir + ": " + ec.message()};
    wal::Meta meta;
    meta.hs = report.hard_state;
    if (auto r = wal::write_meta(wal_dir, meta); !r.ok()) return Unexpected{r.error()};
  }
  if (auto r = wal::fsync_dir(data_dir); !r.ok()) return Unexpected{r.error()};
  report.aside = aside;
  return report;
}

void register_recover_command(CLI::App& app, int& rc) {
  CLI::App* cmd = app.add_subcommand(
      "recover",
      "Rebuild a stopped cluster node whose log, database or snapshot is damaged from its "
      "peers: moves them into <data-dir>/damaged-<time>/ (nothing is deleted); start the node "
      "again as before and the leader sends it the data (docs/wal.md, \"Disk faults\")");
  auto data_dir = std::make_shared<std::string>();
  cmd->add_option("--data-dir", *data_dir, "The node's data directory")->required();
  cmd->callback([data_dir, &rc] {
    auto report = recover_data_dir(*data_dir, wall_clock_ms());
    if (!report.ok()) {
      std::cerr << "cairn recover: " << report.error() << "\n";
      rc = 1;
      return;
    }
    std::cout << "moved";
    for (const auto& name : report->moved) std::cout << " " << name;
    std::cout << " to " << report->aside << "\n";
    if (report->hard_state_kept) {
      std::cout << "the new log keeps term " << report->hard_state.term << " and vote "
                << report->hard_state.vote << "\n";
    } else {
      std::cout << "warning: the old log's term and vote were unreadable; wait at least one "
                   "election timeout before starting the node\n";
    }
    std::cout << "start the node again with its usual configuration: it rejoins the cluster "
                 "and receives the data from the leader\n";
  });
}

}  // namespace cairn::server
