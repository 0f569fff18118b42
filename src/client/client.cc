#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "client/client_impl.h"

namespace cairn {

using client_detail::Clock;
using client_detail::Endpoint;
using client_detail::HttpRequest;
using client_detail::HttpResponse;
using client_detail::TransportError;
using client_detail::TransportFailure;
using std::chrono::milliseconds;

std::string ClientError::to_string() const {
  std::string out = std::to_string(code);
  if (http_status != 0) out += " (HTTP " + std::to_string(http_status) + ")";
  if (!message.empty()) out += " " + message;
  if (!details.empty()) out += ": " + details;
  if (!field.empty()) out += " [field " + field + "]";
  return out;
}

namespace {

/// Sleeps `d`, returning false early when `cancel_fd` becomes readable.
bool sleep_cancellable(milliseconds d, int cancel_fd) {
  if (d.count() <= 0) return true;
  if (cancel_fd < 0) {
    std::this_thread::sleep_for(d);
    return true;
  }
  pollfd p{cancel_fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(d.count())) == 0;
}

ClientError invalid(std::string details) {
  ClientError e;
  e.code = ClientError::kInvalid;
  e.message = "invalid argument";
  e.details = std::move(details);
  return e;
}

/// The leader's HTTP address named by a 50302 answer, under any of the names a server may use.
std::optional<Endpoint> leader_hint(const Json& envelope) {
  for (const char* where : {"error", "data"}) {
    if (!envelope.contains(where) || !envelope[where].is_object()) continue;
    const Json& obj = envelope[where];
    for (const char* name : {"leader_http", "leader_endpoint", "leader_url", "leader_addr",
                             "leader_http_addr", "leader"}) {
      if (obj.contains(name) && obj[name].is_string()) {
        auto ep = client_detail::parse_endpoint(obj[name].get<std::string>());
        if (ep) return ep;
      }
    }
  }
  return std::nullopt;
}

milliseconds retry_after(const HttpResponse& response, const Json& envelope) {
  std::string h = response.header("retry-after");
  if (!h.empty() && std::all_of(h.begin(), h.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      h.size() < 7) {
    return milliseconds(std::stoll(h) * 1000);
  }
  if (envelope.contains("data") && envelope["data"].is_object() &&
      envelope["data"].contains("retry_after") && envelope["data"]["retry_after"].is_number()) {
    return milliseconds(static_cast<int64_t>(envelope["data"]["retry_after"].get<double>() * 1000));
  }
  return milliseconds(1000);
}

template <class T>
T field_or(const Json& j, const char* name, T fallback) {
  if (!j.is_object() || !j.contains(name) || j[name].is_null()) return fallback;
  try {
    return j[name].get<T>();
  } catch (const Json::exception&) {
    return fallback;
  }
}

Json member(const Json& j, const char* name) {
  return j.is_object() && j.contains(name) ? j[name] : Json();
}

Pagination parse_pagination(const Json& j) {
  Pagination p;
  Json pj = member(j, "pagination");
  p.page = field_or<int64_t>(pj, "page", 1);
  p.page_size = field_or<int64_t>(pj, "page_size", 20);
  p.total = field_or<int64_t>(pj, "total", 0);
  p.total_pages = field_or<int64_t>(pj, "total_pages", 0);
  return p;
}

NamespaceInfo parse_namespace(const Json& j) {
  NamespaceInfo n;
  n.id = field_or<int64_t>(j, "id", 0);
  n.name = field_or<std::string>(j, "name", "");
  n.description = field_or<std::string>(j, "description", "");
  n.status = field_or<int>(j, "status", 1);
  n.config_count = field_or<int64_t>(j, "config_count", 0);
  n.revision = field_or<int64_t>(j, "revision", 0);
  n.created_at = field_or<std::string>(j, "created_at", "");
  n.updated_at = field_or<std::string>(j, "updated_at", "");
  return n;
}

WriteResult parse_write(const Json& j) {
  WriteResult w;
  w.id = field_or<int64_t>(j, "id", 0);
  w.ns = field_or<std::string>(j, "namespace", "");
  w.key = field_or<std::string>(j, "key", "");
  w.version = field_or<int64_t>(j, "version", 0);
  w.old_version = field_or<int64_t>(j, "old_version", 0);
  w.changed = field_or<bool>(j, "changed", true);
  return w;
}

NamespaceContent parse_content(const Json& j) {
  NamespaceContent c;
  c.ns = field_or<std::string>(j, "namespace", "");
  c.revision = field_or<int64_t>(j, "version", 0);
  c.updated_at = field_or<std::string>(j, "updated_at", "");
  Json configs = member(j, "configs");
  if (configs.is_object()) {
    for (auto it = configs.begin(); it != configs.end(); ++it) c.configs[it.key()] = it.value();
  }
  for (const auto& k : member(j, "unavailable")) {
    if (k.is_string()) c.unavailable.push_back(k.get<std::string>());
  }
  return c;
}

ConfigValue parse_value(const Json& j, const std::string& ns, const std::string& key) {
  ConfigValue v;
  v.ns = field_or<std::string>(j, "namespace", ns);
  v.key = field_or<std::string>(j, "key", key);
  v.value = member(j, "value");
  v.version = field_or<int64_t>(j, "version", 0);
  v.updated_at = field_or<std::string>(j, "updated_at", "");
  return v;
}

/// `at` as the query parameter's Unix milliseconds, or nullopt before 1970 (the server takes
/// only digits).
std::optional<std::string> at_param(TimePoint at) {
  const int64_t ms = std::chrono::floor<std::chrono::milliseconds>(at.time_since_epoch()).count();
  if (ms < 0) return std::nullopt;
  return std::to_string(ms);
}

bool transport_only(const ClientError& e) {
  return e.code == ClientError::kTransport || e.code == 50301 || e.code == 50302 ||
         (e.code == ClientError::kProtocol && e.http_status >= 500);
}

}  // namespace

Client::Impl::Impl(ClientOptions options)
    : options_(std::move(options)), cache_(options_.cache_dir) {
  for (const auto& text : options_.endpoints) {
    auto ep = client_detail::parse_endpoint(text);
    if (!ep) {
      endpoint_error_ = "malformed endpoint '" + text + "' (expected http://host:port)";
      continue;
    }
    endpoints_.push_back(*ep);
  }
  bool any_tls = std::any_of(endpoints_.begin(), endpoints_.end(),
                             [](const client_detail::Endpoint& e) { return e.tls; });
  if (any_tls || !options_.ca_file.empty() || !options_.cert_file.empty()) {
    std::string why;
    tls_ = client_detail::TlsContext::create(options_.ca_file, options_.cert_file,
                                             options_.key_file, &why);
    if (!tls_) {
      endpoint_error_ = why;  // every call answers this instead of trying
      tls_failed_ = true;
    }
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) wake_fds_[0] = wake_fds_[1] = -1;
}

Client::Impl::~Impl() {
  stop_watch_thread();
  if (stop_fd_ >= 0) ::close(stop_fd_);
  for (int fd : wake_fds_) {
    if (fd >= 0) ::close(fd);
  }
}

ClientResult<Json> Client::Impl::call(const Call& c, int cancel_fd) {
  if (endpoints_.empty() || tls_failed_) {
    return invalid(endpoint_error_.empty() ? "no endpoints configured" : endpoint_error_);
  }
  HttpRequest request;
  request.method = c.method;
  request.target = c.path;
  char sep = '?';
  for (const auto& [k, v] : c.query) {
    request.target += sep + client_detail::url_encode(k) + "=" + client_detail::url_encode(v);
    sep = '&';
  }
  if (!options_.token.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + options_.token);
  }
  if (!options_.operator_name.empty()) {
    request.headers.emplace_back("X-Operator", options_.operator_name);
  }
  if (c.body) request.body = c.body->dump();

