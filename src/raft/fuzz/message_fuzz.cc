// libFuzzer target: arbitrary bytes must decode or be rejected without crashing, and whatever
// decodes must re-encode to bytes that decode to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "raft/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto m = cairn::raft::decode(in);
  if (!m) return 0;
  std::string again = cairn::raft::encode(*m);
  auto m2 = cairn::raft::decode(again);
  if (!m2 || !(*m2 == *m)) std::abort();
  return 0;
}
