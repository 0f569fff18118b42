#pragma once

// The client registry (docs/releases.md): the clients one node serves, in memory only.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json.h"
#include "core/releases.h"

namespace cairn::core {

struct ClientRegistryOptions {
  size_t max_clients = 100'000;      // beyond: the longest idle client is forgotten
  size_t max_namespaces = 64;        // per client; beyond: its least recent namespace goes
  int64_t idle_ms = 10 * 60'000;     // a client not seen (and not watching) for this is forgotten
  size_t max_error_bytes = 1024;     // an ack's error is cut to this
};

/// A client's state for one namespace.
struct ClientNamespace {
  int watching = 0;            // watches held open now
  uint64_t sent_revision = 0;  // the revision of the last answer sent
  std::string sent_release;    // the release that answer carried ("" stable)
  uint64_t acked_revision = 0;
  std::string ack_status;      // "applied", "failed", "" none
  std::string ack_error;
  std::string acked_release;   // the release the client ran when it acked
  int64_t acked_at_ms = 0;
  int64_t touched_ms = 0;
};

struct ClientRecord {
  ClientIdentity identity;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
  std::map<std::string, ClientNamespace, std::less<>> namespaces;
};

/// Filter of a registry view.
struct ClientFilter {
  std::optional<std::string> ns;
  std::vector<std::pair<std::string, std::string>> labels;  // each must match
};

/// What one node knows of its clients: who read or watched which namespace at which revision,
/// and what they acknowledged. Not replicated: the cluster-wide view asks every member.
/// Bounded: at most max_clients clients of at most max_namespaces namespaces each; idle clients
/// are forgotten. Threads: any.
class ClientRegistry {
 public:
  explicit ClientRegistry(ClientRegistryOptions options = {}) : options_(options) {}

  /// A read or watch answer was sent to `client` for `ns` at `revision`, carrying `release`
  /// ("" when stable); revision 0: a key read that names no namespace revision (only the
  /// release is recorded). `watch_delta` +1 when a watch opens (nothing else recorded).
  void sent(const ClientIdentity& client, std::string_view ns, uint64_t revision,
            std::string_view release, int watch_delta = 0);
  /// A watch of `ns` by `client_id` ended.
  void watch_ended(std::string_view client_id, std::string_view ns);
  /// An acknowledgement; `release` the release the client runs ("" stable).
  void ack(const ClientIdentity& client, std::string_view ns, uint64_t revision,
           std::string_view status, std::string_view error, std::string_view release);

  /// The clients that match, as the /api/v1/clients entries (docs/releases.md), each with
  /// `node` = `node_id`.
  Json view(const ClientFilter& filter, int64_t node_id) const;
  /// Forgets the idle clients (also done as clients arrive). Returns how many went.
  size_t sweep(int64_t now_ms);

  size_t size() const;
  /// Estimated heap bytes held (the bench reports it per client).
  size_t memory_bytes() const;

 private:
  ClientRecord& touch_locked(const ClientIdentity& client, int64_t now_ms);
  ClientNamespace& ns_locked(ClientRecord& r, std::string_view ns, int64_t now_ms);
  void evict_one_locked();

  const ClientRegistryOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ClientRecord> clients_;
  int64_t last_sweep_ms_ = 0;
};

/// Merges the entries of several nodes' views by client id: per namespace the newest sent and
/// acked state wins; `node` is the node that saw the client last.
Json merge_client_views(const std::vector<Json>& views);

/// A release's progress from a (merged) client list: targeted (the clients of its namespace it
/// targets now), received (sent the release's values), applied, failed, silent (targeted
/// without an ack for it), and the failed clients with their errors.
struct ReleaseProgress {
  int64_t targeted = 0;
  int64_t received = 0;
  int64_t applied = 0;
  int64_t failed = 0;
  int64_t silent = 0;
  Json failed_clients = Json::array();
  Json to_json() const;
};
ReleaseProgress release_progress(const Release& release, const Json& clients);

}  // namespace cairn::core

namespace cairn::core {

/// What the plan and guard of an active release call for now (docs/releases.md), evaluated by
/// the leader: nothing, "advance" to `stage`, "halt" or "abort", with the reason recorded.
struct PlanStep {
  std::string action;  // "" nothing
  int64_t stage = 0;
  std::string reason;
};
PlanStep plan_step(const Release& release, const ReleaseProgress& progress, int64_t now_ms);

}  // namespace cairn::core
