// Example: print a namespace's config, then reprint it every time it changes.
//
//   watch_config [--endpoints http://127.0.0.1:8001,...] [--cache-dir DIR] [--changes N]
//                [--client-id ID] [--label NAME=VALUE]... [--fail-on KEY]... NAMESPACE
//
// With --cache-dir the config survives a cluster outage: when no node answers, the last known
// content is printed from the file cache and marked stale. --changes N exits after N changes
// (for scripts); otherwise it runs until Ctrl-C. --client-id and --label say who this instance
// is (X-Client-ID, default host:pid; X-Client-Labels), which gray releases target; every
// revision applied is acknowledged, and a change of a --fail-on key is refused: its ack says
// `failed` (docs/releases-clients.md).

#include <cairn/client.h>
#include <signal.h>

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <sstream>
#include <set>
#include <string>

namespace {

void print(const cairn::NamespaceContent& content, const char* why) {
  std::cout << "== " << content.ns << " @ revision " << content.revision << " (" << why
            << (content.stale ? ", stale: from the local cache" : "")
            << (content.release.empty() ? "" : ", gray release " + content.release) << ")\n";
  for (const auto& [key, value] : content.configs) {
    std::cout << key << " = " << value.dump() << "\n";
  }
  std::cout << std::flush;
}

int usage() {
  std::cerr << "usage: watch_config [--endpoints URLS] [--cache-dir DIR] [--changes N] "
               "[--client-id ID] [--label NAME=VALUE]... [--fail-on KEY]... NAMESPACE\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  cairn::ClientOptions options;
  if (const char* env = std::getenv("CAIRN_ENDPOINTS")) options.endpoints = {env};
  std::string ns;
  int max_changes = 0;
  std::set<std::string> fail_on;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--endpoints" || arg == "--cache-dir" || arg == "--changes" ||
         arg == "--client-id" || arg == "--label" || arg == "--fail-on") &&
        i + 1 < argc) {
      std::string value = argv[++i];
      if (arg == "--client-id") {
        options.client_id = value;
      } else if (arg == "--label") {
        size_t eq = value.find('=');
        if (eq == std::string::npos) return usage();
        options.labels[value.substr(0, eq)] = value.substr(eq + 1);
      } else if (arg == "--fail-on") {
        fail_on.insert(value);
      } else if (arg == "--endpoints") {
        options.endpoints.clear();
        std::stringstream in(value);
        for (std::string part; std::getline(in, part, ',');) options.endpoints.push_back(part);
      } else if (arg == "--cache-dir") {
        options.cache_dir = value;
      } else {
        max_changes = std::atoi(value.c_str());
      }
    } else if (!arg.empty() && arg[0] != '-' && ns.empty()) {
      ns = arg;
    } else {
      return usage();
    }
  }
  if (ns.empty()) return usage();
  if (auto why = cairn::validate_identity(options.client_id, options.labels)) {
    std::cerr << "watch_config: " << *why << "\n";
    return 2;
  }

  // Ctrl-C / SIGTERM are taken by sigwait below; block them before the SDK starts its thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  cairn::Client client(options);
  auto first = client.get_namespace(ns);
  if (!first.ok()) {
    std::cerr << "watch_config: " << first.error().to_string() << "\n";
    return 1;
  }
  print(*first, "initial");

  std::mutex mu;
  std::condition_variable cv;
  int changes = 0;
  client.watch_checked(ns, {}, [&](const cairn::ConfigChange& change) {
    // Runs on the SDK's watch thread; the content it knows already includes this change.
    // After it returns, the SDK acks the revision: applied, or failed with the message below.
    std::cout << "-- " << change.operation << " " << change.key << " ("
              << (change.old_value ? change.old_value->dump() : "absent") << " -> "
              << (change.new_value ? change.new_value->dump() : "absent") << ")\n";
    if (auto now = client.watched_content(ns)) print(*now, "changed");
    {
      std::lock_guard lock(mu);
      ++changes;
      cv.notify_all();
    }
    if (fail_on.count(change.key)) {
      std::cout << "-- refusing " << change.key << " (--fail-on)\n" << std::flush;
      return cairn::ApplyResult::failed("refused by --fail-on " + change.key);
    }
    return cairn::ApplyResult::applied();
  });

  if (max_changes > 0) {
    std::unique_lock lock(mu);
    while (changes < max_changes) {
      cv.wait_for(lock, std::chrono::milliseconds(100));
      timespec zero{0, 0};
      if (sigtimedwait(&signals, nullptr, &zero) > 0) break;
    }
  } else {
    int sig = 0;
    sigwait(&signals, &sig);
  }
  return 0;  // ~Client stops the watch thread at once
}
