#include "core/releases.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstring>

#include "common/time.h"

namespace cairn::core {

using api::Errc;
using api::make_error;

namespace {

Unexpected<api::Error> invalid(std::string details, std::string field) {
  return Unexpected{make_error(Errc::kValidation, std::move(details), std::move(field))};
}

/// Parses an address ("10.0.0.7", "::1") into 16 bytes; v4 in the first 4.
bool parse_addr(std::string_view text, std::array<uint8_t, 16>& out, bool& v6) {
  std::string s(text);
  out.fill(0);
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    std::memcpy(out.data(), &a4, 4);
    v6 = false;
    return true;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v6 = true;
    // An IPv4-mapped address (::ffff:10.0.0.7) counts as the IPv4 one.
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(out.data(), kMapped, 12) == 0) {
      std::array<uint8_t, 16> v4{};
      std::memcpy(v4.data(), out.data() + 12, 4);
      out = v4;
      v6 = false;
    }
    return true;
  }
  return false;
}

std::optional<IpBlock> parse_block(std::string_view text) {
  IpBlock b;
  b.text = std::string(text);
  size_t slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  if (!parse_addr(addr, b.addr, b.v6)) return std::nullopt;
  const int max = b.v6 ? 128 : 32;
  b.bits = max;
  if (slash != std::string_view::npos) {
    std::string_view bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 ||
        !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    b.bits = std::stoi(std::string(bits));
    if (b.bits > max) return std::nullopt;
  }
  return b;
}

Result<double, api::Error> percent_of(const Json& v, const std::string& field) {
  if (!v.is_number()) return invalid(field + " must be a number from 0 to 100", field);
  double p = v.get<double>();
  if (!(p >= 0 && p <= 100)) return invalid(field + " must be a number from 0 to 100", field);
  return p;
}

Json number_json(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return Json(static_cast<int64_t>(v));
  return Json(v);
}

}  // namespace

bool label_name_ok(std::string_view n) {
  if (n.empty() || n.size() > 63 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '/' ||
           c == '-';
  });
}

bool label_value_ok(std::string_view v) {
  if (v.size() > 63) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool IpBlock::contains(std::string_view ip) const {
  std::array<uint8_t, 16> a{};
  bool a6 = false;
  if (!parse_addr(ip, a, a6) || a6 != v6) return false;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(a.data(), addr.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

int64_t parse_go_duration(std::string_view text) {
  if (text.empty()) return -1;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > (int64_t{1} << 40)) return -1;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i == start) return -1;
    size_t ustart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    int64_t mul = 0;
    if (unit == "ms") {
      mul = 1;
    } else if (unit == "s") {
      mul = 1000;
    } else if (unit == "m") {
      mul = 60'000;
    } else if (unit == "h") {
      mul = 3'600'000;
    } else {
      return -1;
    }
    total += n * mul;
    if (total > (int64_t{1} << 50)) return -1;
  }
  return total;
}

std::string format_go_duration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  if (ms >= 3'600'000) {
    out += std::to_string(ms / 3'600'000) + "h";
    ms %= 3'600'000;
  }
  if (ms >= 60'000) {
    out += std::to_string(ms / 60'000) + "m";
    ms %= 60'000;
  }
  if (ms % 1000 == 0) {
    if (ms) out += std::to_string(ms / 1000) + "s";
  } else {
    out += std::to_string(ms) + "ms";
  }
  return out;
}

uint32_t percent_bucket(std::string_view release_id, std::string_view client_id) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(release_id);
  mix("\n");
  mix(client_id);
  return static_cast<uint32_t>(h % 10000);
}

std::optional<double> ReleaseSpec::percent_at(int64_t stage) const {
  if (!stages.empty()) {
    size_t i = static_cast<size_t>(std::clamp<int64_t>(stage, 0, stages.size() - 1));
    return stages[i].percent;
  }
  return percent;
}

