#pragma once

// The Nacos config front-end (docs/compat.md, "Nacos"): the v1 and v2 open APIs, the
// long-polling listener and login, over core::Core and core::WatchHub.

#include <cstddef>
#include <optional>
#include <string>

#include "api/errors.h"
#include "api/validate.h"
#include "auth/authenticator.h"
#include "core/core.h"
#include "core/watch_hub.h"
#include "core/client_registry.h"
#include "frontends/nacos/protocol.h"
#include "http/router.h"

namespace cairn::nacos {

struct FrontendOptions {
  size_t max_value_bytes = api::kDefaultMaxValueBytes;
  /// The accessToken lifetime login answers for a token without expiry (Nacos's default).
  int64_t token_ttl_s = 18'000;
  /// The node's client registry (docs/releases.md): every config read is recorded there as
  /// client "nacos:<address>". Null: not recorded.
  core::ClientRegistry* clients = nullptr;
};

/// Which wire an answer is written in: v1 (raw text, `true`, "caused: …;" errors) or v2
/// ({code, message, data}).
enum class Wire { kV1, kV2 };

/// A Nacos answer that is not a success: the HTTP status, the v2 `code` (Nacos's ErrorCode) and
/// the message (v1 body "caused: <message>;", v2 `data`).
struct Failure {
  int status = 400;
  int code = 20002;  // PARAMETER_VALIDATE_ERROR
  std::string message;
  bool auth = false;  // a refused identity: v1 answers with Spring's error page (JSON)
  bool raw = false;   // v1 answers the message itself ("config data not exist"), not "caused: …;"
};

/// Nacos's answer for an error of the core (or of the guard, through the routes' renderers):
/// 40101/40301 → 403, a missing config or namespace → 404 "config data not exist", others with
/// their own status and details.
Failure failure_of(const api::Error& error);
/// The response for `failure` in `wire`.
http::Response failure_response(const http::Request& req, Wire wire, const Failure& failure);

/// The routes' http::ErrorRenderer for each wire (errors answered before the handler).
void render_v1_error(const http::Request& req, const api::Error& error, http::Response& res);
void render_v2_error(const http::Request& req, const api::Error& error, http::Response& res);

/// Serves the Nacos routes (routes/nacos.h). Decodes a request, calls the core with the caller
/// (req->caller), encodes the answer.
///
/// Lifetime: borrows the core, the watch hub and the authenticator, which must outlive it and
/// the HTTP server routing to it. `watch` may be null: the listener then answers at once (short
/// polling); `auth` is null when auth is off (login then echoes the password). Threads:
/// handlers run on any io thread concurrently; held listeners are answered from the hub's
/// threads.
class Frontend {
 public:
  Frontend(FrontendOptions options, core::Core& core, core::WatchHub* watch,
           auth::Authenticator* auth);

  void register_routes(http::Router& router);

 private:
  // configs.cc
  void get_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire);
  void publish_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire);
  void delete_config(const http::RequestPtr& req, const http::Reply& reply, Wire wire);
  /// Writes `stored` at `at`: a create when the key is absent, else an update (an equal value
  /// then writes nothing); tried again the other way when a concurrent write raced it.
  void upsert(const http::RequestPtr& req, const http::Reply& reply, Wire wire, Address at,
              std::string stored, std::string op, int attempt);
  // listener.cc
  void listen(const http::RequestPtr& req, const http::Reply& reply);
  // login.cc
  void login(const http::RequestPtr& req, const http::Reply& reply);

  /// The content clients see for ns/key now: nullopt when absent, hidden or not readable.
  std::optional<std::string> current_content(const api::Principal& caller, const Address& at);

  FrontendOptions options_;
  core::Core& core_;
  core::WatchHub* watch_;
  auth::Authenticator* auth_;
};

/// The parameters of a Nacos request: its query string and, for a form body
/// (application/x-www-form-urlencoded, or no Content-Type), the body's fields. nullopt when the
/// body is a malformed form.
std::optional<Params> request_params(const http::Request& req);

}  // namespace cairn::nacos
