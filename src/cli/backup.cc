// Backup subcommands (docs/operations.md): `cairn backup --out FILE` downloads a backup from
// the first endpoint that answers, with progress on a terminal, and checks it; `cairn backup
// verify FILE` checks a file offline. Checking needs the store's code, which the full `cairn`
// binary hands in (set_backup_verifier); the SDK-only build checks the header only.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "api/backup.h"
#include "cli/commands.h"
#include "cli/context.h"
#include "cli/progress.h"
#include "client/http_transport.h"
#include "common/json.h"

namespace cairn::cli {
namespace {

BackupVerifier& verifier() {
  static BackupVerifier v;
  return v;
}

namespace cd = client_detail;

struct Download {
  int status = 0;
  uint64_t bytes = 0;
  std::string error_body;  // the envelope of a refusal
};

/// One GET of the backup from `ep` into `fd`. Transport trouble: false and `why`.
bool fetch(Context& g, const cd::Endpoint& ep, const cd::TlsContext* tls, int fd, Download* out,
           std::string* why) {
  const auto opts = g.client_options();
  cd::Conn conn;
  cd::TransportError err;
  if (!cd::open_connection(ep, tls, opts.connect_timeout, -1, &conn, &err)) {
    *why = err.what;
    return false;
  }
  cd::HttpRequest req;
  req.method = "GET";
  req.target = "/api/v1/admin/backup";
  if (!g.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + g.token);
  req.headers.emplace_back("X-Client-ID", cli_client_id());
  // The node takes the snapshot before the first byte: allow it time, then time each read.
  const auto idle = std::chrono::milliseconds(
      static_cast<int64_t>(std::max(g.timeout_seconds, 120.0) * 1000));
  if (!cd::send_all(conn, cd::serialize_request(ep, req), cd::Clock::now() + idle, -1, &err)) {
    *why = err.what;
    return false;
  }
  std::string head;
  std::string buf(1 << 16, '\0');
  bool in_body = false;
  uint64_t length = 0;
  Progress progress("backup from " + ep.url);
  auto body_bytes = [&](const char* data, size_t n) -> bool {
    if (out->status != 200) {
      out->error_body.append(data, n);
      return true;
    }
    while (n > 0) {
      ssize_t w = ::write(fd, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        *why = std::string("cannot write the file: ") + std::strerror(errno);
        return false;
      }
      data += w;
      n -= static_cast<size_t>(w);
      out->bytes += static_cast<uint64_t>(w);
    }
    progress.update(out->bytes, length);
    return true;
  };
  uint64_t received_body = 0;
  for (;;) {
    if (in_body && received_body >= length) break;
    short wait = 0;
    std::string error;
    long n = conn.read_some(buf.data(), buf.size(), &wait, &error);
    if (n == -1) {
      if (conn.buffered()) continue;
      pollfd p{conn.fd(), wait, 0};
      int r = ::poll(&p, 1, static_cast<int>(idle.count()));
      if (r == 0) {
        *why = "no data for " + std::to_string(idle.count() / 1000) + " s";
        return false;
      }
      if (r < 0 && errno != EINTR) {
        *why = std::strerror(errno);
        return false;
      }
      continue;
    }
    if (n == -2) {
      *why = error;
      return false;
    }
    if (n == 0) {
      *why = in_body ? "the connection closed after " + std::to_string(received_body) + " of " +
                           std::to_string(length) + " bytes"
                     : "the connection closed before an answer";
      return false;
    }
    const char* data = buf.data();
    size_t size = static_cast<size_t>(n);
    if (!in_body) {
      head.append(data, size);
      size_t end = head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head.size() > 64 * 1024) {
          *why = "the answer's header is too long";
          return false;
        }
        continue;
      }
      // "HTTP/1.1 200 OK", then the headers; only Content-Length matters here.
      if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
        *why = "not an HTTP answer";
        return false;
      }
      out->status = std::atoi(head.c_str() + 9);
      std::string lower = head.substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = lower.find("\r\ncontent-length:");
      if (cl == std::string::npos) {
        *why = "the answer has no Content-Length";
        return false;
      }
      length = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
      std::string rest = head.substr(end + 4);
      in_body = true;
      received_body = rest.size();
      if (!body_bytes(rest.data(), rest.size())) return false;
      continue;
    }
    received_body += size;
    if (!body_bytes(data, size)) return false;
  }
  progress.finish();
  return true;
}

