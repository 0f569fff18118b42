#pragma once

// The Cairn C++ SDK: reads, writes, versions and watches of a Cairn cluster over its HTTP API
// (docs/api.md, docs/watch.md), with endpoint failover and a local file cache (docs/sdk.md).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cairn/errc.h"

namespace cairn {

/// A JSON document that keeps the key order it was written with (as the server does).
using Json = nlohmann::ordered_json;

/// Why a call failed. `code` is the server's envelope code (docs/api.md: 40001 … 50302) when a
/// server answered, or one of the negative client codes below when none did.
/// Plain value type.
struct ClientError {
  static constexpr int kTransport = -1;  ///< no endpoint could be reached / answered in time
  static constexpr int kProtocol = -2;   ///< an answer was not HTTP or not the JSON envelope
  static constexpr int kCache = -3;      ///< the file cache could not serve a stale read
  static constexpr int kInvalid = -4;    ///< the call was rejected by the SDK before sending

  int code = kTransport;
  int http_status = 0;   ///< 0 when no HTTP answer was received
  std::string message;   ///< the server's message (or the SDK's summary)
  std::string details;   ///< `error.details` of the envelope
  std::string field;     ///< `error.field` of the envelope, when a parameter caused it
  std::string endpoint;  ///< the endpoint that gave this answer (last one tried)

  /// The server's code as api::Errc; nullopt for the client codes above (no server answered,
  /// or its answer was not an envelope).
  std::optional<api::Errc> errc() const {
    if (code <= 0) return std::nullopt;
    return static_cast<api::Errc>(code);
  }
  /// Whether the server answered with `c`.
  bool is(api::Errc c) const { return code == static_cast<int>(c); }

  /// "code http_status message: details" for logs and the CLI.
  std::string to_string() const;
};

/// A value or a ClientError (std::expected is C++23). Check ok() first: value() on an error
/// throws std::bad_variant_access, which is a bug in the caller. An ordinary value type.
template <class T>
class ClientResult {
 public:
  ClientResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}    // NOLINT: implicit
  ClientResult(ClientError e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT: implicit

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const ClientError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ClientError> v_;
};

/// An instant, for reads of a key or a namespace as they were at that time.
using TimePoint = std::chrono::system_clock::time_point;

/// How a Client reaches the cluster. Plain value type.
struct ClientOptions {
  /// "http://host:port" (or "host:port"); tried in order, the last one that answered first.
  std::vector<std::string> endpoints{"http://127.0.0.1:8001"};
  std::string token;          ///< sent as `Authorization: Bearer <token>` when not empty
  /// HTTPS endpoints ("https://host:port"): the PEM CA file that signed the servers'
  /// certificates (empty: the system's CAs), and a client certificate and key for servers
  /// that require one (docs/security.md).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string operator_name;  ///< sent as `X-Operator` when not empty
  /// Ask for secret values in plain (docs/secrets.md): sent as `X-Cairn-Reveal: true`; the
  /// server answers plaintext only if the token also holds `reveal` on the namespace, else the
  /// mask "******" with `secret` set. With it the file cache is off (`cache_dir` is ignored),
  /// so that no revealed secret is written to this machine's disk.
  bool reveal = false;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{10000};  ///< per attempt, connect excluded
  /// Directory of the file cache (created when missing); empty disables the cache.
  std::string cache_dir;
  /// How long the server holds one watch request (`timeout` of /config/watch).
  std::chrono::milliseconds watch_timeout{30000};
  /// Backoff between rounds over all endpoints and between failed watch polls.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{5000};
  /// Rounds over the endpoint list before a call gives up (each round tries every endpoint).
  int max_rounds = 2;
  /// Longest 429 `Retry-After` wait honoured inside one call; longer ones return the 429.
  std::chrono::milliseconds max_retry_after{10000};

