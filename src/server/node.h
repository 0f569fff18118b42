#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "routes/route.h"
#include "server/config.h"

namespace cairn::server {

/// One running Cairn node: store, in-memory index, replicator, core, front-ends and HTTP server
/// wired together by a few named builders. The only place that knows every part (DESIGN.md §4).
///
/// Lifetime: start() builds and starts everything, or returns why it could not; stop() (also
/// run by the destructor) stops in reverse order: HTTP first (in-flight requests get
/// shutdown_grace to finish), then the replicator, then the store. Threads: start() and stop()
/// from the control thread.
class Node {
 public:
  static Result<std::unique_ptr<Node>, std::string> start(const ServerConfig& config);
  ~Node();

  uint16_t http_port() const;
  /// Re-reads what can change without a restart (today: the rate_limits file). On an error
  /// (unreadable or invalid file, nothing to reload) the running settings stay and the error
  /// says why. Control thread (SIGHUP), while requests are being served.
  Result<Ok, std::string> reload();
  void stop();

  /// Every route the HTTP API serves, each a route of the table (routes/table.h), in the order
  /// they were registered (route-table tests).
  std::vector<const routes::Route*> routes() const;

 private:
  Node() = default;
  struct Parts;
  // The builders start() runs in this order (node.cc): each takes what the earlier ones made.
  static Result<Ok, std::string> open_storage(Parts& p);
  static void build_state_machine(Parts& p);
  static Result<Ok, std::string> start_cache_tier(Parts& p);
  static Result<Ok, std::string> start_replication(Parts& p);
  static void build_core(Parts& p);
  static Result<Ok, std::string> build_frontends(Parts& p);
  static Result<Ok, std::string> start_auth(Parts& p);  // part of build_frontends
  static Result<Ok, std::string> start_http(Parts& p);
  static std::optional<std::string> database_down(const Parts& p);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cairn::server
