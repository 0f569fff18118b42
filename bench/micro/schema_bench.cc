// Cost of checking one value against a namespace's schemas (docs/schemas.md): what every write
// to a typed namespace adds to apply. A realistic database-settings schema, a valid and an
// invalid value, and a namespace without a schema covering the key.

#include <benchmark/benchmark.h>

#include "jsonschema/namespace_schemas.h"

namespace {

const char* kSchemas = R"([
  {"keys": "db.*", "schema": {"type": "object", "required": ["host", "port", "pool"],
    "additionalProperties": false,
    "definitions": {"ms": {"type": "integer", "minimum": 0, "maximum": 600000}},
    "properties": {
      "host": {"type": "string", "format": "hostname"},
      "port": {"type": "integer", "minimum": 1, "maximum": 65535},
      "user": {"type": "string", "pattern": "^[a-z_][a-z0-9_]{0,31}$"},
      "tls": {"type": "boolean"},
      "pool": {"type": "object", "properties": {"min": {"type": "integer", "minimum": 0},
               "max": {"type": "integer", "minimum": 1}, "idle_ms": {"$ref": "#/definitions/ms"}}},
      "replicas": {"type": "array", "maxItems": 16, "uniqueItems": true,
                   "items": {"type": "string", "format": "ipv4"}},
      "mode": {"enum": ["ro", "rw"]}}}},
  {"keys": "feature.*", "schema": {"type": "boolean"}}
])";

const char* kValid = R"({"host":"db-1.internal","port":5432,"user":"svc_user","tls":true,
  "pool":{"min":2,"max":20,"idle_ms":30000},"replicas":["10.0.0.2","10.0.0.3","10.0.0.4"],
  "mode":"rw"})";
const char* kInvalid = R"({"host":"-db-","port":"5432","user":"Svc","tls":1,
  "pool":{"min":-1,"max":0,"idle_ms":-5},"replicas":["10.0.0.2","10.0.0.2","x"],"mode":"admin"})";

void BM_SchemaValidateValid(benchmark::State& state) {
  auto schemas = cairn::jsonschema::compiled(kSchemas, false);
  for (auto _ : state) benchmark::DoNotOptimize((*schemas)->check_text("db.main", kValid));
}
BENCHMARK(BM_SchemaValidateValid);

void BM_SchemaValidateInvalid(benchmark::State& state) {
  auto schemas = cairn::jsonschema::compiled(kSchemas, false);
  for (auto _ : state) benchmark::DoNotOptimize((*schemas)->check_text("db.main", kInvalid));
}
BENCHMARK(BM_SchemaValidateInvalid);

void BM_SchemaUncoveredKey(benchmark::State& state) {
  auto schemas = cairn::jsonschema::compiled(kSchemas, false);
  for (auto _ : state) benchmark::DoNotOptimize((*schemas)->check_text("other.key", kValid));
}
BENCHMARK(BM_SchemaUncoveredKey);

// The lookup apply does per write: the compiled-schema cache hit for the stored text.
void BM_SchemaCacheLookup(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(cairn::jsonschema::compiled(kSchemas, false));
}
BENCHMARK(BM_SchemaCacheLookup);

}  // namespace
