#include "frontends/transfer/transfer.h"

#include <map>
#include <memory>
#include <set>

#include "api/outcome.h"
#include "common/json.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/transfer/formats.h"
#include "routes/table.h"
#include "secrets/sealed.h"

namespace cairn::transfer {

using api::Errc;
using api::make_error;
using native::reply_error;
using native::reply_ok;

namespace {

/// One command carries at most this many operations (apply's limit) and about this many bytes
/// of values; a namespace beyond either is written in several atomic batches, in key order.
constexpr size_t kBatchBytes = 8u << 20;

enum class Policy { kAbort, kSkip, kOverwrite };

std::string_view policy_name(Policy p) {
  return p == Policy::kSkip ? "skip" : p == Policy::kOverwrite ? "overwrite" : "abort";
}

bool truthy(std::optional<std::string_view> v) {
  return v && (*v == "true" || *v == "1" || *v == "yes");
}

/// What the import does with one key of the file.
struct Planned {
  std::string ns;
  ImportItem item;           // value: the plaintext of a secret
  std::string action;        // create, update, unchanged, conflict, invalid
  int64_t current_version = 0;
  std::string reason;
  std::vector<api::SchemaViolation> violations;
  int64_t written_version = 0;
};

struct PlannedNamespace {
  std::string name;
  bool exists = false;
  bool create_with_settings = false;  // a Cairn export's description/secret_keys: CreateNamespace
  std::optional<std::string> description;
  std::vector<std::string> secret_keys;
  std::vector<size_t> items;  // indexes into Plan::items
  uint64_t revision = 0;      // after the import wrote it
  bool written = false;
};

struct Plan {
  std::vector<PlannedNamespace> namespaces;
  std::vector<Planned> items;
  std::vector<std::string> warnings;
  std::map<std::string, size_t> counts;
};

std::string plan_json(const Plan& plan, bool dry_run, Source source, Policy policy, bool written,
                      bool only_problems = false) {
  Json summary = Json::object();
  summary["namespaces"] = plan.namespaces.size();
  summary["total"] = plan.items.size();
  for (const char* a : {"create", "update", "unchanged", "conflict", "invalid"}) {
    auto it = plan.counts.find(a);
    summary[a] = it == plan.counts.end() ? 0 : it->second;
  }
  std::string out = "{\"dry_run\":" + std::string(dry_run ? "true" : "false") +
                    ",\"written\":" + (written ? "true" : "false") +
                    ",\"source\":" + json_quote(source_name(source)) +
                    ",\"on_conflict\":" + json_quote(policy_name(policy)) +
                    ",\"summary\":" + dump_compact(summary) + ",\"namespaces\":[";
  for (size_t i = 0; i < plan.namespaces.size(); ++i) {
    const auto& n = plan.namespaces[i];
    std::map<std::string, size_t> c;
    for (size_t idx : n.items) ++c[plan.items[idx].action];
    Json j = {{"namespace", n.name}, {"exists", n.exists}};
    for (const char* a : {"create", "update", "unchanged", "conflict", "invalid"}) j[a] = c[a];
    if (n.written) j["revision"] = n.revision;
    if (i) out += ',';
    out += dump_compact(j);
  }
  out += "],\"items\":[";
  bool first = true;
  for (const auto& p : plan.items) {
    if (only_problems && p.action != "conflict" && p.action != "invalid") continue;
    Json j = {{"namespace", p.ns}, {"key", p.item.key}, {"action", p.action}};
    if (p.current_version) j["current_version"] = p.current_version;
    if (p.written_version) j["version"] = p.written_version;
    if (p.item.secret) j["secret"] = true;
    if (!p.reason.empty()) j["reason"] = p.reason;
    std::string text = dump_compact(j);
    if (!p.violations.empty()) {
      // {"violations":[…]} merged into the item object.
      std::string v = api::violations_json(p.violations);
      text.pop_back();
      text += ',' + v.substr(1);
    }
    if (!first) out += ',';
    first = false;
    out += text;
  }
  out += "],\"warnings\":" + dump_compact(Json(plan.warnings)) + "}";
  return out;
}

class Transfer : public std::enable_shared_from_this<Transfer> {
 public:
  Transfer(core::Core& core, Options options) : core_(core), options_(std::move(options)) {}