  // ---- identity and acknowledgements (docs/sdk.md "Client identity and acks") ----
  /// Sent as `X-Client-ID` on every request: 1–128 characters of `[A-Za-z0-9._:@/-]`. Empty:
  /// "<host>:<pid>" (the host name cut to what fits, characters outside the set replaced by
  /// '-'). The server's client registry and percentage gray releases key on it, so keep it
  /// stable for the life of the process and unique within the fleet.
  std::string client_id;
  /// Sent as `X-Client-Labels: name=value,…` (sorted by name) on every request; gray releases
  /// select clients by them. At most 16; a name is 1–63 characters, a letter or digit followed by
  /// `[A-Za-z0-9._/-]`, a value 0–63 characters of `[A-Za-z0-9._-]`. An invalid id or label makes
  /// every call fail with kInvalid before anything is sent (see validate_identity).
  std::map<std::string, std::string> labels;
  /// After the listeners of a watched namespace returned for a new revision, POST
  /// `/api/v1/config/ack` with `applied` (or `failed` and the first listener's error). False:
  /// the application acks itself with Client::ack (e.g. after a health check).
  bool auto_ack = true;
};

/// Why `client_id` / `labels` would be refused (the server's 40002 rules), or nullopt when both
/// are valid. `client_id` is checked as given (an empty one is not sent: the default is used).
std::optional<std::string> validate_identity(const std::string& client_id,
                                             const std::map<std::string, std::string>& labels);

/// `labels` as the `X-Client-Labels` header value: "name=value,…" in name order.
std::string format_labels(const std::map<std::string, std::string>& labels);

/// The default client id: "<host>:<pid>".
std::string default_client_id();

/// One config value as read by a client.
struct ConfigValue {
  std::string ns;
  std::string key;
  Json value;
  int64_t version = 0;  ///< 0 when unknown (stale read of a key cached without version)
  std::string updated_at;
  bool stale = false;  ///< served from the file cache because no endpoint answered
  bool secret = false;  ///< a secret: `value` is its plaintext (revealed) or "******"
};

/// Answer of batch_get: the keys found, in the order asked, and the ones that were not.
struct BatchGetResult {
  std::string ns;
  std::vector<ConfigValue> configs;
  std::vector<std::string> missing;
};

/// The enabled configs of a namespace at one revision.
struct NamespaceContent {
  std::string ns;
  std::map<std::string, Json> configs;
  int64_t revision = 0;  ///< the namespace `version`: last revision that changed it
  std::string updated_at;
  bool stale = false;  ///< served from the file cache because no endpoint answered
  /// The gray release whose values this client was served ("r-…"), empty for the stable values.
  std::string release;
  /// get_namespace_at only: keys that had a value then whose version retention has removed
  /// since (not in `configs`).
  std::vector<std::string> unavailable;
  std::vector<std::string> secret_keys;  ///< keys of `configs` whose value is a secret
};

/// Answer of create / update / remove.
struct WriteResult {
  int64_t id = 0;
  std::string ns;
  std::string key;
  int64_t version = 0;      ///< the new version (for remove: the last version)
  int64_t old_version = 0;  ///< update only
  /// update only: false when the key already had this value, description and status (nothing
  /// was written; version == old_version).
  bool changed = true;
};

/// Answer of rollback: the new version (equal to the target's value) and the one it replaced.
struct RollbackResult {
  std::string ns;
  std::string key;
  int64_t current_version = 0;
  int64_t previous_version = 0;
};

/// Paging of a list answer, as the server reports it.
struct Pagination {
  int64_t page = 1;
  int64_t page_size = 20;
  int64_t total = 0;
  int64_t total_pages = 0;
};

/// One page of a list answer. Plain value type.
template <class T>
struct Page {
  std::vector<T> list;
  Pagination pagination;
};

/// Which page of a list to ask for (`page` ≥ 1, `page_size` 1–1000).
struct PageRequest {
  int64_t page = 1;
  int64_t page_size = 20;
};

/// One history record of a key (newest first in answers).
struct HistoryEntry {
  int64_t id = 0;
  std::string ns;
  std::string key;
  Json old_value;
  Json new_value;
  int64_t version = 0;
  std::string operation;  ///< CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE
  std::string operator_name;
  std::string created_at;
};

/// One stored version of a key.
struct VersionEntry {
  int64_t version = 0;
  Json value;
  std::string created_by;
  std::string created_at;
  bool is_current = false;
};

/// One difference between two versions, at a JSON path like `a.b[2].c` ("" = whole value).
struct DiffChange {
  std::string path;
  Json from;
  Json to;
  std::string type;  ///< added, removed, modified
};

/// Answer of diff.
struct DiffResult {
  std::string ns;
  std::string key;
  int64_t from_version = 0;
  int64_t to_version = 0;
  std::vector<DiffChange> changes;
};

/// One row of the admin config list (disabled configs included).
struct ConfigEntry {
  int64_t id = 0;
  std::string ns;
  std::string key;
  Json value;
  int64_t version = 0;
  std::string description;
  int status = 1;
  std::string created_by;
  std::string updated_by;
  std::string created_at;
  std::string updated_at;
};

/// Filters and paging of list().
struct ListConfigsRequest {
  std::string ns;          ///< empty: every namespace
  std::string key_substr;  ///< empty: every key
  PageRequest page;
};

/// A namespace as the admin API describes it.
struct NamespaceInfo {
  int64_t id = 0;
  std::string name;
  std::string description;
  int status = 1;
  int64_t config_count = 0;
  int64_t revision = 0;
  std::string created_at;
  std::string updated_at;
};

/// Fields of update(); at least one of value, description, status must be set.
struct UpdateRequest {
  std::optional<Json> value;
  std::optional<std::string> description;
  std::optional<int> status;
  std::optional<int64_t> expected_version;
};

/// One change delivered to a watch listener.
struct ConfigChange {
  std::string ns;
  std::string key;
  /// CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE, or RESET (learned from a re-read)
  std::string operation;
  int64_t version = 0;  ///< 0 when learned from a re-read of the namespace
  int64_t revision = 0;
  std::optional<Json> old_value;  ///< absent when the key was not served before
  std::optional<Json> new_value;  ///< absent when the key is no longer served
};

/// Which keys of a namespace a listener wants; both empty means every key.
struct WatchFilter {
  std::vector<std::string> keys;
  std::string prefix;
};

using WatchListener = std::function<void(const ConfigChange&)>;
using WatchId = uint64_t;

/// What a checked listener answers: applied (the default), or failed with a message that the
/// automatic ack reports (`status: "failed"`, `error`). A listener that throws fails too, with
/// the exception's what(). Plain value type.
struct ApplyResult {
  bool ok = true;
  std::string error;
  static ApplyResult applied() { return {}; }
  static ApplyResult failed(std::string message) { return {false, std::move(message)}; }
};
/// A listener that says whether it could apply the change (Client::watch_checked).
using CheckedWatchListener = std::function<ApplyResult(const ConfigChange&)>;

/// `status` of an acknowledgement.
enum class AckStatus { kApplied, kFailed };

/// Answer of Client::ack: what the node recorded.
struct AckResult {
  std::string ns;
  int64_t revision = 0;
  std::string status;  ///< "applied" or "failed"
  std::string client_id;
  std::string release_id;  ///< the gray release the client is in, empty when none
};

/// Filters of Client::clients (`GET /api/v1/clients`).
struct ClientsQuery {
  std::string ns;                                          ///< empty: every namespace (cluster-admin)
  std::vector<std::pair<std::string, std::string>> labels;  ///< name=value, all must match
  bool stale = false;  ///< only clients behind the revision they should run
};

/// A file `Client::export_file` received.
struct ExportFile {
  std::string bytes;
  std::string content_type;
  std::string filename;  ///< the name the server suggests
  int64_t namespaces = 0;
  int64_t keys = 0;
};

/// A client of a Cairn cluster.
///
/// Lifetime: owns one background watch thread, started by the first `watch` and stopped (and
/// joined, promptly: held polls are abandoned, not waited out) by `~Client`. Every socket is
/// opened and closed within one call. Must not be destroyed from inside a listener.
/// Threads: every method may be called from any thread concurrently. Listeners run on the watch
/// thread, one at a time, in revision order per namespace; they may call any method of the Client
/// (including `unwatch`), but should return quickly since they delay every other listener.
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Client reads. `get` (latest) and `get_namespace` fall back to the file cache, marked
  // stale, when no endpoint answers; their successful answers refresh the cache.
  ClientResult<ConfigValue> get(const std::string& ns, const std::string& key,
                                std::optional<int64_t> version = std::nullopt);
  ClientResult<BatchGetResult> batch_get(const std::string& ns,
                                         const std::vector<std::string>& keys);
  ClientResult<NamespaceContent> get_namespace(const std::string& ns);

