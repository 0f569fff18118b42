// The sealed-value decoder (secrets/sealed.h, docs/secrets.md): any stored text, well-formed or
// not, must decode strictly or not at all, re-encode to itself when it decodes, and never open
// unless it authenticates — never crash, never return bytes that did not verify.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "secrets/sealed.h"

using namespace cairn;

namespace {

const secrets::Keyring& keyring() {
  static const secrets::Keyring ring =
      *secrets::Keyring::make({secrets::Kek{"k1", std::string(32, 'a')},
                               secrets::Kek{"k2", std::string(32, 'b')}},
                              "k2");
  return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parts = secrets::decode_sealed(input);
  if (parts) {
    if (!secrets::looks_sealed(input)) std::abort();
    if (secrets::encode_sealed(*parts) != input) std::abort();  // one text per value
  }
  // Random bytes never authenticate (a forged tag would need the key).
  auto opened = secrets::open(keyring(), "ns", "key", parts ? parts->version : 1, input);
  if (opened.ok() && !parts) std::abort();
  (void)secrets::rewrap(keyring(), input);
  // The text as the middle of a well-formed value: the prefix and suffix are right, the body
  // is the input.
  std::string framed = std::string(secrets::kSealedPrefix) + std::string(input) + "\"}";
  if (auto p = secrets::decode_sealed(framed)) {
    if (secrets::encode_sealed(*p) != framed) std::abort();
    (void)secrets::open(keyring(), "ns", "key", p->version, framed);
  }
  (void)secrets::key_pattern_matches(input.substr(0, size / 2), input.substr(size / 2));
  return 0;
}