  void export_data(const http::RequestPtr& req, const http::Reply& reply);
  void import_data(const http::RequestPtr& req, const http::Reply& reply);

 private:
  /// The plaintext of a secret stored (or exported) sealed for ns/key, or why not.
  Result<std::string, std::string> open_sealed(const std::string& ns, const std::string& key,
                                               const std::string& text) const;
  Result<Plan, api::Error> plan(const api::Principal& caller, ImportSet set, Policy policy) const;
  void write(std::shared_ptr<struct ImportRun> run, size_t ns_index, size_t from);
  void finish(std::shared_ptr<struct ImportRun> run);

  core::Core& core_;
  Options options_;
};

struct ImportRun {
  http::RequestPtr req;
  http::Reply reply;
  api::Principal caller;
  std::string operator_name;
  Source source = Source::kCairn;
  Policy policy = Policy::kAbort;
  Plan plan;
};

Result<std::string, std::string> Transfer::open_sealed(const std::string& ns,
                                                       const std::string& key,
                                                       const std::string& text) const {
  const auto& keyring = core_.options().keyring;
  if (!keyring) return Unexpected{std::string("this node holds no secret key")};
  auto parts = secrets::decode_sealed(text);
  if (!parts) return Unexpected{std::string("not a well-formed sealed value")};
  auto opened = secrets::open(*keyring, ns, key, parts->version, text);
  if (!opened.ok()) return Unexpected{opened.error().message};
  return std::move(*opened);
}

Result<Plan, api::Error> Transfer::plan(const api::Principal& caller, ImportSet set,
                                        Policy policy) const {
  Plan plan;
  plan.warnings = std::move(set.warnings);
  for (auto& ns : set.namespaces) {
    if (auto denied = caller.check(ns.name, api::Permission::kWrite)) return Unexpected{*denied};
    auto current = core_.dump_namespace(caller, ns.name, false);
    if (!current.ok()) return Unexpected{current.error()};
    PlannedNamespace pn;
    pn.name = ns.name;
    pn.exists = current->exists;
    pn.description = ns.description;
    pn.secret_keys = ns.secret_keys;
    pn.create_with_settings =
        !pn.exists && ((ns.description && !ns.description->empty()) || !ns.secret_keys.empty());
    std::map<std::string, const core::NamespaceDump::Item*> by_key;
    for (const auto& c : current->items) by_key[c.key] = &c;
    for (auto& item : ns.items) {
      Planned p;
      p.ns = ns.name;
      p.item = std::move(item);
      if (secrets::looks_sealed(p.item.value)) {
        // A Cairn export's sealed secret: opened with this node's keys, sealed again when
        // written (it is bound to its namespace, key and version).
        auto plain = open_sealed(ns.name, p.item.key, p.item.value);
        if (!plain.ok()) {
          p.action = "invalid";
          p.reason = "sealed value cannot be opened on this cluster (" + plain.error() +
                     "); export it with reveal=true to move it between clusters with different "
                     "secret keys";
        } else {
          p.item.value = std::move(*plain);
          p.item.secret = true;
        }
      }
      auto cur = by_key.find(p.item.key);
      if (p.action.empty() && current->exists && current->status == 0) {
        p.action = "invalid";
        p.reason = "namespace '" + ns.name + "' is disabled";
      }
      if (p.action.empty() && p.item.value.size() > options_.max_value_bytes) {
        p.action = "invalid";
        p.reason = "value is " + std::to_string(p.item.value.size()) + " bytes; the limit is " +
                   std::to_string(options_.max_value_bytes);
      }
      if (p.action.empty() && cur != by_key.end()) {
        const auto& c = *cur->second;
        p.current_version = c.version;
        std::string current_plain = c.value;
        bool comparable = true;
        if (secrets::looks_sealed(c.value)) {
          auto opened = open_sealed(ns.name, c.key, c.value);
          comparable = opened.ok();
          if (comparable) current_plain = std::move(*opened);
        }
        const bool same = comparable && current_plain == p.item.value &&
                          (!p.item.description || *p.item.description == c.description) &&
                          (!p.item.status || *p.item.status == c.status) &&
                          (!p.item.secret || c.secret);
        if (same) {
          p.action = "unchanged";
        } else {
          p.action = policy == Policy::kOverwrite ? "update" : "conflict";
          p.reason = policy == Policy::kSkip    ? "differs from the stored value: skipped"
                     : policy == Policy::kAbort ? "differs from the stored value"
                                                : "";
        }
      } else if (p.action.empty()) {
        p.action = "create";
      }
      if ((p.action == "create" || p.action == "update") && !core_.options().keyring &&
          (p.item.secret || secrets::matches_any(current->secret_keys, p.item.key) ||
           secrets::matches_any(ns.secret_keys, p.item.key))) {
        p.action = "invalid";
        p.reason = "a secret, and this node holds no secret key to seal it with";
      }
      if ((p.action == "create" || p.action == "update") && current->exists) {
        auto violations = core_.check_value(caller, ns.name, p.item.key, p.item.value);
        if (!violations.ok()) return Unexpected{violations.error()};
        if (!violations->empty()) {
          p.action = "invalid";
          p.reason = "fails the namespace's schema";
          p.violations = std::move(*violations);
        }
      }
      if ((p.action == "create" || p.action == "update") && !p.item.secret &&
          secrets::looks_sealed(p.item.value)) {
        p.action = "invalid";
        p.reason = "values starting with {\"$sealed\" are reserved for sealed secrets";
      }
      ++plan.counts[p.action];
      pn.items.push_back(plan.items.size());
      plan.items.push_back(std::move(p));
    }
    plan.namespaces.push_back(std::move(pn));
  }
  return plan;
}

void Transfer::import_data(const http::RequestPtr& req, const http::Reply& reply) {
  auto source = parse_source(req->query_param("source").value_or(""));
  if (!source) {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation,
                                  "source must be cairn, consul, nacos, apollo or etcd", "source"));
  }
  Policy policy = Policy::kAbort;
  if (auto p = req->query_param("on_conflict"); p && !p->empty()) {
    if (*p == "skip") {
      policy = Policy::kSkip;
    } else if (*p == "overwrite") {
      policy = Policy::kOverwrite;
    } else if (*p != "abort") {
      return reply_error(reply, *req,
                         make_error(Errc::kValidation, "on_conflict must be skip, overwrite or abort",
                                    "on_conflict"));
    }
  }
  const bool dry_run = truthy(req->query_param("dry_run"));
  if (req->body.empty()) {
    return reply_error(reply, *req,
                       make_error(Errc::kBadRequest, "the request body is the file to import",
                                  "body"));
  }
  ParseOptions po;
  po.source = *source;
  po.format = std::string(req->query_param("format").value_or(""));
  po.ns = std::string(req->query_param("namespace").value_or(""));
  po.filename = std::string(req->query_param("filename").value_or(""));
  po.tenant = std::string(req->query_param("tenant").value_or(""));
  po.max_value_bytes = options_.max_value_bytes;
  auto set = parse_import(req->body, po);
  if (!set.ok()) return reply_error(reply, *req, set.error());
  // `namespaces=a,b`: only those of the file (the CLI imports a large file a few namespaces at
  // a time, to show its progress).
  if (auto only = req->query_param("namespaces"); only && !only->empty()) {
    std::set<std::string> keep;
    std::string_view rest = *only;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      keep.insert(std::string(rest.substr(0, comma)));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    std::erase_if(set->namespaces,
                  [&keep](const ImportNamespace& n) { return !keep.count(n.name); });
  }
  auto operator_name = native::operator_of(*req);
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  auto plan = this->plan(req->caller, std::move(*set), policy);
  if (!plan.ok()) return reply_error(reply, *req, plan.error());
  if (dry_run) {
    return reply_ok(reply, *req, "import preview (nothing written)",
                    plan_json(*plan, true, *source, policy, false));
  }
  if (plan->counts["invalid"] > 0) {
    api::Error e = make_error(Errc::kValidation,
                              std::to_string(plan->counts["invalid"]) +
                                  " key(s) of the file cannot be imported; nothing was written "
                                  "(the dry run lists them)",
                              "items");
    e.extra = plan_json(*plan, false, *source, policy, false, true);
    return reply_error(reply, *req, e);
  }
  if (policy == Policy::kAbort && plan->counts["conflict"] > 0) {
    api::Error e = make_error(Errc::kConflict,
                              std::to_string(plan->counts["conflict"]) +
                                  " key(s) already hold another value and on_conflict is abort; "
                                  "nothing was written (use skip or overwrite)",
                              "on_conflict");
    e.extra = plan_json(*plan, false, *source, policy, false, true);
    return reply_error(reply, *req, e);
  }
  auto run = std::make_shared<ImportRun>();
  run->req = req;
  run->reply = reply;
  run->caller = req->caller;
  run->operator_name = std::move(*operator_name);
  run->source = *source;
  run->policy = policy;
  run->plan = std::move(*plan);
  write(std::move(run), 0, 0);
}

