#include "api/command.h"

#include "common/json.h"

namespace cairn::api {
namespace {

// A command carries at most a batch of values, each bounded by the value limit; this bound
// only guards the decoder against absurd input.
constexpr size_t kMaxEncodedBytes = 256u << 20;
constexpr int kMaxEncodedDepth = 80;

Json encode_write(const ConfigWrite& w) {
  Json j = Json::object();
  j["op"] = op_name(w.op);
  j["key"] = w.key;
  if (w.value) j["value"] = *w.value;
  if (w.description) j["description"] = *w.description;
  if (w.status) j["status"] = *w.status;
  if (w.expected_version) j["expected_version"] = *w.expected_version;
  return j;
}

struct Decoder {
  const Json& j;
  std::string error;

  bool fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }
  bool str(const char* name, std::string& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return fail(std::string("missing string ") + name);
    out = it->get<std::string>();
    return true;
  }
  bool opt_str(const char* name, std::optional<std::string>& out) {
    auto it = j.find(name);
    if (it == j.end()) return true;
    if (!it->is_string()) return fail(std::string("bad string ") + name);
    out = it->get<std::string>();
    return true;
  }
  bool int64(const char* name, int64_t& out) {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return fail(std::string("missing int ") + name);
    out = it->get<int64_t>();
    return true;
  }
  bool opt_int64(const char* name, std::optional<int64_t>& out) {
    auto it = j.find(name);
    if (it == j.end()) return true;
    if (!it->is_number_integer()) return fail(std::string("bad int ") + name);
    out = it->get<int64_t>();
    return true;
  }
  bool opt_int(const char* name, std::optional<int>& out) {
    std::optional<int64_t> v;
    if (!opt_int64(name, v)) return false;
    if (v) {
      if (*v < -1000000 || *v > 1000000) return fail(std::string("out of range ") + name);
      out = static_cast<int>(*v);
    }
    return true;
  }
};

bool decode_write(const Json& j, ConfigWrite& w, std::string& error) {
  if (!j.is_object()) {
    error = "operation is not an object";
    return false;
  }
  Decoder d{j, {}};
  std::string op;
  bool ok = d.str("op", op) && d.str("key", w.key) && d.opt_str("value", w.value) &&
            d.opt_str("description", w.description) && d.opt_int("status", w.status) &&
            d.opt_int64("expected_version", w.expected_version);
  if (ok) {
    if (op == "create") {
      w.op = ConfigOp::kCreate;
    } else if (op == "update") {
      w.op = ConfigOp::kUpdate;
    } else if (op == "delete") {
      w.op = ConfigOp::kDelete;
    } else {
      ok = d.fail("unknown op " + op);
    }
  }
  if (!ok) error = d.error;
  return ok;
}

/// The oldest format that can carry `body` (see kCommandFormatVersion).
uint8_t format_version_of(const CommandBody& body) {
  if (const auto* m = std::get_if<SetMemberAddress>(&body); m && m->learner) return 8;
  if (std::holds_alternative<StartRelease>(body) ||
      std::holds_alternative<TransitionRelease>(body)) {
    return 7;
  }
  if (const auto* w = std::get_if<WriteConfigs>(&body); w && w->force) return 7;
  if (std::holds_alternative<SetNamespaceSchema>(body)) return 6;
  if (const auto* r = std::get_if<RollbackConfig>(&body); r && r->force) return 6;
  if (std::holds_alternative<RewrapSecrets>(body)) return 5;
  if (const auto* c = std::get_if<CreateNamespace>(&body); c && !c->secret_keys.empty()) return 5;
  if (const auto* u = std::get_if<UpdateNamespace>(&body); u && u->secret_keys) return 5;
  if (const auto* r = std::get_if<RollbackConfig>(&body); r && r->sealed_value) return 5;
  if (const auto* w = std::get_if<WriteConfigs>(&body); w && w->create_namespace) return 4;
  if (std::holds_alternative<CreateToken>(body) || std::holds_alternative<RevokeToken>(body) ||
      std::holds_alternative<AppendAudit>(body)) {
    return 3;
  }
  if (const auto* c = std::get_if<CleanupVersions>(&body); c && c->audit_keep_days) return 3;
  if (std::holds_alternative<TagVersion>(body) || std::holds_alternative<CleanupVersions>(body)) {
    return 2;
  }
  if (const auto* u = std::get_if<UpdateNamespace>(&body); u && (u->keep_latest || u->keep_days)) {
    return 2;
  }
  return 1;
}

Json string_array(const std::vector<std::string>& items) {
  Json a = Json::array();
  for (const auto& s : items) a.push_back(s);
  return a;
}

bool decode_strings(const Json& j, const char* name, std::optional<std::vector<std::string>>& out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_array()) return false;
  std::vector<std::string> v;
  for (const auto& e : *it) {
    if (!e.is_string()) return false;
    v.push_back(e.get<std::string>());
  }
  out = std::move(v);
  return true;
}

