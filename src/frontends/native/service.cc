#include "frontends/native/service.h"

#include "common/time.h"
#include "routes/table.h"
#include "frontends/native/request.h"

namespace cairn::native {

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
  router.add(routes::kConfigGet, bind(&Service::get_config));
  router.add(routes::kConfigBatchGet, bind(&Service::batch_get));
  router.add(routes::kConfigNamespace, bind(&Service::get_namespace_configs));
  // Admin configs (§3.8.4).
  router.add(routes::kAdminConfigCreate, bind(&Service::create_config));
  router.add(routes::kAdminConfigUpdate, bind(&Service::update_config));
  router.add(routes::kAdminConfigDelete, bind(&Service::delete_config));
  router.add(routes::kAdminConfigList, bind(&Service::list_configs));
  router.add(routes::kAdminConfigHistory, bind(&Service::config_history));
  router.add(routes::kAdminConfigRollback, bind(&Service::rollback_config));
  router.add(routes::kAdminConfigBatch, bind(&Service::batch_write));
  // Tags and retention (docs/versions.md).
  router.add(routes::kAdminConfigTag, bind(&Service::tag_version));
  router.add(routes::kAdminConfigUntag, bind(&Service::untag_version));
  router.add(routes::kAdminConfigCleanup, bind(&Service::cleanup_versions));
  // Watch (docs/watch.md).
  if (watch_) {
    router.add(routes::kConfigWatch, bind(&Service::watch));
    router.add(routes::kConfigWatchStream, bind(&Service::watch_stream));
  }
  // Versions (§3.8.5).
  router.add(routes::kConfigVersions, bind(&Service::list_versions));
  router.add(routes::kConfigDiff, bind(&Service::diff_versions));
  // The same for admins: disabled namespaces and configs included (DESIGN.md §5).
  router.add(routes::kAdminConfigVersions, bind(&Service::admin_list_versions));
  router.add(routes::kAdminConfigDiff, bind(&Service::admin_diff_versions));
  // Namespaces (§3.8.6).
  router.add(routes::kNamespaceCreate, bind(&Service::create_namespace));
  router.add(routes::kNamespaceUpdate, bind(&Service::update_namespace));
  router.add(routes::kNamespaceDelete, bind(&Service::delete_namespace));
  router.add(routes::kNamespaceList, bind(&Service::list_namespaces));
  // Secrets (docs/secrets.md).
  router.add(routes::kSecretStatus, bind(&Service::secret_status));
  router.add(routes::kSecretRewrap, bind(&Service::rewrap_secrets));
  router.add(routes::kConfigSchema, bind(&Service::get_schema));
  router.add(routes::kNamespaceSchemaCheck, bind(&Service::check_schema));
  // Gray releases, acks and the client registry (docs/releases.md).
  router.add(routes::kConfigAck, bind(&Service::ack));
  router.add(routes::kClients, bind(&Service::clients));
  router.add(routes::kClientsLocal, bind(&Service::clients_local));
  router.add(routes::kReleaseStart, bind(&Service::start_release));
  router.add(routes::kReleaseList, bind(&Service::list_releases));
  router.add(routes::kReleaseGet, bind(&Service::get_release));
  router.add(routes::kReleaseAction, bind(&Service::release_action));
  // Operations (§3.8.7).
  router.add(routes::kHealth, bind(&Service::health));
  router.add(routes::kLivez, bind(&Service::livez));
  router.add(routes::kReadyz, bind(&Service::readyz));
  router.add(routes::kDebugVars, bind(&Service::debug_vars));
}

void Service::propose(const http::RequestPtr& req, const http::Reply& reply,
                      api::CommandBody body, bool with_etag) {
  auto operator_name = operator_of(*req);  // a bad X-Operator writes nothing (40002)
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::Command command{req->request_id, std::move(*operator_name), std::move(body),
                       http::client_ip(*req)};
  core_.submit(req->caller, std::move(command), [req, reply, with_etag](api::CommandResult result) {
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

}  // namespace cairn::native
