// The Apollo front-end's request parser (the `notifications` parameter of /notifications/v2)
// and its encoders (frontends/apollo/wire.h). Input: the parameter's text. Whatever is
// accepted must name valid Cairn namespaces, and the answers built from it must be JSON.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/json.h"
#include "frontends/apollo/wire.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto watched = apollo::parse_notifications(input);
  // The namespace name as a path segment, the value as a stored value: the encoders take
  // anything.
  std::vector<std::pair<std::string, std::string>> configs = {
      {std::string(input.substr(0, 64)), json_quote(input)}, {"raw", std::string(input)}};
  if (!parse_json(apollo::configurations_json(configs), 4)) std::abort();
  (void)apollo::properties_text(configs);
  (void)apollo::namespace_of(input);
  (void)apollo::format_of(input);
  if (!watched.ok()) {
    if (!parse_json(apollo::error_json(400, watched.error(), "/notifications/v2", 0), 4)) {
      std::abort();
    }
    return 0;
  }
  if (watched->empty() || watched->size() > apollo::kMaxNotifications) std::abort();
  std::vector<apollo::Notification> notes;
  for (const auto& w : *watched) {
    if (w.ns.empty() || w.ns.size() > 128) std::abort();
    notes.push_back({w.namespace_name, w.notification_id});
  }
  auto answer = parse_json(apollo::notifications_json("app", "default", notes), 6);
  if (!answer || answer->size() != notes.size()) std::abort();
  return 0;
}