/// Writes namespace `ns_index` from its item `from` on, one command at a time, then the next.
void Transfer::write(std::shared_ptr<ImportRun> run, size_t ns_index, size_t from) {
  auto& plan = run->plan;
  while (ns_index < plan.namespaces.size()) {
    auto& pn = plan.namespaces[ns_index];
    if (from == 0 && pn.create_with_settings) {
      // The export's namespace settings first: secret_keys must be there before its values.
      pn.create_with_settings = false;
      api::CreateNamespace create{pn.name, pn.description.value_or(""), pn.secret_keys};
      api::Command command{run->req->request_id, run->operator_name, std::move(create),
                           http::client_ip(*run->req)};
      auto self = shared_from_this();
      core_.submit(run->caller, std::move(command),
                   [self, run, ns_index](api::CommandResult result) {
                     if (!result.ok()) {
                       api::Error e{result.code, "namespace '" + run->plan.namespaces[ns_index].name +
                                                     "': " + result.details,
                                    result.field};
                       return reply_error(run->reply, *run->req, e);
                     }
                     run->plan.namespaces[ns_index].exists = true;
                     self->write(run, ns_index, 0);
                   });
      return;
    }
    api::WriteConfigs batch;
    batch.ns = pn.name;
    batch.batch = true;
    batch.create_namespace = !pn.exists;
    std::vector<size_t> in_batch;
    size_t bytes = 0;
    size_t i = from;
    for (; i < pn.items.size(); ++i) {
      Planned& p = plan.items[pn.items[i]];
      if (p.action != "create" && p.action != "update") continue;
      if (batch.ops.size() == api::kMaxBatchOperations ||
          (!batch.ops.empty() && bytes + p.item.value.size() > kBatchBytes)) {
        break;
      }
      api::ConfigWrite w;
      w.op = p.action == "create" ? api::ConfigOp::kCreate : api::ConfigOp::kUpdate;
      w.key = p.item.key;
      w.value = p.item.value;
      w.description = p.item.description;
      w.status = p.item.status;
      w.secret = p.item.secret;
      if (w.op == api::ConfigOp::kUpdate) w.expected_version = p.current_version;
      bytes += p.item.value.size();
      batch.ops.push_back(std::move(w));
      in_batch.push_back(pn.items[i]);
    }
    if (batch.ops.empty()) {
      ++ns_index;
      from = 0;
      continue;
    }
    const size_t next = i;
    api::Command command{run->req->request_id, run->operator_name, std::move(batch),
                         http::client_ip(*run->req)};
    auto self = shared_from_this();
    core_.submit(run->caller, std::move(command),
                 [self, run, ns_index, next, in_batch](api::CommandResult result) {
                   auto& pn = run->plan.namespaces[ns_index];
                   if (!result.ok()) {
                     api::Error e{result.code,
                                  "namespace '" + pn.name + "': " + result.details +
                                      " (namespaces before it in the file were written; this "
                                      "one was not)",
                                  result.field};
                     return reply_error(run->reply, *run->req, e);
                   }
                   if (const auto* written = result.as<api::ConfigsWritten>()) {
                     std::map<std::string, int64_t> versions;
                     for (const auto& op : written->ops) versions[op.key] = op.version;
                     for (size_t idx : in_batch) {
                       auto& p = run->plan.items[idx];
                       p.written_version = versions[p.item.key];
                     }
                     pn.revision = written->revision;
                   }
                   pn.written = true;
                   pn.exists = true;
                   self->write(run, ns_index, next);
                 });
    return;
  }
  finish(std::move(run));
}

