#pragma once

// The value schemas of a namespace (docs/schemas.md): an ordered list of {keys glob, schema}
// entries and the `strict` flag, compiled once and shared. This is the one check every write
// path calls (apply for create/update/batch/rollback and the protocol front-ends, and any later
// path such as gray releases or imports): pure, deterministic, no I/O.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"
#include "api/outcome.h"
#include "common/json.h"
#include "common/result.h"
#include "jsonschema/validator.h"

namespace cairn::jsonschema {

inline constexpr size_t kMaxSchemaEntries = 100;
inline constexpr size_t kMaxGlobBytes = 256;

/// `*` matches any run of characters (also empty, also across dots), `?` one character; every
/// other character itself. Linear in time (no backtracking blow-up).
bool glob_match(std::string_view pattern, std::string_view key);

/// A namespace's compiled schemas. Immutable; any thread.
class NamespaceSchemas {
 public:
  struct Entry {
    std::string keys;  // the glob
    std::shared_ptr<const Schema> schema;
  };

  /// Parses and compiles `[{"keys": "<glob>", "schema": <draft 7>}, …]` (JSON text). Refusals
  /// are 40002 naming the field (`schemas[2].schema`) with the reason; 40001 when the text is
  /// not a JSON array of objects.
  static Result<std::shared_ptr<const NamespaceSchemas>, api::Error> parse(
      std::string_view schemas_json, bool strict, const Limits& limits = {});

  /// The entry governing `key`: the first whose glob matches, or null.
  const Entry* entry_for(std::string_view key) const;

  /// Why `value` may not be stored under `key` (empty: it may): the governing schema's
  /// violations, or one "strict" violation for a key no entry covers when strict. Every
  /// violation names `key`. `value_text` must be JSON (stored values are).
  std::vector<api::SchemaViolation> check(std::string_view key, const Json& value) const;
  std::vector<api::SchemaViolation> check_text(std::string_view key,
                                               std::string_view value_text) const;

  bool strict() const { return strict_; }
  bool empty() const { return entries_.empty() && !strict_; }
  const std::vector<Entry>& entries() const { return entries_; }
  /// The list as compact JSON text, as stored and replicated.
  const std::string& canonical_json() const { return canonical_; }

 private:
  std::vector<Entry> entries_;
  bool strict_ = false;
  std::string canonical_;
};

/// parse() with a small shared cache keyed by the text and flag (apply compiles a namespace's
/// schemas once, not on every write). Thread-safe.
Result<std::shared_ptr<const NamespaceSchemas>, api::Error> compiled(std::string_view schemas_json,
                                                                     bool strict);

/// A change between two schema lists that may refuse values clients send today, whether or not
/// current data shows it (docs/schemas.md, "Breaking changes").
struct BreakingChange {
  std::string keys;     // the glob of the entry
  std::string path;     // JSON Pointer into the entry's schema ("" for the whole schema)
  std::string change;   // required_added, type_narrowed, enum_value_removed, range_tightened, …
  std::string message;
};

/// The breaking changes from `before` (null: no schemas) to `after`, in entry order.
std::vector<BreakingChange> breaking_changes(const NamespaceSchemas* before,
                                             const NamespaceSchemas& after);

/// `{"keys","path","change","message"}` objects.
Json breaking_changes_json(const std::vector<BreakingChange>& changes);

/// The refusal of a value that fails its namespace's schema: 400/40002 naming `field`, with
/// `error.violations` (api::Error::extra). Apply and the leader's check of a secret's plaintext
/// before sealing it (core::Core::seal) answer the same.
api::Error refusal(const std::vector<api::SchemaViolation>& violations, const std::string& field);

}  // namespace cairn::jsonschema
