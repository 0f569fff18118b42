#pragma once

// Gray releases (docs/releases.md): the release spec (target, plan, guard), the targeting rule
// and the in-memory view of the releases that are not finished, which every read consults.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "common/json.h"
#include "common/result.h"
#include "store/store.h"

namespace cairn::core {

/// Who a client is, as a read, a watch or an ack tells it (X-Client-ID, X-Client-Labels, the
/// caller's address) or a protocol front-end knows it.
struct ClientIdentity {
  std::string id;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, unique names
  std::string ip;
  std::string protocol = "native";  // native, consul, nacos, apollo
};

/// The operators' own tools: the console (`cairn-console:<hex>`) and the CLI (`cairn-cli@<host>`).
/// A release never targets them, so they always read the stable values (the console shows the
/// release's values apart), and they are not counted in a release's progress or its guard.
bool operator_tool(std::string_view client_id);

/// An address or CIDR block of a target (v4 or v6).
struct IpBlock {
  std::array<uint8_t, 16> addr{};
  int bits = 0;  // prefix length
  bool v6 = false;
  std::string text;
  bool contains(std::string_view ip) const;
};

struct ReleaseStage {
  double percent = 0;
  int64_t hold_ms = 0;  // 0: no hold (the last stage usually)
};

struct ReleaseGuard {
  double max_failed_ratio = 1.0;
  int64_t min_acks = 0;
  int64_t ack_timeout_ms = 0;  // 0: no deadline for min_acks
};

/// What a release targets and how it rolls out, parsed from a request's `target` and `plan`.
struct ReleaseSpec {
  std::vector<std::pair<std::string, std::vector<std::string>>> labels;  // name → accepted values
  std::vector<IpBlock> ips;
  std::optional<double> percent;
  std::vector<ReleaseStage> stages;  // empty: no plan
  std::optional<ReleaseGuard> guard;
  std::string on_failure = "halt";  // halt or abort

  /// {"target": {...}, "plan": {...}|null}: the canonical text stored and replicated.
  Json canonical() const;
  Json target_json() const;
  Json stages_json() const;
  Json guard_json() const;
  /// The percent that applies at `stage` (the plan's, else the target's); nullopt: none.
  std::optional<double> percent_at(int64_t stage) const;
};

/// Parses `target` (required, an object) and `plan` (optional) of a release request; 40002 with
/// the field on anything out of shape or range.
/// A label name: 1–63 of [A-Za-z0-9._/-], starting with a letter or digit (X-Client-Labels and
/// release targets alike).
bool label_name_ok(std::string_view name);
/// A label value: 0–63 of [A-Za-z0-9._-].
bool label_value_ok(std::string_view value);

Result<ReleaseSpec, api::Error> parse_release_spec(const Json& target, const Json* plan);
/// Parses a stored canonical spec.
Result<ReleaseSpec, api::Error> parse_release_spec_text(std::string_view canonical);

/// Go-style duration ("90s", "10m", "1h30m", "500ms") in ms; -1 when malformed.
int64_t parse_go_duration(std::string_view text);
std::string format_go_duration(int64_t ms);

/// The stable bucket 0..9999 of a client in a release: FNV-1a 64 of "<release id>\n<client id>".
/// Identical on every node and across restarts.
uint32_t percent_bucket(std::string_view release_id, std::string_view client_id);

/// Whether `spec` at `stage` targets `client`: labels AND (ips OR percent); an absent part does
/// not restrict.
bool release_targets(const ReleaseSpec& spec, int64_t stage, std::string_view release_id,
                     const ClientIdentity& client);

/// A release as the reads see it.
struct Release {
  store::ReleaseRow row;
  ReleaseSpec spec;
  std::map<std::string, std::optional<std::string>, std::less<>> changes;  // key → gray value
  bool live() const { return row.state == "active" || row.state == "paused" || row.state == "halted"; }
  bool targets(const ClientIdentity& client) const {
    return release_targets(spec, row.stage, row.id, client);
  }
};
using ReleasePtr = std::shared_ptr<const Release>;

/// Builds the in-memory form of a stored release (an unparsable spec targets nobody).
ReleasePtr make_release(const store::ReleaseRow& row);

/// The release object of the HTTP API (docs/releases.md), without `progress`.
Json release_json(const Release& release);

/// The releases that are not finished (active, paused, halted), one per namespace at most.
/// Reloaded from the store by the state machine after every release command and restore.
/// Threads: any.
class Releases {
 public:
  void reload(const store::Store& store);
  /// The unfinished release of `ns`, or null.
  ReleasePtr live_for(std::string_view ns) const;
  /// The unfinished release of `ns` when it targets `client`, or null.
  ReleasePtr gray_for(std::string_view ns, const ClientIdentity& client) const;
  std::vector<ReleasePtr> live() const;
  uint64_t generation() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, ReleasePtr, std::less<>> by_ns_;
  uint64_t generation_ = 0;
};

}  // namespace cairn::core
