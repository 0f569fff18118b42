#include "server/peer_auth.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/time.h"
#include "routes/table.h"
#include "transport/handshake.h"

namespace cairn::server {

namespace {

constexpr size_t kMinSecretBytes = 16;
constexpr size_t kMaxSecretBytes = 1024;
constexpr std::string_view kVersion = "v1";

std::string_view purpose_name(PeerPurpose p) {
  return p == PeerPurpose::kForward ? "forward" : "member";
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::string signed_text(std::string_view purpose, uint64_t node, int64_t ts,
                        std::string_view nonce, std::string_view method, std::string_view target,
                        std::string_view body) {
  std::string text = "cairn peer request v1\n";
  text.append(purpose).append("\n");
  text.append(std::to_string(node)).append("\n");
  text.append(std::to_string(ts)).append("\n");
  text.append(nonce).append("\n");
  text.append(method).append("\n");
  text.append(target).append("\n");
  text.append(transport::to_hex(transport::sha256(body)));
  return text;
}

bool is_hex(std::string_view s, size_t size) {
  if (s.size() != size) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty() || s.size() > 20) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::vector<std::string> split_secrets(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(",\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string s = trim(text.substr(start, end - start));
    if (!s.empty()) out.push_back(std::move(s));
    start = end + 1;
  }
  return out;
}

std::string generate_cluster_secret() {
  return transport::to_hex(transport::random_bytes(32));
}

Result<Ok, std::string> write_private_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Unexpected{"cannot create " + path + ": " + std::strerror(errno)};
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;
  ::close(fd);
  if (!ok) return Unexpected{"cannot write " + path};
  return Ok{};
}

Result<std::string, std::string> bootstrap_cluster_secret(const std::string& dir,
                                                          bool& generated) {
  generated = false;
  if (const char* env = std::getenv("CAIRN_CLUSTER_SECRET"); env && *env) return std::string(env);
  const std::string path = dir + "/cluster-secret";
  if (std::ifstream in(path); in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.empty()) return Unexpected{path + " is empty; delete it to generate a new secret"};
    return secret;
  }
  std::string secret = generate_cluster_secret();
  if (auto written = write_private_file(path, secret + "\n"); !written.ok()) {
    return Unexpected{written.error()};
  }
  generated = true;
  return secret;
}

Result<std::vector<std::string>, std::string> load_cluster_secrets(const ServerConfig& config) {
  if (!config.cluster_secret.empty() && !config.cluster_secret_file.empty()) {
    return Unexpected{std::string("set cluster_secret or cluster_secret_file, not both")};
  }
  std::string text, where;
  if (!config.cluster_secret.empty()) {
    text = config.cluster_secret;
    where = "cluster_secret";
  } else if (!config.cluster_secret_file.empty()) {
    where = config.cluster_secret_file;
    struct stat st {};
    if (::stat(where.c_str(), &st) != 0) return Unexpected{"cannot read " + where};
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      return Unexpected{where + " is readable by group or others: chmod 600 it"};
    }
    std::ifstream in(where);
    std::stringstream buffer;
    buffer << in.rdbuf();
    if (!in) return Unexpected{"cannot read " + where};
    text = buffer.str();
  } else if (const char* env = std::getenv("CAIRN_CLUSTER_SECRET"); env && *env) {
    text = env;
    where = "CAIRN_CLUSTER_SECRET";
  } else {
    return std::vector<std::string>{};
  }
  auto secrets = split_secrets(text);
  if (secrets.empty()) return Unexpected{where + " holds no secret"};
  for (const auto& s : secrets) {
    if (s.size() < kMinSecretBytes || s.size() > kMaxSecretBytes) {
      return Unexpected{where + ": a cluster secret must be " + std::to_string(kMinSecretBytes) +
                        ".." + std::to_string(kMaxSecretBytes) +
                        " characters (`cairn cluster-secret` makes one)"};
    }
  }
  return secrets;
}

PeerAuth::PeerAuth(Options options)
    : options_(std::move(options)),
      secrets_(options_.secrets.empty() ? std::vector<std::string>{""} : options_.secrets) {}

int64_t PeerAuth::now() const { return options_.now_ms ? options_.now_ms() : wall_clock_ms(); }

std::pair<std::string, std::string> PeerAuth::sign(PeerPurpose purpose, std::string_view method,
                                                   std::string_view target,
                                                   std::string_view body) {
  const int64_t ts = now();
  const std::string nonce = transport::to_hex(transport::random_bytes(16));
  const std::string mac = transport::to_hex(transport::hmac_sha256(
      secrets_.front(),
      signed_text(purpose_name(purpose), options_.node_id, ts, nonce, method, target, body)));
  std::string value = std::string(kVersion) + ";" + std::string(purpose_name(purpose)) + ";" +
                      std::to_string(options_.node_id) + ";" + std::to_string(ts) + ";" + nonce +
                      ";" + mac;
  return {"X-Cairn-Peer-Proof", std::move(value)};
}

