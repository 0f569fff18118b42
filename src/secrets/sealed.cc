#include "secrets/sealed.h"

#include <openssl/crypto.h>

#include <charconv>

#include "secrets/aead.h"

namespace cairn::secrets {
namespace {

constexpr size_t kWrappedBytes = kNonceBytes + kKeyBytes + kTagBytes;
constexpr std::string_view kSuffix = R"("})";

std::string wrap_aad(std::string_view key_id) {
  std::string aad = "cairn-dek-v1";
  aad += '\0';
  aad += key_id;
  return aad;
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

std::string value_aad(std::string_view ns, std::string_view key, int64_t version) {
  std::string aad = "cairn-value-v1";
  aad += '\0';
  put_u32(aad, static_cast<uint32_t>(ns.size()));
  aad += ns;
  put_u32(aad, static_cast<uint32_t>(key.size()));
  aad += key;
  uint64_t v = static_cast<uint64_t>(version);
  for (int shift = 56; shift >= 0; shift -= 8) aad += static_cast<char>((v >> shift) & 0xff);
  return aad;
}

/// The data key of `parts`, unwrapped with its KEK.
Result<std::string, OpenError> unwrap(const Keyring& keyring, const SealedParts& parts) {
  const Kek* kek = keyring.find(parts.key_id);
  if (!kek) {
    return Unexpected{OpenError{OpenFailure::kUnknownKey,
                                "sealed with key-encryption key '" + parts.key_id +
                                    "', which this node does not hold"}};
  }
  auto dek = gcm_open(kek->key, std::string_view(parts.wrapped).substr(0, kNonceBytes),
                      wrap_aad(parts.key_id), std::string_view(parts.wrapped).substr(kNonceBytes));
  if (!dek || dek->size() != kKeyBytes) {
    return Unexpected{OpenError{OpenFailure::kAuthentication,
                                "the data key does not unwrap with key-encryption key '" +
                                    parts.key_id + "' (tampered with)"}};
  }
  return std::move(*dek);
}

Result<std::string, std::string> wrap(const Kek& kek, std::string_view dek) {
  auto nonce = random_bytes(kNonceBytes);
  if (!nonce) return Unexpected{std::string("the random generator failed")};
  auto sealed = gcm_seal(kek.key, *nonce, wrap_aad(kek.id), dek);
  if (!sealed) return Unexpected{std::string("AES-256-GCM failed")};
  return *nonce + *sealed;
}

}  // namespace

bool looks_sealed(std::string_view text) { return text.starts_with(kReservedPrefix); }

std::optional<SealedParts> decode_sealed(std::string_view text) {
  if (!text.starts_with(kSealedPrefix) || !text.ends_with(kSuffix)) return std::nullopt;
  if (text.size() > kMaxSealedBytes * 2) return std::nullopt;
  std::string_view body = text.substr(kSealedPrefix.size(),
                                      text.size() - kSealedPrefix.size() - kSuffix.size());
  std::string_view fields[5];
  for (int i = 0; i < 5; ++i) {
    size_t dot = body.find('.');
    if (i < 4) {
      if (dot == std::string_view::npos) return std::nullopt;
      fields[i] = body.substr(0, dot);
      body = body.substr(dot + 1);
    } else {
      if (dot != std::string_view::npos) return std::nullopt;
      fields[i] = body;
    }
  }
  SealedParts parts;
  if (!valid_key_id(fields[0])) return std::nullopt;
  parts.key_id = std::string(fields[0]);
  std::string_view v = fields[1];
  if (v.empty() || v.size() > 18 || (v.size() > 1 && v[0] == '0')) return std::nullopt;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::from_chars(v.data(), v.data() + v.size(), parts.version);
  if (parts.version < 1) return std::nullopt;
  auto wrapped = base64url_decode(fields[2]);
  auto nonce = base64url_decode(fields[3]);
  auto ciphertext = base64url_decode(fields[4]);
  if (!wrapped || wrapped->size() != kWrappedBytes) return std::nullopt;
  if (!nonce || nonce->size() != kNonceBytes) return std::nullopt;
  if (!ciphertext || ciphertext->size() < kTagBytes) return std::nullopt;
  parts.wrapped = std::move(*wrapped);
  parts.nonce = std::move(*nonce);
  parts.ciphertext = std::move(*ciphertext);
  return parts;
}

std::string encode_sealed(const SealedParts& p) {
  std::string out(kSealedPrefix);
  out += p.key_id;
  out += '.';
  out += std::to_string(p.version);
  out += '.';
  out += base64url_encode(p.wrapped);
  out += '.';
  out += base64url_encode(p.nonce);
  out += '.';
  out += base64url_encode(p.ciphertext);
  out += kSuffix;
  return out;
}

