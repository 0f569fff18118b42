// The peer transport's frame header and handshake decoders over arbitrary bytes: what a
// hostile or confused peer can send before and after the hello (and its proof). Must never crash, and a header
// that decodes must respect the payload limit it was given.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "transport/frame.h"
#include "transport/handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn::transport;
  HeaderBytes header{};
  std::copy_n(data, std::min(size, header.size()), header.begin());
  const size_t limit = size > 0 ? (size_t{1} << (data[0] % 27)) : 4096;
  auto h = decode_header(header, limit);
  std::string_view payload;
  if (size > header.size()) {
    payload = std::string_view(reinterpret_cast<const char*>(data) + header.size(),
                               size - header.size());
  }
  if (h.ok()) {
    if (h->length > limit) __builtin_trap();
    (void)crc_matches(*h, payload.substr(0, std::min<size_t>(payload.size(), h->length)));
  }
  if (auto hello = decode_hello(payload); hello.ok()) (void)encode_hello(*hello);
  if (auto ack = decode_hello_ack(payload); ack.ok()) {
    if (decode_hello_ack(encode_hello_ack(*ack)).value() != *ack) __builtin_trap();
  }
  // The challenge-response frames (transport/handshake.h): what decodes re-encodes to the same value.
  if (auto auth = decode_auth(payload); auth.ok()) {
    if (decode_auth(encode_auth(*auth)).value() != *auth) __builtin_trap();
  }
  if (auto verdict = decode_auth_ack(payload); verdict.ok()) {
    if (decode_auth_ack(encode_auth_ack(*verdict)).value() != *verdict) __builtin_trap();
  }
  return 0;
}