bool opt_bool(const Json& j, const char* name, bool& out) {
  auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_boolean()) return false;
  out = it->get<bool>();
  return true;
}

/// The decoder of the one command on every write's path, config.write, without a document:
/// nlohmann's SAX events fill the Command directly (decoding the JSON document was 6.9 % of a
/// follower's samples at c=64 puts; issue 21 §3). It accepts only what encode_command writes
/// for a config.write (known members, each once, of the types it writes) and gives up at
/// anything else — another type, an unknown or repeated member, an out-of-range status, an op
/// it does not know, a format that cannot carry a member — leaving that input to the document
/// decoder, whose answer (a Command or the reason it is refused) is the reference: for every
/// input, either this one gives up or the two give the same Command.
class WriteDecoder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit WriteDecoder(uint8_t version) : version_(version) {}

  /// The Command, when the input was a config.write this decoder fully understood.
  std::optional<Command> take() {
    constexpr unsigned kRequired = kRequestId | kOperator | kType | kNamespace | kOps;
    if ((seen_ & kRequired) != kRequired || !typed_ || body_.ops.empty()) return std::nullopt;
    if (body_.force && version_ < 7) return std::nullopt;
    if ((seen_ & kCreateNamespace) && version_ < 4) return std::nullopt;
    command_.body = std::move(body_);
    return std::move(command_);
  }

  bool null() { return false; }
  bool boolean(bool v) {
    if (where_ != Where::kTop) return false;
    switch (member_) {
      case kBatch: body_.batch = v; return true;
      case kForce: body_.force = v; return true;
      case kCreateNamespace: body_.create_namespace = v; return true;
      default: return false;
    }
  }
  bool number_integer(number_integer_t v) { return integer(v); }
  bool number_unsigned(number_unsigned_t v) {
    if (v > static_cast<number_unsigned_t>(INT64_MAX)) return false;
    return integer(static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t&) { return false; }
  bool binary(binary_t&) { return false; }
  bool string(string_t& v) {
    if (where_ == Where::kTop) {
      switch (member_) {
        case kRequestId: command_.request_id = std::move(v); return true;
        case kOperator: command_.operator_name = std::move(v); return true;
        case kClientIp: command_.client_ip = std::move(v); return true;
        case kNamespace: body_.ns = std::move(v); return true;
        case kType:
          typed_ = v == "config.write";
          return typed_;
        default: return false;
      }
    }
    if (where_ != Where::kOp) return false;
    ConfigWrite& w = body_.ops.back();
    switch (op_member_) {
      case kOpOp:
        if (v == "create") w.op = ConfigOp::kCreate;
        else if (v == "update") w.op = ConfigOp::kUpdate;
        else if (v == "delete") w.op = ConfigOp::kDelete;
        else return false;
        return true;
      case kOpKey: w.key = std::move(v); return true;
      case kOpValue: w.value = std::move(v); return true;
      case kOpDescription: w.description = std::move(v); return true;
      default: return false;
    }
  }
  bool start_object(std::size_t) {
    if (where_ == Where::kNone) {
      where_ = Where::kTop;
      return true;
    }
    if (where_ != Where::kOps) return false;
    where_ = Where::kOp;
    op_seen_ = 0;
    body_.ops.emplace_back();
    return true;
  }
  bool end_object() {
    if (where_ == Where::kOp) {
      constexpr unsigned kRequired = kOpOp | kOpKey;
      if ((op_seen_ & kRequired) != kRequired) return false;
      where_ = Where::kOps;
      return true;
    }
    if (where_ != Where::kTop) return false;
    where_ = Where::kDone;
    return true;
  }
  bool start_array(std::size_t) {
    if (where_ != Where::kTop || member_ != kOps) return false;
    where_ = Where::kOps;
    return true;
  }
  bool end_array() {
    if (where_ != Where::kOps) return false;
    where_ = Where::kTop;
    return true;
  }
  bool key(string_t& k) {
    if (where_ == Where::kTop) {
      member_ = top_member(k);
      if (member_ == 0 || (seen_ & member_)) return false;
      seen_ |= member_;
      return true;
    }
    if (where_ != Where::kOp) return false;
    op_member_ = op_member(k);
    if (op_member_ == 0 || (op_seen_ & op_member_)) return false;
    op_seen_ |= op_member_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  enum class Where { kNone, kTop, kOps, kOp, kDone };
  enum : unsigned {
    kRequestId = 1, kOperator = 2, kType = 4, kClientIp = 8, kNamespace = 16, kBatch = 32,
    kForce = 64, kCreateNamespace = 128, kOps = 256,
  };
  enum : unsigned {
    kOpOp = 1, kOpKey = 2, kOpValue = 4, kOpDescription = 8, kOpStatus = 16,
    kOpExpectedVersion = 32,
  };
  static unsigned top_member(std::string_view k) {
    if (k == "request_id") return kRequestId;
    if (k == "operator") return kOperator;
    if (k == "type") return kType;
    if (k == "client_ip") return kClientIp;
    if (k == "namespace") return kNamespace;
    if (k == "batch") return kBatch;
    if (k == "force") return kForce;
    if (k == "create_namespace") return kCreateNamespace;
    if (k == "ops") return kOps;
    return 0;
  }
  static unsigned op_member(std::string_view k) {
    if (k == "op") return kOpOp;
    if (k == "key") return kOpKey;
    if (k == "value") return kOpValue;
    if (k == "description") return kOpDescription;
    if (k == "status") return kOpStatus;
    if (k == "expected_version") return kOpExpectedVersion;
    return 0;
  }
  bool integer(int64_t v) {
    if (where_ != Where::kOp) return false;
    ConfigWrite& w = body_.ops.back();
    if (op_member_ == kOpStatus) {
      if (v < -1000000 || v > 1000000) return false;  // Decoder::opt_int's range
      w.status = static_cast<int>(v);
      return true;
    }
    if (op_member_ == kOpExpectedVersion) {
      w.expected_version = v;
      return true;
    }
    return false;
  }

  const uint8_t version_;
  Where where_ = Where::kNone;
  unsigned member_ = 0, seen_ = 0;
  unsigned op_member_ = 0, op_seen_ = 0;
  bool typed_ = false;
  Command command_;
  WriteConfigs body_;
};

}  // namespace

