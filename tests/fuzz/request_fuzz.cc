// Input: "<target>\n<body>". Exercises everything between the socket and a Command.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/command.h"
#include "common/json_diff.h"
#include "http/types.h"
#include "service/request.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The command codec must round-trip whatever it accepts.
  if (auto command = api::decode_command(input); command.ok()) {
    std::string again = api::encode_command(*command);
    auto back = api::decode_command(again);
    if (!back.ok() || api::encode_command(*back) != again) std::abort();
  }

  size_t nl = input.find('\n');
  auto req = std::make_shared<http::Request>();
  req->target = std::string(input.substr(0, nl));
  req->body = nl == std::string_view::npos ? std::string() : std::string(input.substr(nl + 1));
  if (!http::parse_target(req->target, req->path, req->query)) return 0;

  (void)service::required_param(*req, "namespace");
  (void)service::int_param(*req, "version", 1, INT64_MAX);
  (void)service::paging_params(*req);
  auto body = service::body_object(*req);
  if (!body.ok()) return 0;
  (void)service::string_field(*body, "namespace");
  (void)service::optional_string_field(*body, "description");
  (void)service::optional_int_field(*body, "expected_version", 1, INT64_MAX);
  auto value = body->find("value");
  if (value != body->end()) {
    auto text = service::value_text(*value, 1 << 20, "value");
    if (text.ok()) {
      auto parsed = parse_json(*text, 70);
      if (!parsed || dump_compact(*parsed) != *text) std::abort();  // compact form is stable
      (void)json_diff(*value, *body);
    }
  }
  return 0;
}
