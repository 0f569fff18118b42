#pragma once

// The rows of the HTTP API (docs/api.md, docs/versions.md, docs/watch.md) as plain structs, each
// with one JSON codec shared by the server (which fills and encodes them), the SDK (which decodes
// them) and the CLI (which re-encodes what the SDK returned):
//
//   std::string text = api::to_json(row);          // or append_json(out, row) on hot paths
//   auto row = api::from_json<api::ConfigRow>(text);
//
// Encoding writes exactly what the server sends today: the same member names in the same order,
// compact, strings escaped as append_json_string does. Values are JSON text and are spliced in
// verbatim, so a value keeps its number text (`1E2`, `18446744073709551616`) through encode and
// decode (docs/api.md, "Numbers"); timestamps are the RFC 3339 text the server writes
// (format_utc), not numbers, so that decode(encode(x)) == x and encode(decode(t)) == t.
//
// Decoding is lenient in what may be missing and strict in what is there: a member that is
// absent (or null, for a scalar) takes the struct's default, as the SDK always did with partial
// answers; a member of the wrong type, or text that is not an object, fails with 40001 naming
// the member in `field`. Unknown members are ignored. A value member is kept as its compact raw
// text, null included (`"null"`).
//
// Which endpoint answers with which struct is written above each one. Plain value types; every
// function is pure and may be called from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::api {

/// `pagination` of every list answer.
///   {"page":1,"page_size":20,"total":3,"total_pages":1}
struct Pagination {
  int64_t page = 1;
  int64_t page_size = 20;
  int64_t total = 0;
  int64_t total_pages = 0;
  bool operator==(const Pagination&) const = default;
};

/// `data` of GET /api/v1/config/get (latest, `version=` and `at=`). `warning` is set when a
/// degraded node answers an old version from SQLite (seed §3.7.5) and encoded only then.
///   {"namespace":"app","key":"db","value":{…},"version":3,"updated_at":"2024-01-20T10:00:00Z"}
struct ConfigValue {
  std::string ns;
  std::string key;
  std::string value = "null";  // compact JSON text
  int64_t version = 0;
  std::string updated_at;
  std::string warning;
  /// The value is a secret (docs/secrets.md): `value` is "******" unless revealed. Encoded as
  /// `"secret":true` only when set, here and in every row below that carries a value.
  bool secret = false;
  bool operator==(const ConfigValue&) const = default;
};

/// One element of `configs` of POST /api/v1/config/batch-get.
///   {"key":"db","value":{…},"version":3}
struct BatchGetItem {
  std::string key;
  std::string value = "null";
  int64_t version = 0;
  bool secret = false;
  bool operator==(const BatchGetItem&) const = default;
};

/// `data` of POST /api/v1/config/batch-get: the keys found (in the order asked) and the others.
///   {"namespace":"app","configs":[…],"missing":["k"]}
struct BatchGet {
  std::string ns;
  std::vector<BatchGetItem> configs;
  std::vector<std::string> missing;
  bool operator==(const BatchGet&) const = default;
};

/// `data` of GET /api/v1/config/namespace/{ns}: the enabled configs, in the server's key order.
/// `revision` is written as `version` (the seed's name). With `at=`, `at` and `unavailable` follow
/// (encoded only when `at` is set).
///   {"namespace":"app","configs":{"a":1},"version":7,"updated_at":"…"[,"at":"…","unavailable":[]]}
struct NamespaceConfigs {
  std::string ns;
  std::vector<std::pair<std::string, std::string>> configs;  // key, compact JSON text
  int64_t revision = 0;
  std::string updated_at;
  std::optional<std::string> at;
  std::vector<std::string> unavailable;
  /// The keys whose value is a secret (docs/secrets.md), encoded as `secret_keys` when any.
  std::vector<std::string> secret_keys;
  bool operator==(const NamespaceConfigs&) const = default;
};

