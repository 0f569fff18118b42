#include "service/service.h"

#include "common/time.h"
#include "routes/table.h"
#include "service/request.h"

namespace cairn::service {

Service::Service(ServiceOptions options, store::Store& store, cache::Index& index,
                 Replicator& replicator, WatchHub* watch)
    : options_(std::move(options)),
      store_(store),
      index_(index),
      replicator_(replicator),
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
  // Operations (§3.8.7).
  router.add(routes::kHealth, bind(&Service::health));
  router.add(routes::kLivez, bind(&Service::livez));
  router.add(routes::kReadyz, bind(&Service::readyz));
  router.add(routes::kDebugVars, bind(&Service::debug_vars));
}

void Service::propose(const http::RequestPtr& req, const http::Reply& reply,
                      api::CommandBody body, const char* etag_field) {
  auto operator_name = operator_of(*req);  // a bad X-Operator writes nothing (40002)
  if (!operator_name.ok()) return reply_error(reply, *req, operator_name.error());
  api::Command command{req->request_id, std::move(*operator_name), std::move(body),
                       http::client_ip(*req)};
  replicator_.propose(std::move(command), [req, reply, etag_field](api::CommandResult result) {
    if (result.ok() && etag_field) {
      // The new version's ETag, so that the next conditional write can use it directly.
      auto data = parse_json(result.data, 8);
      if (data && data->is_object()) {
        auto it = data->find(etag_field);
        if (it != data->end() && it->is_number_integer()) {
          return reply_ok(reply, *req, result.message, result.data,
                          {{"ETag", etag_of(it->get<int64_t>())}});
        }
      }
    }
    reply_result(reply, *req, result);
  });
}

}  // namespace cairn::service
