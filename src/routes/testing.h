#pragma once

#include "http/router.h"
#include "routes/table.h"

namespace cairn::routes {

/// For tests of the layers that read the table (limits, telemetry, auth): a router that admits
/// only the table's routes, as the server's does, and serves every one of them with `handler`.
inline http::Router router_of_every_route(const http::Handler& handler) {
  http::Router router(declared);
  for (const Route* r : kAll) router.add(*r, handler);
  return router;
}

}  // namespace cairn::routes