  ClientError last;
  last.code = ClientError::kTransport;
  last.message = "no endpoint answered";
  milliseconds backoff = options_.backoff_initial;
  const size_t n = endpoints_.size();
  for (int round = 0; round < std::max(1, options_.max_rounds); ++round) {
    if (round > 0) {
      if (!sleep_cancellable(backoff, cancel_fd)) return last;
      backoff = std::min(backoff * 2, options_.backoff_max);
    }
    const size_t start = preferred_.load();
    for (size_t i = 0; i < n; ++i) {
      const size_t index = (start + i) % n;
      Endpoint ep = endpoints_[index];
      bool listed = true;
      for (int hop = 0;; ++hop) {
        HttpResponse response;
        TransportError terr;
        bool answered =
            client_detail::http_exchange(ep, tls_.get(), request, options_.connect_timeout,
                                         options_.request_timeout, cancel_fd, &response, &terr);
        if (!answered) {
          last = ClientError{};
          last.code = ClientError::kTransport;
          last.message = "request failed";
          last.details = terr.what;
          last.endpoint = ep.url;
          if (terr.kind == TransportFailure::kCancelled) return last;
          if (terr.kind != TransportFailure::kConnect && !c.idempotent) {
            last.message = "request failed after it was sent; it may have been applied";
            return last;
          }
          break;  // next endpoint
        }
        Json envelope = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
        if (!envelope.is_object() || !envelope.contains("code") ||
            !envelope["code"].is_number_integer()) {
          last = ClientError{};
          last.code = ClientError::kProtocol;
          last.http_status = response.status;
          last.message = "not a Cairn envelope (HTTP " + std::to_string(response.status) + ")";
          last.details = response.body.substr(0, 200);
          last.endpoint = ep.url;
          if (response.status >= 500 && (c.idempotent || response.status == 503)) break;
          return last;
        }
        const int code = envelope["code"].get<int>();
        if (code == 0) {
          if (listed) preferred_.store(index);
          return envelope.contains("data") ? envelope["data"] : Json();
        }
        last = ClientError{};
        last.code = code;
        last.http_status = response.status;
        last.message = field_or<std::string>(envelope, "message", "");
        Json err = member(envelope, "error");
        last.details = field_or<std::string>(err, "details", "");
        last.field = field_or<std::string>(err, "field", "");
        last.endpoint = ep.url;
        if (code == 50302) {
          auto hint = leader_hint(envelope);
          if (hint && hint->url != ep.url && hop < 3) {
            ep = *hint;
            listed = false;
            for (size_t j = 0; j < n; ++j) {
              if (endpoints_[j].url == hint->url) {
                preferred_.store(j);  // talk to the leader first from now on
              }
            }
            continue;
          }
          break;
        }
        if (code == 50301) break;
        if (response.status == 429) {
          milliseconds wait = retry_after(response, envelope);
          if (wait > options_.max_retry_after || hop >= 3) return last;
          if (!sleep_cancellable(wait, cancel_fd)) return last;
          continue;
        }
        return last;  // the server's answer, not a reason to try elsewhere
      }
    }
  }
  return last;
}

ClientResult<NamespaceContent> Client::Impl::fetch_namespace(
    const std::string& ns, int cancel_fd, std::vector<std::pair<std::string, std::string>> query) {
  auto r = call(
      {"GET", "/api/v1/config/namespace/" + client_detail::url_encode(ns), std::move(query), {}},
      cancel_fd);
  if (!r.ok()) return r.error();
  NamespaceContent content = parse_content(*r);
  if (content.ns.empty()) content.ns = ns;
  return content;
}

// ---- Client ----

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() = default;

const ClientOptions& Client::options() const { return impl_->options_; }

ClientResult<ConfigValue> Client::get(const std::string& ns, const std::string& key,
                                      std::optional<int64_t> version) {
  Impl::Call c{"GET", "/api/v1/config/get", {{"namespace", ns}, {"key", key}}, {}};
  if (version) c.query.emplace_back("version", std::to_string(*version));
  auto r = impl_->call(c);
  if (!r.ok()) {
    if (!version && transport_only(r.error())) {
      auto cached = impl_->cache_.load(ns);
      if (cached) {
        auto it = cached->configs.find(key);
        if (it != cached->configs.end()) {
          ConfigValue v{ns, key, it->second, 0, cached->updated_at, true};
          auto vit = cached->versions.find(key);
          if (vit != cached->versions.end()) v.version = vit->second;
          return v;
        }
      }
    }
    return r.error();
  }
  ConfigValue v = parse_value(*r, ns, key);
  if (!version) impl_->cache_.merge_key(ns, key, v.value, v.version);
  return v;
}

ClientResult<ConfigValue> Client::get_at(const std::string& ns, const std::string& key,
                                         TimePoint at) {
  auto ms = at_param(at);
  if (!ms) return invalid("at: an instant before 1970-01-01T00:00:00Z");
  return get_at(ns, key, *ms);
}

ClientResult<ConfigValue> Client::get_at(const std::string& ns, const std::string& key,
                                         const std::string& at) {
  auto r =
      impl_->call({"GET", "/api/v1/config/get", {{"namespace", ns}, {"key", key}, {"at", at}}, {}});
  if (!r.ok()) return r.error();
  return parse_value(*r, ns, key);
}

ClientResult<BatchGetResult> Client::batch_get(const std::string& ns,
                                               const std::vector<std::string>& keys) {
  Json body = {{"namespace", ns}, {"keys", keys}};
  auto r = impl_->call({"POST", "/api/v1/config/batch-get", {}, body, true});
  if (!r.ok()) return r.error();
  BatchGetResult out;
  out.ns = field_or<std::string>(*r, "namespace", ns);
  for (const auto& item : member(*r, "configs")) {
    ConfigValue v;
    v.ns = out.ns;
    v.key = field_or<std::string>(item, "key", "");
    v.value = member(item, "value");
    v.version = field_or<int64_t>(item, "version", 0);
    v.updated_at = field_or<std::string>(item, "updated_at", "");
    out.configs.push_back(std::move(v));
  }
  for (const auto& m : member(*r, "missing")) {
    if (m.is_string()) out.missing.push_back(m.get<std::string>());
  }
  return out;
}

ClientResult<NamespaceContent> Client::get_namespace(const std::string& ns) {
  auto r = impl_->fetch_namespace(ns, -1);
  if (!r.ok()) {
    if (transport_only(r.error())) {
      auto cached = impl_->cache_.load(ns);
      if (cached && cached->complete) {
        NamespaceContent c{
            ns, std::move(cached->configs), cached->revision, cached->updated_at, true, {}};
        return c;
      }
    }
    return r.error();
  }
  client_detail::CachedNamespace entry;
  entry.ns = ns;
  entry.revision = r->revision;
  entry.updated_at = r->updated_at;
  entry.complete = true;
  entry.configs = r->configs;
  if (auto previous = impl_->cache_.load(ns)) {
    for (const auto& [k, v] : previous->versions) {
      auto it = previous->configs.find(k);
      auto now = entry.configs.find(k);
      if (it != previous->configs.end() && now != entry.configs.end() &&
          it->second == now->second) {
        entry.versions[k] = v;  // still the value that version had
      }
    }
  }
  impl_->cache_.store(entry);
  return r;
}

ClientResult<NamespaceContent> Client::get_namespace_at(const std::string& ns, TimePoint at) {
  auto ms = at_param(at);
  if (!ms) return invalid("at: an instant before 1970-01-01T00:00:00Z");
  return get_namespace_at(ns, *ms);
}

ClientResult<NamespaceContent> Client::get_namespace_at(const std::string& ns,
                                                        const std::string& at) {
  return impl_->fetch_namespace(ns, -1, {{"at", at}});
}

ClientResult<WriteResult> Client::create(const std::string& ns, const std::string& key,
                                         const Json& value, const std::string& description) {
  Json body = {{"namespace", ns}, {"key", key}, {"value", value}};
  if (!description.empty()) body["description"] = description;
  auto r = impl_->call({"POST", "/api/v1/admin/config", {}, body, false});
  if (!r.ok()) return r.error();
  return parse_write(*r);
}

ClientResult<WriteResult> Client::update(const std::string& ns, const std::string& key,
                                         const UpdateRequest& request) {
  Json body = {{"namespace", ns}, {"key", key}};
  if (request.value) body["value"] = *request.value;
  if (request.description) body["description"] = *request.description;
  if (request.status) body["status"] = *request.status;
  if (request.expected_version) body["expected_version"] = *request.expected_version;
  // Retrying a compare-and-set is safe; a blind update might apply twice.
  auto r =
      impl_->call({"PUT", "/api/v1/admin/config", {}, body, request.expected_version.has_value()});
  if (!r.ok()) return r.error();
  return parse_write(*r);
}

ClientResult<WriteResult> Client::update(const std::string& ns, const std::string& key,
                                         const Json& value,
                                         std::optional<int64_t> expected_version) {
  UpdateRequest request;
  request.value = value;
  request.expected_version = expected_version;
  return update(ns, key, request);
}

ClientResult<WriteResult> Client::remove(const std::string& ns, const std::string& key,
                                         std::optional<int64_t> expected_version) {
  Impl::Call c{"DELETE", "/api/v1/admin/config", {{"namespace", ns}, {"key", key}}, {}, false};
  if (expected_version) {
    c.query.emplace_back("expected_version", std::to_string(*expected_version));
    c.idempotent = true;
  }
  auto r = impl_->call(c);
  if (!r.ok()) return r.error();
  return parse_write(*r);
}

ClientResult<Page<ConfigEntry>> Client::list(const ListConfigsRequest& request) {
  Impl::Call c{"GET", "/api/v1/admin/config/list", {}, {}};
  if (!request.ns.empty()) c.query.emplace_back("namespace", request.ns);
  if (!request.key_substr.empty()) c.query.emplace_back("key", request.key_substr);
  c.query.emplace_back("page", std::to_string(request.page.page));
  c.query.emplace_back("page_size", std::to_string(request.page.page_size));
  auto r = impl_->call(c);
  if (!r.ok()) return r.error();
  Page<ConfigEntry> out;
  out.pagination = parse_pagination(*r);
  for (const auto& j : member(*r, "list")) {
    ConfigEntry e;
    e.id = field_or<int64_t>(j, "id", 0);
    e.ns = field_or<std::string>(j, "namespace", "");
    e.key = field_or<std::string>(j, "key", "");
    e.value = member(j, "value");
    e.version = field_or<int64_t>(j, "version", 0);
    e.description = field_or<std::string>(j, "description", "");
    e.status = field_or<int>(j, "status", 1);
    e.created_by = field_or<std::string>(j, "created_by", "");
    e.updated_by = field_or<std::string>(j, "updated_by", "");
    e.created_at = field_or<std::string>(j, "created_at", "");
    e.updated_at = field_or<std::string>(j, "updated_at", "");
    out.list.push_back(std::move(e));
  }
  return out;
}

ClientResult<Page<HistoryEntry>> Client::history(const std::string& ns, const std::string& key,
                                                 PageRequest page) {
  auto r = impl_->call({"GET",
                        "/api/v1/admin/config/history",
                        {{"namespace", ns},
                         {"key", key},
                         {"page", std::to_string(page.page)},
                         {"page_size", std::to_string(page.page_size)}},
                        {}});
  if (!r.ok()) return r.error();
  Page<HistoryEntry> out;
  out.pagination = parse_pagination(*r);
  for (const auto& j : member(*r, "list")) {
    HistoryEntry h;
    h.id = field_or<int64_t>(j, "id", 0);
    h.ns = field_or<std::string>(j, "namespace", ns);
    h.key = field_or<std::string>(j, "key", key);
    h.old_value = member(j, "old_value");
    h.new_value = member(j, "new_value");
    h.version = field_or<int64_t>(j, "version", 0);
    h.operation = field_or<std::string>(j, "operation", "");
    h.operator_name = field_or<std::string>(j, "operator", "");
    h.created_at = field_or<std::string>(j, "created_at", "");
    out.list.push_back(std::move(h));
  }
  return out;
}

ClientResult<Page<VersionEntry>> Client::versions(const std::string& ns, const std::string& key,
                                                  PageRequest page) {
  auto r = impl_->call({"GET",
                        "/api/v1/config/versions",
                        {{"namespace", ns},
                         {"key", key},
                         {"page", std::to_string(page.page)},
                         {"page_size", std::to_string(page.page_size)}},
                        {}});
  if (!r.ok()) return r.error();
  Page<VersionEntry> out;
  out.pagination = parse_pagination(*r);
  for (const auto& j : member(*r, "list")) {
    VersionEntry v;
    v.version = field_or<int64_t>(j, "version", 0);
    v.value = member(j, "value");
    v.created_by = field_or<std::string>(j, "created_by", "");
    v.created_at = field_or<std::string>(j, "created_at", "");
    v.is_current = field_or<bool>(j, "is_current", false);
    out.list.push_back(std::move(v));
  }
  return out;
}

ClientResult<DiffResult> Client::diff(const std::string& ns, const std::string& key,
                                      int64_t from_version, int64_t to_version) {
  auto r = impl_->call({"GET",
                        "/api/v1/config/diff",
                        {{"namespace", ns},
                         {"key", key},
                         {"from", std::to_string(from_version)},
                         {"to", std::to_string(to_version)}},
                        {}});
  if (!r.ok()) return r.error();
  DiffResult d;
  d.ns = field_or<std::string>(*r, "namespace", ns);
  d.key = field_or<std::string>(*r, "key", key);
  d.from_version = field_or<int64_t>(*r, "from_version", from_version);
  d.to_version = field_or<int64_t>(*r, "to_version", to_version);
  for (const auto& j : member(*r, "changes")) {
    d.changes.push_back(DiffChange{field_or<std::string>(j, "path", ""), member(j, "from"),
                                   member(j, "to"), field_or<std::string>(j, "type", "")});
  }
  return d;
}

ClientResult<RollbackResult> Client::rollback(const std::string& ns, const std::string& key,
                                              int64_t target_version,
                                              std::optional<int64_t> expected_version) {
  Json body = {{"namespace", ns}, {"key", key}, {"target_version", target_version}};
  if (expected_version) body["expected_version"] = *expected_version;
  auto r = impl_->call(
      {"POST", "/api/v1/admin/config/rollback", {}, body, expected_version.has_value()});
  if (!r.ok()) return r.error();
  RollbackResult out;
  out.ns = field_or<std::string>(*r, "namespace", ns);
  out.key = field_or<std::string>(*r, "key", key);
  out.current_version = field_or<int64_t>(*r, "current_version", 0);
  out.previous_version = field_or<int64_t>(*r, "previous_version", 0);
  return out;
}

ClientResult<Page<NamespaceInfo>> Client::list_namespaces(const std::string& name_substr,
                                                          PageRequest page) {
  Impl::Call c{"GET", "/api/v1/admin/namespace/list", {}, {}};
  if (!name_substr.empty()) c.query.emplace_back("name", name_substr);
  c.query.emplace_back("page", std::to_string(page.page));
  c.query.emplace_back("page_size", std::to_string(page.page_size));
  auto r = impl_->call(c);
  if (!r.ok()) return r.error();
  Page<NamespaceInfo> out;
  out.pagination = parse_pagination(*r);
  for (const auto& j : member(*r, "list")) out.list.push_back(parse_namespace(j));
  return out;
}

ClientResult<NamespaceInfo> Client::create_namespace(const std::string& name,
                                                     const std::string& description) {
  Json body = {{"name", name}};
  if (!description.empty()) body["description"] = description;
  auto r = impl_->call({"POST", "/api/v1/admin/namespace", {}, body, false});
  if (!r.ok()) return r.error();
  return parse_namespace(*r);
}

ClientResult<NamespaceInfo> Client::delete_namespace(const std::string& name) {
  if (!name.empty() &&
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // The path takes an id or a name; an all-digit name would be read as an id.
    auto list = list_namespaces(name, {1, 1000});
    if (!list.ok()) return list.error();
    for (const auto& n : list->list) {
      if (n.name == name) {
        auto r = impl_->call(
            {"DELETE", "/api/v1/admin/namespace/" + std::to_string(n.id), {}, {}, false});
        if (!r.ok()) return r.error();
        return parse_namespace(*r);
      }
    }
  }
  auto r = impl_->call(
      {"DELETE", "/api/v1/admin/namespace/" + client_detail::url_encode(name), {}, {}, false});
  if (!r.ok()) return r.error();
  return parse_namespace(*r);
}

ClientResult<Json> Client::cluster_status() {
  return impl_->call({"GET", "/api/v1/cluster", {}, {}});
}

ClientResult<Json> Client::create_token(const std::string& name, const Json& grants,
                                        const std::string& ttl) {
  Json body = {{"name", name}, {"grants", grants}};
  if (!ttl.empty()) body["ttl"] = ttl;
  Impl::Call c{"POST", "/api/v1/admin/tokens", {}, body};
  c.idempotent = false;  // a retry would make a second token
  return impl_->call(c);
}

ClientResult<Json> Client::list_tokens() {
  return impl_->call({"GET", "/api/v1/admin/tokens", {}, {}});
}

ClientResult<Json> Client::revoke_token(const std::string& id) {
  Impl::Call c{"DELETE", "/api/v1/admin/tokens/" + client_detail::url_encode(id), {}, {}};
  c.idempotent = false;
  return impl_->call(c);
}

ClientResult<Json> Client::whoami() { return impl_->call({"GET", "/api/v1/auth/whoami", {}, {}}); }

ClientResult<Json> Client::audit(const std::vector<std::pair<std::string, std::string>>& query) {
  return impl_->call({"GET", "/api/v1/admin/audit", query, {}});
}

WatchId Client::watch(const std::string& ns, WatchFilter filter, WatchListener listener) {
  return impl_->add_watch(ns, std::move(filter), std::move(listener));
}

void Client::unwatch(WatchId id) { impl_->remove_watch(id); }

std::optional<NamespaceContent> Client::watched_content(const std::string& ns) const {
  return impl_->watched_content(ns);
}

}  // namespace cairn
