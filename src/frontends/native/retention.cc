// Tags and retention clean-up (docs/versions.md). Both are replicated commands: the state
// machine decides, from the command, the entry's timestamp and its own tables, what is tagged
// and what is removed, so every node ends with the same versions.

#include "frontends/native/request.h"
#include "frontends/native/service.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

/// namespace, key, version and tag from the JSON body, or from the query string when the
/// request has query parameters or no body (as the seed does for DELETE).
Result<api::TagVersion, api::Error> read_tag(const http::Request& req) {
  api::TagVersion t;
  bool from_query = !req.query.empty() || req.body.empty();
  if (from_query) {
    auto ns = required_param(req, "namespace");
    if (!ns.ok()) return Unexpected{ns.error()};
    auto key = required_param(req, "key");
    if (!key.ok()) return Unexpected{key.error()};
    auto tag = required_param(req, "tag");
    if (!tag.ok()) return Unexpected{tag.error()};
    auto version = int_param(req, "version", 1, INT64_MAX);
    if (!version.ok()) return Unexpected{version.error()};
    if (!*version)
      return Unexpected{make_error(Errc::kBadRequest, "version is required", "version")};
    t = api::TagVersion{*ns, *key, **version, *tag, false};
  } else {
    auto body = body_object(req);
    if (!body.ok()) return Unexpected{body.error()};
    auto ns = string_field(*body, "namespace");
    if (!ns.ok()) return Unexpected{ns.error()};
    auto key = string_field(*body, "key");
    if (!key.ok()) return Unexpected{key.error()};
    auto tag = string_field(*body, "tag");
    if (!tag.ok()) return Unexpected{tag.error()};
    auto version = optional_int_field(*body, "version", 1, INT64_MAX);
    if (!version.ok()) return Unexpected{version.error()};
    if (!*version)
      return Unexpected{make_error(Errc::kBadRequest, "version is required", "version")};
    t = api::TagVersion{*ns, *key, **version, *tag, false};
  }
  if (auto bad = check_namespace(t.ns); !bad.ok()) return Unexpected{bad.error()};
  if (auto bad = check_key(t.key); !bad.ok()) return Unexpected{bad.error()};
  if (auto bad = api::check_tag(t.tag))
    return Unexpected{make_error(Errc::kValidation, *bad, "tag")};
  return t;
}

}  // namespace

void Service::tag_version(const http::RequestPtr& req, const http::Reply& reply) {
  auto tag = read_tag(*req);
  if (!tag.ok()) return reply_error(reply, *req, tag.error());
  propose(req, reply, std::move(*tag));
}

void Service::untag_version(const http::RequestPtr& req, const http::Reply& reply) {
  auto tag = read_tag(*req);
  if (!tag.ok()) return reply_error(reply, *req, tag.error());
  tag->remove = true;
  propose(req, reply, std::move(*tag));
}

void Service::cleanup_versions(const http::RequestPtr& req, const http::Reply& reply) {
  Json body = Json::object();
  if (!req->body.empty()) {
    auto parsed = body_object(*req);
    if (!parsed.ok()) return reply_error(reply, *req, parsed.error());
    body = std::move(*parsed);
  }
  api::CleanupVersions cmd;
  auto ns = optional_string_field(body, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  if (*ns) {
    if (auto bad = check_namespace(**ns); !bad.ok()) return reply_error(reply, *req, bad.error());
    cmd.ns = std::move(*ns);
  }
  auto keep_latest = optional_int_field(body, "keep_latest", 0, api::kMaxKeepLatest);
  if (!keep_latest.ok()) return reply_error(reply, *req, keep_latest.error());
  cmd.keep_latest = *keep_latest;
  auto keep_days = optional_int_field(body, "keep_days", 0, api::kMaxKeepDays);
  if (!keep_days.ok()) return reply_error(reply, *req, keep_days.error());
  cmd.keep_days = *keep_days;
  if (auto it = body.find("dry_run"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest, "dry_run must be a boolean", "dry_run"));
    }
    cmd.dry_run = it->get<bool>();
  }
  propose(req, reply, std::move(cmd));
}

}  // namespace cairn::native