void print_header(Context& g, const std::string& path, const api::BackupHeader& h,
                  const std::string& what) {
  Json j = api::backup_header_json(h);
  j["file"] = path;
  std::string keys;
  for (const auto& k : h.secret_key_ids) keys += (keys.empty() ? "" : ", ") + k;
  std::string human = what + " " + path + ": cluster '" + h.cluster_id + "', node '" +
                      h.node_id + "', revision " + std::to_string(h.revision) +
                      ", applied index " + std::to_string(h.applied_index) + ", schema " +
                      std::to_string(h.schema_version) + ", " + std::to_string(h.payload_bytes) +
                      " bytes, checksum " + h.checksum +
                      (keys.empty() ? "" : ", secrets wrapped by key(s) " + keys);
  emit(g, j, human);
}

/// The header of `path` alone (the SDK-only build).
Result<api::BackupHeader, std::string> read_header(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unexpected{"cannot open " + path + ": " + std::strerror(errno)};
  std::string head(api::kMaxBackupHeaderBytes + 64, '\0');
  ssize_t n = ::read(fd, head.data(), head.size());
  ::close(fd);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  auto d = api::decode_backup_header(head);
  if (!d.ok()) return Unexpected{path + ": " + d.error()};
  return d->header;
}

void run_verify(Context& g, const std::string& path) {
  if (!verifier()) {
    auto h = read_header(path);
    if (!h.ok()) return bad_input(g, h.error());
    std::cerr << "cairn: this build cannot open the database; only the header was read\n";
    return print_header(g, path, *h, "header of");
  }
  Progress progress("verifying " + path);
  auto h = verifier()(path, [&](uint64_t done, uint64_t total) { progress.update(done, total); });
  progress.finish();
  if (!h.ok()) {
    std::cerr << "cairn: " << h.error() << "\n";
    *g.exit_code = kExitBadInput;
    return;
  }
  print_header(g, path, *h, "verified");
}

void run_download(Context& g, const std::string& out) {
  const auto opts = g.client_options();
  std::shared_ptr<cd::TlsContext> tls;
  std::string last_error = "no endpoint given";
  const std::string tmp = out + ".part";
  for (const auto& text : opts.endpoints) {
    auto ep = cd::parse_endpoint(text);
    if (!ep) {
      return bad_input(g, "endpoint '" + text + "' is not http(s)://host:port");
    }
    if (ep->tls && !tls) {
      std::string error;
      tls = cd::TlsContext::create(g.ca_file, g.cert_file, g.key_file, &error);
      if (!tls) return bad_input(g, error);
    }
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return bad_input(g, "cannot create " + tmp + ": " + std::strerror(errno));
    Download d;
    std::string why;
    bool ok = fetch(g, *ep, tls.get(), fd, &d, &why);
    ok = ok && (d.status != 200 || ::fsync(fd) == 0);
    ::close(fd);
    if (!ok) {
      ::unlink(tmp.c_str());
      last_error = ep->url + ": " + why;
      continue;  // the next endpoint
    }
    if (d.status != 200) {
      ::unlink(tmp.c_str());
      return fail(g, envelope_error(d.status, d.error_body, ep->url));
    }
    Result<api::BackupHeader, std::string> h =
        verifier() ? verifier()(tmp, {}) : read_header(tmp);
    if (!h.ok()) {
      ::unlink(tmp.c_str());
      std::cerr << "cairn: the backup received from " << ep->url
                << " does not check out: " << h.error() << "\n";
      *g.exit_code = kExitServerError;
      return;
    }
    if (std::rename(tmp.c_str(), out.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return bad_input(g, "cannot rename " + tmp + " to " + out + ": " + std::strerror(errno));
    }
    return print_header(g, out, *h, "wrote");
  }
  std::cerr << "cairn: no endpoint answered: " << last_error << "\n";
  *g.exit_code = kExitUnreachable;
}

}  // namespace

void set_backup_verifier(BackupVerifier verify) { verifier() = std::move(verify); }

void add_backup(CLI::App& app, const ContextPtr& g) {
  auto* backup = leaf(app, "backup",
                      "Download a backup of the cluster's state from the first endpoint that "
                      "answers (needs cluster-admin), or check one (backup verify FILE)");
  auto out = std::make_shared<std::string>();
  backup->add_option("--out", *out, "Write the backup to this file (written whole or not at all)");
  auto* verify = leaf(*backup, "verify", "Check a backup file offline: header, SHA-256, the "
                                         "database in it and its contents checksum");
  auto file = std::make_shared<std::string>();
  verify->add_option("file", *file, "The backup file")->required();
  verify->callback([g, file] { run_verify(*g, *file); });
  backup->callback([g, out, backup] {
    if (backup->got_subcommand("verify")) return;
    if (out->empty()) return bad_input(*g, "backup: --out FILE is required");
    run_download(*g, *out);
  });
}

}  // namespace cairn::cli
