#include "secrets/keyring.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/json.h"
#include "secrets/aead.h"

namespace cairn::secrets {

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<Keyring, std::string> Keyring::make(std::vector<Kek> keys, std::string current) {
  if (keys.empty()) return Unexpected{std::string("no key")};
  Keyring ring;
  for (auto& k : keys) {
    if (!valid_key_id(k.id)) {
      return Unexpected{"key id '" + k.id + "' is not 1-32 of [A-Za-z0-9_-]"};
    }
    if (k.key.size() != kKeyBytes) {
      return Unexpected{"key '" + k.id + "' is not 32 bytes (base64 of 32 random bytes)"};
    }
    if (ring.find(k.id)) return Unexpected{"key id '" + k.id + "' appears twice"};
    ring.keys_.push_back(std::move(k));
  }
  if (!ring.find(current)) return Unexpected{"current key '" + current + "' is not among the keys"};
  ring.current_ = std::move(current);
  return ring;
}

const Kek* Keyring::find(std::string_view id) const {
  for (const auto& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

std::vector<std::string> Keyring::ids() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(k.id);
  return out;
}

Result<Keyring, std::string> parse_keyring(std::string_view text) {
  auto j = parse_json(text, 8);
  if (!j || !j->is_object()) return Unexpected{std::string("not a JSON object")};
  auto current = j->find("current");
  auto keys = j->find("keys");
  if (current == j->end() || !current->is_string()) {
    return Unexpected{std::string("\"current\" (a key id) is missing")};
  }
  if (keys == j->end() || !keys->is_object() || keys->empty()) {
    return Unexpected{std::string("\"keys\" (an object of id: base64 key) is missing")};
  }
  std::vector<Kek> out;
  for (auto it = keys->begin(); it != keys->end(); ++it) {
    if (!it.value().is_string()) return Unexpected{"key '" + it.key() + "' is not a string"};
    auto raw = base64_decode(it.value().get<std::string>());
    if (!raw) return Unexpected{"key '" + it.key() + "' is not base64"};
    out.push_back(Kek{it.key(), std::move(*raw)});
  }
  return Keyring::make(std::move(out), current->get<std::string>());
}

Result<Keyring, std::string> load_keyring_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return Unexpected{"cannot read " + path};
  if (!S_ISREG(st.st_mode)) return Unexpected{path + " is not a regular file"};
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return Unexpected{path + " has mode " + mode +
                      "; a key file must be readable by its owner only (chmod 600 " + path + ")"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Unexpected{"cannot read " + path};
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto ring = parse_keyring(buffer.str());
  if (!ring.ok()) return Unexpected{path + ": " + ring.error()};
  return ring;
}

Result<Keyring, std::string> parse_keyring_env(std::string_view text) {
  std::vector<Kek> keys;
  std::string current;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) return Unexpected{std::string("expected id:base64")};
    auto raw = base64_decode(item.substr(colon + 1));
    std::string id(item.substr(0, colon));
    if (!raw) return Unexpected{"key '" + id + "' is not base64"};
    if (current.empty()) current = id;
    keys.push_back(Kek{std::move(id), std::move(*raw)});
  }
  return Keyring::make(std::move(keys), std::move(current));
}

Result<std::string, std::string> generate_keyring_text(const std::string& id) {
  if (!valid_key_id(id)) return Unexpected{"key id '" + id + "' is not 1-32 of [A-Za-z0-9_-]"};
  auto raw = random_bytes(kKeyBytes);
  if (!raw) return Unexpected{std::string("the random generator failed")};
  Json j{{"current", id}, {"keys", Json{{id, base64_encode(*raw)}}}};
  return j.dump(2) + "\n";
}

}  // namespace cairn::secrets