std::string_view op_name(ConfigOp op) {
  switch (op) {
    case ConfigOp::kCreate:
      return "create";
    case ConfigOp::kUpdate:
      return "update";
    case ConfigOp::kDelete:
      return "delete";
  }
  return "unknown";
}

std::string encode_command(const Command& command) {
  Json j = Json::object();
  j["request_id"] = command.request_id;
  j["operator"] = command.operator_name;
  std::visit(
      [&j](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, CreateNamespace>) {
          j["type"] = "namespace.create";
          j["name"] = body.name;
          j["description"] = body.description;
          if (!body.secret_keys.empty()) j["secret_keys"] = string_array(body.secret_keys);
        } else if constexpr (std::is_same_v<T, UpdateNamespace>) {
          j["type"] = "namespace.update";
          j["id"] = body.id;
          if (body.description) j["description"] = *body.description;
          if (body.status) j["status"] = *body.status;
          if (body.keep_latest) j["keep_latest"] = *body.keep_latest;
          if (body.keep_days) j["keep_days"] = *body.keep_days;
          if (body.secret_keys) j["secret_keys"] = string_array(*body.secret_keys);
        } else if constexpr (std::is_same_v<T, DeleteNamespace>) {
          j["type"] = "namespace.delete";
          j["id"] = body.id;
        } else if constexpr (std::is_same_v<T, WriteConfigs>) {
          j["type"] = "config.write";
          j["namespace"] = body.ns;
          j["batch"] = body.batch;
          if (body.create_namespace) j["create_namespace"] = true;
          if (body.force) j["force"] = true;
          Json ops = Json::array();
          for (const auto& w : body.ops) ops.push_back(encode_write(w));
          j["ops"] = std::move(ops);
        } else if constexpr (std::is_same_v<T, RollbackConfig>) {
          j["type"] = "config.rollback";
          j["namespace"] = body.ns;
          j["key"] = body.key;
          j["target_version"] = body.target_version;
          if (body.expected_version) j["expected_version"] = *body.expected_version;
          if (body.sealed_value) j["sealed_value"] = *body.sealed_value;
          if (body.force) j["force"] = true;
        } else if constexpr (std::is_same_v<T, SetMemberAddress>) {
          j["type"] = "cluster.member";
          j["id"] = body.id;
          j["peer"] = body.peer;
          j["http"] = body.http;
          j["remove"] = body.remove;
          if (body.learner) j["learner"] = true;
        } else if constexpr (std::is_same_v<T, TagVersion>) {
          j["type"] = "config.tag";
          j["namespace"] = body.ns;
          j["key"] = body.key;
          j["version"] = body.version;
          j["tag"] = body.tag;
          j["remove"] = body.remove;
        } else if constexpr (std::is_same_v<T, CleanupVersions>) {
          j["type"] = "config.cleanup";
          if (body.ns) j["namespace"] = *body.ns;
          if (body.keep_latest) j["keep_latest"] = *body.keep_latest;
          if (body.keep_days) j["keep_days"] = *body.keep_days;
          j["dry_run"] = body.dry_run;
          if (body.audit_keep_days) j["audit_keep_days"] = *body.audit_keep_days;
        } else if constexpr (std::is_same_v<T, CreateToken>) {
          j["type"] = "token.create";
          j["id"] = body.id;
          j["name"] = body.name;
          j["secret_hash"] = body.secret_hash;
          Json grants = Json::array();
          for (const auto& g : body.grants) {
            grants.push_back(Json{{"namespace", g.ns_pattern}, {"permission", g.permission}});
          }
          j["grants"] = std::move(grants);
          j["expires_at_ms"] = body.expires_at_ms;
        } else if constexpr (std::is_same_v<T, RevokeToken>) {
          j["type"] = "token.revoke";
          j["id"] = body.id;
        } else if constexpr (std::is_same_v<T, AppendAudit>) {
          j["type"] = "audit.append";
          Json entries = Json::array();
          for (const auto& e : body.entries) {
            entries.push_back(Json{{"at_ms", e.at_ms},         {"actor", e.actor},
                                   {"client_ip", e.client_ip}, {"action", e.action},
                                   {"namespace", e.ns},        {"key", e.key},
                                   {"code", e.code},           {"request_id", e.request_id}});
          }
          j["entries"] = std::move(entries);
        } else if constexpr (std::is_same_v<T, RewrapSecrets>) {
          j["type"] = "secret.rewrap";
          Json values = Json::array();
          for (const auto& v : body.values) {
            values.push_back(
                Json{{"namespace", v.ns}, {"key", v.key}, {"from", v.from}, {"to", v.to}});
          }
          j["values"] = std::move(values);
        } else if constexpr (std::is_same_v<T, SetNamespaceSchema>) {
          j["type"] = "namespace.schema";
          j["id"] = body.id;
          j["schemas"] = body.schemas_json;
          j["strict"] = body.strict;
          j["force"] = body.force;
        } else if constexpr (std::is_same_v<T, StartRelease>) {
          j["type"] = "release.start";
          j["id"] = body.id;
          j["namespace"] = body.ns;
          Json changes = Json::array();
          for (const auto& c : body.changes) {
            Json one{{"key", c.key}};
            if (c.value) one["value"] = *c.value;
            changes.push_back(std::move(one));
          }
          j["changes"] = std::move(changes);
          j["spec"] = body.spec;
          j["description"] = body.description;
        } else if constexpr (std::is_same_v<T, TransitionRelease>) {
          j["type"] = "release.transition";
          j["id"] = body.id;
          j["namespace"] = body.ns;
          j["action"] = body.action;
          j["stage"] = body.stage;
          j["reason"] = body.reason;
          j["automatic"] = body.automatic;
        }
      },
      command.body);
  if (!command.client_ip.empty()) j["client_ip"] = command.client_ip;
  std::string out;
  out += static_cast<char>(format_version_of(command.body));
  out += dump_compact(j);
  return out;
}