  // Point-in-time reads (`at=` of config/get and config/namespace/{ns}, docs/versions.md):
  // `get_at` answers the version of the key that was current at that instant, or the server's
  // 40401 when none was (the key did not exist yet, was deleted then, or retention removed that
  // version; 40403 when it never existed); `get_namespace_at` the namespace's enabled configs as
  // of then (`revision` is the namespace's revision then, `unavailable` the keys whose version
  // then retention has removed). A TimePoint is sent as Unix milliseconds, that millisecond
  // exactly (sub-millisecond parts dropped; before 1970: kInvalid, not sent). Text is sent as
  // is and read by the server: RFC 3339 or Unix milliseconds, where a time given to the second
  // stands for that whole second (`…T06:30:00Z` includes a write at 06:30:00.400); malformed:
  // the server's 40002. Past reads never read nor refresh the file cache (never served stale).
  ClientResult<ConfigValue> get_at(const std::string& ns, const std::string& key, TimePoint at);
  ClientResult<ConfigValue> get_at(const std::string& ns, const std::string& key,
                                   const std::string& at);
  ClientResult<NamespaceContent> get_namespace_at(const std::string& ns, TimePoint at);
  ClientResult<NamespaceContent> get_namespace_at(const std::string& ns, const std::string& at);

  // Admin writes. They are retried on another endpoint only when the request certainly was not
  // applied (connect failure, 50301, 50302, 429).
  ClientResult<WriteResult> create(const std::string& ns, const std::string& key, const Json& value,
                                   const std::string& description = {});
  ClientResult<WriteResult> update(const std::string& ns, const std::string& key,
                                   const UpdateRequest& request);
  /// Shorthand: set the value, optionally only if the current version is `expected_version`.
  ClientResult<WriteResult> update(const std::string& ns, const std::string& key, const Json& value,
                                   std::optional<int64_t> expected_version = std::nullopt);
  ClientResult<WriteResult> remove(const std::string& ns, const std::string& key,
                                   std::optional<int64_t> expected_version = std::nullopt);
  ClientResult<Page<ConfigEntry>> list(const ListConfigsRequest& request = {});

