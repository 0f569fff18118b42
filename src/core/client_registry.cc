#include "core/client_registry.h"

#include <algorithm>
#include <cstdio>

#include "common/time.h"

namespace cairn::core {

ClientRecord& ClientRegistry::touch_locked(const ClientIdentity& client, int64_t now_ms) {
  if (now_ms - last_sweep_ms_ > 10'000) {
    last_sweep_ms_ = now_ms;
    for (auto it = clients_.begin(); it != clients_.end();) {
      bool watching = std::any_of(it->second.namespaces.begin(), it->second.namespaces.end(),
                                  [](const auto& n) { return n.second.watching > 0; });
      if (!watching && now_ms - it->second.last_seen_ms > options_.idle_ms) {
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto it = clients_.find(client.id);
  if (it == clients_.end()) {
    if (clients_.size() >= options_.max_clients) evict_one_locked();
    it = clients_.emplace(client.id, ClientRecord{}).first;
    it->second.first_seen_ms = now_ms;
  }
  ClientRecord& r = it->second;
  r.identity = client;  // labels and address as the client gives them now
  r.last_seen_ms = now_ms;
  return r;
}

void ClientRegistry::evict_one_locked() {
  auto oldest = clients_.end();
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (oldest == clients_.end() || it->second.last_seen_ms < oldest->second.last_seen_ms) {
      oldest = it;
    }
  }
  if (oldest != clients_.end()) clients_.erase(oldest);
}

ClientNamespace& ClientRegistry::ns_locked(ClientRecord& r, std::string_view ns, int64_t now_ms) {
  auto it = r.namespaces.find(ns);
  if (it == r.namespaces.end()) {
    if (r.namespaces.size() >= options_.max_namespaces) {
      auto oldest = r.namespaces.begin();
      for (auto n = r.namespaces.begin(); n != r.namespaces.end(); ++n) {
        if (n->second.touched_ms < oldest->second.touched_ms) oldest = n;
      }
      r.namespaces.erase(oldest);
    }
    it = r.namespaces.emplace(std::string(ns), ClientNamespace{}).first;
  }
  it->second.touched_ms = now_ms;
  return it->second;
}

void ClientRegistry::sent(const ClientIdentity& client, std::string_view ns, uint64_t revision,
                          std::string_view release, int watch_delta) {
  const int64_t now = wall_clock_ms();
  std::lock_guard lock(mu_);
  ClientRecord& r = touch_locked(client, now);
  ClientNamespace& n = ns_locked(r, ns, now);
  if (revision > 0 && revision >= n.sent_revision) {
    n.sent_revision = revision;
    n.sent_release = std::string(release);
  } else if (revision == 0 && watch_delta == 0) {  // a key read: no namespace revision
    n.sent_release = std::string(release);
  }
  n.watching = std::max(0, n.watching + watch_delta);
}

void ClientRegistry::watch_ended(std::string_view client_id, std::string_view ns) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(std::string(client_id));
  if (it == clients_.end()) return;
  auto n = it->second.namespaces.find(ns);
  if (n != it->second.namespaces.end()) n->second.watching = std::max(0, n->second.watching - 1);
  it->second.last_seen_ms = wall_clock_ms();
}

void ClientRegistry::ack(const ClientIdentity& client, std::string_view ns, uint64_t revision,
                         std::string_view status, std::string_view error,
                         std::string_view release) {
  const int64_t now = wall_clock_ms();
  std::lock_guard lock(mu_);
  ClientRecord& r = touch_locked(client, now);
  ClientNamespace& n = ns_locked(r, ns, now);
  n.acked_revision = revision;
  n.ack_status = std::string(status);
  n.ack_error = std::string(error.substr(0, options_.max_error_bytes));
  n.acked_release = std::string(release);
  n.acked_at_ms = now;
}

namespace {

Json ns_json(const std::string& name, const ClientNamespace& n) {
  Json j = Json::object();
  j["namespace"] = name;
  j["watching"] = n.watching > 0;
  j["sent_revision"] = n.sent_revision;
  j["acked_revision"] = n.acked_revision;
  j["ack_status"] = n.ack_status.empty() ? Json(nullptr) : Json(n.ack_status);
  j["ack_error"] = n.ack_error.empty() ? Json(nullptr) : Json(n.ack_error);
  j["acked_at"] = n.acked_at_ms ? Json(format_utc(n.acked_at_ms)) : Json(nullptr);
  j["acked_at_ms"] = n.acked_at_ms;
  j["acked_release"] = n.acked_release.empty() ? Json(nullptr) : Json(n.acked_release);
  j["release_id"] = n.sent_release.empty() ? Json(nullptr) : Json(n.sent_release);
  j["gray"] = !n.sent_release.empty();
  return j;
}

}  // namespace

Json ClientRegistry::view(const ClientFilter& filter, int64_t node_id) const {
  std::lock_guard lock(mu_);
  Json out = Json::array();
  std::vector<const ClientRecord*> records;
  for (const auto& entry : clients_) {
    const ClientRecord& r = entry.second;  // (not a binding: clang 14 cannot capture one)
    if (filter.ns && !r.namespaces.contains(*filter.ns)) continue;
    bool labels_ok = std::all_of(filter.labels.begin(), filter.labels.end(), [&](const auto& l) {
      return std::find(r.identity.labels.begin(), r.identity.labels.end(), l) !=
             r.identity.labels.end();
    });
    if (labels_ok) records.push_back(&r);
  }
  std::sort(records.begin(), records.end(), [](const ClientRecord* a, const ClientRecord* b) {
    return a->identity.id < b->identity.id;
  });
  for (const ClientRecord* r : records) {
    Json c = Json::object();
    c["id"] = r->identity.id;
    Json labels = Json::object();
    for (const auto& [k, v] : r->identity.labels) labels[k] = v;
    c["labels"] = std::move(labels);
    c["ip"] = r->identity.ip;
    c["protocol"] = r->identity.protocol;
    c["node"] = node_id;
    c["first_seen"] = format_utc(r->first_seen_ms);
    c["last_seen"] = format_utc(r->last_seen_ms);
    c["first_seen_ms"] = r->first_seen_ms;
    c["last_seen_ms"] = r->last_seen_ms;
    Json nss = Json::array();
    for (const auto& [name, n] : r->namespaces) {
      if (filter.ns && name != *filter.ns) continue;
      nss.push_back(ns_json(name, n));
    }
    c["namespaces"] = std::move(nss);
    out.push_back(std::move(c));
  }
  return out;
}

size_t ClientRegistry::sweep(int64_t now_ms) {
  std::lock_guard lock(mu_);
  size_t before = clients_.size();
  for (auto it = clients_.begin(); it != clients_.end();) {
    bool watching = std::any_of(it->second.namespaces.begin(), it->second.namespaces.end(),
                                [](const auto& n) { return n.second.watching > 0; });
    if (!watching && now_ms - it->second.last_seen_ms > options_.idle_ms) {
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
  last_sweep_ms_ = now_ms;
  return before - clients_.size();
}

size_t ClientRegistry::size() const {
  std::lock_guard lock(mu_);
  return clients_.size();
}

size_t ClientRegistry::memory_bytes() const {
  std::lock_guard lock(mu_);
  // Heap held by the map node, the strings beyond their small-string buffers and the
  // namespace map nodes (the red-black tree node overhead is 32 bytes on 64-bit libstdc++).
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  size_t bytes = clients_.bucket_count() * sizeof(void*);
  for (const auto& [id, r] : clients_) {
    bytes += sizeof(std::pair<const std::string, ClientRecord>) + 2 * sizeof(void*) + heap(id);
    bytes += heap(r.identity.id) + heap(r.identity.ip) + heap(r.identity.protocol);
    bytes += r.identity.labels.capacity() * sizeof(std::pair<std::string, std::string>);
    for (const auto& [k, v] : r.identity.labels) bytes += heap(k) + heap(v);
    for (const auto& [name, n] : r.namespaces) {
      bytes += sizeof(std::pair<const std::string, ClientNamespace>) + 32 + heap(name) +
               heap(n.sent_release) + heap(n.ack_status) + heap(n.ack_error) +
               heap(n.acked_release);
    }
  }
  return bytes;
}

namespace {

Json member(const Json& j, const char* name) {
  auto it = j.find(name);
  return it == j.end() ? Json(nullptr) : *it;
}

Json str_or(const Json& j, const char* name, Json fallback) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? *it : fallback;
}

Json uint_or_zero(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return Json(uint64_t{0});
  if (it->is_number_unsigned()) return *it;
  return Json(static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>())));
}

Json int_or_zero(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_number_integer() ? *it : Json(int64_t{0});
}

bool bool_or_false(const Json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

/// A client entry as another node sent it, with every field of its type (what is missing or
/// ill-typed takes its empty value); nullopt without an id.
std::optional<Json> clean_client(const Json& c) {
  if (!c.is_object() || !c.contains("id") || !c["id"].is_string()) return std::nullopt;
  Json out = Json::object();
  out["id"] = c["id"];
  Json labels = Json::object();
  if (auto l = c.find("labels"); l != c.end() && l->is_object()) {
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (it->is_string()) labels[it.key()] = *it;
    }
  }
  out["labels"] = std::move(labels);
  out["ip"] = str_or(c, "ip", "");
  out["protocol"] = str_or(c, "protocol", "native");
  out["node"] = int_or_zero(c, "node");
  out["first_seen"] = str_or(c, "first_seen", "");
  out["last_seen"] = str_or(c, "last_seen", "");
  out["first_seen_ms"] = int_or_zero(c, "first_seen_ms");
  out["last_seen_ms"] = int_or_zero(c, "last_seen_ms");
  Json namespaces = Json::array();
  if (auto list = c.find("namespaces"); list != c.end() && list->is_array()) {
    for (const Json& n : *list) {
      if (!n.is_object() || !n.contains("namespace") || !n["namespace"].is_string()) continue;
      Json x = Json::object();
      x["namespace"] = n["namespace"];
      x["watching"] = bool_or_false(n, "watching");
      x["sent_revision"] = uint_or_zero(n, "sent_revision");
      x["acked_revision"] = uint_or_zero(n, "acked_revision");
      x["ack_status"] = str_or(n, "ack_status", nullptr);
      x["ack_error"] = str_or(n, "ack_error", nullptr);
      x["acked_at"] = str_or(n, "acked_at", nullptr);
      x["acked_at_ms"] = int_or_zero(n, "acked_at_ms");
      x["acked_release"] = str_or(n, "acked_release", nullptr);
      x["release_id"] = str_or(n, "release_id", nullptr);
      x["gray"] = bool_or_false(n, "gray");
      namespaces.push_back(std::move(x));
    }
  }
  out["namespaces"] = std::move(namespaces);
  return out;
}

}  // namespace

Json merge_client_views(const std::vector<Json>& views) {
  std::map<std::string, Json> by_id;
  for (const Json& view : views) {
    if (!view.is_array()) continue;
    for (const Json& raw : view) {
      std::optional<Json> cleaned = clean_client(raw);
      if (!cleaned) continue;
      const Json& c = *cleaned;
      const std::string id = c["id"].get<std::string>();
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        by_id.emplace(id, c);
        continue;
      }
      Json& m = it->second;
      const bool newer = c.value("last_seen_ms", int64_t{0}) > m.value("last_seen_ms", int64_t{0});
      Json merged_ns = m.value("namespaces", Json::array());
      for (const Json& n : c.value("namespaces", Json::array())) {
        auto same = std::find_if(merged_ns.begin(), merged_ns.end(), [&](const Json& x) {
          return x.value("namespace", "") == n.value("namespace", "");
        });
        if (same == merged_ns.end()) {
          merged_ns.push_back(n);
          continue;
        }
        Json& x = *same;
        x["watching"] = x.value("watching", false) || n.value("watching", false);
        if (n.value("sent_revision", uint64_t{0}) > x.value("sent_revision", uint64_t{0})) {
          x["sent_revision"] = member(n, "sent_revision");
          x["release_id"] = member(n, "release_id");
          x["gray"] = member(n, "gray");
        }
        if (n.value("acked_at_ms", int64_t{0}) > x.value("acked_at_ms", int64_t{0})) {
          for (const char* f : {"acked_revision", "ack_status", "ack_error", "acked_at",
                                "acked_at_ms", "acked_release"}) {
            x[f] = member(n, f);
          }
        }
      }
      Json first_seen = member(m, "first_seen"), first_seen_ms = member(m, "first_seen_ms");
      if (c.value("first_seen_ms", int64_t{0}) < m.value("first_seen_ms", int64_t{0})) {
        first_seen = member(c, "first_seen");
        first_seen_ms = member(c, "first_seen_ms");
      }
      if (newer) {
        Json keep = c;
        m = std::move(keep);
      }
      m["namespaces"] = std::move(merged_ns);
      m["first_seen"] = std::move(first_seen);
      m["first_seen_ms"] = std::move(first_seen_ms);
    }
  }
  Json out = Json::array();
  for (auto& [id, c] : by_id) out.push_back(std::move(c));
  return out;
}

