#pragma once

// A JSON Schema draft 7 validator (docs/schemas.md): compile a schema once, validate many values
// against it. Written for the state machine: validation is deterministic (same schema and value,
// same answer and same violations, on every node and every run), bounded in work (a step budget
// per value, regular expressions run by RE2 in linear time) and never throws or recurses without
// bound on hostile input. Why not valijson: docs/schemas.md, "Why not valijson".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/result.h"

namespace cairn::jsonschema {

/// Bounds of the compiler and the validator. Equal on every node (apply uses them).
struct Limits {
  size_t max_schema_bytes = 256 * 1024;  // the schema's compact text
  int max_schema_depth = 48;             // nesting of the schema document
  /// Schema evaluations per validated value (each keyword of each subschema applied to each
  /// instance location counts one); beyond it the value is refused (rule "budget").
  int64_t max_steps = 200'000;
  /// Nested evaluations (a recursive schema applied to a deep value).
  int max_eval_depth = 200;
  /// Violations reported per value; the rest is summed up in one last violation.
  size_t max_violations = 50;
};

/// One way a value fails: `path` is a JSON Pointer into the value ("" is the whole value),
/// `rule` the keyword that refused it ("type", "required", …; "budget" when the step budget ran
/// out), `message` a sentence in English.
struct Issue {
  std::string path;
  std::string rule;
  std::string message;
  bool operator==(const Issue&) const = default;
};

/// A compiled schema. Immutable after compile(); validate() may run on any thread concurrently.
class Schema {
 public:
  ~Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;

  /// The value's violations, in schema order; empty when it is valid. Deterministic.
  std::vector<Issue> validate(const Json& value) const;
  bool valid(const Json& value) const { return validate(value).empty(); }

  /// The schema document as given.
  const Json& document() const;

  struct Impl;

 private:
  friend Result<std::shared_ptr<const Schema>, std::string> compile(const Json&, const Limits&);
  explicit Schema(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Compiles a draft 7 schema (an object or a boolean). Refused, with the reason: a document too
/// large or too deep, a keyword of the wrong type (`"minimum": "3"`), a `pattern` RE2 cannot
/// compile (look-around, back-references), a `$ref` that names nothing in the document (remote
/// references are not fetched), or a `$ref`/`allOf`/`anyOf`/`oneOf`/`not`/`if` cycle that never
/// moves into the value (it would never end).
Result<std::shared_ptr<const Schema>, std::string> compile(const Json& schema,
                                                          const Limits& limits = {});

/// True when `s` is valid for `format` (uri, uri-reference, hostname, ipv4, ipv6, email,
/// date-time, date, time, duration, regex); an unknown format accepts everything (draft 7: an
/// annotation). Exposed for tests.
bool format_ok(std::string_view format, std::string_view s);

/// JSON equality as JSON Schema defines it: numbers by value (1 == 1.0), objects regardless of
/// member order.
bool json_equal(const Json& a, const Json& b);

}  // namespace cairn::jsonschema
