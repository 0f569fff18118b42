// `cairn dev`: starts N `cairn server` children of this binary on 127.0.0.1 and supervises them.
//
// The children are ordinary server processes (fork + exec of /proc/self/exe), so what a developer
// runs here is exactly what runs in production, peers talking over real TCP. This process only
// builds their flags, watches them and relays stop signals; it never touches their data.

#include "server/dev.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "auth/secret.h"
#include "common/json.h"
#include "http/client.h"
#include "server/peer_auth.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr auto kStopTimeout = std::chrono::seconds(15);  // > the server's default shutdown_grace
constexpr int kProbeTimeoutMs = 1000;

struct DevOptions {
  int nodes = 3;
  std::string data_dir = "data/dev";
  int http_port = 8001;
  int peer_port = 7001;
  std::string cluster_id = "dev";
  int start_timeout_s = 30;
  bool auth = false;  // pass --auth-enabled to every node, with one shared root token
  std::vector<std::string> server_flags;  // after `--`, passed to every node
};

/// One supervised `cairn server` child.
struct Child {
  int index = 0;  // 1-based; also its raft id
  std::string dir;
  std::string log;
  std::string http;  // host:port
  std::string peer;  // host:port
  int http_port = 0;
  pid_t pid = -1;
  bool alive = false;
  int status = 0;  // waitpid status once dead
};

std::string self_exe() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

/// True when this binary's `cairn server` accepts `flag`: the dev command and the server are the
/// same program, so asking the parser is exact (no probing a child process).
bool server_has_flag(CLI::App& app, const std::string& flag) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == "server") return sub->get_option_no_throw(flag) != nullptr;
  }
  return false;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = strsignal(sig);
    return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "status " + std::to_string(status);
}

std::string log_tail(const std::string& path, size_t max_lines = 20) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "  (no log at " + path + ")\n";
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "  | " + l + "\n";
  return out.empty() ? "  (log is empty)\n" : out;
}

/// Starts `argv` with stdout and stderr appended to `log_path`. The child gets its own process
/// group (a terminal's Ctrl-C reaches only us, and we relay it once, by PID) and dies with us
/// (PR_SET_PDEATHSIG) if we are killed without a chance to stop it.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path, std::string* error) {
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    *error = "cannot open " + log_path + ": " + std::strerror(errno);
    return -1;
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    static const char msg[] = "cairn dev: exec of the server binary failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  int saved = errno;
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) *error = std::string("fork failed: ") + std::strerror(saved);
  return pid;
}

/// A GET to 127.0.0.1:port bounded by kProbeTimeoutMs. Returns (status, body) or nullopt when
/// nothing answered in time.
std::optional<std::pair<int, std::string>> http_get(int port, const std::string& target,
                                                    const std::string& token = {}) {
  http::ClientRequest request;
  request.target = target;
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  const http::Client client(kProbeTimeoutMs);
  auto answer = client.send("127.0.0.1:" + std::to_string(port), std::move(request));
  if (!answer.response) return std::nullopt;
  return std::make_pair(answer.response->status, std::move(answer.response->body));
}

/// `data` of an envelope answered with 200, or nullopt.
std::optional<Json> envelope_data(const std::optional<std::pair<int, std::string>>& answer) {
  if (!answer || answer->first != 200) return std::nullopt;
  auto doc = parse_json(answer->second, 64);
  if (!doc || !doc->is_object() || !doc->contains("data")) return std::nullopt;
  return (*doc)["data"];
}

/// Waits for `sigs` up to `timeout`; returns the signal or 0.
int wait_signal(const sigset_t& sigs, std::chrono::milliseconds timeout) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  ts.tv_nsec = static_cast<long>((timeout.count() % 1000) * 1'000'000);
  int sig = ::sigtimedwait(&sigs, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

/// Collects every child that has exited; returns the ones that just died.
std::vector<Child*> reap(std::vector<Child>& children) {
  std::vector<Child*> dead;
  for (auto& c : children) {
    if (!c.alive) continue;
    int status = 0;
    pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid || (r < 0 && errno == ECHILD)) {
      c.alive = false;
      c.status = status;
      dead.push_back(&c);
    }
  }
  return dead;
}