  // Versions.
  ClientResult<Page<HistoryEntry>> history(const std::string& ns, const std::string& key,
                                           PageRequest page = {});
  ClientResult<Page<VersionEntry>> versions(const std::string& ns, const std::string& key,
                                            PageRequest page = {});
  ClientResult<DiffResult> diff(const std::string& ns, const std::string& key, int64_t from_version,
                                int64_t to_version);
  ClientResult<RollbackResult> rollback(const std::string& ns, const std::string& key,
                                        int64_t target_version,
                                        std::optional<int64_t> expected_version = std::nullopt);

  // Namespaces.
  ClientResult<Page<NamespaceInfo>> list_namespaces(const std::string& name_substr = {},
                                                    PageRequest page = {});
  ClientResult<NamespaceInfo> create_namespace(const std::string& name,
                                               const std::string& description = {});
  ClientResult<NamespaceInfo> delete_namespace(const std::string& name);

  // ---- typed namespaces (docs/schemas.md) ----
  /// `GET /api/v1/config/schema?namespace=`: {"namespace", "version", "strict", "schemas",
  /// "updated_by", "updated_at", "flagged"}; `history` adds every change.
  ClientResult<Json> get_schema(const std::string& ns, bool history = false);
  /// `PUT /api/v1/admin/namespace/{ns}` with `schemas` (a JSON array of {"keys", "schema"}),
  /// `strict` and `force`. Refused (40901) when current values fail them, unless `force`.
  ClientResult<Json> set_schema(const std::string& ns, const Json& schemas, bool strict = false,
                                bool force = false);
  /// `POST /api/v1/admin/namespace/{ns}/schema/check`: the dry run (failing values and
  /// breaking changes); nothing changes.
  ClientResult<Json> check_schema(const std::string& ns, const Json& schemas, bool strict = false);

  /// `GET /api/v1/cluster`: the cluster's members and leader, as the server reports them
  /// (a single node may answer 404; the error is returned as is).
  ClientResult<Json> cluster_status();

