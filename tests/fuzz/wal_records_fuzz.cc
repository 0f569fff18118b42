// The WAL's record parser over arbitrary bytes, as recovery meets them in a damaged segment:
// parse every record from the start, then look for a valid record after each position. Must
// never crash or read out of bounds; a record that parses must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "wal/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos < in.size()) {
    cairn::wal::RecordView r;
    auto status = cairn::wal::parse_record(in.substr(pos), &r);
    if (status != cairn::wal::ParseStatus::ok) {
      size_t found = 0;
      (void)cairn::wal::valid_record_after(in, pos + 1, 0, &found);
      break;
    }
    cairn::raft::Entry e{r.term, r.index, r.type, std::string(r.data)};
    std::string again;
    cairn::wal::encode_entry_record(again, e);
    if (again != in.substr(pos, r.size)) __builtin_trap();
    if (r.size == 0) __builtin_trap();
    pos += r.size;
  }
  return 0;
}