Result<Command, Error> decode_command(std::string_view bytes) {
  // The fast path only where the document decoder's header checks pass; it refuses nothing.
  const auto version = bytes.empty() ? uint8_t{0} : static_cast<uint8_t>(bytes[0]);
  if (bytes.size() <= kMaxEncodedBytes && version != 0 && version <= kCommandFormatVersion) {
    WriteDecoder fast(version);
    const std::string_view text = bytes.substr(1);
    if (Json::sax_parse(text.begin(), text.end(), &fast)) {
      if (auto c = fast.take()) return std::move(*c);
    }
  }
  return detail::decode_command_document(bytes);
}

namespace detail {

Result<Command, Error> decode_command_document(std::string_view bytes) {
  auto bad = [](std::string why) {
    return Unexpected{make_error(Errc::kBadRequest, "undecodable command: " + why)};
  };
  if (bytes.empty()) return bad("empty");
  if (bytes.size() > kMaxEncodedBytes) return bad("too large");
  uint8_t version = static_cast<uint8_t>(bytes[0]);
  if (version == 0 || version > kCommandFormatVersion) {
    return bad("unsupported format version " + std::to_string(version));
  }
  auto parsed = parse_json(bytes.substr(1), kMaxEncodedDepth);
  if (!parsed || !parsed->is_object()) return bad("not a JSON object");
  const Json& j = *parsed;
  Decoder d{j, {}};
  Command c;
  std::string type;
  if (!d.str("request_id", c.request_id) || !d.str("operator", c.operator_name) ||
      !d.str("type", type)) {
    return bad(d.error);
  }
  std::optional<std::string> client_ip;
  if (!d.opt_str("client_ip", client_ip)) return bad(d.error);
  c.client_ip = client_ip.value_or("");
  if (type == "namespace.create") {
    CreateNamespace b;
    if (!d.str("name", b.name) || !d.str("description", b.description)) return bad(d.error);
    std::optional<std::vector<std::string>> secret_keys;
    if (!decode_strings(j, "secret_keys", secret_keys)) return bad("bad secret_keys");
    if (secret_keys && version < 5) return bad("secret_keys needs format 5");
    if (secret_keys) b.secret_keys = std::move(*secret_keys);
    c.body = std::move(b);
  } else if (type == "namespace.update") {
    UpdateNamespace b;
    if (!d.int64("id", b.id) || !d.opt_str("description", b.description) ||
        !d.opt_int("status", b.status) || !d.opt_int64("keep_latest", b.keep_latest) ||
        !d.opt_int64("keep_days", b.keep_days)) {
      return bad(d.error);
    }
    if (version < 2 && (b.keep_latest || b.keep_days)) return bad("retention needs format 2");
    if (!decode_strings(j, "secret_keys", b.secret_keys)) return bad("bad secret_keys");
    if (b.secret_keys && version < 5) return bad("secret_keys needs format 5");
    c.body = std::move(b);
  } else if (type == "namespace.delete") {
    DeleteNamespace b;
    if (!d.int64("id", b.id)) return bad(d.error);
    c.body = b;
  } else if (type == "config.write") {
    WriteConfigs b;
    if (!d.str("namespace", b.ns)) return bad(d.error);
    auto batch = j.find("batch");
    if (batch != j.end()) {
      if (!batch->is_boolean()) return bad("bad batch");
      b.batch = batch->get<bool>();
    }
    if (!opt_bool(j, "force", b.force)) return bad("bad force");
    if (b.force && version < 7) return bad("force needs format 7");
    if (auto create = j.find("create_namespace"); create != j.end()) {
      if (!create->is_boolean()) return bad("bad create_namespace");
      if (version < 4) return bad("create_namespace needs format 4");
      b.create_namespace = create->get<bool>();
    }
    auto ops = j.find("ops");
    if (ops == j.end() || !ops->is_array() || ops->empty()) return bad("missing ops");
    for (const auto& op : *ops) {
      ConfigWrite w;
      std::string why;
      if (!decode_write(op, w, why)) return bad(why);
      b.ops.push_back(std::move(w));
    }
    c.body = std::move(b);
  } else if (type == "config.rollback") {
    RollbackConfig b;
    if (!d.str("namespace", b.ns) || !d.str("key", b.key) ||
        !d.int64("target_version", b.target_version) ||
        !d.opt_int64("expected_version", b.expected_version) ||
        !d.opt_str("sealed_value", b.sealed_value)) {
      return bad(d.error);
    }
    if (b.sealed_value && version < 5) return bad("sealed_value needs format 5");
    if (!opt_bool(j, "force", b.force)) return bad("bad force");
    if (version < 6 && b.force) return bad("force needs format 6");
    c.body = std::move(b);
  } else if (type == "cluster.member") {
    SetMemberAddress b;
    if (!d.int64("id", b.id) || !d.str("peer", b.peer) || !d.str("http", b.http)) {
      return bad(d.error);
    }
    auto remove = j.find("remove");
    if (remove == j.end() || !remove->is_boolean()) return bad("bad remove");
    b.remove = remove->get<bool>();
    if (!opt_bool(j, "learner", b.learner)) return bad("bad learner");
    if (b.learner && version < 8) return bad("learner needs format 8");
    c.body = std::move(b);
  } else if (type == "config.tag" && version >= 2) {
    TagVersion b;
    if (!d.str("namespace", b.ns) || !d.str("key", b.key) || !d.int64("version", b.version) ||
        !d.str("tag", b.tag)) {
      return bad(d.error);
    }
    if (!opt_bool(j, "remove", b.remove)) return bad("bad remove");
    c.body = std::move(b);
  } else if (type == "config.cleanup" && version >= 2) {
    CleanupVersions b;
    if (!d.opt_str("namespace", b.ns) || !d.opt_int64("keep_latest", b.keep_latest) ||
        !d.opt_int64("keep_days", b.keep_days) ||
        !d.opt_int64("audit_keep_days", b.audit_keep_days)) {
      return bad(d.error);
    }
    if (version < 3 && b.audit_keep_days) return bad("audit_keep_days needs format 3");
    if (!opt_bool(j, "dry_run", b.dry_run)) return bad("bad dry_run");
    c.body = std::move(b);
  } else if (type == "token.create" && version >= 3) {
    CreateToken b;
    if (!d.str("id", b.id) || !d.str("name", b.name) || !d.str("secret_hash", b.secret_hash) ||
        !d.int64("expires_at_ms", b.expires_at_ms)) {
      return bad(d.error);
    }
    auto grants = j.find("grants");
    if (grants == j.end() || !grants->is_array()) return bad("missing grants");
    for (const auto& g : *grants) {
      if (!g.is_object()) return bad("grant is not an object");
      Decoder gd{g, {}};
      Grant grant;
      if (!gd.str("namespace", grant.ns_pattern) || !gd.str("permission", grant.permission)) {
        return bad(gd.error);
      }
      b.grants.push_back(std::move(grant));
    }
    c.body = std::move(b);
  } else if (type == "token.revoke" && version >= 3) {
    RevokeToken b;
    if (!d.str("id", b.id)) return bad(d.error);
    c.body = std::move(b);
  } else if (type == "audit.append" && version >= 3) {
    AppendAudit b;
    auto entries = j.find("entries");
    if (entries == j.end() || !entries->is_array()) return bad("missing entries");
    for (const auto& e : *entries) {
      if (!e.is_object()) return bad("entry is not an object");
      Decoder ed{e, {}};
      AuditEntry entry;
      if (!ed.int64("at_ms", entry.at_ms) || !ed.str("actor", entry.actor) ||
          !ed.str("client_ip", entry.client_ip) || !ed.str("action", entry.action) ||
          !ed.str("namespace", entry.ns) || !ed.str("key", entry.key) ||
          !ed.int64("code", entry.code) || !ed.str("request_id", entry.request_id)) {
        return bad(ed.error);
      }
      b.entries.push_back(std::move(entry));
    }
    c.body = std::move(b);
  } else if (type == "secret.rewrap" && version >= 5) {
    RewrapSecrets b;
    auto values = j.find("values");
    if (values == j.end() || !values->is_array()) return bad("missing values");
    for (const auto& e : *values) {
      if (!e.is_object()) return bad("value is not an object");
      Decoder ed{e, {}};
      RewrappedValue v;
      if (!ed.str("namespace", v.ns) || !ed.str("key", v.key) || !ed.str("from", v.from) ||
          !ed.str("to", v.to)) {
        return bad(ed.error);
      }
      b.values.push_back(std::move(v));
    }
    c.body = std::move(b);
  } else if (type == "namespace.schema" && version >= 6) {
    SetNamespaceSchema b;
    if (!d.int64("id", b.id) || !d.str("schemas", b.schemas_json)) return bad(d.error);
    if (!opt_bool(j, "strict", b.strict)) return bad("bad strict");
    if (!opt_bool(j, "force", b.force)) return bad("bad force");
    c.body = std::move(b);
  } else if (type == "release.start" && version >= 7) {
    StartRelease b;
    if (!d.str("id", b.id) || !d.str("namespace", b.ns) || !d.str("spec", b.spec) ||
        !d.str("description", b.description)) {
      return bad(d.error);
    }
    auto changes = j.find("changes");
    if (changes == j.end() || !changes->is_array()) return bad("missing changes");
    for (const auto& one : *changes) {
      if (!one.is_object()) return bad("change is not an object");
      Decoder cd{one, {}};
      ReleaseChange rc;
      if (!cd.str("key", rc.key) || !cd.opt_str("value", rc.value)) return bad(cd.error);
      b.changes.push_back(std::move(rc));
    }
    c.body = std::move(b);
  } else if (type == "release.transition" && version >= 7) {
    TransitionRelease b;
    if (!d.str("id", b.id) || !d.str("namespace", b.ns) || !d.str("action", b.action) ||
        !d.int64("stage", b.stage) || !d.str("reason", b.reason)) {
      return bad(d.error);
    }
    if (!opt_bool(j, "automatic", b.automatic)) return bad("bad automatic");
    c.body = std::move(b);
  } else {
    return bad("unknown type " + type + " in format " + std::to_string(version));
  }
  return c;
}

}  // namespace detail

}  // namespace cairn::api