/// One row of `list` of GET /api/v1/admin/config/list (disabled configs included).
///   {"id":1,"namespace":"app","key":"db","value":{…},"version":3,"description":"",
///    "status":1,"created_by":"bob","updated_by":"bob","created_at":"…","updated_at":"…"}
struct ConfigRow {
  int64_t id = 0;
  std::string ns;
  std::string key;
  std::string value = "null";
  int64_t version = 0;
  std::string description;
  int status = 1;
  std::string created_by;
  std::string updated_by;
  std::string created_at;
  std::string updated_at;
  bool secret = false;
  /// Flagged by a forced schema change (docs/schemas.md); sent only when true.
  bool schema_violation = false;
  bool operator==(const ConfigRow&) const = default;
};

/// One row of `list` of GET /api/v1/config/versions (and the admin view of it). The server
/// always sends `tags`; absent, they are not encoded (the CLI's rows, which have none).
///   {"version":2,"value":{…},"created_by":"bob","created_at":"…","is_current":true,"tags":[]}
struct VersionRow {
  int64_t version = 0;
  std::string value = "null";
  std::string created_by;
  std::string created_at;
  bool is_current = false;
  std::optional<std::vector<std::string>> tags;
  bool secret = false;
  bool operator==(const VersionRow&) const = default;
};

/// One row of `list` of GET /api/v1/admin/config/history (newest first). The values are
/// "null" where there is none (old value of a CREATE, new value of a DELETE). The server always
/// sends `revision`; absent, it is not encoded (the CLI's rows, which have none).
///   {"id":9,"namespace":"app","key":"db","old_value":null,"new_value":1,"version":1,
///    "operation":"CREATE","operator":"bob","revision":4,"created_at":"…"}
struct HistoryRow {
  int64_t id = 0;
  std::string ns;
  std::string key;
  std::string old_value = "null";
  std::string new_value = "null";
  int64_t version = 0;
  std::string operation;  // CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE
  std::string operator_name;
  std::optional<int64_t> revision;
  std::string created_at;
  bool secret = false;
  std::string release_id = {};  // operation RELEASE: the gray release promoted (not when empty)
  bool operator==(const HistoryRow&) const = default;
};

/// The retention of a namespace as its list row shows it: the override, or the default.
struct NamespaceRetention {
  int64_t keep_latest = 0;
  int64_t keep_days = 0;
  bool operator==(const NamespaceRetention&) const = default;
};

/// One row of `list` of GET /api/v1/admin/namespace/list. The server always sends `retention`;
/// absent, it is not encoded (the CLI's rows).
///   {"id":1,"name":"app","description":"","status":1,"config_count":2,"revision":7,
///    "created_at":"…","updated_at":"…","retention":{"keep_latest":30,"keep_days":30}}
struct NamespaceRow {
  int64_t id = 0;
  std::string name;
  std::string description;
  int status = 1;
  int64_t config_count = 0;
  int64_t revision = 0;
  std::string created_at;
  std::string updated_at;
  std::optional<NamespaceRetention> retention;
  std::vector<std::string> secret_keys;  // docs/secrets.md; encoded when not empty
  bool operator==(const NamespaceRow&) const = default;
};

/// A list answer: `data` of admin/config/list (ConfigRow), admin/config/history (HistoryRow)
/// and admin/namespace/list (NamespaceRow); the CLI's versions output (VersionRow).
///   {"list":[…],"pagination":{…}}
template <class Row>
struct Paged {
  std::vector<Row> list;
  Pagination pagination;
  bool operator==(const Paged&) const = default;
};

/// `data` of GET /api/v1/config/versions: a Paged<VersionRow> behind the key it lists.
///   {"namespace":"app","key":"db","list":[…],"pagination":{…}}
struct VersionList {
  std::string ns;
  std::string key;
  std::vector<VersionRow> list;
  Pagination pagination;
  bool operator==(const VersionList&) const = default;
};

