// The schema compiler and validator (docs/schemas.md) on hostile input: the first line of the
// input is a schema list, the rest a value. Whatever they hold, compiling either refuses with a
// reason or gives a schema whose validation of the value ends within its step budget, never
// crashing, never recursing without bound.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jsonschema/namespace_schemas.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string_view schema = in.substr(0, nl);
  std::string_view value = nl == std::string_view::npos ? "null" : in.substr(nl + 1);
  // A bare schema, and the same as the list apply stores.
  if (auto doc = cairn::parse_json(schema, 200)) {
    if (auto compiled = cairn::jsonschema::compile(*doc); compiled.ok()) {
      if (auto v = cairn::parse_json(value, 64)) (void)(*compiled)->validate(*v);
    }
  }
  auto list = cairn::jsonschema::NamespaceSchemas::parse(schema, size % 2 == 0);
  if (list.ok()) {
    (void)(*list)->check_text("k", value);
    (void)cairn::jsonschema::breaking_changes(list->get(), **list);
  }
  return 0;
}
