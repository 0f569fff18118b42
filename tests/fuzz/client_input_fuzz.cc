// The client side's input checks (issue 18): the SDK's identity validation and label header
// (what every request sends), and the CLI's `release start` request builder with its Go duration
// check. Input: lines; the first is the client id, the next ones alternate label name / value
// until an empty line, the rest fill the release flags. Nothing may crash, and what is accepted
// must be what the rules say.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cairn/client.h"
#include "cli/commands.h"

namespace {

std::vector<std::string> lines(const uint8_t* data, size_t size) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') {
      out.emplace_back();
    } else {
      out.back() += static_cast<char>(data[i]);
    }
  }
  return out;
}

/// read_value reads files for "@path" and stdin for "-": not from a fuzzer.
std::string tame(std::string v) {
  if (v == "-" || (!v.empty() && v[0] == '@')) v.insert(0, "x");
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  auto in = lines(data, size);
  size_t i = 0;
  const std::string id = in[i++];
  std::map<std::string, std::string> labels;
  while (i + 1 < in.size() && !in[i].empty()) {
    labels[in[i]] = in[i + 1];
    i += 2;
  }
  if (i < in.size()) ++i;
  auto why = cairn::validate_identity(id, labels);
  const std::string header = cairn::format_labels(labels);
  if (!why) {
    // A valid identity makes a header the server splits back into the same pairs.
    if (id.size() > 128 || labels.size() > 16) __builtin_trap();
    if (header.find(' ') != std::string::npos || header.find('\n') != std::string::npos) {
      __builtin_trap();
    }
  }

  cairn::cli::ReleaseArgs a;
  auto next = [&]() -> std::string { return i < in.size() ? in[i++] : std::string(); };
  a.ns = next();
  for (int k = 0; k < 3 && i < in.size(); ++k) a.sets.push_back(tame(next()));
  a.deletes.push_back(next());
  a.labels.push_back(next());
  a.ips.push_back(next());
  a.percent = next();
  a.stages.push_back(next());
  a.stages.push_back(next());
  a.ack_timeout = next();
  a.on_failure = next();
  a.description = next();
  cairn::Json body;
  std::string error;
  if (cairn::cli::build_release_request(a, &body, &error)) {
    if (!body.is_object() || !body.contains("changes") || body["changes"].empty()) __builtin_trap();
    (void)body.dump();
  }
  for (const auto& l : in) (void)cairn::cli::valid_duration(l);
  return 0;
}