/// One difference between two versions, at a JSON path like `a.b[2].c` ("" = the whole value);
/// `from`/`to` are "null" where the path is absent on that side.
///   {"path":"a.b","from":1,"to":2,"type":"modified"}
struct DiffChange {
  std::string path;
  std::string from = "null";
  std::string to = "null";
  std::string type;  // added, removed, modified
  bool operator==(const DiffChange&) const = default;
};

/// `data` of GET /api/v1/config/diff (and the admin view of it).
///   {"namespace":"app","key":"db","from_version":1,"to_version":2,"changes":[…]}
struct Diff {
  std::string ns;
  std::string key;
  int64_t from_version = 0;
  int64_t to_version = 0;
  std::vector<DiffChange> changes;
  bool operator==(const Diff&) const = default;
};

/// `data` of POST /api/v1/admin/config/rollback: the new version and the one it replaced.
///   {"namespace":"app","key":"db","current_version":5,"previous_version":4}
struct Rollback {
  std::string ns;
  std::string key;
  int64_t current_version = 0;
  int64_t previous_version = 0;
  bool operator==(const Rollback&) const = default;
};

/// One change of a watch: an element of `changes` of GET /api/v1/config/watch (no `ns`), or
/// the data of an SSE `change` event of /config/watch/stream (with `ns`). `ns` is encoded only
/// when not empty; `value` only when set (asked with include_values, and not after DELETE or
/// DISABLE). `value` may be "null": a config whose value is JSON null.
///   {["namespace":"app",]"key":"db","operation":"UPDATE","version":4,"revision":9[,"value":…]}
struct WatchChange {
  std::string ns;
  std::string key;
  std::string operation;  // CREATE, UPDATE, DELETE, ROLLBACK, ENABLE, DISABLE
  int64_t version = 0;
  uint64_t revision = 0;
  std::optional<std::string> value;
  bool secret = false;
  bool operator==(const WatchChange&) const = default;
};

/// `data` of GET /api/v1/config/watch (a long poll's answer).
///   {"namespace":"app","changed":true,"reset":false,"revision":9,"changes":[…]}
struct WatchPoll {
  std::string ns;
  bool changed = false;
  bool reset = false;
  uint64_t revision = 0;
  std::vector<WatchChange> changes;
  bool operator==(const WatchPoll&) const = default;
};

/// The data of an SSE `reset` event of /config/watch/stream (the stream ends after it).
///   {"namespace":"app","revision":9}
struct WatchReset {
  std::string ns;
  uint64_t revision = 0;
  bool operator==(const WatchReset&) const = default;
};

// ---- encode: one overload per struct; append_json appends, to_json returns the text ----

void append_json(std::string& out, const Pagination& v);
void append_json(std::string& out, const ConfigValue& v);
void append_json(std::string& out, const BatchGetItem& v);
void append_json(std::string& out, const BatchGet& v);
void append_json(std::string& out, const NamespaceConfigs& v);
void append_json(std::string& out, const ConfigRow& v);
void append_json(std::string& out, const VersionRow& v);
void append_json(std::string& out, const HistoryRow& v);
void append_json(std::string& out, const NamespaceRow& v);
void append_json(std::string& out, const Paged<ConfigRow>& v);
void append_json(std::string& out, const Paged<VersionRow>& v);
void append_json(std::string& out, const Paged<HistoryRow>& v);
void append_json(std::string& out, const Paged<NamespaceRow>& v);
void append_json(std::string& out, const VersionList& v);
void append_json(std::string& out, const DiffChange& v);
void append_json(std::string& out, const Diff& v);
void append_json(std::string& out, const Rollback& v);
void append_json(std::string& out, const WatchChange& v);
void append_json(std::string& out, const WatchPoll& v);
void append_json(std::string& out, const WatchReset& v);

template <class T>
std::string to_json(const T& v) {
  std::string out;
  append_json(out, v);
  return out;
}

// ---- decode: from_json<T>(text) for every T above ----

/// Decodes `text` (one JSON object, whitespace allowed) as a T; see the file comment for what
/// is accepted. Defined for each struct of this header.
template <class T>
Result<T, Error> from_json(std::string_view text);

}  // namespace cairn::api
