#pragma once

// AES-256-GCM through OpenSSL's EVP interface: the one authenticated cipher of Cairn's secrets
// (docs/secrets.md). Stateless; any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cairn::secrets {

inline constexpr size_t kKeyBytes = 32;    // AES-256
inline constexpr size_t kNonceBytes = 12;  // GCM's 96-bit IV
inline constexpr size_t kTagBytes = 16;    // full 128-bit tag

/// Encrypts `plaintext` under `key` (32 bytes) and `nonce` (12 bytes), authenticating `aad`
/// too: ciphertext followed by the 16-byte tag. nullopt only on a wrong key or nonce size, or
/// an OpenSSL failure.
std::optional<std::string> gcm_seal(std::string_view key, std::string_view nonce,
                                    std::string_view aad, std::string_view plaintext);

/// Inverse of gcm_seal: the plaintext, or nullopt when the tag does not verify (a changed
/// byte of the ciphertext, tag, nonce or aad, or another key) or the sizes are wrong. Never
/// returns unauthenticated bytes.
std::optional<std::string> gcm_open(std::string_view key, std::string_view nonce,
                                    std::string_view aad, std::string_view sealed);

/// `n` bytes from OpenSSL's CSPRNG; nullopt when it fails.
std::optional<std::string> random_bytes(size_t n);

/// Standard base64 with padding, and its strict inverse (nullopt on any other character,
/// bad padding or length).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
/// URL-safe base64 without padding (RFC 4648 §5), and its strict inverse.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace cairn::secrets
