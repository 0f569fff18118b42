#pragma once

// The files of import and export (docs/import-export.md): Cairn's own export (JSON, YAML, or a
// zip of one JSON file per namespace) and the formats of the tools people migrate from —
// `consul kv export`, Nacos's config export zip, an Apollo namespace file (or a zip of them),
// `etcdctl get --prefix -w json`. Each is decoded into one ImportSet, mapped onto Cairn
// namespaces and keys exactly as the protocol front-ends map them (docs/compat.md), so that a
// client can switch to the matching front-end right after the import. Pure functions of their
// arguments: no core, no I/O; any thread. Fuzzed (tests/fuzz/import_fuzz.cc).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "common/result.h"

namespace cairn::transfer {

enum class Source { kCairn, kConsul, kNacos, kApollo, kEtcd };
std::optional<Source> parse_source(std::string_view text);
std::string_view source_name(Source source);

/// One key of an import file.
struct ImportItem {
  std::string key;
  std::string value;  // compact JSON text; a sealed secret as its sealed text
  std::optional<std::string> description;  // nullopt: the file says nothing
  std::optional<int> status;
  bool secret = false;  // the file marks it secret (Cairn exports)
  int64_t version = 0;  // the version it was exported at (Cairn exports), 0 when unknown
};

struct ImportNamespace {
  std::string name;
  /// Cairn exports: the namespace's own settings, used when the import creates it.
  std::optional<std::string> description;
  std::vector<std::string> secret_keys;
  std::vector<ImportItem> items;  // ordered by key, no duplicates
};

struct ImportSet {
  std::vector<ImportNamespace> namespaces;  // ordered by name, no duplicates
  std::vector<std::string> warnings;        // entries left out, and why
  size_t item_count() const;
};

struct ParseOptions {
  Source source = Source::kCairn;
  /// Cairn files: "json", "yaml" or "zip"; "" guesses from the bytes.
  std::string format;
  /// Apollo: the namespace a single file is imported into ("" = from `filename`).
  std::string ns;
  std::string filename;
  /// Nacos: the Nacos namespace (tenant) the export was taken from ("" or "public": none).
  std::string tenant;
  size_t max_value_bytes = 1 << 20;
};

/// Decodes an import file. Malformed input is 40001, a name or value Cairn cannot hold 40002,
/// each naming the entry (`error.field`).
Result<ImportSet, api::Error> parse_import(std::string_view bytes, const ParseOptions& options);

// ---- export ----

/// A namespace as an export writes it.
struct ExportNamespace {
  std::string name;
  std::string description;
  int status = 1;
  uint64_t revision = 0;
  std::vector<std::string> secret_keys;
  std::vector<ImportItem> items;  // each with its version, description, status
};

struct ExportMeta {
  std::string exported_at;  // RFC 3339
  std::string node;
  bool revealed = false;  // secrets are in plain
};

/// `{"format":"cairn-export","version":1,…,"namespaces":[…]}`, values byte for byte.
std::string export_json(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta);
/// The same document as YAML (values in JSON's flow syntax, which YAML reads as they are).
std::string export_yaml(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta);
/// A zip of `<namespace>.json`, each an export_json of that namespace alone.
std::string export_zip(const std::vector<ExportNamespace>& namespaces, const ExportMeta& meta);

}  // namespace cairn::transfer
