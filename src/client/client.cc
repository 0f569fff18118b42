#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
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
std::optional<Endpoint> leader_hint(const api::Envelope& envelope) {
  for (const std::string* where : {&envelope.error_json, &envelope.data_json}) {
    const Json obj = Json::parse(*where, nullptr, /*allow_exceptions=*/false);
    if (!obj.is_object()) continue;
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

milliseconds retry_after(const HttpResponse& response, const api::Envelope& envelope) {
  std::string h = response.header("retry-after");
  if (!h.empty() && std::all_of(h.begin(), h.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
      h.size() < 7) {
    return milliseconds(std::stoll(h) * 1000);
  }
  const Json data = Json::parse(envelope.data_json, nullptr, /*allow_exceptions=*/false);
  if (data.is_object() && data.contains("retry_after") && data["retry_after"].is_number()) {
    return milliseconds(static_cast<int64_t>(data["retry_after"].get<double>() * 1000));
  }
  return milliseconds(1000);
}

/// A value as the SDK hands it out: the wire's JSON text parsed (numbers as nlohmann reads
/// them). The text was validated with the answer, so it always parses.
Json value_of(const std::string& text) { return Json::parse(text, nullptr, false); }

Pagination pagination_of(const api::Pagination& p) {
  return Pagination{p.page, p.page_size, p.total, p.total_pages};
}

NamespaceInfo namespace_of(const api::NamespaceRow& n) {
  return NamespaceInfo{n.id,       n.name,     n.description, n.status, n.config_count,
                       n.revision, n.created_at, n.updated_at};
}

ConfigValue config_value_of(const api::ConfigValue& v, const std::string& ns,
                            const std::string& key) {
  ConfigValue out;
  out.ns = v.ns.empty() ? ns : v.ns;
  out.key = v.key.empty() ? key : v.key;
  out.value = value_of(v.value);
  out.version = v.version;
  out.updated_at = v.updated_at;
  out.secret = v.secret;
  return out;
}

/// The answers of create, update and remove, and of namespace create and delete, are not wire
/// rows yet (the state machine renders them; issue 16 item 1): read by member.
template <class T>
T member_or(const Json& j, const char* name, T fallback) {
  if (!j.is_object() || !j.contains(name) || j[name].is_null()) return fallback;
  try {
    return j[name].get<T>();
  } catch (const Json::exception&) {
    return fallback;
  }
}

WriteResult parse_write(const Json& j) {
  WriteResult w;
  w.id = member_or<int64_t>(j, "id", 0);
  w.ns = member_or<std::string>(j, "namespace", "");
  w.key = member_or<std::string>(j, "key", "");
  w.version = member_or<int64_t>(j, "version", 0);
  w.old_version = member_or<int64_t>(j, "old_version", 0);
  w.changed = member_or<bool>(j, "changed", true);
  return w;
}

/// `at` as the query parameter's Unix milliseconds, or nullopt before 1970 (the server takes
/// only digits).
std::optional<std::string> at_param(TimePoint at) {
  const int64_t ms = std::chrono::floor<std::chrono::milliseconds>(at.time_since_epoch()).count();
  if (ms < 0) return std::nullopt;
  return std::to_string(ms);
}

}  // namespace

std::string release_of(const std::string& data_json) {
  const Json data = Json::parse(data_json, nullptr, /*allow_exceptions=*/false);
  if (data.is_object() && data.contains("release") && data["release"].is_string()) {
    return data["release"].get<std::string>();
  }
  return {};
}

namespace {

bool transport_only(const ClientError& e) {
  return e.code == ClientError::kTransport || e.is(api::Errc::kUnavailable) ||
         e.is(api::Errc::kNotLeader) ||
         (e.code == ClientError::kProtocol && e.http_status >= 500);
}

}  // namespace

namespace {

ClientOptions resolve_identity(ClientOptions o) {
  if (o.client_id.empty()) o.client_id = default_client_id();
  return o;
}

bool id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._:@/-", c) != nullptr;
}

bool label_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._/-", c) != nullptr;
}

bool label_value_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._-", c) != nullptr;
}

}  // namespace

