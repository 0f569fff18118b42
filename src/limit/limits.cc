#include "limit/limits.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace cairn::limit {

std::string_view to_string(RequestClass c) {
  switch (c) {
    case RequestClass::kRead:
      return "read";
    case RequestClass::kWrite:
      return "write";
    case RequestClass::kAdmin:
      return "admin";
  }
  return "read";
}

const ClassQuotas& Limits::client(std::string_view client_id) const {
  auto it = clients.find(client_id);
  return it == clients.end() ? client_default : it->second;
}

namespace {

constexpr double kMaxQps = 1e9;
constexpr double kMaxBurst = 1e12;
constexpr size_t kMaxClientsBound = 100'000'000;

/// The seed gives only rates for clients; a bucket holds two seconds' worth, as the seed's
/// global limiters do (10000/20000, 1000/2000, 100/200).
double default_burst(double qps) { return qps <= 0 ? 0 : std::max(1.0, std::ceil(2 * qps)); }

Quota quota(double qps) { return {qps, default_burst(qps)}; }

ClassQuotas quotas(double read, double write, double admin) {
  return {quota(read), quota(write), quota(admin)};
}

/// Turns one YAML document into Limits, naming file, line and key in every error. One use per
/// document, on the caller's thread.
class Parser {
 public:
  explicit Parser(std::string_view origin) : origin_(origin) {}

  Result<Limits, std::string> parse(const YAML::Node& root) {
    Limits out = default_limits();
    if (!root || root.IsNull()) return out;
    if (!root.IsMap()) return fail(root, "must be a mapping");
    const bool wrapped = static_cast<bool>(root["rate_limits"]);
    const YAML::Node section = wrapped ? root["rate_limits"] : root;
    if (wrapped) {
      if (root.size() != 1) return fail(root, "only the key 'rate_limits' may be at the top level");
      if (section.IsNull()) return out;
      if (!section.IsMap()) return fail(section, "'rate_limits' must be a mapping");
    }
    for (const auto& item : section) {
      const std::string key = item.first.as<std::string>();
      if (key != "global" && key != "default" && key != "vip_clients" && key != "max_clients") {
        return fail(item.first, "unknown key '" + key +
                                    "' (expected global, default, vip_clients, max_clients)");
      }
    }
    if (section["global"]) {
      if (auto r = class_quotas(section["global"], "global", out.global, false); !r.ok()) {
        return Unexpected{r.error()};
      }
    }
    if (section["default"]) {
      if (auto r = class_quotas(section["default"], "default", out.client_default, false);
          !r.ok()) {
        return Unexpected{r.error()};
      }
    }
    if (section["vip_clients"]) {
      // A file that lists VIP clients replaces the built-in list.
      out.clients.clear();
      const YAML::Node list = section["vip_clients"];
      if (!list.IsNull() && !list.IsSequence()) {
        return fail(list, "'vip_clients' must be a list");
      }
      size_t i = 0;
      for (const auto& entry : list) {
        const std::string where = "vip_clients[" + std::to_string(i++) + "]";
        if (!entry.IsMap()) return fail(entry, "'" + where + "' must be a mapping");
        const YAML::Node id = entry["client_id"];
        if (!id || !id.IsScalar() || id.Scalar().empty()) {
          return fail(entry, "'" + where + ".client_id' is required (a non-empty string)");
        }
        const std::string client_id = id.Scalar();
        ClassQuotas q = out.client_default;
        if (auto r = class_quotas(entry, where, q, true); !r.ok()) return Unexpected{r.error()};
        if (!out.clients.emplace(client_id, q).second) {
          return fail(id, "client_id '" + client_id + "' is listed twice");
        }
      }
    }
    if (const YAML::Node n = section["max_clients"]) {
      auto v = number(n, "max_clients");
      if (!v.ok()) return Unexpected{v.error()};
      if (*v < 1 || *v > static_cast<double>(kMaxClientsBound) || *v != std::floor(*v)) {
        return fail(n, "'max_clients' must be an integer between 1 and " +
                           std::to_string(kMaxClientsBound));
      }
      out.max_clients = static_cast<size_t>(*v);
    }
    return out;
  }