bool operator_tool(std::string_view client_id) {
  return client_id.starts_with("cairn-console:") || client_id.starts_with("cairn-cli@");
}

bool release_targets(const ReleaseSpec& spec, int64_t stage, std::string_view release_id,
                     const ClientIdentity& client) {
  if (operator_tool(client.id)) return false;
  for (const auto& label : spec.labels) {
    const auto& name = label.first;  // (a named copy: clang 14 cannot capture a binding)
    const auto& values = label.second;
    auto it = std::find_if(client.labels.begin(), client.labels.end(),
                           [&](const auto& l) { return l.first == name; });
    if (it == client.labels.end()) return false;
    if (std::find(values.begin(), values.end(), it->second) == values.end()) return false;
  }
  const std::optional<double> percent = spec.percent_at(stage);
  if (spec.ips.empty() && !percent) return true;
  for (const auto& b : spec.ips) {
    if (b.contains(client.ip)) return true;
  }
  if (percent) {
    const auto threshold = static_cast<uint32_t>(std::llround(*percent * 100));
    if (percent_bucket(release_id, client.id) < threshold) return true;
  }
  return false;
}

Result<ReleaseSpec, api::Error> parse_release_spec(const Json& target, const Json* plan) {
  ReleaseSpec spec;
  if (!target.is_object()) return invalid("target must be an object", "target");
  for (auto it = target.begin(); it != target.end(); ++it) {
    if (it.key() != "labels" && it.key() != "ips" && it.key() != "percent") {
      return invalid("unknown target field " + it.key(), "target." + it.key());
    }
  }
  if (auto l = target.find("labels"); l != target.end() && !l->is_null()) {
    if (!l->is_object()) return invalid("target.labels must be an object", "target.labels");
    if (l->size() > 16) return invalid("target.labels has more than 16 names", "target.labels");
    for (auto it = l->begin(); it != l->end(); ++it) {
      const std::string field = "target.labels." + it.key();
      if (!label_name_ok(it.key())) return invalid("bad label name " + it.key(), field);
      std::vector<std::string> values;
      auto add = [&](const Json& v) -> bool {
        if (!v.is_string() || !label_value_ok(v.get<std::string>())) return false;
        values.push_back(v.get<std::string>());
        return true;
      };
      if (it->is_array()) {
        if (it->empty() || it->size() > 64) {
          return invalid(field + " must list 1 to 64 values", field);
        }
        for (const auto& v : *it) {
          if (!add(v)) return invalid(field + " holds a bad label value", field);
        }
      } else if (!add(*it)) {
        return invalid(field + " must be a label value or a list of them", field);
      }
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      spec.labels.emplace_back(it.key(), std::move(values));
    }
    std::sort(spec.labels.begin(), spec.labels.end());
  }
  if (auto ips = target.find("ips"); ips != target.end() && !ips->is_null()) {
    if (!ips->is_array() || ips->size() > 256) {
      return invalid("target.ips must be a list of at most 256 addresses or CIDRs", "target.ips");
    }
    for (const auto& v : *ips) {
      auto b = v.is_string() ? parse_block(v.get<std::string>()) : std::nullopt;
      if (!b) return invalid("target.ips holds a bad address or CIDR", "target.ips");
      spec.ips.push_back(std::move(*b));
    }
  }
  if (auto p = target.find("percent"); p != target.end() && !p->is_null()) {
    auto v = percent_of(*p, "target.percent");
    if (!v.ok()) return Unexpected{v.error()};
    spec.percent = *v;
  }
  if (plan && !plan->is_null()) {
    if (!plan->is_object()) return invalid("plan must be an object", "plan");
    auto stages = plan->find("stages");
    if (stages == plan->end() || !stages->is_array() || stages->empty() || stages->size() > 20) {
      return invalid("plan.stages must list 1 to 20 stages", "plan.stages");
    }
    double last = -1;
    for (size_t i = 0; i < stages->size(); ++i) {
      const Json& s = (*stages)[i];
      const std::string field = "plan.stages[" + std::to_string(i) + "]";
      if (!s.is_object() || !s.contains("percent")) {
        return invalid(field + " must be an object with percent", field);
      }
      auto v = percent_of(s["percent"], field + ".percent");
      if (!v.ok()) return Unexpected{v.error()};
      if (*v < last) return invalid("plan.stages must not go down in percent", field + ".percent");
      last = *v;
      ReleaseStage st{*v, 0};
      if (auto h = s.find("hold"); h != s.end() && !h->is_null()) {
        st.hold_ms = h->is_string() ? parse_go_duration(h->get<std::string>()) : -1;
        if (st.hold_ms < 0) {
          return invalid(field + ".hold must be a duration such as 10m", field + ".hold");
        }
      }
      spec.stages.push_back(st);
    }
    if (auto g = plan->find("guard"); g != plan->end() && !g->is_null()) {
      if (!g->is_object()) return invalid("plan.guard must be an object", "plan.guard");
      ReleaseGuard guard;
      if (auto r = g->find("max_failed_ratio"); r != g->end() && !r->is_null()) {
        if (!r->is_number() || r->get<double>() < 0 || r->get<double>() > 1) {
          return invalid("plan.guard.max_failed_ratio must be from 0 to 1",
                         "plan.guard.max_failed_ratio");
        }
        guard.max_failed_ratio = r->get<double>();
      }
      if (auto m = g->find("min_acks"); m != g->end() && !m->is_null()) {
        if (!m->is_number_integer() || m->get<int64_t>() < 0 || m->get<int64_t>() > 1'000'000) {
          return invalid("plan.guard.min_acks must be a count", "plan.guard.min_acks");
        }
        guard.min_acks = m->get<int64_t>();
      }
      if (auto t = g->find("ack_timeout"); t != g->end() && !t->is_null()) {
        guard.ack_timeout_ms = t->is_string() ? parse_go_duration(t->get<std::string>()) : -1;
        if (guard.ack_timeout_ms < 0) {
          return invalid("plan.guard.ack_timeout must be a duration such as 2m",
                         "plan.guard.ack_timeout");
        }
      }
      spec.guard = guard;
    }
    if (auto f = plan->find("on_failure"); f != plan->end() && !f->is_null()) {
      if (!f->is_string() || (*f != "halt" && *f != "abort")) {
        return invalid("plan.on_failure must be halt or abort", "plan.on_failure");
      }
      spec.on_failure = f->get<std::string>();
    }
  }
  return spec;
}