PeerAuth::Checked PeerAuth::verify(std::string_view proof, std::string_view method,
                                   std::string_view target, std::string_view body) {
  Checked out;
  if (options_.node_id == 0) {
    out.verdict = Verdict::kDisabled;
    return out;
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (parts.size() < 7) {
    const size_t end = proof.find(';', start);
    parts.push_back(proof.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  int64_t ts = 0;
  if (parts.size() != 6 || parts[0] != kVersion || !parse_number(parts[2], out.node) ||
      out.node == 0 || !parse_number(parts[3], ts) || !is_hex(parts[4], 32) ||
      !is_hex(parts[5], 64)) {
    return out;
  }
  if (parts[1] == "forward") {
    out.purpose = PeerPurpose::kForward;
  } else if (parts[1] == "member") {
    out.purpose = PeerPurpose::kMemberRead;
  } else {
    return out;
  }
  const std::string text = signed_text(parts[1], out.node, ts, parts[4], method, target, body);
  bool matched = false;
  for (const auto& secret : secrets_) {
    const std::string mac = transport::to_hex(transport::hmac_sha256(secret, text));
    matched = transport::constant_time_equal(mac, parts[5]) || matched;
  }
  if (!matched) {
    out.verdict = Verdict::kBadProof;
    return out;
  }
  const int64_t now_ms = now();
  if (ts < now_ms - options_.max_skew_ms || ts > now_ms + options_.max_skew_ms) {
    out.verdict = Verdict::kStale;
    return out;
  }
  std::lock_guard lock(mu_);
  // A nonce older than the window can go: its proof is refused as stale anyway.
  while (!by_time_.empty() && by_time_.begin()->first < now_ms - options_.max_skew_ms) {
    nonces_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  if (nonces_.count(std::string(parts[4]))) {
    out.verdict = Verdict::kReplayed;
    return out;
  }
  if (nonces_.size() >= options_.max_remembered_nonces) {
    out.verdict = Verdict::kBusy;  // cannot tell a replay: fail closed (an ordinary request)
    return out;
  }
  nonces_.emplace(parts[4]);
  by_time_.emplace(ts, std::string(parts[4]));
  out.verdict = Verdict::kOk;
  return out;
}

http::Middleware PeerAuth::middleware() {
  return [this](http::RequestPtr req, http::Reply reply, const http::Handler& next) {
    std::string proof;
    int proofs = 0;
    bool marked = false;
    std::erase_if(req->headers, [&](const auto& h) {
      if (h.first == kPeerProofHeader) {
        ++proofs;
        proof = h.second;
        return true;
      }
      if (h.first == kForwardedMark || h.first == kMemberMark) {
        marked = true;
        return true;
      }
      return false;
    });
    if (proofs == 0) {
      if (marked) spdlog::debug("peer auth: dropped client-supplied peer marks ({})",
                                req->request_id);
      return next(std::move(req), std::move(reply));
    }
    Checked c;
    if (proofs == 1) c = verify(proof, req->method, req->target, req->body);
    {
      std::lock_guard lock(mu_);
      (c.verdict == Verdict::kOk ? counters_.accepted : counters_.refused)++;
    }
    if (c.verdict == Verdict::kOk) {
      req->headers.emplace_back(c.purpose == PeerPurpose::kForward ? kForwardedMark : kMemberMark,
                                std::to_string(c.node));
    } else if (c.verdict != Verdict::kDisabled) {
      static const char* const kWhy[] = {"ok",    "malformed",        "bad proof", "stale",
                                         "replayed", "too many in flight", "disabled"};
      // At most one warning a second: whoever sends bad proofs cannot flood the log.
      static std::atomic<int64_t> last_warning{0};
      const int64_t at = monotonic_ms();
      int64_t last = last_warning.load();
      const bool warn = at - last >= 1'000 && last_warning.compare_exchange_strong(last, at);
      spdlog::log(warn ? spdlog::level::warn : spdlog::level::debug,"peer auth: {} {} from {} carries a member proof that is {}; served as an "
                   "ordinary client request",
                   req->method, req->path, req->remote_address,
                   proofs > 1 ? "duplicated" : kWhy[static_cast<int>(c.verdict)]);
    }
    next(std::move(req), std::move(reply));
  };
}

PeerAuth::Counters PeerAuth::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

http::Middleware member_guard(http::Middleware guard) {
  return [guard = std::move(guard)](http::RequestPtr req, http::Reply reply,
                                    const http::Handler& next) {
    const std::string* member = req->header(kMemberMark);
    if (member && req->route == &routes::kClientsLocal) {
      req->caller = api::Principal::with_grants("node:" + *member, {api::Grant{"*", "read"}});
      req->caller.reveal = false;
      return next(std::move(req), std::move(reply));
    }
    guard(std::move(req), std::move(reply), next);
  };
}

}  // namespace cairn::server
