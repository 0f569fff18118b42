// The `cairn` binary: `cairn server` runs a node; every other subcommand is a client command
// from src/cli (the same ones an SDK-only build installs).

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "server/backup.h"
#include "store/backup.h"
#include "secrets/keyring.h"
#include "server/config.h"
#include "server/dev.h"
#include "server/node.h"
#include "server/peer_auth.h"
#include "server/recover.h"

namespace {

int run_server(const cairn::server::ServerConfig& config) {
  auto level = spdlog::level::from_str(config.log_level);
  spdlog::set_default_logger(spdlog::stderr_color_mt("cairn"));
  spdlog::set_level(level);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  // Block the stop signals (and SIGHUP, reload) in every thread; the main thread waits for
  // them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Every held watch is a socket: allow as many as the hard limit does.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  auto node = cairn::server::Node::start(config);
  if (!node.ok()) {
    spdlog::critical("{}", node.error());
    return 1;
  }
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    spdlog::info("SIGHUP received, reloading");
    if (auto reloaded = (*node)->reload(); !reloaded.ok()) {
      spdlog::error("reload failed: {}", reloaded.error());
    }
  }
  spdlog::info("signal {} received, stopping", sig);
  (*node)->stop();
  spdlog::info("stopped");
  return 0;
}

int generate_secret_key(const std::string& id, const std::string& out) {
  auto text = cairn::secrets::generate_keyring_text(id);
  if (!text.ok()) {
    std::cerr << "cairn secret-key generate: " << text.error() << "\n";
    return 2;
  }
  if (out.empty()) {
    std::cout << *text;
    return 0;
  }
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "cairn secret-key generate: cannot create " << out << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  bool ok = ::write(fd, text->data(), text->size()) == static_cast<ssize_t>(text->size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) {
    std::cerr << "cairn secret-key generate: cannot write " << out << "\n";
    return 1;
  }
  std::cout << "wrote key '" << id << "' to " << out << " (mode 0600)\n";
  return 0;
}

// `cairn server --restore-from FILE` and `cairn restore FILE`: a new cluster's first node (or a
// standalone node) seeded from a backup (docs/operations.md).
int restore(const cairn::server::ServerConfig& config, const std::string& file, bool force) {
  cairn::cli::Progress progress("checking " + file);
  auto restored = cairn::server::restore_data_dir(
      config, file, force, [&](uint64_t done, uint64_t total) { progress.update(done, total); });
  progress.finish();
  if (!restored.ok()) {
    std::cerr << "cairn: restore refused: " << restored.error() << "\n";
    return 2;
  }
  const auto& h = *restored;
  std::cout << "restored " << file << " into " << config.data_dir << ": revision " << h.revision
            << ", applied index " << h.applied_index << ", checksum " << h.checksum;
  if (config.raft_id != 0) {
    std::cout << "; node " << config.raft_id << " is the only member of cluster '"
              << config.cluster_id << "' (was '" << h.cluster_id
              << "'): add the others with POST /api/v1/admin/cluster/members";
  }
  std::cout << "\n";
  if (!h.secret_key_ids.empty()) {
    std::string ids;
    for (const auto& k : h.secret_key_ids) ids += (ids.empty() ? "" : ", ") + k;
    std::cout << "secrets in it are wrapped by key(s) " << ids
              << ": give this node the same key file (secret_key_file or CAIRN_SECRET_KEY)\n";
  }
  std::cout.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cairn: a distributed configuration center", "cairn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cairn 0.1.0");

  CLI::App* server = app.add_subcommand("server", "Run a Cairn node");
  cairn::server::ConfigFlags flags(*server);
  std::string restore_from;
  bool force = false;
  server->add_option("--restore-from", restore_from,
                     "Seed a new cluster (this node its only member, with a new --cluster-id) "
                     "or a standalone node from this backup file, then run");
  server->add_flag("--force", force, "With --restore-from: replace a non-empty data directory");
  int rc = 0;
  server->callback([&] {
    auto config = flags.finish();
    if (!config.ok()) {
      std::cerr << "cairn server: " << config.error() << "\n";
      rc = 2;
      return;
    }
    if (!restore_from.empty()) {
      rc = restore(*config, restore_from, force);
      if (rc != 0) return;
    }
    rc = run_server(*config);
  });
  // `cairn restore FILE`: the same seeding without starting the node.
  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "Seed a data directory from a backup file (docs/operations.md) and exit; "
                 "takes the server's --config and flags (data_dir, raft_id, cluster_id)");
  cairn::server::ConfigFlags restore_flags(*restore_cmd);
  std::string restore_file;
  bool restore_force = false;
  restore_cmd->add_option("file", restore_file, "The backup file")->required();
  restore_cmd->add_flag("--force", restore_force, "Replace a non-empty data directory");
  restore_cmd->callback([&] {
    auto config = restore_flags.finish();
    if (!config.ok()) {
      std::cerr << "cairn restore: " << config.error() << "\n";
      rc = 2;
      return;
    }
    rc = restore(*config, restore_file, restore_force);
  });
  cairn::cli::set_backup_verifier(
      [](const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress)
          -> cairn::Result<cairn::api::BackupHeader, std::string> {
        auto h = cairn::store::verify_backup(path, "", progress);
        if (!h.ok()) return cairn::Unexpected{h.error().details};
        return *h;
      });
  // docs/secrets.md: a key file for secret_key_file.
  CLI::App* secret_key =
      app.add_subcommand("secret-key", "Key-encryption keys of secret values (docs/secrets.md)");
  secret_key->require_subcommand(1);
  CLI::App* generate = secret_key->add_subcommand(
      "generate", "Print a key file holding one new random 256-bit key, or write it (mode 0600)");
  std::string key_id = "k1";
  std::string key_out;
  generate->add_option("--id", key_id, "The key's id (1-32 of [A-Za-z0-9_-])");
  generate->add_option("--out", key_out, "Write it to this new file (never overwritten)");
  generate->callback([&] { rc = generate_secret_key(key_id, key_out); });
  // docs/security.md: a cluster secret for cluster_secret_file / CAIRN_CLUSTER_SECRET.
  CLI::App* cluster_secret = app.add_subcommand(
      "cluster-secret", "The secret the nodes of a cluster share (docs/security.md)");
  cluster_secret->require_subcommand(1);
  CLI::App* make_secret = cluster_secret->add_subcommand(
      "generate", "Print a new random cluster secret, or write it to a new file (mode 0600)");
  std::string secret_out;
  make_secret->add_option("--out", secret_out, "Write it to this new file (never overwritten)");
  make_secret->callback([&] {
    const std::string secret = cairn::server::generate_cluster_secret();
    if (secret_out.empty()) {
      std::cout << secret << "\n";
      return;
    }
    auto written = cairn::server::write_private_file(secret_out, secret + "\n");
    if (!written.ok()) {
      std::cerr << "cairn cluster-secret generate: " << written.error() << "\n";
      rc = 1;
      return;
    }
    std::cout << "wrote a new cluster secret to " << secret_out << " (mode 0600)\n";
  });
  cairn::cli::register_client_commands(app, rc);
  cairn::server::register_dev_command(app, rc);
  cairn::server::register_recover_command(app, rc);
  CLI11_PARSE(app, argc, argv);
  return rc;
}