void report_death(const Child& c) {
  std::cerr << "cairn dev: node" << c.index << " (pid " << c.pid << ", http " << c.http << ") "
            << describe_status(c.status) << "; last lines of " << c.log << ":\n"
            << log_tail(c.log) << std::flush;
}

size_t alive_count(const std::vector<Child>& children) {
  size_t n = 0;
  for (const auto& c : children) n += c.alive ? 1 : 0;
  return n;
}

/// SIGTERM to every live child by PID, then waits; SIGKILL for whatever is left after
/// kStopTimeout or at a second SIGINT/SIGTERM.
void stop_all(std::vector<Child>& children, const sigset_t& sigs) {
  for (auto& c : children) {
    if (c.alive) ::kill(c.pid, SIGTERM);
  }
  auto deadline = Clock::now() + kStopTimeout;
  bool forced = false;
  while (alive_count(children) > 0) {
    for (Child* c : reap(children)) {
      if (!(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) && !forced) report_death(*c);
    }
    if (alive_count(children) == 0) break;
    int sig = wait_signal(sigs, std::chrono::milliseconds(100));
    if (!forced && (sig == SIGINT || sig == SIGTERM || Clock::now() > deadline)) {
      std::cerr << "cairn dev: killing the nodes still running (SIGKILL)\n";
      for (auto& c : children) {
        if (c.alive) ::kill(c.pid, SIGKILL);
      }
      forced = true;
    }
  }
}

std::vector<std::string> server_argv(const std::string& exe, const DevOptions& o, const Child& c,
                                     bool raft, const std::string& members) {
  std::vector<std::string> argv = {exe, "server", "--node-id", "node" + std::to_string(c.index)};
  argv.insert(argv.end(), {"--data-dir", c.dir, "--listen-http", c.http});
  if (raft) {
    argv.insert(argv.end(), {"--raft-id", std::to_string(c.index), "--cluster-id", o.cluster_id,
                             "--listen-peer", c.peer, "--members", members});
  }
  if (o.auth) argv.push_back("--auth-enabled");
  argv.insert(argv.end(), o.server_flags.begin(), o.server_flags.end());
  return argv;
}

/// Polls every node until all answer /api/v1/health with 200 and (with Raft) one reports a
/// leader, a child dies, a stop signal arrives or the timeout passes.
enum class Ready { kReady, kTimeout, kChildDied, kStopped };

Ready wait_ready(std::vector<Child>& children, bool raft, const sigset_t& sigs,
                 std::chrono::seconds timeout, const std::string& token,
                 std::string* leader_line, std::string* pending) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!reap(children).empty()) return Ready::kChildDied;
    std::vector<std::string> waiting;
    std::optional<Json> leader_status;
    bool status_missing = false;
    for (auto& c : children) {
      auto health = http_get(c.http_port, "/api/v1/health");
      if (!health || health->first != 200) {
        waiting.push_back(
            "node" + std::to_string(c.index) + " health" +
            (health ? " (HTTP " + std::to_string(health->first) + ")" : " (no answer)"));
        continue;
      }
      if (!raft || leader_status) continue;
      auto answer = http_get(c.http_port, "/api/v1/cluster/status", token);
      if (answer && answer->first == 404) status_missing = true;
      auto data = envelope_data(answer);
      if (data && data->is_object()) {
        auto leader = data->value("leader", Json(0));
        if (data->value("role", "") == "leader" ||
            (leader.is_number() && leader.get<int64_t>() > 0)) {
          leader_status = data;
        }
      }
    }
    if (raft && !leader_status) {
      waiting.push_back(status_missing ? "a leader (GET /api/v1/cluster/status answers 404)"
                                       : "a leader");
    }
    if (waiting.empty()) {
      if (leader_status) {
        const Json& s = *leader_status;
        std::ostringstream line;
        line << "leader: node " << s.value("leader", Json(0)).dump();
        if (s.contains("leader_http") && s["leader_http"].is_string()) {
          line << " (http://" << s["leader_http"].get<std::string>() << ")";
        }
        if (s.contains("term")) line << ", term " << s["term"].dump();
        *leader_line = line.str();
      }
      return Ready::kReady;
    }
    *pending = "";
    for (size_t i = 0; i < waiting.size(); ++i) *pending += (i ? ", " : "") + waiting[i];
    if (Clock::now() > deadline) return Ready::kTimeout;
    int sig = wait_signal(sigs, std::chrono::milliseconds(200));
    if (sig == SIGINT || sig == SIGTERM) return Ready::kStopped;
  }
}

