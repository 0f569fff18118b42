#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/result.h"
#include "http/types.h"
#include "server/config.h"

namespace cairn::server {

/// The cluster secrets of a node (docs/security.md), first the current one, then older ones
/// still accepted during a rotation: from `cluster_secret`, else `cluster_secret_file`, else the
/// environment variable CAIRN_CLUSTER_SECRET. Each is a list separated by commas or newlines
/// (surrounding whitespace ignored); every secret must be 16..1024 bytes. The file must not be
/// readable by group or others. Empty list: no secret configured. Error text on a bad value,
/// both keys set, or an unreadable file.
Result<std::vector<std::string>, std::string> load_cluster_secrets(const ServerConfig& config);

/// Splits a secret list ("current,previous" or one per line); empty entries are dropped.
std::vector<std::string> split_secrets(std::string_view text);

/// A new random cluster secret: 64 lower-case hex characters (32 bytes of OpenSSL's CSPRNG).
std::string generate_cluster_secret();

/// Creates `path` (never overwriting it) with mode 0600 and writes `text`, synced.
Result<Ok, std::string> write_private_file(const std::string& path, const std::string& text);

/// The cluster secret of `cairn dev`: CAIRN_CLUSTER_SECRET when set; else the one in
/// `<dir>/cluster-secret`; else a new one written there (mode 0600), `generated` then set.
Result<std::string, std::string> bootstrap_cluster_secret(const std::string& dir,
                                                          bool& generated);

/// What a member proof allows the receiving node to do with a request.
enum class PeerPurpose {
  kForward,     // a write or strong read a follower forwards to the leader (ClusterApi)
  kMemberRead,  // an internal read a node asks its members for (ClientsView)
};

/// Proves, and checks, that an HTTP request between nodes comes from a member of the cluster:
/// the header `X-Cairn-Peer-Proof: v1;<purpose>;<node>;<unix ms>;<nonce>;<hmac>`, where the
/// HMAC-SHA256 under the cluster secret covers the purpose, the sending node's raft id, the
/// time, a random nonce, the method, the request target and the SHA-256 of the body. The
/// receiver accepts a proof under any of its secrets (rotation), at most `max_skew_ms` away
/// from its own clock, and each nonce once (a replay within the window is refused).
///
/// middleware() is the only way a request gets the in-process marks the rest of the server
/// reads: `x-cairn-forwarded` (the rate limiter lets it pass, ClusterApi refuses a second hop)
/// and `x-cairn-member` (member_guard() lets it read the client registry). Whatever such
/// headers a request arrives with are removed first, so a client-supplied header never changes
/// how its request is treated; a request whose proof fails is served as an ordinary client
/// request (its proof header removed too).
///
/// Threads: every method may be called from any thread. Lifetime: outlives the middleware and
/// the senders that use it.
class PeerAuth {
 public:
  struct Options {
    std::vector<std::string> secrets;  // first: the current one; empty: the empty secret
    uint64_t node_id = 0;              // this node's raft id; 0 (standalone): accepts nothing
    int64_t max_skew_ms = 30'000;
    size_t max_remembered_nonces = 200'000;
    std::function<int64_t()> now_ms;  // wall clock (unix ms); null: the system's
  };
  explicit PeerAuth(Options options);

  /// The proof header (name, value) for a request this node sends.
  std::pair<std::string, std::string> sign(PeerPurpose purpose, std::string_view method,
                                           std::string_view target, std::string_view body);

  enum class Verdict { kOk, kMalformed, kBadProof, kStale, kReplayed, kBusy, kDisabled };
  struct Checked {
    Verdict verdict = Verdict::kMalformed;
    PeerPurpose purpose = PeerPurpose::kForward;
    uint64_t node = 0;
  };
  /// Checks one proof header value for the request (method, target, body) and, when valid,
  /// remembers its nonce.
  Checked verify(std::string_view proof, std::string_view method, std::string_view target,
                 std::string_view body);

  /// See the class comment. First in the chain after the request id (so that the limiter and
  /// the cluster middleware see only verified marks).
  http::Middleware middleware();

  /// Counts of the proofs checked by middleware() (for metrics and tests).
  struct Counters {
    uint64_t accepted = 0;
    uint64_t refused = 0;
  };
  Counters counters() const;

 private:
  int64_t now() const;

  const Options options_;
  const std::vector<std::string> secrets_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> nonces_;
  std::multimap<int64_t, std::string> by_time_;  // nonce by its proof's time, for expiry
  Counters counters_;
};

/// Header names: the proof on the wire, and the marks middleware() sets.
inline constexpr std::string_view kPeerProofHeader = "x-cairn-peer-proof";
inline constexpr std::string_view kForwardedMark = "x-cairn-forwarded";
inline constexpr std::string_view kMemberMark = "x-cairn-member";

/// Wraps the auth guard: a request marked `x-cairn-member` (a verified member read) to
/// `GET /api/v1/clients/local` is served as the principal "node:<id>", which may read every
/// namespace's client registry and nothing else; every other request goes through `guard`.
http::Middleware member_guard(http::Middleware guard);

}  // namespace cairn::server
