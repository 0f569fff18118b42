#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace cairn::store {

/// An incremental SHA-256 (OpenSSL EVP), for the store's checksums: the content checksum of
/// snapshots and backups and a backup's payload digest. Internal to the store.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void add(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  void add(const char* data, size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  /// The digest in lower-case hex; call once, after the last add.
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (unsigned int i = 0; i < n; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace cairn::store