std::optional<std::string> validate_identity(const std::string& client_id,
                                             const std::map<std::string, std::string>& labels) {
  if (client_id.size() > 128) return "client id: longer than 128 characters";
  for (char c : client_id) {
    if (c == 0 || !id_char(c)) {
      return "client id '" + client_id + "': only letters, digits and . _ : @ / - are allowed";
    }
  }
  if (labels.size() > 16) return "labels: at most 16";
  for (const auto& [name, value] : labels) {
    if (name.empty() || name.size() > 63) return "label name '" + name + "': 1 to 63 characters";
    if (!std::isalnum(static_cast<unsigned char>(name[0])) ||
        !std::all_of(name.begin(), name.end(), label_name_char)) {
      return "label name '" + name +
             "': a letter or digit, then letters, digits and . _ / - only";
    }
    if (value.size() > 63) return "label " + name + ": value longer than 63 characters";
    if (!std::all_of(value.begin(), value.end(), label_value_char)) {
      return "label " + name + ": value '" + value +
             "' may hold only letters, digits and . _ -";
    }
  }
  return std::nullopt;
}

std::string format_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name + "=" + value;
  }
  return out;
}

std::string default_client_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) std::strcpy(host, "localhost");
  std::string h(host);
  for (char& c : h) {
    if (!id_char(c) || c == ':') c = '-';
  }
  const std::string pid = std::to_string(::getpid());
  if (h.size() + 1 + pid.size() > 128) h.resize(128 - 1 - pid.size());
  return h + ":" + pid;
}

void Client::Impl::add_headers(std::vector<std::pair<std::string, std::string>>& headers) const {
  if (!options_.token.empty()) headers.emplace_back("Authorization", "Bearer " + options_.token);
  if (!options_.operator_name.empty()) headers.emplace_back("X-Operator", options_.operator_name);
  headers.emplace_back("X-Client-ID", options_.client_id);
  if (!labels_header_.empty()) headers.emplace_back("X-Client-Labels", labels_header_);
  if (options_.reveal) headers.emplace_back("X-Cairn-Reveal", "true");
}

