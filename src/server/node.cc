#include "server/node.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cache/index.h"
#include "http/middleware.h"
#include "http/router.h"
#include "http/server.h"
#include "server/single_node_replicator.h"
#include "service/service.h"
#include "service/state_machine.h"
#include "service/watch_hub.h"
#include "store/store.h"

namespace cairn::server {

struct Node::Parts {
  ServerConfig config;
  int lock_fd = -1;
  std::unique_ptr<store::Store> store;
  cache::Index index;
  std::unique_ptr<service::WatchHub> watch;  // outlives the HTTP server (hang-up callbacks)
  std::unique_ptr<service::ConfigStateMachine> state_machine;
  std::unique_ptr<SingleNodeReplicator> replicator;
  std::unique_ptr<service::Service> service;
  http::Router router;
  std::unique_ptr<http::Server> http;
  std::string pid_file;
  bool stopped = false;
};

namespace {

// One process per data directory: a second server on the same files would corrupt them.
Result<int, std::string> lock_data_dir(const std::string& dir) {
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Unexpected{"cannot open " + path + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Unexpected{"data directory " + dir + " is in use by another cairn process"};
  }
  return fd;
}

}  // namespace

Result<std::unique_ptr<Node>, std::string> Node::start(const ServerConfig& config) {
  std::unique_ptr<Node> node(new Node());
  node->parts_ = std::make_unique<Parts>();
  Parts& p = *node->parts_;
  p.config = config;

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return Unexpected{"cannot create data directory " + config.data_dir + ": " + ec.message()};
  auto lock = lock_data_dir(config.data_dir);
  if (!lock.ok()) return Unexpected{lock.error()};
  p.lock_fd = *lock;

  store::Options store_options;
  store_options.path = config.data_dir + "/cairn.db";
  store_options.synchronous_full = true;  // single node: the database is the only copy
  store_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
  auto opened = store::Store::open(store_options);
  if (!opened.ok()) return Unexpected{"cannot open store: " + opened.error().details};
  p.store = std::move(*opened);
  auto loaded = p.index.load(*p.store);
  if (!loaded.ok()) return Unexpected{"cannot load index: " + loaded.error().details};
  spdlog::info("store open at {}: revision {}, applied index {}", store_options.path,
               p.store->revision(), p.store->applied_index());

  service::WatchOptions watch_options;
  watch_options.history = static_cast<size_t>(config.watch_history);
  watch_options.max_timeout_ms = config.watch_max_timeout_ms;
  watch_options.default_timeout_ms = std::min<int64_t>(30'000, config.watch_max_timeout_ms);
  watch_options.heartbeat_ms = config.watch_heartbeat_ms;
  p.watch = std::make_unique<service::WatchHub>(watch_options, p.index, p.store->revision());
  p.state_machine =
      std::make_unique<service::ConfigStateMachine>(*p.store, p.index, p.watch.get());
  p.replicator = std::make_unique<SingleNodeReplicator>(*p.state_machine);
  p.replicator->start();

  service::ServiceOptions service_options;
  service_options.max_value_bytes = static_cast<size_t>(config.max_value_bytes);
  service_options.node_id = config.node_id;
  p.service = std::make_unique<service::Service>(service_options, *p.store, p.index,
                                                 *p.replicator, p.watch.get());
  p.service->register_routes(p.router);

  std::vector<http::Middleware> middlewares = {http::request_id_middleware()};
  if (config.access_log) middlewares.push_back(http::access_log_middleware());
  http::ServerOptions http_options;
  http_options.listen = config.listen_http;
  http_options.threads = static_cast<int>(config.http_threads);
  http_options.max_header_bytes = static_cast<size_t>(config.max_header_bytes);
  http_options.max_body_bytes = static_cast<size_t>(config.max_body_bytes);
  http_options.read_timeout_ms = config.http_read_timeout_ms;
  http_options.idle_timeout_ms = config.http_idle_timeout_ms;
  http_options.stop_grace_ms = config.shutdown_grace_ms;
  p.http = std::make_unique<http::Server>(
      http_options, http::chain(std::move(middlewares), p.router.as_handler()));
  auto started = p.http->start();
  if (!started.ok()) return Unexpected{"cannot listen on " + config.listen_http + ": " + started.error()};

  p.pid_file = config.data_dir + "/cairn.pid";
  std::ofstream(p.pid_file) << ::getpid() << "\n";
  spdlog::info("node {} serving HTTP on {} (port {})", config.node_id, config.listen_http,
               p.http->port());
  return node;
}

Node::~Node() { stop(); }

uint16_t Node::http_port() const { return parts_->http->port(); }

void Node::stop() {
  if (!parts_ || parts_->stopped) return;
  Parts& p = *parts_;
  p.stopped = true;
  // Held watches are answered and streams ended first, so that the HTTP server's grace period
  // is spent on real requests only.
  if (p.watch) p.watch->shutdown();
  if (p.http) p.http->stop();
  if (p.replicator) p.replicator->stop();
  p.service.reset();
  p.state_machine.reset();
  p.http.reset();
  p.watch.reset();
  p.store.reset();
  if (!p.pid_file.empty()) std::filesystem::remove(p.pid_file);
  if (p.lock_fd >= 0) ::close(p.lock_fd);
  p.lock_fd = -1;
}

}  // namespace cairn::server
