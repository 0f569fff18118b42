// Gray releases' parsers (docs/releases.md): the release spec (target and plan), Go durations,
// the X-Client-ID / X-Client-Labels headers, targeting, and the registry-view merge and
// progress over arbitrary JSON. Whatever they accept must hold together: an accepted spec's
// canonical text parses back to the same canonical text; an accepted identity obeys the header
// rules; nothing crashes on any input.
// Input: "<selector byte><text>".

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/client_registry.h"
#include "core/releases.h"
#include "frontends/native/service.h"

using namespace cairn;

namespace {

void spec(std::string_view text) {
  auto doc = parse_json(text, 16);
  if (!doc || !doc->is_object()) return;
  const Json target = doc->contains("target") ? (*doc)["target"] : Json::object();
  const Json* plan = doc->contains("plan") ? &(*doc)["plan"] : nullptr;
  auto parsed = core::parse_release_spec(target, plan);
  if (!parsed.ok()) {
    if (parsed.error().code != api::Errc::kValidation) std::abort();
    return;
  }
  const std::string canonical = dump_compact(parsed->canonical());
  auto again = core::parse_release_spec_text(canonical);
  if (!again.ok() || dump_compact(again->canonical()) != canonical) std::abort();
  core::ClientIdentity c;
  c.id = std::string(text.substr(0, 16));
  c.ip = "10.0.0.7";
  c.labels = {{"app", "orders"}};
  for (int64_t stage = 0; stage < 3; ++stage) (void)core::release_targets(*parsed, stage, "r-1", c);
}

void identity(std::string_view text) {
  size_t nl = text.find('\n');
  http::Request req;
  req.remote_address = "10.0.0.1:1234";
  req.headers.emplace_back("x-client-id", std::string(text.substr(0, nl)));
  if (nl != std::string_view::npos) {
    req.headers.emplace_back("x-client-labels", std::string(text.substr(nl + 1)));
  }
  auto id = native::Service::identity_of(req);
  if (!id.ok()) {
    if (id.error().code != api::Errc::kValidation) std::abort();
    return;
  }
  if (id->id.empty() || id->id.size() > 128 || id->labels.size() > 16) std::abort();
}

void views(std::string_view text) {
  auto doc = parse_json(text, 32);
  if (!doc) return;
  Json merged = core::merge_client_views({*doc, *doc});
  store::ReleaseRow row;
  row.id = "r-1";
  row.ns = "orders";
  row.state = "active";
  row.spec = R"({"target":{"percent":50},"plan":{"stages":[{"percent":50,"hold":"1s"},{"percent":100}],"guard":{"max_failed_ratio":0.1,"min_acks":2,"ack_timeout":"1s"},"on_failure":"halt"}})";
  row.changes = R"({"k":1})";
  auto release = core::make_release(row);
  auto progress = core::release_progress(*release, merged);
  if (progress.applied + progress.failed + progress.silent != progress.targeted) std::abort();
  (void)core::plan_step(*release, progress, 5'000);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      spec(text);
      break;
    case 1:
      identity(text);
      break;
    case 2:
      views(text);
      break;
    default:
      (void)core::parse_go_duration(text);
      break;
  }
  return 0;
}