Client::Impl::Impl(ClientOptions options)
    : options_(resolve_identity(std::move(options))),
      labels_header_(format_labels(options_.labels)),
      cache_(options_.reveal ? std::string() : options_.cache_dir) {
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
  if (auto why = validate_identity(options_.client_id, options_.labels)) {
    endpoint_error_ = *why;  // every call answers this instead of sending a refused request
    tls_failed_ = true;
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

ClientError Client::Impl::undecodable(const api::Error& e) {
  ClientError out;
  out.code = ClientError::kProtocol;
  out.message = "unexpected answer";
  out.details = e.details;
  out.field = e.field;
  return out;
}

ClientResult<Json> Client::Impl::call_json(const Call& c, int cancel_fd) {
  auto r = call(c, cancel_fd);
  if (!r.ok()) return r.error();
  return Json::parse(*r, nullptr, /*allow_exceptions=*/false);
}

ClientResult<std::string> Client::Impl::call(const Call& c, int cancel_fd) {
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
  add_headers(request.headers);
  if (c.body) request.body = c.body->dump();
  if (c.raw_body) {
    request.body = *c.raw_body;
    request.headers.emplace_back("Content-Type", "application/octet-stream");
  }

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
                                         options_.request_timeout, cancel_fd, &response, &terr,
                                         c.on_progress ? &c.on_progress : nullptr);
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
        if (c.raw_out && response.status == 200) {
          if (listed) preferred_.store(index);
          *c.raw_out = std::move(response);
          return std::string("null");
        }
        auto decoded = api::decode_envelope(response.body);
        if (!decoded.ok()) {
          last = ClientError{};
          last.code = ClientError::kProtocol;
          last.http_status = response.status;
          last.message = "not a Cairn envelope (HTTP " + std::to_string(response.status) + ")";
          last.details = response.body.substr(0, 200);
          last.endpoint = ep.url;
          if (response.status >= 500 && (c.idempotent || response.status == 503)) break;
          return last;
        }
        const api::Envelope& envelope = *decoded;
        const int code = envelope.code;
        if (code == 0) {
          if (listed) preferred_.store(index);
          return envelope.data_json.empty() ? std::string("null") : envelope.data_json;
        }
        last = ClientError{};
        last.code = code;
        last.http_status = response.status;
        last.message = envelope.message;
        last.details = envelope.details;
        last.field = envelope.field;
        last.endpoint = ep.url;
        if (last.is(api::Errc::kNotLeader)) {
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
        if (last.is(api::Errc::kUnavailable)) break;
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
  auto raw = call(
      {"GET", "/api/v1/config/namespace/" + client_detail::url_encode(ns), std::move(query), {}},
      cancel_fd);
  if (!raw.ok()) return raw.error();
  auto r = api::from_json<api::NamespaceConfigs>(*raw);
  if (!r.ok()) return undecodable(r.error());
  NamespaceContent content;
  content.release = release_of(*raw);
  content.ns = r->ns.empty() ? ns : r->ns;
  for (const auto& [key, value] : r->configs) content.configs[key] = value_of(value);
  content.revision = r->revision;
  content.updated_at = r->updated_at;
  content.unavailable = r->unavailable;
  content.secret_keys = r->secret_keys;
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
  auto r = impl_->call_as<api::ConfigValue>(c);
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
  ConfigValue v = config_value_of(*r, ns, key);
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
  auto r = impl_->call_as<api::ConfigValue>(
      {"GET", "/api/v1/config/get", {{"namespace", ns}, {"key", key}, {"at", at}}, {}});
  if (!r.ok()) return r.error();
  return config_value_of(*r, ns, key);
}

ClientResult<BatchGetResult> Client::batch_get(const std::string& ns,
                                               const std::vector<std::string>& keys) {
  Json body = {{"namespace", ns}, {"keys", keys}};
  auto r = impl_->call_as<api::BatchGet>({"POST", "/api/v1/config/batch-get", {}, body, true});
  if (!r.ok()) return r.error();
  BatchGetResult out;
  out.ns = r->ns.empty() ? ns : r->ns;
  for (const auto& item : r->configs) {
    ConfigValue v;
    v.ns = out.ns;
    v.key = item.key;
    v.value = value_of(item.value);
    v.version = item.version;
    v.secret = item.secret;
    out.configs.push_back(std::move(v));
  }
  out.missing = std::move(r->missing);
  return out;
}

ClientResult<NamespaceContent> Client::get_namespace(const std::string& ns) {
  auto r = impl_->fetch_namespace(ns, -1);
  if (!r.ok()) {
    if (transport_only(r.error())) {
      auto cached = impl_->cache_.load(ns);
      if (cached && cached->complete) {
        NamespaceContent c{
            ns, std::move(cached->configs), cached->revision, cached->updated_at, true, {}, {}, {}};
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
  auto r = impl_->call_json({"POST", "/api/v1/admin/config", {}, body, false});
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
  auto r = impl_->call_json(
      {"PUT", "/api/v1/admin/config", {}, body, request.expected_version.has_value()});
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
  auto r = impl_->call_json(c);
  if (!r.ok()) return r.error();
  return parse_write(*r);
}

ClientResult<Page<ConfigEntry>> Client::list(const ListConfigsRequest& request) {
  Impl::Call c{"GET", "/api/v1/admin/config/list", {}, {}};
  if (!request.ns.empty()) c.query.emplace_back("namespace", request.ns);
  if (!request.key_substr.empty()) c.query.emplace_back("key", request.key_substr);
  c.query.emplace_back("page", std::to_string(request.page.page));
  c.query.emplace_back("page_size", std::to_string(request.page.page_size));
  auto r = impl_->call_as<api::Paged<api::ConfigRow>>(c);
  if (!r.ok()) return r.error();
  Page<ConfigEntry> out;
  out.pagination = pagination_of(r->pagination);
  for (auto& row : r->list) {
    out.list.push_back(ConfigEntry{row.id, std::move(row.ns), std::move(row.key),
                                   value_of(row.value), row.version, std::move(row.description),
                                   row.status, std::move(row.created_by),
                                   std::move(row.updated_by), std::move(row.created_at),
                                   std::move(row.updated_at)});
  }
  return out;
}

ClientResult<Page<HistoryEntry>> Client::history(const std::string& ns, const std::string& key,
                                                 PageRequest page) {
  auto r = impl_->call_as<api::Paged<api::HistoryRow>>(
      {"GET",
       "/api/v1/admin/config/history",
       {{"namespace", ns},
        {"key", key},
        {"page", std::to_string(page.page)},
        {"page_size", std::to_string(page.page_size)}},
       {}});
  if (!r.ok()) return r.error();
  Page<HistoryEntry> out;
  out.pagination = pagination_of(r->pagination);
  for (auto& row : r->list) {
    HistoryEntry h;
    h.id = row.id;
    h.ns = row.ns.empty() ? ns : std::move(row.ns);
    h.key = row.key.empty() ? key : std::move(row.key);
    h.old_value = value_of(row.old_value);
    h.new_value = value_of(row.new_value);
    h.version = row.version;
    h.operation = std::move(row.operation);
    h.operator_name = std::move(row.operator_name);
    h.created_at = std::move(row.created_at);
    out.list.push_back(std::move(h));
  }
  return out;
}

ClientResult<Page<VersionEntry>> Client::versions(const std::string& ns, const std::string& key,
                                                  PageRequest page) {
  auto r = impl_->call_as<api::VersionList>({"GET",
                                             "/api/v1/config/versions",
                                             {{"namespace", ns},
                                              {"key", key},
                                              {"page", std::to_string(page.page)},
                                              {"page_size", std::to_string(page.page_size)}},
                                             {}});
  if (!r.ok()) return r.error();
  Page<VersionEntry> out;
  out.pagination = pagination_of(r->pagination);
  for (auto& row : r->list) {
    out.list.push_back(VersionEntry{row.version, value_of(row.value), std::move(row.created_by),
                                    std::move(row.created_at), row.is_current});
  }
  return out;
}

ClientResult<DiffResult> Client::diff(const std::string& ns, const std::string& key,
                                      int64_t from_version, int64_t to_version) {
  auto r = impl_->call_as<api::Diff>({"GET",
                                      "/api/v1/config/diff",
                                      {{"namespace", ns},
                                       {"key", key},
                                       {"from", std::to_string(from_version)},
                                       {"to", std::to_string(to_version)}},
                                      {}});
  if (!r.ok()) return r.error();
  DiffResult d;
  d.ns = r->ns.empty() ? ns : r->ns;
  d.key = r->key.empty() ? key : r->key;
  d.from_version = r->from_version != 0 ? r->from_version : from_version;
  d.to_version = r->to_version != 0 ? r->to_version : to_version;
  for (auto& c : r->changes) {
    d.changes.push_back(
        DiffChange{std::move(c.path), value_of(c.from), value_of(c.to), std::move(c.type)});
  }
  return d;
}

ClientResult<RollbackResult> Client::rollback(const std::string& ns, const std::string& key,
                                              int64_t target_version,
                                              std::optional<int64_t> expected_version) {
  Json body = {{"namespace", ns}, {"key", key}, {"target_version", target_version}};
  if (expected_version) body["expected_version"] = *expected_version;
  auto r = impl_->call_as<api::Rollback>(
      {"POST", "/api/v1/admin/config/rollback", {}, body, expected_version.has_value()});
  if (!r.ok()) return r.error();
  return RollbackResult{r->ns.empty() ? ns : r->ns, r->key.empty() ? key : r->key,
                        r->current_version, r->previous_version};
}

ClientResult<Page<NamespaceInfo>> Client::list_namespaces(const std::string& name_substr,
                                                          PageRequest page) {
  Impl::Call c{"GET", "/api/v1/admin/namespace/list", {}, {}};
  if (!name_substr.empty()) c.query.emplace_back("name", name_substr);
  c.query.emplace_back("page", std::to_string(page.page));
  c.query.emplace_back("page_size", std::to_string(page.page_size));
  auto r = impl_->call_as<api::Paged<api::NamespaceRow>>(c);
  if (!r.ok()) return r.error();
  Page<NamespaceInfo> out;
  out.pagination = pagination_of(r->pagination);
  for (const auto& row : r->list) out.list.push_back(namespace_of(row));
  return out;
}

ClientResult<NamespaceInfo> Client::create_namespace(const std::string& name,
                                                     const std::string& description) {
  Json body = {{"name", name}};
  if (!description.empty()) body["description"] = description;
  // The answer is a namespace row without its counts (id, name, description, status, created_at).
  auto r = impl_->call_as<api::NamespaceRow>({"POST", "/api/v1/admin/namespace", {}, body, false});
  if (!r.ok()) return r.error();
  return namespace_of(*r);
}

ClientResult<NamespaceInfo> Client::delete_namespace(const std::string& name) {
  if (!name.empty() &&
      std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // The path takes an id or a name; an all-digit name would be read as an id.
    auto list = list_namespaces(name, {1, 1000});
    if (!list.ok()) return list.error();
    for (const auto& n : list->list) {
      if (n.name == name) {
        auto r = impl_->call_as<api::NamespaceRow>(
            {"DELETE", "/api/v1/admin/namespace/" + std::to_string(n.id), {}, {}, false});
        if (!r.ok()) return r.error();
        return namespace_of(*r);
      }
    }
  }
  // The answer is {"id","name"}: the rest of the row takes its defaults.
  auto r = impl_->call_as<api::NamespaceRow>(
      {"DELETE", "/api/v1/admin/namespace/" + client_detail::url_encode(name), {}, {}, false});
  if (!r.ok()) return r.error();
  return namespace_of(*r);
}

ClientResult<Json> Client::cluster_status() {
  return impl_->call_json({"GET", "/api/v1/cluster", {}, {}});
}

ClientResult<Json> Client::create_token(const std::string& name, const Json& grants,
                                        const std::string& ttl) {
  Json body = {{"name", name}, {"grants", grants}};
  if (!ttl.empty()) body["ttl"] = ttl;
  Impl::Call c{"POST", "/api/v1/admin/tokens", {}, body};
  c.idempotent = false;  // a retry would make a second token
  return impl_->call_json(c);
}

ClientResult<Json> Client::list_tokens() {
  return impl_->call_json({"GET", "/api/v1/admin/tokens", {}, {}});
}

ClientResult<Json> Client::revoke_token(const std::string& id) {
  Impl::Call c{"DELETE", "/api/v1/admin/tokens/" + client_detail::url_encode(id), {}, {}};
  c.idempotent = false;
  return impl_->call_json(c);
}

ClientResult<Json> Client::get_schema(const std::string& ns, bool history) {
  std::vector<std::pair<std::string, std::string>> query{{"namespace", ns}};
  if (history) query.emplace_back("history", "true");
  return impl_->call_json({"GET", "/api/v1/config/schema", std::move(query), {}});
}

ClientResult<Json> Client::set_schema(const std::string& ns, const Json& schemas, bool strict,
                                      bool force) {
  Json body = {{"schemas", schemas}, {"strict", strict}, {"force", force}};
  return impl_->call_json({"PUT", "/api/v1/admin/namespace/" + ns, {}, body});
}

ClientResult<Json> Client::check_schema(const std::string& ns, const Json& schemas,
                                        bool strict) {
  Json body = {{"schemas", schemas}, {"strict", strict}};
  return impl_->call_json({"POST", "/api/v1/admin/namespace/" + ns + "/schema/check", {}, body});
}

ClientResult<Json> Client::whoami() {
  return impl_->call_json({"GET", "/api/v1/auth/whoami", {}, {}});
}

ClientResult<Json> Client::audit(const std::vector<std::pair<std::string, std::string>>& query) {
  return impl_->call_json({"GET", "/api/v1/admin/audit", query, {}});
}

WatchId Client::watch(const std::string& ns, WatchFilter filter, WatchListener listener) {
  auto fn = std::make_shared<WatchListener>(std::move(listener));
  return impl_->add_watch(ns, std::move(filter), [fn](const ConfigChange& c) {
    (*fn)(c);
    return ApplyResult::applied();
  });
}

WatchId Client::watch_checked(const std::string& ns, WatchFilter filter,
                              CheckedWatchListener listener) {
  return impl_->add_watch(ns, std::move(filter), std::move(listener));
}

ClientResult<AckResult> Client::Impl::send_ack(const std::string& ns, int64_t revision,
                                               AckStatus status, const std::string& error,
                                               int cancel_fd) {
  // Text from the application (a listener's message, an exception's what()) may not be UTF-8:
  // a document holding it would throw when serialised, on the watch thread. Invalid bytes
  // become U+FFFD.
  auto utf8 = [](const std::string& text) {
    return Json::parse(Json(text).dump(-1, ' ', false, Json::error_handler_t::replace))
        .get<std::string>();
  };
  Json body = {{"namespace", utf8(ns)},
               {"revision", revision},
               {"status", status == AckStatus::kApplied ? "applied" : "failed"}};
  if (status == AckStatus::kFailed && !error.empty()) {
    std::string e = utf8(error);
    if (e.size() > 1024) {
      e.resize(1024);
      // Do not cut a UTF-8 sequence in two: drop a partial one at the end.
      size_t lead = e.size();
      while (lead > 0 && (static_cast<unsigned char>(e[lead - 1]) & 0xC0) == 0x80) --lead;
      if (lead > 0) {
        const auto c = static_cast<unsigned char>(e[lead - 1]);
        const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (e.size() - (lead - 1) < need) e.resize(lead - 1);
      }
    }
    body["error"] = e;
  }
  auto r = call_json({"POST", "/api/v1/config/ack", {}, body, true}, cancel_fd);
  if (!r.ok()) {
    const ClientError& e = r.error();
    if ((e.http_status == 404 && (e.is(api::Errc::kNotFound) || e.code == ClientError::kProtocol)) ||
        e.http_status == 405) {
      acks_unsupported_ = true;  // a server before issue 18: no route for acks
    }
    return e;
  }
  AckResult out;
  out.ns = member_or<std::string>(*r, "namespace", ns);
  out.revision = member_or<int64_t>(*r, "revision", revision);
  out.status = member_or<std::string>(*r, "status", body["status"].get<std::string>());
  out.client_id = member_or<std::string>(*r, "client_id", options_.client_id);
  out.release_id = member_or<std::string>(*r, "release_id", "");
  return out;
}

ClientResult<AckResult> Client::ack(const std::string& ns, int64_t revision, AckStatus status,
                                    const std::string& error) {
  if (ns.empty()) return invalid("ack: empty namespace");
  if (revision < 0) return invalid("ack: negative revision");
  return impl_->send_ack(ns, revision, status, error, -1);
}

const std::string& Client::client_id() const { return impl_->options_.client_id; }

ClientResult<Json> Client::clients(const ClientsQuery& query) {
  Impl::Call c{"GET", "/api/v1/clients", {}, {}};
  if (!query.ns.empty()) c.query.emplace_back("namespace", query.ns);
  if (!query.labels.empty()) {
    std::string selector;
    for (const auto& [k, v] : query.labels) {
      if (!selector.empty()) selector += ',';
      selector += k + "=" + v;
    }
    c.query.emplace_back("label", selector);
  }
  if (query.stale) c.query.emplace_back("stale", "true");
  return impl_->call_json(c);
}

ClientResult<Json> Client::start_release(const Json& release) {
  if (!release.is_object()) return invalid("release: a JSON object");
  try {
    (void)release.dump();
  } catch (const Json::exception&) {
    return invalid("release: holds text that is not valid UTF-8");
  }
  // Not retried once sent: a second start would be a second release.
  return impl_->call_json({"POST", "/api/v1/admin/releases", {}, release, false});
}

ClientResult<Json> Client::list_releases(const std::string& ns, const std::string& state) {
  Impl::Call c{"GET", "/api/v1/admin/releases", {}, {}};
  if (!ns.empty()) c.query.emplace_back("namespace", ns);
  if (!state.empty()) c.query.emplace_back("state", state);
  return impl_->call_json(c);
}

ClientResult<Json> Client::get_release(const std::string& id) {
  if (id.empty()) return invalid("release id: empty");
  return impl_->call_json(
      {"GET", "/api/v1/admin/releases/" + client_detail::url_encode(id), {}, {}});
}

ClientResult<ExportFile> Client::export_file(
    const std::vector<std::pair<std::string, std::string>>& query,
    std::function<void(uint64_t received, uint64_t total)> progress) {
  client_detail::HttpResponse response;
  Impl::Call c{"GET", "/api/v1/admin/export", query, {}};
  c.raw_out = &response;
  c.on_progress = std::move(progress);
  auto r = impl_->call(c);
  if (!r.ok()) return r.error();
  ExportFile out;
  out.bytes = std::move(response.body);
  out.content_type = response.header("content-type");
  const std::string disposition = response.header("content-disposition");
  if (auto at = disposition.find("filename=\""); at != std::string::npos) {
    auto end = disposition.find('"', at + 10);
    if (end != std::string::npos) out.filename = disposition.substr(at + 10, end - at - 10);
  }
  auto number = [&response](const char* name) -> int64_t {
    const std::string v = response.header(name);
    return v.empty() ? 0 : std::strtoll(v.c_str(), nullptr, 10);
  };
  out.namespaces = number("x-cairn-export-namespaces");
  out.keys = number("x-cairn-export-keys");
  return out;
}

ClientResult<Json> Client::import_file(
    const std::vector<std::pair<std::string, std::string>>& query, const std::string& bytes) {
  Impl::Call c{"POST", "/api/v1/admin/import", query, {}};
  c.raw_body = bytes;
  // A dry run changes nothing; a real import answered by no one may have been written.
  c.idempotent = false;
  for (const auto& [k, v] : query) {
    if (k == "dry_run" && (v == "true" || v == "1")) c.idempotent = true;
  }
  return impl_->call_json(c);
}

ClientResult<Json> Client::release_action(const std::string& id, const std::string& action,
                                          const std::string& reason) {
  if (id.empty()) return invalid("release id: empty");
  if (action != "promote" && action != "abort" && action != "pause" && action != "resume") {
    return invalid("release action '" + action + "': promote, abort, pause or resume");
  }
  Json body = Json::object();
  if (!reason.empty()) body["reason"] = reason;
  // A transition sent twice answers 40901 the second time: safe to retry.
  return impl_->call_json({"POST",
                           "/api/v1/admin/releases/" + client_detail::url_encode(id) + "/" + action,
                           {},
                           body,
                           true});
}

void Client::unwatch(WatchId id) { impl_->remove_watch(id); }

std::optional<NamespaceContent> Client::watched_content(const std::string& ns) const {
  return impl_->watched_content(ns);
}

}  // namespace cairn