/// The import in the audit log: one entry per namespace it wrote (beside each batch's own
/// `config.batch` entries, under the same request id), then the answer.
void Transfer::finish(std::shared_ptr<ImportRun> run) {
  api::AppendAudit audit;
  const int64_t now = wall_clock_ms();
  for (const auto& pn : run->plan.namespaces) {
    if (!pn.written) continue;
    audit.entries.push_back(api::AuditEntry{now, run->operator_name, http::client_ip(*run->req),
                                            "config.import", pn.name,
                                            std::string(source_name(run->source)), 0,
                                            run->req->request_id});
  }
  auto answer = [run] {
    reply_ok(run->reply, *run->req, "import written",
             plan_json(run->plan, false, run->source, run->policy, true));
  };
  if (audit.entries.empty()) return answer();
  api::Command command{run->req->request_id, run->operator_name, std::move(audit),
                       http::client_ip(*run->req)};
  core_.submit(api::Principal::unrestricted(), std::move(command),
               [answer](api::CommandResult) { answer(); });
}

void Transfer::export_data(const http::RequestPtr& req, const http::Reply& reply) {
  auto ns = native::required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  std::string format(req->query_param("format").value_or("json"));
  if (format.empty()) format = "json";
  if (format != "json" && format != "yaml" && format != "zip") {
    return reply_error(reply, *req,
                       make_error(Errc::kValidation, "format must be json, yaml or zip", "format"));
  }
  const std::string* header = req->header("x-cairn-reveal");
  const bool reveal = truthy(req->query_param("reveal")) || (header && truthy(*header));
  std::vector<std::string> names;
  const bool all = *ns == "all";
  if (all) {
    for (int64_t page = 1;; ++page) {
      auto rows = core_.list_namespaces(req->caller, {}, {page, 1000});
      if (!rows.ok()) return reply_error(reply, *req, rows.error());
      for (auto& r : rows->items) {
        if (req->caller.allows(r.name, api::Permission::kRead)) names.push_back(r.name);
      }
      if (rows->items.size() < 1000) break;
    }
  } else {
    if (auto bad = native::check_namespace(*ns); !bad.ok()) {
      return reply_error(reply, *req, bad.error());
    }
    names.push_back(*ns);
  }
  std::vector<ExportNamespace> out;
  for (const auto& name : names) {
    auto dump = core_.dump_namespace(req->caller, name, reveal);
    if (!dump.ok()) return reply_error(reply, *req, dump.error());
    if (!dump->exists) {
      if (all) continue;
      return reply_error(reply, *req,
                         make_error(Errc::kNamespaceNotFound, "namespace '" + name + "' not found",
                                    "namespace"));
    }
    ExportNamespace n;
    n.name = dump->ns;
    n.description = dump->description;
    n.status = dump->status;
    n.revision = dump->revision;
    n.secret_keys = dump->secret_keys;
    for (auto& c : dump->items) {
      ImportItem item;
      item.key = std::move(c.key);
      item.value = std::move(c.value);
      item.version = c.version;
      item.description = std::move(c.description);
      item.status = c.status;
      item.secret = c.secret;
      n.items.push_back(std::move(item));
    }
    out.push_back(std::move(n));
  }
  ExportMeta meta{format_utc(wall_clock_ms()), options_.node_id, reveal};
  http::Response res;
  const std::string base = "cairn-export-" + (all ? std::string("all") : *ns);
  if (format == "json") {
    res.body = export_json(out, meta);
    res.content_type = "application/json; charset=utf-8";
  } else if (format == "yaml") {
    res.body = export_yaml(out, meta);
    res.content_type = "application/yaml; charset=utf-8";
  } else {
    res.body = export_zip(out, meta);
    res.content_type = "application/zip";
  }
  res.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + base + "." + format + "\"");
  res.headers.emplace_back("Cache-Control", "no-store");
  res.headers.emplace_back("X-Cairn-Export-Namespaces", std::to_string(out.size()));
  size_t keys = 0;
  for (const auto& n : out) keys += n.items.size();
  res.headers.emplace_back("X-Cairn-Export-Keys", std::to_string(keys));
  reply(std::move(res));
}

}  // namespace

void register_routes(http::Router& router, core::Core& core, Options options) {
  auto t = std::make_shared<Transfer>(core, std::move(options));
  router.add(routes::kAdminExport,
             [t](http::RequestPtr req, http::Reply reply) { t->export_data(req, reply); });
  router.add(routes::kAdminImport,
             [t](http::RequestPtr req, http::Reply reply) { t->import_data(req, reply); });
}

}  // namespace cairn::transfer