 private:
  Unexpected<std::string> fail(const YAML::Node& at, const std::string& what) {
    std::string where(origin_);
    const auto mark = at.Mark();
    if (mark.line >= 0) where += ":" + std::to_string(mark.line + 1);
    return Unexpected{where + ": " + what};
  }

  Result<double, std::string> number(const YAML::Node& n, const std::string& name) {
    if (!n.IsScalar()) return fail(n, "'" + name + "' must be a number");
    double v = 0;
    try {
      v = n.as<double>();
    } catch (const YAML::Exception&) {
      return fail(n, "'" + name + "' must be a number (got '" + n.Scalar() + "')");
    }
    if (!std::isfinite(v)) return fail(n, "'" + name + "' must be a finite number");
    return v;
  }

  /// Reads {read,write,admin}_{qps,burst} of `node` over `q`. A rate given without its burst
  /// gets the default burst for that rate; a burst alone keeps the inherited rate.
  Result<Ok, std::string> class_quotas(const YAML::Node& node, const std::string& where,
                                       ClassQuotas& q, bool allow_client_id) {
    if (node.IsNull()) return Ok{};
    if (!node.IsMap()) return fail(node, "'" + where + "' must be a mapping");
    static const std::set<std::string> known = {"read_qps",    "read_burst", "write_qps",
                                                "write_burst", "admin_qps",  "admin_burst"};
    for (const auto& item : node) {
      const std::string key = item.first.as<std::string>();
      if (known.count(key) || (allow_client_id && key == "client_id")) continue;
      return fail(item.first, "unknown key '" + where + "." + key +
                                  "' (expected read_qps, read_burst, write_qps, write_burst, "
                                  "admin_qps, admin_burst)");
    }
    for (size_t c = 0; c < kClassCount; ++c) {
      const std::string name(to_string(static_cast<RequestClass>(c)));
      const YAML::Node qps_node = node[name + "_qps"];
      const YAML::Node burst_node = node[name + "_burst"];
      Quota& target = q[c];
      if (qps_node) {
        auto v = number(qps_node, where + "." + name + "_qps");
        if (!v.ok()) return Unexpected{v.error()};
        if (*v < 0 || *v > kMaxQps) {
          return fail(qps_node,
                      "'" + where + "." + name + "_qps' must be between 0 (no limit) and 1e9");
        }
        target = quota(*v);
      }
      if (burst_node) {
        auto v = number(burst_node, where + "." + name + "_burst");
        if (!v.ok()) return Unexpected{v.error()};
        if (*v < 1 || *v > kMaxBurst) {
          return fail(burst_node, "'" + where + "." + name + "_burst' must be between 1 and 1e12");
        }
        target.burst = *v;
      }
      if (target.unlimited()) target.burst = 0;
    }
    return Ok{};
  }

  std::string_view origin_;
};

}  // namespace

Limits default_limits() {
  Limits l;
  l.global = {Quota{10'000, 20'000}, Quota{1'000, 2'000}, Quota{100, 200}};
  l.client_default = quotas(1'000, 100, 0);
  l.clients.emplace("core-service", quotas(5'000, 500, 0));
  return l;
}

Result<Limits, std::string> parse_limits(std::string_view yaml_text, std::string_view origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Unexpected{std::string(origin) + ": not valid YAML: " + e.what()};
  }
  try {
    return Parser(origin).parse(root);
  } catch (const YAML::Exception& e) {
    // A key that is not a scalar, and similar shapes the checks above do not name.
    return Unexpected{std::string(origin) + ": " + e.what()};
  }
}

Result<Limits, std::string> load_limits_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{"cannot read rate limits file " + path};
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Unexpected{"cannot read rate limits file " + path};
  return parse_limits(text.str(), path);
}

}  // namespace cairn::limit
