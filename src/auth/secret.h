#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cairn::auth {

/// A new token secret: "cairn_" and 43 base64url characters of 32 random bytes (OpenSSL's
/// RAND_bytes). Shown to its owner once; never stored.
std::string generate_secret();

/// A new token id: 16 lower-case hex characters of random bytes.
std::string generate_token_id();

/// Lower-case hex SHA-256 of `secret`: what the replicated token table stores.
std::string hash_secret(std::string_view secret);

/// Equality whose duration depends only on the lengths (CRYPTO_memcmp), for secrets and hashes.
bool constant_time_equal(std::string_view a, std::string_view b);

/// The root token's secret (docs/security.md): CAIRN_ROOT_TOKEN when set; else the one in
/// `<data_dir>/root-token`; else a new one, written there (mode 0600) and returned with
/// `generated` set so that the caller prints it once.
Result<std::string, std::string> bootstrap_root_token(const std::string& data_dir, bool& generated);

}  // namespace cairn::auth
