#pragma once

// The stored form of a secret value (docs/secrets.md): envelope encryption. Each sealed value
// has its own random 256-bit data key; the value is encrypted with it (AES-256-GCM, associated
// data = namespace, key and version), and the data key is wrapped with a key-encryption key
// (AES-256-GCM, associated data = the KEK's id). The sealed value is itself a JSON value, so
// that it flows through every layer that stores or carries values (Raft log, SQLite, snapshots,
// archive, version ring, Redis tier, watch history) unchanged:
//
//   {"$sealed":"cairn1.<kek id>.<version>.<wrapped data key>.<nonce>.<ciphertext+tag>"}
//
// the last three base64url without padding; the wrapped data key is its own 12-byte nonce,
// the 32-byte encrypted key and the 16-byte tag. A value is secret exactly when its stored
// text is sealed. Stateless functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "secrets/keyring.h"

namespace cairn::secrets {

/// Every stored value whose text starts with this is sealed (or refused by the write path):
/// values of this shape are reserved.
inline constexpr std::string_view kReservedPrefix = R"({"$sealed")";
inline constexpr std::string_view kSealedPrefix = R"({"$sealed":"cairn1.)";
/// Starts the details of apply's 40901 for a secret sealed for another version than the one
/// written (or a secret key's value written unsealed): the leader seals again and retries.
inline constexpr std::string_view kResealMarker = "secret must be sealed again: ";
/// What a caller without `reveal` gets instead of a secret value (a JSON string).
inline constexpr std::string_view kMask = R"("******")";
/// Largest plaintext sealed (the value limit is checked before; this guards the decoder).
inline constexpr size_t kMaxSealedBytes = 64u << 20;

bool looks_sealed(std::string_view value_text);

struct SealedParts {
  std::string key_id;
  int64_t version = 0;  // the version sealed for (the associated data names it too)
  std::string wrapped;     // 60 bytes
  std::string nonce;       // 12 bytes
  std::string ciphertext;  // ciphertext and 16-byte tag
};

/// Strict parse of the stored text; nullopt when it is not exactly the format above.
std::optional<SealedParts> decode_sealed(std::string_view text);
std::string encode_sealed(const SealedParts& parts);

/// The prefix of every value sealed under KEK `key_id` (to find those that need re-wrapping).
std::string sealed_prefix(std::string_view key_id);

enum class OpenFailure {
  kMalformed,      // not a sealed value
  kUnknownKey,     // wrapped by a KEK this node does not hold
  kAuthentication  // tampered with, or moved to another namespace, key or version
};
struct OpenError {
  OpenFailure kind = OpenFailure::kMalformed;
  std::string message;
};

/// Seals `plaintext` (compact JSON text) for version `version` of ns/key with a fresh data key
/// wrapped by the keyring's current KEK.
Result<std::string, std::string> seal(const Keyring& keyring, std::string_view ns,
                                      std::string_view key, int64_t version,
                                      std::string_view plaintext);

/// The plaintext of `text`, stored as version `version` of ns/key. Never returns bytes that
/// did not authenticate.
Result<std::string, OpenError> open(const Keyring& keyring, std::string_view ns,
                                    std::string_view key, int64_t version, std::string_view text);

/// `text` with its data key wrapped by the current KEK instead (the value itself is not
/// re-encrypted); `text` unchanged when it already is.
Result<std::string, OpenError> rewrap(const Keyring& keyring, std::string_view text);

/// Secret key patterns of a namespace: a key, or a key with '*' wildcards (any run of
/// characters, dots included): "db.password", "*.password", "db.*", "*".
bool valid_key_pattern(std::string_view pattern);
bool key_pattern_matches(std::string_view pattern, std::string_view key);
bool matches_any(const std::vector<std::string>& patterns, std::string_view key);
inline constexpr size_t kMaxKeyPatterns = 64;
/// nullopt when the patterns are valid, else why not.
std::optional<std::string> check_key_patterns(const std::vector<std::string>& patterns);

}  // namespace cairn::secrets