int run_dev(CLI::App& app, const DevOptions& o) {
  if (o.http_port + o.nodes - 1 > 65535 || o.peer_port + o.nodes - 1 > 65535) {
    std::cerr << "cairn dev: ports out of range\n";
    return 2;
  }
  std::string exe = self_exe();
  if (exe.empty()) {
    std::cerr << "cairn dev: cannot find this binary (/proc/self/exe)\n";
    return 1;
  }
  bool raft = server_has_flag(app, "--raft-id");
  std::error_code ec;
  fs::path root = fs::absolute(o.data_dir, ec);
  fs::create_directories(root, ec);
  if (ec) {
    std::cerr << "cairn dev: cannot create " << root.string() << ": " << ec.message() << "\n";
    return 1;
  }

  // With auth, every node gets the same root token through the environment (docs/security.md).
  std::string root_token;
  if (o.auth) {
    bool generated = false;
    auto token = auth::bootstrap_root_token(root.string(), generated);
    if (!token.ok()) {
      std::cerr << "cairn dev: " << token.error() << "\n";
      return 1;
    }
    root_token = *token;
    ::setenv("CAIRN_ROOT_TOKEN", root_token.c_str(), 1);
    std::cout << "auth enabled; root token"
              << (generated ? " (new, kept in " + (root / "root-token").string() + ")" : "")
              << ": " << root_token << "\n";
  }

  // Every node gets the same cluster secret through the environment (docs/security.md): peers
  // authenticate each other and forwarded requests are signed, as in production.
  if (raft) {
    bool generated = false;
    auto secret = bootstrap_cluster_secret(root.string(), generated);
    if (!secret.ok()) {
      std::cerr << "cairn dev: " << secret.error() << "\n";
      return 1;
    }
    ::setenv("CAIRN_CLUSTER_SECRET", secret->c_str(), 1);
    if (generated) {
      std::cout << "cluster secret: new, kept in " << (root / "cluster-secret").string()
                << " (mode 0600)\n";
    }
  }

  std::vector<Child> children(static_cast<size_t>(o.nodes));
  std::string members;
  for (int i = 1; i <= o.nodes; ++i) {
    Child& c = children[static_cast<size_t>(i - 1)];
    c.index = i;
    c.dir = (root / ("node" + std::to_string(i))).string();
    c.log = (root / ("node" + std::to_string(i) + ".log")).string();
    c.http_port = o.http_port + i - 1;
    c.http = "127.0.0.1:" + std::to_string(c.http_port);
    c.peer = "127.0.0.1:" + std::to_string(o.peer_port + i - 1);
    members += (i > 1 ? "," : "") + std::to_string(i) + "@" + c.peer + "@" + c.http;
    fs::create_directories(c.dir, ec);
    if (ec) {
      std::cerr << "cairn dev: cannot create " << c.dir << ": " << ec.message() << "\n";
      return 1;
    }
  }

  // Stop signals and SIGCHLD are taken synchronously (sigtimedwait) from here on, so a Ctrl-C
  // in the middle of starting still stops whatever has been started.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGCHLD);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);

  std::cout << "cairn dev: " << o.nodes << (o.nodes == 1 ? " node" : " nodes");
  if (raft) {
    std::cout << ", cluster id \"" << o.cluster_id << "\"";
  } else {
    std::cout << " STANDALONE (this build's `cairn server` has no --raft-id: each node keeps its "
                 "own unreplicated data)";
  }
  std::cout << ", data in " << root.string() << "\n";

  for (auto& c : children) {
    std::string error;
    c.pid = spawn(server_argv(exe, o, c, raft, members), c.log, &error);
    if (c.pid < 0) {
      std::cerr << "cairn dev: cannot start node" << c.index << ": " << error << "\n";
      stop_all(children, sigs);
      return 1;
    }
    c.alive = true;
    std::cout << "  node" << c.index << "  http://" << c.http;
    if (raft) std::cout << "  peer " << c.peer;
    std::cout << "  pid " << c.pid << "  log " << c.log << "\n";
  }
  std::cout << "waiting for the nodes" << (raft ? " and a leader" : "") << " (up to "
            << o.start_timeout_s << " s)…" << std::endl;

  std::string leader_line, pending;
  switch (wait_ready(children, raft, sigs, std::chrono::seconds(o.start_timeout_s), root_token,
                     &leader_line, &pending)) {
    case Ready::kReady:
      if (!leader_line.empty()) std::cout << leader_line << "\n";
      break;
    case Ready::kChildDied:
      for (const auto& c : children) {
        if (!c.alive) report_death(c);
      }
      std::cerr << "cairn dev: a node died while starting (a port in use? another process on "
                   "the same data dir?); stopping the others\n";
      stop_all(children, sigs);
      return 1;
    case Ready::kStopped:
      std::cout << "cairn dev: stopping\n";
      stop_all(children, sigs);
      return 0;
    case Ready::kTimeout:
      std::cerr << "cairn dev: still waiting for " << pending << " after " << o.start_timeout_s
                << " s; the nodes keep running, see their logs\n";
      for (const auto& c : children) std::cerr << "  node" << c.index << ": " << c.log << "\n";
      break;
  }

  const std::string& a = children.front().http;
  const std::string& b = children[children.size() > 1 ? 1 : 0].http;
  const std::string& z = children.back().http;
  const std::string curl =
      o.auth ? "curl -s -H \"Authorization: Bearer " + root_token + "\" " : "curl -s ";
  std::cout << "\ntry:\n"
            << "  " << curl << "-XPOST http://" << a
            << "/api/v1/admin/namespace -d '{\"name\":\"demo\"}'\n"
            << "  " << curl << "-XPOST http://" << b
            << "/api/v1/admin/config -d "
               "'{\"namespace\":\"demo\",\"key\":\"greeting\",\"value\":\"hello\"}'\n"
            << "  " << curl << "'http://" << z << "/api/v1/config/get?namespace=demo&key=greeting'\n";
  if (raft) std::cout << "  " << curl << "http://" << a << "/api/v1/cluster/status\n";
  std::cout << "Ctrl-C stops every node.\n" << std::flush;

  for (;;) {
    int sig = wait_signal(sigs, std::chrono::milliseconds(1000));
    for (Child* c : reap(children)) report_death(*c);
    if (sig == SIGINT || sig == SIGTERM) {
      std::cout << "\ncairn dev: stopping " << alive_count(children) << " node(s)\n" << std::flush;
      stop_all(children, sigs);
      std::cout << "cairn dev: stopped\n";
      return 0;
    }
    if (alive_count(children) == 0) {
      std::cerr << "cairn dev: every node has exited\n";
      return 1;
    }
  }
}

}  // namespace

