#pragma once

#include <string_view>

#include "http/router.h"
#include "http/types.h"

namespace cairn::webui {

/// Adds the console's routes to `router`: GET /ui (redirect to /ui/), GET /ui/ (index.html) and
/// GET /ui/{file}. Files are served from the embedded table with their Content-Type, a strong
/// ETag (If-None-Match answers 304) and `Cache-Control: no-cache`, so a browser revalidates and
/// never runs a console older than the binary. Unknown files: the 404 envelope (40401).
/// Call before the server starts.
void register_routes(http::Router& router);

/// The answer to GET of console file `name` ("" means index.html). Pure: any thread.
http::Response serve(const http::Request& req, std::string_view name);

}  // namespace cairn::webui
