// The `cairn` binary: `cairn server` runs a node; every other subcommand is a client command
// from src/cli (the same ones an SDK-only build installs).

#include <signal.h>
#include <sys/resource.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "server/config.h"
#include "server/dev.h"
#include "server/node.h"

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Cairn: a distributed configuration center", "cairn"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cairn 0.1.0");

  CLI::App* server = app.add_subcommand("server", "Run a Cairn node");
  cairn::server::ConfigFlags flags(*server);
  int rc = 0;
  server->callback([&] {
    auto config = flags.finish();
    if (!config.ok()) {
      std::cerr << "cairn server: " << config.error() << "\n";
      rc = 2;
      return;
    }
    rc = run_server(*config);
  });
  cairn::cli::register_client_commands(app, rc);
  cairn::server::register_dev_command(app, rc);
  CLI11_PARSE(app, argc, argv);
  return rc;
}