void register_dev_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<DevOptions>();
  CLI::App* dev = app.add_subcommand(
      "dev",
      "Run a local cluster: N `cairn server` processes on 127.0.0.1 (flags after -- go to every "
      "node)");
  dev->add_option("--nodes", options->nodes, "Number of nodes (3 or 5 for a cluster)")
      ->capture_default_str()
      ->check(CLI::IsMember({1, 3, 5, 7}));
  dev->add_option("--data-dir", options->data_dir, "Node i keeps its data in DIR/node<i>")
      ->capture_default_str();
  dev->add_option("--http-port,--base-port", options->http_port,
                  "HTTP port of node 1; node i listens on this + i - 1")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  dev->add_option("--peer-port", options->peer_port,
                  "Raft peer port of node 1; node i listens on this + i - 1")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  dev->add_option("--cluster-id", options->cluster_id, "Cluster id given to every node")
      ->capture_default_str();
  dev->add_option("--start-timeout", options->start_timeout_s,
                  "Seconds to wait for healthy nodes and a leader")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  dev->add_flag("--auth", options->auth,
               "Require tokens on every node (--auth-enabled); the root token comes from "
               "CAIRN_ROOT_TOKEN, else DIR/root-token, else a new one written there");
  dev->add_option("server_flags", options->server_flags,
                  "Extra `cairn server` flags for every node, after --");
  dev->callback([&app, &exit_code, options] { exit_code = run_dev(app, *options); });
}

}  // namespace cairn::server