Json ReleaseProgress::to_json() const {
  return Json{{"targeted", targeted}, {"received", received},
              {"applied", applied},   {"failed", failed},
              {"silent", silent},     {"failed_clients", failed_clients}};
}

ReleaseProgress release_progress(const Release& release, const Json& clients) {
  ReleaseProgress p;
  if (!clients.is_array()) return p;
  for (const Json& raw : clients) {
    std::optional<Json> cleaned = clean_client(raw);
    if (!cleaned) continue;
    const Json& c = *cleaned;
    ClientIdentity id;
    id.id = c.value("id", "");
    id.ip = c.value("ip", "");
    if (c.contains("labels") && c["labels"].is_object()) {
      for (auto it = c["labels"].begin(); it != c["labels"].end(); ++it) {
        if (it->is_string()) id.labels.emplace_back(it.key(), it->get<std::string>());
      }
      std::sort(id.labels.begin(), id.labels.end());
    }
    const Json* ns = nullptr;
    if (auto list = c.find("namespaces"); list != c.end() && list->is_array()) {
      for (const Json& n : *list) {
        if (n.is_object() && n.value("namespace", "") == release.row.ns) {
          ns = &n;
          break;
        }
      }
    }
    if (!ns || !release.targets(id)) continue;
    ++p.targeted;
    auto str = [&](const char* f) {
      return (*ns).contains(f) && (*ns)[f].is_string() ? (*ns)[f].get<std::string>()
                                                       : std::string();
    };
    if (str("release_id") == release.row.id) ++p.received;
    const bool acked_this = str("acked_release") == release.row.id &&
                            ns->value("acked_revision", uint64_t{0}) >= release.row.revision;
    if (acked_this && str("ack_status") == "applied") {
      ++p.applied;
    } else if (acked_this && str("ack_status") == "failed") {
      ++p.failed;
      p.failed_clients.push_back(Json{{"id", id.id},
                                      {"ip", id.ip},
                                      {"node", c.value("node", int64_t{0})},
                                      {"revision", ns->value("acked_revision", uint64_t{0})},
                                      {"error", str("ack_error")}});
    } else {
      ++p.silent;
    }
  }
  return p;
}

}  // namespace cairn::core