std::string sealed_prefix(std::string_view key_id) {
  return std::string(kSealedPrefix) + std::string(key_id) + ".";
}

Result<std::string, std::string> seal(const Keyring& keyring, std::string_view ns,
                                      std::string_view key, int64_t version,
                                      std::string_view plaintext) {
  const Kek* kek = keyring.current();
  if (!kek) return Unexpected{std::string("no key-encryption key is configured")};
  if (version < 1) return Unexpected{std::string("version must be at least 1")};
  if (plaintext.size() > kMaxSealedBytes) return Unexpected{std::string("value too large")};
  auto dek = random_bytes(kKeyBytes);
  auto nonce = random_bytes(kNonceBytes);
  if (!dek || !nonce) return Unexpected{std::string("the random generator failed")};
  SealedParts parts;
  parts.key_id = kek->id;
  parts.version = version;
  parts.nonce = *nonce;
  auto ciphertext = gcm_seal(*dek, *nonce, value_aad(ns, key, version), plaintext);
  auto wrapped = wrap(*kek, *dek);
  OPENSSL_cleanse(dek->data(), dek->size());
  if (!ciphertext) return Unexpected{std::string("AES-256-GCM failed")};
  if (!wrapped.ok()) return Unexpected{wrapped.error()};
  parts.ciphertext = std::move(*ciphertext);
  parts.wrapped = std::move(*wrapped);
  return encode_sealed(parts);
}

Result<std::string, OpenError> open(const Keyring& keyring, std::string_view ns,
                                    std::string_view key, int64_t version,
                                    std::string_view text) {
  auto parts = decode_sealed(text);
  if (!parts) {
    return Unexpected{OpenError{OpenFailure::kMalformed, "the stored value is not well sealed"}};
  }
  auto dek = unwrap(keyring, *parts);
  if (!dek.ok()) return Unexpected{dek.error()};
  auto plain = gcm_open(*dek, parts->nonce, value_aad(ns, key, version), parts->ciphertext);
  OPENSSL_cleanse(dek->data(), dek->size());
  if (!plain) {
    return Unexpected{OpenError{OpenFailure::kAuthentication,
                                "the value does not authenticate as version " +
                                    std::to_string(version) + " of this key (tampered with, or "
                                    "copied from another key)"}};
  }
  return std::move(*plain);
}

Result<std::string, OpenError> rewrap(const Keyring& keyring, std::string_view text) {
  auto parts = decode_sealed(text);
  if (!parts) {
    return Unexpected{OpenError{OpenFailure::kMalformed, "the stored value is not well sealed"}};
  }
  const Kek* current = keyring.current();
  if (!current) return Unexpected{OpenError{OpenFailure::kUnknownKey, "no current key"}};
  if (parts->key_id == current->id) return std::string(text);
  auto dek = unwrap(keyring, *parts);
  if (!dek.ok()) return Unexpected{dek.error()};
  auto wrapped = wrap(*current, *dek);
  OPENSSL_cleanse(dek->data(), dek->size());
  if (!wrapped.ok()) return Unexpected{OpenError{OpenFailure::kAuthentication, wrapped.error()}};
  parts->key_id = current->id;
  parts->wrapped = std::move(*wrapped);
  return encode_sealed(*parts);
}

bool valid_key_pattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > 256) return false;
  for (char c : pattern) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f) return false;  // no spaces or control characters
  }
  return true;
}

bool key_pattern_matches(std::string_view p, std::string_view k) {
  // Glob with '*' only: iterative, backtracking to the last star (linear-ish, no recursion).
  size_t pi = 0, ki = 0, star = std::string_view::npos, mark = 0;
  while (ki < k.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ki;
    } else if (pi < p.size() && p[pi] == k[ki]) {
      ++pi;
      ++ki;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ki = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view key) {
  for (const auto& p : patterns) {
    if (key_pattern_matches(p, key)) return true;
  }
  return false;
}

std::optional<std::string> check_key_patterns(const std::vector<std::string>& patterns) {
  if (patterns.size() > kMaxKeyPatterns) {
    return "secret_keys holds at most " + std::to_string(kMaxKeyPatterns) + " patterns";
  }
  for (const auto& p : patterns) {
    if (!valid_key_pattern(p)) {
      return "secret key pattern '" + p + "' must be 1-256 printable characters without spaces";
    }
  }
  return std::nullopt;
}

}  // namespace cairn::secrets