  // ---- tokens and audit (docs/security.md; the server needs auth_enabled) ----
  /// `POST /api/v1/admin/tokens`: `grants` is a JSON array of {"namespace", "permission"};
  /// `ttl` like "720h" (empty: never expires). `data.token` holds the secret, shown this once.
  ClientResult<Json> create_token(const std::string& name, const Json& grants,
                                  const std::string& ttl = {});
  ClientResult<Json> list_tokens();
  ClientResult<Json> revoke_token(const std::string& id);
  ClientResult<Json> whoami();
  /// `GET /api/v1/admin/audit` with these query parameters (actor, namespace, action, from,
  /// to, page, page_size).
  ClientResult<Json> audit(const std::vector<std::pair<std::string, std::string>>& query = {});

  /// Starts calling `listener` for every change of `ns` matching `filter`, from the namespace's
  /// content at registration on (no call for the content that already exists). Returns an id
  /// for `unwatch`. The namespace is re-read after a `reset` answer (or when it lost track of
  /// it); listeners then get one change per key that differs, with operation "RESET" and
  /// version 0. The first watch starts the watch thread. See docs/sdk.md.
  WatchId watch(const std::string& ns, WatchFilter filter, WatchListener listener);
  WatchId watch(const std::string& ns, WatchListener listener) {
    return watch(ns, WatchFilter{}, std::move(listener));
  }
  /// Like watch, but the listener answers whether it applied the change; a failure (or an
  /// exception) makes the automatic ack of that revision `failed` with its message.
  WatchId watch_checked(const std::string& ns, WatchFilter filter, CheckedWatchListener listener);

  /// `POST /api/v1/config/ack`: tells the cluster that this client applied (or failed to apply)
  /// `ns` at `revision` (the `revision` of the content it was served). `error` (≤ 1024
  /// characters) goes with kFailed only. Returns the server's answer as is; against a server
  /// without acks that is its 404.
  ClientResult<AckResult> ack(const std::string& ns, int64_t revision,
                              AckStatus status = AckStatus::kApplied,
                              const std::string& error = {});
  /// The id this client sends as `X-Client-ID` (options().client_id, or the default).
  const std::string& client_id() const;

  // ---- client registry and gray releases (docs/releases.md); answers as the server's JSON ----
  /// `GET /api/v1/clients`: {"clients": […], "total", "unreachable": […]}.
  ClientResult<Json> clients(const ClientsQuery& query);
  /// `POST /api/v1/admin/releases` with `release` as the body (namespace, changes, target,
  /// plan, description): the release object.
  ClientResult<Json> start_release(const Json& release);
  /// `GET /api/v1/admin/releases` (filters empty: all): {"releases": […], "total"}.
  ClientResult<Json> list_releases(const std::string& ns = {}, const std::string& state = {});
  /// `GET /api/v1/admin/releases/{id}`: the release object.
  ClientResult<Json> get_release(const std::string& id);
  /// `POST /api/v1/admin/releases/{id}/{action}` with action promote, abort, pause or resume:
  /// the release object after the transition (40901 when not allowed from its state).
  ClientResult<Json> release_action(const std::string& id, const std::string& action,
                                    const std::string& reason = {});

  // Import and export (docs/import-export.md).
  /// `GET /api/v1/admin/export` with `query` (namespace, format, reveal): the file.
  /// `progress` (optional) is told, on this thread, the bytes received and the file's length.
  ClientResult<ExportFile> export_file(
      const std::vector<std::pair<std::string, std::string>>& query,
      std::function<void(uint64_t received, uint64_t total)> progress = {});
  /// `POST /api/v1/admin/import` with `query` (source, format, dry_run, on_conflict, …) and
  /// the file's bytes as the body: the plan, or what was written.
  ClientResult<Json> import_file(const std::vector<std::pair<std::string, std::string>>& query,
                                 const std::string& bytes);
  /// Stops a listener. When called outside a listener, it returns after any running call of
  /// that listener finished, and the listener is not called again.
  void unwatch(WatchId id);

  /// The namespace content the watch thread currently knows (nullopt when not watched or not
  /// read yet).
  std::optional<NamespaceContent> watched_content(const std::string& ns) const;

  const ClientOptions& options() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn
