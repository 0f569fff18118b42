#pragma once

// The one set-up of an OpenSSL context for Cairn's TLS endpoints: the HTTPS API server, the
// mutual TLS between Raft peers, the server's HTTP client (forwarding, cluster health) and the
// SDK. It works on the raw SSL_CTX (Asio's ssl::context::native_handle() is one), so it needs
// nothing but OpenSSL; header-only, so that the SDK, which links no other Cairn library, uses it
// too. Whoever includes it links OpenSSL::SSL.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>

#include "common/result.h"

namespace cairn::tls {

/// Which side of a connection the context serves, and so what it verifies.
enum class Role {
  /// Dials servers: always checks the server's certificate against `ca` (the system's CAs when
  /// empty); presents `cert`/`key` when set. The caller still names the expected host.
  kClient,
  /// Accepts connections: presents `cert`/`key` (required); when `ca` is set, every client must
  /// present a certificate it signed, else clients are not asked for one.
  kServer,
  /// Both ends of a peer link (one context for accepting and dialing): `cert`, `key` and `ca`
  /// are all required, and each side must present a certificate signed by `ca`.
  kMutual,
};

/// The files of one TLS identity and its trust anchor; empty means "not set".
struct Files {
  std::string cert;  // PEM certificate chain
  std::string key;   // PEM private key of `cert`
  std::string ca;    // PEM CA bundle that the other side's certificate must chain to
};

namespace detail {
/// OpenSSL's reason for the last failure on this thread (and clears the queue), or "".
inline std::string last_error() {
  std::string why;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    why = buf;  // the last is the most specific
  }
  return why;
}
inline Unexpected<std::string> failure(const std::string& what, const std::string& file) {
  std::string why = last_error();
  return Unexpected{"cannot load " + what + (file.empty() ? "" : " " + file) +
                    (why.empty() ? "" : ": " + why)};
}
}  // namespace detail

/// Configures `ctx` for `role` from `files`: TLS 1.2 or later, OpenSSL's bug workarounds, the
/// identity, the trusted CAs and the verification mode (see Role). An error text naming the file
/// that could not be loaded, or the missing setting. Call before the context is shared.
inline Result<Ok, std::string> configure(SSL_CTX* ctx, Role role, const Files& files) {
  if (ctx == nullptr) return Unexpected{std::string("no TLS context")};
  if (role == Role::kMutual && (files.cert.empty() || files.key.empty() || files.ca.empty())) {
    return Unexpected{std::string("mutual TLS needs the certificate, the key and the CA file")};
  }
  if (role == Role::kServer && (files.cert.empty() || files.key.empty())) {
    return Unexpected{std::string("a TLS server needs both the certificate and the key")};
  }
  ERR_clear_error();
  SSL_CTX_set_options(ctx, SSL_OP_ALL);
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return Unexpected{"cannot require TLS 1.2: " + detail::last_error()};
  }
  if (!files.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
      return detail::failure("the certificate", files.cert);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return detail::failure("the key", files.key);
    }
  }
  if (!files.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1) {
      return detail::failure("the CA file", files.ca);
    }
  } else if (role == Role::kClient && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return detail::failure("the system's CA files", "");
  }
  if (role == Role::kClient) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else if (!files.ca.empty()) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return Ok{};
}

}  // namespace cairn::tls