Json ReleaseSpec::target_json() const {
  Json t = Json::object();
  if (!labels.empty()) {
    Json l = Json::object();
    for (const auto& [name, values] : labels) {
      if (values.size() == 1) {
        l[name] = values[0];
      } else {
        l[name] = values;
      }
    }
    t["labels"] = std::move(l);
  }
  if (!ips.empty()) {
    Json a = Json::array();
    for (const auto& b : ips) a.push_back(b.text);
    t["ips"] = std::move(a);
  }
  if (percent) t["percent"] = number_json(*percent);
  return t;
}

Json ReleaseSpec::stages_json() const {
  Json a = Json::array();
  for (const auto& s : stages) {
    Json one{{"percent", number_json(s.percent)}};
    if (s.hold_ms) one["hold"] = format_go_duration(s.hold_ms);
    a.push_back(std::move(one));
  }
  return a;
}

Json ReleaseSpec::guard_json() const {
  if (!guard) return nullptr;
  Json g{{"max_failed_ratio", number_json(guard->max_failed_ratio)},
         {"min_acks", guard->min_acks}};
  g["ack_timeout"] = guard->ack_timeout_ms ? Json(format_go_duration(guard->ack_timeout_ms))
                                           : Json(nullptr);
  return g;
}

Json ReleaseSpec::canonical() const {
  Json plan = nullptr;
  if (!stages.empty()) {
    plan = Json{{"stages", stages_json()}};
    plan["guard"] = guard_json();
    plan["on_failure"] = on_failure;
  }
  Json out{{"target", target_json()}};
  out["plan"] = std::move(plan);
  return out;
}

