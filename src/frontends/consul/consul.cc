// The Consul KV front-end (docs/compat.md, "Consul KV").
//
// Indexes: a key's ModifyIndex (and CreateIndex) is its Cairn version, so `?cas=N` is the
// core's expected_version; X-Consul-Index is the revision of the namespace the query reads
// (the global revision of its last change, deletes included), 1 while the namespace does not
// exist. A blocking query holds (core::WatchHub, filtered to the key or prefix) until something
// it covers changes after the index it gave, or the wait ends.

#include "frontends/consul/consul.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/validate.h"
#include "common/json.h"
#include "common/time.h"
#include "frontends/consul/codec.h"
#include "frontends/native/watch_sse.h"
#include "frontends/text.h"
#include "routes/consul.h"

namespace cairn::consul {

using api::Errc;

namespace {

struct LeaderInfo {
  bool known = true;
  int64_t last_contact_ms = 0;
};

struct State {
  State(Options o, core::Core& c, core::WatchHub* w) : options(std::move(o)), core(c), watch(w) {}
  Options options;
  core::Core& core;
  core::WatchHub* watch;
  // The cluster view behind X-Consul-KnownLeader / LastContact, asked at most every
  // kLeaderCacheMs (a view copies the membership: too much for every read).
  std::mutex leader_mu;
  int64_t leader_at_ms = -1;
  LeaderInfo leader;
};
constexpr int64_t kLeaderCacheMs = 50;
using StatePtr = std::shared_ptr<State>;

/// For the renderer, which is a plain function: the node whose routes were registered last
/// (while its router lives). Only the headers' index and leader come from it.
std::mutex g_mu;
std::weak_ptr<State> g_state;

StatePtr last_state() {
  std::lock_guard lock(g_mu);
  return g_state.lock();
}

LeaderInfo leader_info(const State* cs) {
  if (!cs || !cs->options.cluster) return LeaderInfo{};
  State* s = const_cast<State*>(cs);  // the cache only
  const int64_t now = monotonic_ms();
  std::lock_guard lock(s->leader_mu);
  if (s->leader_at_ms < 0 || now - s->leader_at_ms >= kLeaderCacheMs) {
    core::ClusterView v = s->options.cluster();
    s->leader = LeaderInfo{v.leader != 0, v.last_leader_contact_ms_ago};
    s->leader_at_ms = now;
  }
  return s->leader;
}

uint64_t global_index(const State* s) {
  if (s && s->watch) return std::max<uint64_t>(1, s->watch->revision());
  return 1;
}

/// X-Consul-Index (> 0), X-Consul-KnownLeader and X-Consul-LastContact: on every answer.
void add_meta(http::Response& res, const State* s, uint64_t index) {
  LeaderInfo info = leader_info(s);
  res.headers.emplace_back("X-Consul-Index", std::to_string(std::max<uint64_t>(1, index)));
  res.headers.emplace_back("X-Consul-KnownLeader", info.known ? "true" : "false");
  res.headers.emplace_back("X-Consul-LastContact", std::to_string(info.last_contact_ms));
}

http::Response text(int status, std::string body) {
  http::Response res;
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::move(body);
  return res;
}

bool token_sent(const http::Request& req) {
  return req.header("x-consul-token") || req.header("authorization") ||
         req.query_param("token").has_value();
}

/// Consul's status and plain text for a Cairn error.
std::pair<int, std::string> wording(const http::Request& req, const api::Error& e) {
  switch (e.code) {
    case Errc::kUnauthorized:
      return {403, token_sent(req) ? "ACL not found" : "Permission denied"};
    case Errc::kForbidden:
      return {403, "Permission denied: " + e.details};
    case Errc::kNotFound:
    case Errc::kNamespaceNotFound:
    case Errc::kConfigNotFound:
      return {404, ""};
    case Errc::kMethodNotAllowed:
      return {405, "method " + std::string(req.wire_method()) + " not allowed"};
    case Errc::kBadRequest:
    case Errc::kValidation:
      return {400, e.details};
    case Errc::kConflict:
    case Errc::kKeyExists:
      return {409, e.details};
    case Errc::kPayloadTooLarge:
      return {413, e.details};
    case Errc::kRateLimited:
    case Errc::kQuotaExceeded:
      return {429, "rate limit exceeded: " + e.details};
    case Errc::kNotLeader:
      return {500, "No cluster leader"};
    case Errc::kUnavailable:
      return {503, e.details};
    default:
      return {500, e.details};
  }
}

void reply_error(const StatePtr& s, const http::Request& req, const http::Reply& reply,
                 const api::Error& e) {
  auto [status, body] = wording(req, e);
  http::Response res = text(status, std::move(body));
  add_meta(res, s.get(), global_index(s.get()));
  reply(std::move(res));
}

void reply_text(const StatePtr& s, const http::Reply& reply, int status, std::string body,
                uint64_t index = 0) {
  http::Response res = text(status, std::move(body));
  add_meta(res, s.get(), index ? index : global_index(s.get()));
  reply(std::move(res));
}

void reply_json(const StatePtr& s, const http::Reply& reply, int status, std::string body,
                uint64_t index = 0) {
  http::Response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = std::move(body);
  add_meta(res, s.get(), index ? index : global_index(s.get()));
  reply(std::move(res));
}

bool has_param(const http::Request& req, std::string_view name) {
  return req.query_param(name).has_value();
}

/// A current config as the front-end reads it (core::Core::get_range).
using Item = core::KeyRange::Item;

struct Snapshot {
  bool exists = false;  // the namespace exists and is enabled
  uint64_t index = 1;   // X-Consul-Index of a query on it
  std::vector<Item> items;
};

/// The keys of `ns` equal to `key` (exact) or starting with it, disabled ones included. The
/// handlers check the caller's grant first, to answer in Consul's words; a refusal here reads
/// as an empty namespace.
Snapshot read(const State& s, const api::Principal& caller, const std::string& ns,
              const std::string& key, bool exact) {
  Snapshot snap;
  auto range = s.core.get_range(caller, ns, key, /*prefix=*/!exact);
  if (!range.ok()) return snap;
  snap.exists = range->exists;
  snap.index = std::max<uint64_t>(1, range->revision);
  snap.items = std::move(range->items);
  return snap;
}

KvEntry entry_of(const std::string& ns, const Item& item) {
  uint64_t version = static_cast<uint64_t>(std::max<int64_t>(1, item.version));
  return KvEntry{ns + "/" + item.key, frontends::value_bytes(item.value),
                 flags_of(item.description), version, version};
}

/// What a GET asks.
struct Query {
  KeyPath path;
  std::string full;  // the Consul key or prefix as given
  bool recurse = false;
  bool keys = false;
  bool raw = false;
  std::string separator;
  bool exact() const { return !recurse && !keys; }
};

/// The answer of a GET from the index as it is now.
http::Response read_answer(const State& s, const api::Principal& caller, const Query& q) {
  Snapshot snap = read(s, caller, q.path.ns, q.path.key, q.exact());
  std::vector<const Item*> found;
  for (const Item& item : snap.items) {
    if (item.status == 1) found.push_back(&item);
  }
  http::Response res;
  if (found.empty()) {
    res = text(404, "");
  } else if (q.keys) {
    std::vector<std::string> full;
    full.reserve(found.size());
    for (const Item* item : found) full.push_back(q.path.ns + "/" + item->key);
    res.content_type = "application/json";
    res.body = string_array_json(list_keys(full, q.full, q.separator));
  } else if (q.raw && q.exact()) {
    res.body = frontends::value_bytes(found.front()->value);
    res.content_type =
        frontends::valid_utf8(res.body) ? "text/plain; charset=utf-8" : "application/octet-stream";
  } else {
    std::vector<KvEntry> entries;
    entries.reserve(found.size());
    for (const Item* item : found) entries.push_back(entry_of(q.path.ns, *item));
    res.content_type = "application/json";
    res.body = kv_array_json(entries);
  }
  add_meta(res, &s, snap.index);
  return res;
}

/// Holds a blocking query until the hub reports a change it covers after `from`, or `deadline`.
/// The hub cuts each poll at its own ceiling (WatchOptions::max_timeout_ms): a poll that ran
/// that long without a change is made again until the deadline.
void block(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply, Query q,
           uint64_t from, int64_t deadline) {
  const int64_t now = monotonic_ms();
  const int64_t left = deadline - now;
  if (left <= 0) return reply(read_answer(*s, req->caller, q));
  core::WatchFilter filter;
  if (q.exact()) {
    filter.keys = {q.path.key};
  } else {
    filter.prefix = q.path.key;
  }
  const int64_t ceiling = s->watch->options().max_timeout_ms;
  native::poll_watch(
      *s->watch, q.path.ns, from, std::move(filter), left,
      [s, req, reply, q, from, deadline, now, ceiling](const core::WatchAnswer& a) {
        const int64_t later = monotonic_ms();
        const bool cut = !a.changed && !a.reset && later < deadline &&
                         later - now >= ceiling - 50 && !req->cancellation->cancelled();
        if (cut) return block(s, req, reply, q, from, deadline);
        reply(read_answer(*s, req->caller, q));
      },
      req->cancellation);
}

std::optional<std::string> bad_namespace(const std::string& ns) {
  if (ns.empty()) return "Missing key name: the first segment of a key is its Cairn namespace";
  if (auto bad = api::check_namespace_name(ns)) {
    return "Invalid key: its first segment is the Cairn namespace, and " + *bad;
  }
  return std::nullopt;
}

std::optional<std::string> bad_key(const KeyPath& path) {
  if (auto bad = bad_namespace(path.ns)) return bad;
  if (path.key.empty()) return "Missing key name: a key is <namespace>/<key>";
  if (auto bad = api::check_key(path.key)) return "Invalid key: " + *bad;
  return std::nullopt;
}

// ---- GET /v1/kv/{key...} ----

void kv_get(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply) {
  Query q;
  q.full = std::string(req->path_param("key").value_or(""));
  q.path = split_key(q.full);
  q.recurse = has_param(*req, "recurse");
  q.keys = has_param(*req, "keys");
  q.raw = has_param(*req, "raw");
  q.separator = std::string(req->query_param("separator").value_or(""));
  if (auto bad = q.exact() ? bad_key(q.path) : bad_namespace(q.path.ns)) {
    return reply_text(s, reply, 400, *bad);
  }
  if (auto denied = req->caller.check(q.path.ns, api::Permission::kRead)) {
    return reply_error(s, *req, reply, *denied);
  }
  std::optional<uint64_t> index;
  if (auto v = req->query_param("index")) {
    index = parse_uint64(*v);
    if (!index) return reply_text(s, reply, 400, "Invalid index: " + std::string(*v));
  }
  int64_t wait_ms = kDefaultWaitMs;
  if (auto w = req->query_param("wait")) {
    auto ms = parse_go_duration_ms(*w);
    if (!ms) {
      return reply_text(s, reply, 400,
                        "Invalid wait time: " + std::string(*w) +
                            " (a Go duration such as 30s or 5m, at most 24h)");
    }
    wait_ms = std::min(*ms, kMaxWaitMs);
  }
  const uint64_t from = s->watch ? s->watch->revision() : 0;  // before the read: no gap
  if (s->options.clients) {  // docs/releases.md: Consul clients by their address
    core::ClientIdentity client;
    client.ip = http::client_ip(*req);
    client.id = "consul:" + client.ip;
    client.protocol = "consul";
    s->options.clients->sent(client, q.path.ns, 0, "");
  }
  if (index && *index > 0 && s->watch && !req->head && wait_ms > 0) {
    Snapshot snap = read(*s, req->caller, q.path.ns, q.path.key, q.exact());
    if (*index >= snap.index) {
      return block(s, req, reply, std::move(q), std::min(*index, from), monotonic_ms() + wait_ms);
    }
  }
  reply(read_answer(*s, req->caller, q));
}

// ---- writes ----

std::string operator_name(const http::Request& req) {
  return req.caller.name.empty() ? std::string("consul") : req.caller.name;
}

using WriteDone = std::function<void(api::CommandResult)>;

void submit(const StatePtr& s, const http::RequestPtr& req, std::string ns,
            std::vector<api::ConfigWrite> ops, bool batch, WriteDone done) {
  api::WriteConfigs write{std::move(ns), std::move(ops), batch, /*create_namespace=*/true};
  s->core.submit(
      req->caller,
      api::Command{req->request_id, operator_name(*req), std::move(write), http::client_ip(*req)},
      std::move(done));
}

std::optional<Item> current(const State& s, const api::Principal& caller, const KeyPath& path) {
  Snapshot snap = read(s, caller, path.ns, path.key, /*exact=*/true);
  if (snap.items.empty()) return std::nullopt;
  return std::move(snap.items.front());
}

struct PutArgs {
  KeyPath path;
  std::string value;  // stored form
  std::optional<uint64_t> flags;
  std::optional<uint64_t> cas;
};

void put_once(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply,
              std::shared_ptr<const PutArgs> args, int attempt) {
  std::optional<Item> now = current(*s, req->caller, args->path);
  api::ConfigWrite w;
  w.key = args->path.key;
  w.value = args->value;
  if (args->cas) {
    if (*args->cas == 0) {
      if (now) return reply_json(s, reply, 200, "false");
      w.op = api::ConfigOp::kCreate;
    } else {
      if (!now || static_cast<uint64_t>(now->version) != *args->cas) {
        return reply_json(s, reply, 200, "false");
      }
      w.op = api::ConfigOp::kUpdate;
      w.expected_version = static_cast<int64_t>(*args->cas);
    }
  } else {
    w.op = now ? api::ConfigOp::kUpdate : api::ConfigOp::kCreate;
  }
  if (args->flags) {
    if (*args->flags != 0 || now) w.description = flags_description(*args->flags);
  } else if (now && is_flags_description(now->description)) {
    w.description = "";  // a put without flags sets them to 0, as Consul does
  }
  const bool cas = args->cas.has_value();
  submit(s, req, args->path.ns, {std::move(w)}, false,
         [s, req, reply, args, attempt, cas](api::CommandResult r) {
           if (r.ok()) return reply_json(s, reply, 200, "true");
           const bool raced = r.code == Errc::kKeyExists || r.code == Errc::kConfigNotFound;
           if (cas && (raced || r.code == Errc::kConflict)) {
             return reply_json(s, reply, 200, "false");
           }
           if (raced && attempt < 3) return put_once(s, req, reply, args, attempt + 1);
           reply_error(s, *req, reply, r.error());
         });
}

void kv_put(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply) {
  auto args = std::make_shared<PutArgs>();
  args->path = split_key(req->path_param("key").value_or(""));
  if (auto bad = bad_key(args->path)) return reply_text(s, reply, 400, *bad);
  if (has_param(*req, "acquire") || has_param(*req, "release")) {
    return reply_text(s, reply, 400, "acquire and release need sessions, which Cairn has not");
  }
  if (auto f = req->query_param("flags")) {
    args->flags = parse_uint64(*f);
    if (!args->flags) return reply_text(s, reply, 400, "Invalid flags: " + std::string(*f));
  }
  if (auto c = req->query_param("cas")) {
    args->cas = parse_uint64(*c);
    if (!args->cas) return reply_text(s, reply, 400, "Invalid cas index: " + std::string(*c));
  }
  if (req->body.size() > s->options.max_value_bytes) {
    return reply_text(
        s, reply, 413,
        "Value exceeds " + std::to_string(s->options.max_value_bytes) + " byte limit");
  }
  if (auto denied = req->caller.check(args->path.ns, api::Permission::kWrite)) {
    return reply_error(s, *req, reply, *denied);
  }
  args->value = frontends::stored_value(req->body);
  if (args->value.size() > s->options.max_value_bytes) {
    // Escapes (text) or base64 (bytes) made the stored JSON longer than the limit.
    return reply_text(s, reply, 413,
                      "Value exceeds " + std::to_string(s->options.max_value_bytes) +
                          " byte limit once stored (" + std::to_string(args->value.size()) +
                          " bytes as JSON)");
  }
  put_once(s, req, reply, std::move(args), 0);
}

/// Deletes the keys of `ns` under `prefix` (recurse), in commands of at most
/// api::kMaxBatchOperations operations, each at the version it was read at; a key changed or
/// deleted meanwhile makes the pass start again (a few times).
void delete_tree(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply,
                 std::string ns, std::string prefix, int attempt) {
  Snapshot snap = read(*s, req->caller, ns, prefix, /*exact=*/false);
  if (snap.items.empty()) return reply_json(s, reply, 200, "true");
  std::vector<api::ConfigWrite> ops;
  for (const Item& item : snap.items) {
    if (ops.size() == api::kMaxBatchOperations) break;
    api::ConfigWrite w;
    w.op = api::ConfigOp::kDelete;
    w.key = item.key;
    w.expected_version = item.version;
    ops.push_back(std::move(w));
  }
  const bool more = snap.items.size() > ops.size();
  submit(s, req, ns, std::move(ops), true,
         [s, req, reply, ns, prefix, attempt, more](api::CommandResult r) {
           if (r.ok()) {
             if (more) return delete_tree(s, req, reply, ns, prefix, 0);
             return reply_json(s, reply, 200, "true");
           }
           const bool raced = r.code == Errc::kConflict || r.code == Errc::kConfigNotFound;
           if (raced && attempt < 5) return delete_tree(s, req, reply, ns, prefix, attempt + 1);
           reply_error(s, *req, reply, r.error());
         });
}

void kv_delete(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply) {
  KeyPath path = split_key(req->path_param("key").value_or(""));
  const bool recurse = has_param(*req, "recurse");
  if (auto bad = recurse ? bad_namespace(path.ns) : bad_key(path)) {
    return reply_text(s, reply, 400, *bad);
  }
  std::optional<uint64_t> cas;
  if (auto c = req->query_param("cas")) {
    cas = parse_uint64(*c);
    if (!cas) return reply_text(s, reply, 400, "Invalid cas index: " + std::string(*c));
  }
  if (auto denied = req->caller.check(path.ns, api::Permission::kWrite)) {
    return reply_error(s, *req, reply, *denied);
  }
  if (recurse) return delete_tree(s, req, reply, path.ns, path.key, 0);
  std::optional<Item> now = current(*s, req->caller, path);
  if (!now) return reply_json(s, reply, 200, "true");  // nothing to delete (Consul: true)
  api::ConfigWrite w;
  w.op = api::ConfigOp::kDelete;
  w.key = path.key;
  if (cas) {
    if (static_cast<uint64_t>(now->version) != *cas) return reply_json(s, reply, 200, "false");
    w.expected_version = static_cast<int64_t>(*cas);
  }
  const bool with_cas = cas.has_value();
  submit(s, req, path.ns, {std::move(w)}, false, [s, req, reply, with_cas](api::CommandResult r) {
    if (r.ok() || r.code == Errc::kConfigNotFound) {
      return reply_json(s, reply, 200, "true");  // gone already: nothing left to delete
    }
    if (with_cas && r.code == Errc::kConflict) return reply_json(s, reply, 200, "false");
    reply_error(s, *req, reply, r.error());
  });
}

// ---- PUT /v1/txn ----

struct TxnError {
  size_t op = 0;
  std::string what;
};

std::string txn_errors_json(const std::vector<TxnError>& errors) {
  std::string out = R"({"Results":null,"Errors":[)";
  for (size_t i = 0; i < errors.size(); ++i) {
    if (i) out += ',';
    out += R"({"OpIndex":)" + std::to_string(errors[i].op) + R"(,"What":)";
    append_json_string(out, errors[i].what);
    out += '}';
  }
  out += "]}";
  return out;
}

/// One result of a successful txn: an entry read before the commit (get, check-index), or the
/// entry a write made, whose ModifyIndex comes from the write's outcome (`write` ≥ 0).
struct TxnResult {
  KvEntry entry;
  int write = -1;  // index into the batch's operations
};

void txn(const StatePtr& s, const http::RequestPtr& req, const http::Reply& reply) {
  auto parsed = parse_txn(req->body);
  if (!parsed.ok()) return reply_text(s, reply, parsed.error().status, parsed.error().text);
  std::vector<TxnOp>& ops = *parsed;
  if (ops.empty()) return reply_json(s, reply, 200, R"({"Results":[],"Errors":null})");

  // Every operation in one namespace: a Cairn batch is atomic within a namespace.
  std::string ns;
  std::vector<TxnError> errors;
  std::vector<KeyPath> paths;
  bool writes = false;
  for (size_t i = 0; i < ops.size(); ++i) {
    KeyPath path = split_key(ops[i].key);
    const bool tree = ops[i].verb == Verb::kDeleteTree || ops[i].verb == Verb::kGetTree;
    if (auto bad = tree ? bad_namespace(path.ns) : bad_key(path)) {
      return reply_text(s, reply, 400, "operation " + std::to_string(i) + ": " + *bad);
    }
    if (ns.empty()) ns = path.ns;
    if (path.ns != ns) {
      return reply_text(s, reply, 400,
                        "operation " + std::to_string(i) +
                            ": every operation of a transaction must be in one namespace (the "
                            "first key segment), here \"" +
                            ns + "\"");
    }
    if (ops[i].verb == Verb::kSet || ops[i].verb == Verb::kCas || ops[i].verb == Verb::kDelete ||
        ops[i].verb == Verb::kDeleteTree || ops[i].verb == Verb::kDeleteCas) {
      writes = true;
      if (ops[i].value.size() > s->options.max_value_bytes ||
          frontends::stored_value(ops[i].value).size() > s->options.max_value_bytes) {
        return reply_text(s, reply, 413,
                          "operation " + std::to_string(i) + ": value exceeds " +
                              std::to_string(s->options.max_value_bytes) + " byte limit");
      }
    }
    paths.push_back(std::move(path));
  }
  if (auto denied =
          req->caller.check(ns, writes ? api::Permission::kWrite : api::Permission::kRead)) {
    return reply_error(s, *req, reply, *denied);
  }

  // The namespace as it is now, then each operation against it in order (a key's state as the
  // earlier operations of the txn leave it), building one batch of Cairn operations.
  Snapshot snap = read(*s, req->caller, ns, "", /*exact=*/false);
  struct KeyState {
    bool exists = false;
    int64_t version = 0;  // -1: written earlier in this txn (its version comes with the outcome)
    std::string value;    // bytes
    uint64_t flags = 0;
    int status = 1;
    std::string description;
  };
  std::map<std::string, KeyState> state;
  for (const Item& item : snap.items) {
    state[item.key] = KeyState{true,
                               item.version,
                               frontends::value_bytes(item.value),
                               flags_of(item.description),
                               item.status,
                               item.description};
  }
  auto visible = [&](const std::string& key) -> KeyState* {
    auto it = state.find(key);
    if (it == state.end() || !it->second.exists || it->second.status != 1) return nullptr;
    return &it->second;
  };
  std::vector<api::ConfigWrite> batch;
  std::vector<size_t> batch_op;  // the txn operation of each batch operation
  std::vector<TxnResult> results;
  auto entry = [&](const std::string& key, const KeyState& k, bool with_value) {
    uint64_t v = static_cast<uint64_t>(std::max<int64_t>(1, k.version));
    KvEntry e{ns + "/" + key, std::nullopt, k.flags, v, v};
    if (with_value) e.value = k.value;
    return e;
  };
  auto write = [&](size_t i, const std::string& key, KeyState* now, const TxnOp& op,
                   std::optional<int64_t> expected) {
    api::ConfigWrite w;
    (void)now;
    w.op = state.count(key) && state[key].exists ? api::ConfigOp::kUpdate : api::ConfigOp::kCreate;
    w.key = key;
    w.value = frontends::stored_value(op.value);
    if (op.flags != 0 || (state.count(key) && is_flags_description(state[key].description))) {
      w.description = flags_description(op.flags);
    }
    w.expected_version = expected;
    batch.push_back(std::move(w));
    batch_op.push_back(i);
    KeyState& k = state[key];
    k = KeyState{
        true, -1, op.value, op.flags, k.exists ? k.status : 1, flags_description(op.flags)};
    results.push_back(TxnResult{entry(key, k, false), static_cast<int>(batch.size() - 1)});
  };
  auto remove = [&](size_t i, const std::string& key, std::optional<int64_t> expected) {
    api::ConfigWrite w;
    w.op = api::ConfigOp::kDelete;
    w.key = key;
    w.expected_version = expected;
    batch.push_back(std::move(w));
    batch_op.push_back(i);
    state[key].exists = false;
  };
  for (size_t i = 0; i < ops.size() && errors.empty(); ++i) {
    const TxnOp& op = ops[i];
    const std::string& key = paths[i].key;
    KeyState* now =
        op.verb == Verb::kDeleteTree || op.verb == Verb::kGetTree ? nullptr : visible(key);
    switch (op.verb) {
      case Verb::kSet:
        write(i, key, now, op, std::nullopt);
        break;
      case Verb::kCas:
        if (op.index == 0) {
          if (state.count(key) && state[key].exists) {
            errors.push_back({i, "failed to set key \"" + op.key + "\", index is stale"});
          } else {
            write(i, key, nullptr, op, std::nullopt);
          }
        } else if (!now || now->version < 0 || static_cast<uint64_t>(now->version) != op.index) {
          errors.push_back({i, "failed to set key \"" + op.key + "\", index is stale"});
        } else {
          write(i, key, now, op, now->version);
        }
        break;
      case Verb::kGet:
        if (!now) {
          errors.push_back({i, "key \"" + op.key + "\" doesn't exist"});
        } else {
          results.push_back(TxnResult{entry(key, *now, true), -1});
        }
        break;
      case Verb::kGetTree:
        for (auto& [k, st] : state) {
          if (st.exists && st.status == 1 && std::string_view(k).starts_with(key)) {
            results.push_back(TxnResult{entry(k, st, true), -1});
          }
        }
        break;
      case Verb::kCheckIndex:
        if (!now || now->version < 0 || static_cast<uint64_t>(now->version) != op.index) {
          errors.push_back({i, "current modify index " +
                                   std::to_string(now ? std::max<int64_t>(0, now->version) : 0) +
                                   " does not match " + std::to_string(op.index) + " for key \"" +
                                   op.key + "\""});
        } else {
          // A compare without a change: an update that finds everything as asked writes
          // nothing, but its expected_version is checked when the batch applies.
          api::ConfigWrite w;
          w.op = api::ConfigOp::kUpdate;
          w.key = key;
          w.status = 1;
          w.expected_version = now->version;
          batch.push_back(std::move(w));
          batch_op.push_back(i);
          results.push_back(TxnResult{entry(key, *now, false), -1});
        }
        break;
      case Verb::kCheckNotExists:
        if (state.count(key) && state[key].exists) {
          errors.push_back({i, "key \"" + op.key + "\" exists"});
        }
        break;
      case Verb::kDelete:
        if (state.count(key) && state[key].exists) {
          remove(
              i, key,
              state[key].version >= 0 ? std::optional<int64_t>(state[key].version) : std::nullopt);
        }
        break;
      case Verb::kDeleteCas:
        if (!now || now->version < 0 || static_cast<uint64_t>(now->version) != op.index) {
          errors.push_back({i, "failed to delete key \"" + op.key + "\", index is stale"});
        } else {
          remove(i, key, now->version);
        }
        break;
      case Verb::kDeleteTree: {
        std::vector<std::string> doomed;
        for (auto& [k, st] : state) {
          if (st.exists && std::string_view(k).starts_with(key)) doomed.push_back(k);
        }
        for (const std::string& k : doomed) {
          remove(i, k,
                 state[k].version >= 0 ? std::optional<int64_t>(state[k].version) : std::nullopt);
        }
        break;
      }
    }
  }
  if (!errors.empty()) return reply_json(s, reply, 409, txn_errors_json(errors), snap.index);

  auto answer = [s, reply, ns](std::vector<TxnResult> results, const api::ConfigsWritten* written,
                               uint64_t index) {
    std::string out = R"({"Results":[)";
    for (size_t i = 0; i < results.size(); ++i) {
      KvEntry e = results[i].entry;
      if (written && results[i].write >= 0 &&
          static_cast<size_t>(results[i].write) < written->ops.size()) {
        uint64_t v = static_cast<uint64_t>(
            std::max<int64_t>(1, written->ops[static_cast<size_t>(results[i].write)].version));
        e.modify_index = v;
        e.create_index = v;
      }
      if (i) out += ',';
      out += R"({"KV":)" + kv_json(e) + "}";
    }
    out += R"(],"Errors":null})";
    reply_json(s, reply, 200, std::move(out), index);
  };
  if (batch.empty()) return answer(std::move(results), nullptr, snap.index);
  submit(s, req, ns, std::move(batch), true,
         [s, req, reply, batch_op, results = std::move(results), answer](api::CommandResult r) {
           if (!r.ok()) {
             if (r.code == Errc::kForbidden || r.code == Errc::kUnauthorized ||
                 r.code == Errc::kNotLeader || r.code == Errc::kRaft ||
                 r.code == Errc::kUnavailable || r.code == Errc::kDatabase) {
               return reply_error(s, *req, reply, r.error());
             }
             // "operations[3]" names the failed batch operation: report its txn operation.
             size_t op = 0;
             if (r.field.starts_with("operations[")) {
               size_t at = std::strtoul(r.field.c_str() + 11, nullptr, 10);
               if (at < batch_op.size()) op = batch_op[at];
             }
             return reply_json(s, reply, 409, txn_errors_json({{op, r.details}}));
           }
           const auto* written = std::get_if<api::ConfigsWritten>(&r.outcome);
           answer(results, written, std::max<uint64_t>(1, r.revision));
         });
}

// ---- /v1/status ----

core::ClusterView view_of(const State& s) {
  if (s.options.cluster) return s.options.cluster();
  core::ClusterView v;
  v.raft_id = 1;
  v.role = "leader";
  v.leader = 1;
  v.leader_peer = s.options.self_address;
  v.leader_http = s.options.self_address;
  v.members.push_back(core::ClusterMember{1, true, s.options.self_address, s.options.self_address});
  return v;
}

void status_leader(const StatePtr& s, const http::RequestPtr&, const http::Reply& reply) {
  core::ClusterView v = view_of(*s);
  std::string leader = v.leader ? (v.leader_peer.empty() ? v.leader_http : v.leader_peer) : "";
  reply_json(s, reply, 200, json_quote(leader));
}

void status_peers(const StatePtr& s, const http::RequestPtr&, const http::Reply& reply) {
  core::ClusterView v = view_of(*s);
  std::vector<std::string> peers;
  for (const core::ClusterMember& m : v.members) {
    if (!m.voter) continue;
    std::string address = m.peer.empty() ? m.http : m.peer;
    if (!address.empty()) peers.push_back(address);
  }
  reply_json(s, reply, 200, string_array_json(peers));
}

}  // namespace

void render_error(const http::Request& req, const api::Error& error, http::Response& res) {
  auto [status, body] = wording(req, error);
  if (error.code == Errc::kNotFound && req.path_route == nullptr) body = "404 page not found";
  res.status = status;
  res.content_type = "text/plain; charset=utf-8";
  res.body = std::move(body);
  StatePtr s = last_state();
  add_meta(res, s.get(), global_index(s.get()));
}

void register_routes(http::Router& router, Options options, core::Core& core,
                     core::WatchHub* watch) {
  auto s = std::make_shared<State>(std::move(options), core, watch);
  {
    std::lock_guard lock(g_mu);
    g_state = s;
  }
  // The state lives as long as the handlers that hold it (the router's, then its copies).
  auto add = [&router, s](
                 const routes::Route& route,
                 void (*fn)(const StatePtr&, const http::RequestPtr&, const http::Reply&)) {
    router.add(
        route, [s, fn](http::RequestPtr req, http::Reply reply) { fn(s, req, reply); },
        render_error);
  };
  add(routes::kConsulKvGet, kv_get);
  add(routes::kConsulKvPut, kv_put);
  add(routes::kConsulKvDelete, kv_delete);
  add(routes::kConsulTxn, txn);
  add(routes::kConsulStatusLeader, status_leader);
  add(routes::kConsulStatusPeers, status_peers);
  for (const routes::Route* other : {&routes::kConsulOtherGet, &routes::kConsulOtherPut,
                                     &routes::kConsulOtherPost, &routes::kConsulOtherDelete}) {
    add(*other, [](const StatePtr& st, const http::RequestPtr&, const http::Reply& reply) {
      reply_text(st, reply, 404, "404 page not found");
    });
  }
}

}  // namespace cairn::consul
