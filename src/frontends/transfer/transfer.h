#pragma once

// Import and export (docs/import-export.md): `GET /api/v1/admin/export` writes namespaces as a
// file (JSON, YAML or a zip), `POST /api/v1/admin/import` reads one — Cairn's own export or the
// file another config center's tools write (Consul, Nacos, Apollo, etcd; formats.h) — and
// plans it key by key (create / update / unchanged / conflict), as a dry run or for real: one
// atomic WriteConfigs batch per namespace through core::Core::submit, so schemas, secrets,
// permissions and the audit log apply as to every write.

#include <cstddef>
#include <string>

#include "api/validate.h"
#include "core/core.h"
#include "http/router.h"

namespace cairn::transfer {

struct Options {
  size_t max_value_bytes = api::kDefaultMaxValueBytes;
  std::string node_id;  // named in exports
};

/// Adds the export and import routes (routes/table.h) to `router`. `core` must outlive every
/// request the router serves. Handlers run on any io thread; an import's writes answer on the
/// thread that applies them.
void register_routes(http::Router& router, core::Core& core, Options options);

}  // namespace cairn::transfer
