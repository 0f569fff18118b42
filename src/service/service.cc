#include "service/service.h"

#include "common/time.h"
#include "service/request.h"

namespace cairn::service {

Service::Service(ServiceOptions options, core::Core& core, core::WatchHub* watch)
    : options_(std::move(options)),
      core_(core),
      watch_(watch),
      started_monotonic_ms_(monotonic_ms()) {}

void Service::register_routes(http::Router& router) {
  auto bind = [this](void (Service::*fn)(const http::RequestPtr&, const http::Reply&)) {
    return [this, fn](http::RequestPtr req, http::Reply reply) { (this->*fn)(req, reply); };
  };
  // Client reads (seed §3.8.3).
  router.add("GET", "/api/v1/config/get", bind(&Service::get_config));
  router.add("POST", "/api/v1/config/batch-get", bind(&Service::batch_get));
  router.add("GET", "/api/v1/config/namespace/{namespace}",
             bind(&Service::get_namespace_configs));
  // Admin configs (§3.8.4).
  router.add("POST", "/api/v1/admin/config", bind(&Service::create_config));
  router.add("PUT", "/api/v1/admin/config", bind(&Service::update_config));
  router.add("DELETE", "/api/v1/admin/config", bind(&Service::delete_config));
  router.add("GET", "/api/v1/admin/config/list", bind(&Service::list_configs));
  router.add("GET", "/api/v1/admin/config/history", bind(&Service::config_history));
  router.add("POST", "/api/v1/admin/config/rollback", bind(&Service::rollback_config));
  router.add("POST", "/api/v1/admin/config/batch", bind(&Service::batch_write));
  // Tags and retention (docs/versions.md).
  router.add("POST", "/api/v1/admin/config/tag", bind(&Service::tag_version));
  router.add("DELETE", "/api/v1/admin/config/tag", bind(&Service::untag_version));
  router.add("POST", "/api/v1/admin/config/cleanup", bind(&Service::cleanup_versions));
  // Watch (docs/watch.md).
  if (watch_) {
    router.add("GET", "/api/v1/config/watch", bind(&Service::watch));
    router.add("GET", "/api/v1/config/watch/stream", bind(&Service::watch_stream));
  }
  // Versions (§3.8.5).
  router.add("GET", "/api/v1/config/versions", bind(&Service::list_versions));
  router.add("GET", "/api/v1/config/diff", bind(&Service::diff_versions));
  // The same for admins: disabled namespaces and configs included (DESIGN.md §5).
  router.add("GET", "/api/v1/admin/config/versions", bind(&Service::admin_list_versions));
  router.add("GET", "/api/v1/admin/config/diff", bind(&Service::admin_diff_versions));
  // Namespaces (§3.8.6).
  router.add("POST", "/api/v1/admin/namespace", bind(&Service::create_namespace));
  router.add("PUT", "/api/v1/admin/namespace/{id}", bind(&Service::update_namespace));
  router.add("DELETE", "/api/v1/admin/namespace/{id}", bind(&Service::delete_namespace));
  router.add("GET", "/api/v1/admin/namespace/list", bind(&Service::list_namespaces));
  // Operations (§3.8.7).
  router.add("GET", "/api/v1/health", bind(&Service::health));
  router.add("GET", "/livez", bind(&Service::livez));
  router.add("GET", "/readyz", bind(&Service::readyz));
  router.add("GET", "/api/v1/debug/vars", bind(&Service::debug_vars));
}

void Service::propose(const http::RequestPtr& req, const http::Reply& reply,
                      api::CommandBody body, bool with_etag) {
  auto operator_name = operator_of(*req);  // a bad X-Operator writes nothing (40002)
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::Command command{req->request_id, std::move(*operator_name), std::move(body),
                       http::client_ip(*req)};
  core_.submit(std::move(command), [req, reply, with_etag](api::CommandResult result) {
    if (result.ok() && with_etag) {
      // The new version's ETag, so that the next conditional write can use it directly.
      std::optional<int64_t> version;
      if (const auto* written = result.as<api::ConfigsWritten>();
          written && !written->batch && !written->ops.empty()) {
        version = written->ops.front().version;
      } else if (const auto* rolled = result.as<api::ConfigRolledBack>()) {
        version = rolled->current_version;
      }
      if (version) {
        return reply_ok(reply, *req, api::outcome_message(result.outcome),
                        api::outcome_data_json(result.outcome), {{"ETag", etag_of(*version)}});
      }
    }
    reply_result(reply, *req, result);
  });
}

}  // namespace cairn::service