Result<ReleaseSpec, api::Error> parse_release_spec_text(std::string_view canonical) {
  auto doc = parse_json(canonical, 16);
  if (!doc || !doc->is_object() || !doc->contains("target")) {
    return invalid("spec is not a release spec", "spec");
  }
  const Json* plan = doc->contains("plan") ? &(*doc)["plan"] : nullptr;
  return parse_release_spec((*doc)["target"], plan);
}

ReleasePtr make_release(const store::ReleaseRow& row) {
  auto r = std::make_shared<Release>();
  r->row = row;
  auto spec = parse_release_spec_text(row.spec);
  if (spec.ok()) {
    r->spec = std::move(*spec);
  } else {
    r->spec.percent = 0;  // targets nobody
  }
  if (auto doc = parse_json(row.changes, 80); doc && doc->is_object()) {
    for (auto it = doc->begin(); it != doc->end(); ++it) {
      if (it->is_null()) {
        r->changes[it.key()] = std::nullopt;
      } else {
        r->changes[it.key()] = dump_compact(*it);
      }
    }
  }
  return r;
}

Json release_json(const Release& r) {
  Json out = Json::object();
  out["id"] = r.row.id;
  out["namespace"] = r.row.ns;
  out["state"] = r.row.state;
  out["stage"] = r.row.stage;
  out["stages"] = r.spec.stages_json();
  out["target"] = r.spec.target_json();
  out["guard"] = r.spec.guard_json();
  out["on_failure"] = r.spec.on_failure;
  Json changes = Json::object();
  if (auto doc = parse_json(r.row.changes, 80); doc && doc->is_object()) changes = *doc;
  out["changes"] = std::move(changes);
  out["revision"] = r.row.revision;
  out["description"] = r.row.description;
  out["created_by"] = r.row.created_by;
  out["created_at"] = format_utc(r.row.created_at_ms);
  out["updated_at"] = format_utc(r.row.updated_at_ms);
  out["stage_started_at"] = format_utc(r.row.stage_started_ms);
  out["reason"] = r.row.reason;
  Json transitions = Json::array();
  if (auto doc = parse_json(r.row.transitions, 16); doc && doc->is_array()) {
    for (auto& t : *doc) {
      if (t.is_object() && t.contains("at_ms") && t["at_ms"].is_number_integer()) {
        t["at"] = format_utc(t["at_ms"].get<int64_t>());
        t.erase("at_ms");
      }
      transitions.push_back(std::move(t));
    }
  }
  out["transitions"] = std::move(transitions);
  return out;
}

void Releases::reload(const store::Store& store) {
  auto rows = store.releases();
  if (!rows.ok()) return;  // keeps the last view; the next apply reloads again
  std::map<std::string, ReleasePtr, std::less<>> next;
  for (const auto& row : *rows) {
    auto r = make_release(row);
    if (r->live()) next[row.ns] = std::move(r);
  }
  std::lock_guard lock(mu_);
  by_ns_ = std::move(next);
  ++generation_;
}

ReleasePtr Releases::live_for(std::string_view ns) const {
  std::lock_guard lock(mu_);
  auto it = by_ns_.find(ns);
  return it == by_ns_.end() ? nullptr : it->second;
}

ReleasePtr Releases::gray_for(std::string_view ns, const ClientIdentity& client) const {
  ReleasePtr r = live_for(ns);
  if (r && r->targets(client)) return r;
  return nullptr;
}

std::vector<ReleasePtr> Releases::live() const {
  std::lock_guard lock(mu_);
  std::vector<ReleasePtr> out;
  for (const auto& [ns, r] : by_ns_) out.push_back(r);
  return out;
}

uint64_t Releases::generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

}  // namespace cairn::core
