// The Nacos front-end's request parsers (src/frontends/nacos/protocol.h): form bodies, Java's
// URL decoding, Listening-Configs, the dataId/group/tenant mapping and Long-Pulling-Timeout.
// Whatever they accept must hold together: URL coding and the listener's answer round-trip.
// Input: "<form body>" (its Listening-Configs, dataId, group, tenant and timeout fields are used
// when present; the whole input is also parsed as a raw Listening-Configs).

#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontends/nacos/protocol.h"

using namespace cairn::nacos;

namespace {

void listening(std::string_view text) {
  auto entries = parse_listening_configs(text);
  if (!entries) return;
  if (entries->size() > kMaxListeners) std::abort();
  // The answer naming every entry decodes to their names again (separators cannot be in
  // names a client can send back, so only well-formed ones are checked).
  auto decoded = url_decode(encode_changed(*entries));
  if (!decoded) std::abort();
  for (const auto& e : *entries) {
    (void)map_address(e.data_id, e.group, e.tenant);
    if (e.md5.size() > text.size()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // URL coding round-trips any bytes.
  auto back = url_decode(url_encode(input));
  if (!back || *back != input) std::abort();
  (void)md5_hex(input);
  (void)parse_long(input);
  (void)hold_ms(parse_long(input).value_or(0), 60'000);

  listening(input);

  Params params;
  if (!decode_form(input, params)) {
    if (!params.empty()) std::abort();  // a malformed form adds nothing
    return 0;
  }
  auto field = [&](const char* name) { return param(params, name).value_or(""); };
  auto mapped = map_address(field("dataId"), field("group"), field("tenant"));
  if (mapped.address.has_value() == !mapped.error.empty()) std::abort();
  if (mapped.address && (mapped.address->ns.empty() || mapped.address->key.empty())) std::abort();
  if (auto probe = param(params, "Listening-Configs")) {
    if (auto decoded = url_decode(*probe)) listening(*decoded);
  }
  return 0;
}
