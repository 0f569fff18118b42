#include "client/tests/fake_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>

namespace cairn::testing {

std::string ok_envelope(const Json& data) {
  return Json{
      {"code", 0}, {"message", "success"}, {"data", data}, {"request_id", "r"}, {"timestamp", 1}}
      .dump();
}

std::string error_envelope(int code, const std::string& details, const Json& extra_error) {
  Json error = {{"details", details}};
  if (extra_error.is_object()) {
    for (auto it = extra_error.begin(); it != extra_error.end(); ++it) error[it.key()] = *it;
  }
  return Json{{"code", code},
              {"message", "msg-" + std::to_string(code)},
              {"error", error},
              {"request_id", "r"},
              {"timestamp", 1}}
      .dump();
}

FakeResponse ok(const Json& data) { return FakeResponse{200, ok_envelope(data), {}, false}; }

FakeResponse error(int status, int code, const std::string& details, const Json& extra_error) {
  return FakeResponse{status, error_envelope(code, details, extra_error), {}, false};
}

namespace {

std::string decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

}  // namespace

FakeServer::FakeServer(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::listen(listen_fd_, 64);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

FakeServer::~FakeServer() { stop(); }

void FakeServer::stop() {
  if (stopping_.exchange(true)) return;
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(mu_);
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    conns.swap(conns_);
  }
  for (auto& t : conns) t.join();
}

std::vector<FakeRequest> FakeServer::requests() const {
  std::lock_guard lock(mu_);
  return log_;
}

void FakeServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    conn_fds_.push_back(fd);
    conns_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeServer::serve(int fd) {
  std::string data;
  char buf[8192];
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !stopping_) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string lower = data.substr(0, header_end);
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto pos = lower.find("content-length:");
        if (pos != std::string::npos) content_length = std::stoul(lower.substr(pos + 15));
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) break;
  }
  std::optional<FakeRequest> request;
  if (header_end != std::string::npos) {
    FakeRequest r;
    std::string head = data.substr(0, header_end);
    r.body = data.substr(header_end + 4, content_length);
    auto line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    auto sp1 = first.find(' ');
    auto sp2 = first.find(' ', sp1 + 1);
    r.method = first.substr(0, sp1);
    r.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
    auto q = r.target.find('?');
    r.path = decode(r.target.substr(0, q));
    if (q != std::string::npos) {
      std::string query = r.target.substr(q + 1);
      size_t start = 0;
      while (start <= query.size()) {
        auto amp = query.find('&', start);
        std::string part =
            query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        auto eq = part.find('=');
        if (!part.empty()) {
          r.query[decode(part.substr(0, eq))] =
              eq == std::string::npos ? "" : decode(part.substr(eq + 1));
        }
        if (amp == std::string::npos) break;
        start = amp + 1;
      }
    }
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      auto end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[name] = value;
      }
      pos = end + 2;
    }
    request = std::move(r);
  }
  if (request) {
    {
      std::lock_guard lock(mu_);
      log_.push_back(*request);
    }
    ++requests_;
    FakeResponse response = handler_(*request);
    if (!response.hang_up) {
      std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " +
                        reason(response.status) + "\r\nContent-Type: application/json\r\n";
      for (const auto& [k, v] : response.headers) out += k + ": " + v + "\r\n";
      out += "Content-Length: " + std::to_string(response.body.size()) +
             "\r\nConnection: close\r\n\r\n" + response.body;
      size_t off = 0;
      while (off < out.size()) {
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
    }
  }
  std::lock_guard lock(mu_);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  for (auto it = conn_fds_.begin(); it != conn_fds_.end(); ++it) {
    if (*it == fd) {
      conn_fds_.erase(it);
      break;
    }
  }
}

int dead_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- FakeCairn ----

FakeCairn::FakeCairn(std::string ns) : ns_(std::move(ns)) {
  server_ = std::make_unique<FakeServer>([this](const FakeRequest& r) { return handle(r); });
}

FakeCairn::~FakeCairn() { shutdown(); }

void FakeCairn::shutdown() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  server_->stop();
}

