// The import files (src/frontends/transfer/formats.h) and the zip reader (zip.h): any bytes, read
// as any source, must be refused or decoded, never crash; whatever decodes must export and
// import again to the same keys, and whatever the zip reader reads must survive its writer.
// Input: one byte choosing the source and format, then the file.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "frontends/transfer/formats.h"
#include "frontends/transfer/zip.h"

using namespace cairn::transfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > (1u << 20)) return 0;
  const uint8_t selector = data[0];
  std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  ZipLimits limits;
  limits.max_total_bytes = 8u << 20;
  if (auto entries = read_zip(bytes, limits); entries.ok()) {
    auto again = read_zip(write_zip(*entries), limits);
    if (!again.ok() || again->size() != entries->size()) std::abort();
    for (size_t i = 0; i < entries->size(); ++i) {
      if ((*again)[i].name != (*entries)[i].name || (*again)[i].data != (*entries)[i].data) {
        std::abort();
      }
    }
  }

  static const Source kSources[] = {Source::kCairn, Source::kConsul, Source::kNacos,
                                    Source::kApollo, Source::kEtcd};
  static const char* kFormats[] = {"", "json", "yaml", "zip"};
  ParseOptions o;
  o.source = kSources[selector % 5];
  o.format = kFormats[(selector / 5) % 4];
  o.filename = (selector & 0x80) ? "app.yaml" : "application.properties";
  o.tenant = (selector & 0x40) ? "dev" : "";
  auto set = parse_import(bytes, o);
  if (!set.ok()) return 0;
  std::vector<ExportNamespace> out;
  for (const auto& n : set->namespaces) {
    ExportNamespace e;
    e.name = n.name;
    e.description = n.description.value_or("");
    e.secret_keys = n.secret_keys;
    e.items = n.items;
    out.push_back(std::move(e));
  }
  ParseOptions back;
  back.format = "json";
  auto again = parse_import(export_json(out, {"t", "n", false}), back);
  if (!again.ok() || again->item_count() != set->item_count() ||
      again->namespaces.size() != set->namespaces.size()) {
    std::abort();
  }
  return 0;
}
