#pragma once

// Key-encryption keys (KEKs, docs/secrets.md): the cluster's keys that wrap every secret's data
// key. Several may be held at once (rotation), each with an id; one is current (new values are
// wrapped with it). Every node must hold the same set.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cairn::secrets {

struct Kek {
  std::string id;   // 1–32 of [A-Za-z0-9_-]
  std::string key;  // 32 raw bytes
};

/// An immutable set of KEKs. Plain value; any thread.
class Keyring {
 public:
  Keyring() = default;
  /// `keys` non-empty with distinct valid ids and 32-byte keys; `current` one of them.
  static Result<Keyring, std::string> make(std::vector<Kek> keys, std::string current);

  bool empty() const { return keys_.empty(); }
  const std::string& current_id() const { return current_; }
  const Kek* current() const { return find(current_); }
  const Kek* find(std::string_view id) const;
  std::vector<std::string> ids() const;

 private:
  std::vector<Kek> keys_;
  std::string current_;
};

bool valid_key_id(std::string_view id);

/// The key file's text (JSON):
///   {"current": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "<base64>"}}
Result<Keyring, std::string> parse_keyring(std::string_view text);

/// Reads the key file at `path`. Refused unless it is a regular file that only its owner may
/// read or write (mode 0600 or 0400: no group or other bits), so that a key left readable by
/// others is noticed at start rather than later.
Result<Keyring, std::string> load_keyring_file(const std::string& path);

/// The environment variable's form: `id:base64[,id:base64…]`; the first key is current.
Result<Keyring, std::string> parse_keyring_env(std::string_view text);

/// A key file holding one new random key `id`, current (`cairn secret-key generate`).
Result<std::string, std::string> generate_keyring_text(const std::string& id);

}  // namespace cairn::secrets
