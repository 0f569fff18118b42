#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "api/command.h"
#include "api/errors.h"
#include "auth/grants.h"
#include "common/result.h"
#include "http/types.h"
#include "limit/bucket.h"
#include "store/store.h"

namespace cairn::auth {

struct AuthOptions {
  /// The bootstrap token's secret (docs/security.md): cluster-admin, named "root". Required.
  std::string root_secret;
  /// Opens GET /api/v1/metrics to callers without a token (config key metrics_public).
  bool metrics_public = false;
  /// Failed authentications allowed per client address: `burst` at once, then `qps`.
  limit::Quota failures{1.0, 10.0};
  /// Addresses with a failure bucket kept; beyond it, buckets that have refilled are dropped
  /// (and when none has, the oldest), so memory stays bounded.
  size_t max_tracked_addresses = 100'000;
};

/// A denied request's audit entry goes here (AuditQueue::add). Called on io threads.
using AuditSink = std::function<void(api::AuditEntry)>;

/// Checks bearer tokens against the root secret and the replicated token table, and guards
/// every route by its policy (auth/policy.h).
///
/// Tokens are looked up by the SHA-256 of the presented secret in a cache rebuilt whenever the
/// store's auth_generation() moves, so a revocation applied on this node takes effect on its
/// next request. Lifetime: borrows the store. Threads: every method from any thread.
class Authenticator {
 public:
  Authenticator(AuthOptions options, const store::Store& store, std::function<int64_t()> now_ms);

  /// The identity of the request's `Authorization: Bearer` token; 401/40101 when the header is
  /// missing or malformed or the token unknown, expired or revoked.
  Result<Identity, api::Error> authenticate(const http::Request& req);

  /// The router guard (http::Router::set_guard): public routes pass; otherwise the token must
  /// be valid (401/40101), the caller's address must not have spent its failed attempts
  /// (429/42902 with Retry-After), and the token must hold the route's permission on every
  /// namespace the request names (403/40301). Sets req->caller.
  /// `namespace_name` resolves a numeric namespace id; `audit` receives every denial.
  http::Middleware guard(std::function<std::optional<std::string>(int64_t)> namespace_name,
                         AuditSink audit);

  const AuthOptions& options() const { return options_; }

  /// Probe: requests refused with 401, 403 and 429 so far.
  uint64_t denied() const { return denied_.load(std::memory_order_relaxed); }

 private:
  struct Token {
    Identity identity;
    int64_t revoked_at_ms = 0;
  };
  void reload_if_changed();
  /// Whether `address` may try once more; false while its failure bucket is empty, with the
  /// milliseconds until it may.
  bool may_try(const std::string& address, int64_t& retry_ms);
  void count_failure(const std::string& address);

  const AuthOptions options_;
  const std::string root_hash_;
  const store::Store& store_;
  const std::function<int64_t()> now_ms_;

  std::mutex tokens_mu_;
  uint64_t generation_ = UINT64_MAX;
  std::map<std::string, Token, std::less<>> by_hash_;

  std::mutex failures_mu_;
  std::unordered_map<std::string, limit::Bucket> failures_;

  std::atomic<uint64_t> denied_{0};
};

using http::client_ip;

}  // namespace cairn::auth