namespace cairn::core {

namespace {

std::string ratio_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

PlanStep plan_step(const Release& release, const ReleaseProgress& progress, int64_t now_ms) {
  const ReleaseSpec& spec = release.spec;
  PlanStep step;
  if (release.row.state != "active" || spec.stages.empty()) return step;
  const int64_t stage = std::clamp<int64_t>(release.row.stage, 0, spec.stages.size() - 1);
  const int64_t elapsed = now_ms - release.row.stage_started_ms;
  const int64_t acked = progress.applied + progress.failed;
  int64_t required = 0;
  const std::string fail_action = spec.on_failure == "abort" ? "abort" : "halt";
  if (spec.guard) {
    const ReleaseGuard& g = *spec.guard;
    required = std::min<int64_t>(g.min_acks, progress.targeted);
    if (acked > 0) {
      const double ratio = static_cast<double>(progress.failed) / static_cast<double>(acked);
      if (ratio > g.max_failed_ratio) {
        step.action = fail_action;
        step.stage = stage;
        step.reason = "guard: " + std::to_string(progress.failed) + " of " +
                      std::to_string(acked) + " acks failed (ratio " + ratio_text(ratio) +
                      " > max_failed_ratio " + ratio_text(g.max_failed_ratio) + ")";
        return step;
      }
    }
    if (g.ack_timeout_ms > 0 && elapsed >= g.ack_timeout_ms && acked < required) {
      step.action = fail_action;
      step.stage = stage;
      step.reason = "guard: " + std::to_string(acked) + " acks within " +
                    format_go_duration(g.ack_timeout_ms) + " of stage " + std::to_string(stage) +
                    ", " + std::to_string(required) + " required (min_acks)";
      return step;
    }
  }
  if (stage + 1 < static_cast<int64_t>(spec.stages.size()) &&
      elapsed >= spec.stages[static_cast<size_t>(stage)].hold_ms && acked >= required) {
    step.action = "advance";
    step.stage = stage + 1;
    step.reason = "plan: stage " + std::to_string(stage) + " held " +
                  format_go_duration(spec.stages[static_cast<size_t>(stage)].hold_ms) +
                  " with the guard holding (" + std::to_string(progress.applied) + " applied, " +
                  std::to_string(progress.failed) + " failed of " +
                  std::to_string(progress.targeted) + " targeted)";
  }
  return step;
}

}  // namespace cairn::core
