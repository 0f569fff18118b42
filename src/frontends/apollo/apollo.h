#pragma once

// The Apollo config service front-end (docs/compat.md, "Apollo"): Apollo's clients read
// configurations and long-poll for changes on a Cairn node as they do on an Apollo config
// service. Decode → core::Core → encode (frontends/apollo/wire.h); nothing else.

#include <cstdint>

#include "core/client_registry.h"
#include "core/core.h"
#include "core/watch_hub.h"
#include "http/router.h"

namespace cairn::apollo {

struct Options {
  /// How long /notifications/v2 holds a poll when nothing changes (Apollo's 60 s). The watch
  /// hub cuts it to watch_max_timeout (docs/watch.md), like every long poll.
  int64_t hold_ms = 60'000;
  /// The node's client registry (docs/releases.md): every configuration read is recorded there
  /// under Apollo's own identity (appId, the `ip` and `label` parameters). Null: not recorded.
  core::ClientRegistry* clients = nullptr;
};

/// Adds the routes of routes/apollo.h to `router`, each with an Apollo-style error renderer.
/// `core` and `hub` must outlive every request the router serves; `hub` may be null (then a
/// notification poll that finds nothing new answers 304 at once).
void register_routes(http::Router& router, core::Core& core, core::WatchHub* hub,
                     Options options = {});

/// Words `error` as Apollo's config service does (wire.h, error_json). The renderer of every
/// Apollo route: 401 and 403 from the guard, 404/405 of the router, 429 from the limits.
void render_error(const http::Request& req, const api::Error& error, http::Response& res);

}  // namespace cairn::apollo