void FakeCairn::put(const std::string& key, std::optional<Json> value) {
  {
    std::lock_guard lock(mu_);
    ++revision_;
    Change c{key, "", 0, revision_, value};
    bool existed = content_.count(key) > 0;
    int64_t& v = versions_[key];
    ++v;
    c.version = v;
    if (value) {
      c.operation = existed ? "UPDATE" : "CREATE";
      content_[key] = *value;
    } else {
      c.operation = "DELETE";
      content_.erase(key);
    }
    log_.push_back(std::move(c));
  }
  cv_.notify_all();
}

void FakeCairn::reset_to(std::map<std::string, Json> content) {
  {
    std::lock_guard lock(mu_);
    content_ = std::move(content);
    ++revision_;
    reset_next_ = true;
  }
  cv_.notify_all();
}

std::vector<Json> FakeCairn::acks() const {
  std::lock_guard lock(mu_);
  return acks_;
}

void FakeCairn::set_release(std::string id) {
  std::lock_guard lock(mu_);
  release_ = std::move(id);
}

std::vector<int64_t> FakeCairn::watch_revisions() const {
  std::lock_guard lock(mu_);
  return watch_revisions_;
}

int FakeCairn::watch_requests() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(watch_revisions_.size());
}

FakeResponse FakeCairn::handle(const FakeRequest& r) {
  std::unique_lock lock(mu_);
  if (r.path == "/api/v1/config/ack" && r.method == "POST") {
    ++ack_requests_;
    if (!acks_enabled_) return error(404, 40401, "no route for path " + r.path);
    Json body = Json::parse(r.body, nullptr, false);
    if (!body.is_object()) return error(400, 40001, "body");
    auto id = r.headers.find("x-client-id");
    body["x_client_id"] = id == r.headers.end() ? "" : id->second;
    acks_.push_back(body);
    Json release = release_.empty() ? Json() : Json(release_);
    return ok({{"namespace", body.value("namespace", "")},
               {"revision", body.value("revision", 0)},
               {"status", body.value("status", "")},
               {"client_id", body["x_client_id"]},
               {"release_id", release}});
  }
  if (r.path == "/api/v1/config/namespace/" + ns_) {
    Json configs = Json::object();
    for (const auto& [k, v] : content_) configs[k] = v;
    Json data = {{"namespace", ns_},
                 {"configs", configs},
                 {"version", revision_},
                 {"updated_at", "2024-01-20T10:00:00Z"}};
    if (!release_.empty()) data["release"] = release_;
    return ok(data);
  }
  if (r.path == "/api/v1/config/get") {
    auto it = content_.find(r.query.at("key"));
    if (it == content_.end()) return error(404, 40403, "no such key");
    return ok({{"namespace", ns_},
               {"key", it->first},
               {"value", it->second},
               {"version", versions_[it->first]},
               {"updated_at", "2024-01-20T10:00:00Z"}});
  }
  if (r.path == "/api/v1/config/watch") {
    int64_t from = std::stoll(r.query.at("revision"));
    watch_revisions_.push_back(from);
    if (fail_watches_ > 0) {
      --fail_watches_;
      return error(500, 50001, "injected failure");
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      if (reset_next_) {
        reset_next_ = false;
        return ok(
            {{"namespace", ns_}, {"changed", false}, {"reset", true}, {"revision", revision_}});
      }
      Json changes = Json::array();
      for (const auto& c : log_) {
        if (c.revision <= from) continue;
        Json j = {{"key", c.key},
                  {"operation", c.operation},
                  {"version", c.version},
                  {"revision", c.revision}};
        if (c.value && r.query.count("include_values")) j["value"] = *c.value;
        changes.push_back(j);
      }
      if (!changes.empty()) {
        Json data = {{"namespace", ns_},
                     {"changed", true},
                     {"reset", false},
                     {"revision", revision_},
                     {"changes", changes}};
        if (!release_.empty()) data["release"] = release_;
        return ok(data);
      }
      if (closing_ || server_->stopping() ||
          cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
        return ok(
            {{"namespace", ns_}, {"changed", false}, {"reset", false}, {"revision", revision_}});
      }
    }
  }
  return error(404, 40401, "unknown path " + r.path);
}

}  // namespace cairn::testing
