// Input: "<target>\n<body>". Exercises everything between the socket and a Command.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/command.h"
#include "common/json_diff.h"
#include "frontends/native/request.h"
#include "http/types.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The command codec must round-trip whatever it accepts, and decode_command's fast path
  // (config.write) must answer exactly as the document decoder does.
  auto command = api::decode_command(input);
  auto reference = api::detail::decode_command_document(input);
  if (command.ok() != reference.ok()) std::abort();
  if (command.ok()) {
    std::string again = api::encode_command(*command);
    if (api::encode_command(*reference) != again) std::abort();
    auto back = api::decode_command(again);
    if (!back.ok() || api::encode_command(*back) != again) std::abort();
  } else if (command.error().details != reference.error().details) {
    std::abort();
  }

  size_t nl = input.find('\n');
  auto req = std::make_shared<http::Request>();
  req->target = std::string(input.substr(0, nl));
  req->body = nl == std::string_view::npos ? std::string() : std::string(input.substr(nl + 1));
  if (!http::parse_target(req->target, req->path, req->query)) return 0;

  (void)native::required_param(*req, "namespace");
  (void)native::int_param(*req, "version", 1, INT64_MAX);
  (void)native::paging_params(*req);
  auto body = native::body_object(*req);
  if (!body.ok()) return 0;
  (void)native::string_field(*body, "namespace");
  (void)native::optional_string_field(*body, "description");
  (void)native::optional_int_field(*body, "expected_version", 1, INT64_MAX);
  // The compact text of an accepted document parses to the same document and is a fixed point.
  const std::string compact = compact_json_text(req->body);
  auto reparsed = parse_json(compact, 80);
  if (!reparsed || *reparsed != *body || compact_json_text(compact) != compact) std::abort();
  // The raw member the locators find is the member the parser kept (the last of duplicates).
  auto value = body->find("value");
  auto raw_value = native::raw_value_member(req->body);
  if ((value != body->end()) != raw_value.has_value()) std::abort();
  if (value != body->end()) {
    auto raw_parsed = parse_json(*raw_value, 80);
    if (!raw_parsed || *raw_parsed != *value) std::abort();
    auto text = native::value_text(*raw_value, 1 << 20, "value");
    if (text.ok()) {
      auto parsed = parse_json(*text, 70);
      if (!parsed || *parsed != *value || compact_json_text(*text) != *text) std::abort();
      (void)json_diff(*value, *body);
    }
  }
  auto ops = body->find("operations");
  if (ops != body->end() && ops->is_array()) {
    auto raw_ops_text = json_member_text(req->body, "operations");
    auto raw_ops = raw_ops_text ? json_element_texts(*raw_ops_text) : std::nullopt;
    if (!raw_ops || raw_ops->size() != ops->size()) std::abort();
    for (size_t i = 0; i < raw_ops->size(); ++i) {
      auto element = parse_json((*raw_ops)[i], 80);
      if (!element || *element != (*ops)[i]) std::abort();
    }
  }
  return 0;
}
