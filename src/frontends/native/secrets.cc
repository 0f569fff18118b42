// Secrets administration (docs/secrets.md): which keys the stored secrets are wrapped with, and
// re-wrapping them under the current key after a rotation.

#include "frontends/native/request.h"
#include "frontends/native/service.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

Json status_json(const core::SecretStatus& s) {
  Json sealed = Json::object();
  for (const auto& [id, count] : s.sealed) sealed[id] = count;
  return Json{{"current_key", s.current_key}, {"keys", s.keys},
              {"sealed", std::move(sealed)},  {"missing_keys", s.missing_keys},
              {"to_rewrap", s.to_rewrap}};
}

}  // namespace

void Service::secret_status(const http::RequestPtr& req, const http::Reply& reply) {
  auto status = core_.secret_status(req->caller);
  if (!status.ok()) return reply_error(reply, *req, status.error());
  reply_ok(reply, *req, "success", dump_compact(status_json(*status)));
}

void Service::rewrap_secrets(const http::RequestPtr& req, const http::Reply& reply) {
  // An empty body is allowed: the defaults.
  Json body = Json::object();
  if (!req->body.empty()) {
    auto parsed = body_object(*req);
    if (!parsed.ok()) return reply_error(reply, *req, parsed.error());
    body = std::move(*parsed);
  }
  auto batch = optional_int_field(body, "batch_size", 1, 1000);
  if (!batch.ok()) return reply_error(reply, *req, batch.error());
  auto batches = optional_int_field(body, "max_batches", 1, 10'000);
  if (!batches.ok()) return reply_error(reply, *req, batches.error());
  core_.rewrap(req->caller, static_cast<size_t>(batch->value_or(200)),
               static_cast<size_t>(batches->value_or(50)),
               [req, reply](Result<core::RewrapProgress, api::Error> done) {
                 if (!done.ok()) return reply_error(reply, *req, done.error());
                 Json data{{"current_key", done->current_key},
                           {"rewrapped", done->rewrapped},
                           {"batches", done->batches},
                           {"remaining", done->remaining},
                           {"done", done->remaining == 0}};
                 reply_ok(reply, *req, "success", dump_compact(data));
               });
}

}  // namespace cairn::native
