// Version endpoints (seed §3.8.5): listing and per-path diff. Both read SQLite.

#include "common/json_diff.h"
#include "common/time.h"
#include "frontends/native/request.h"
#include "frontends/native/service.h"
#include "secrets/sealed.h"

namespace cairn::native {

using api::Errc;
using api::make_error;

namespace {

/// `limit` (seed §3.6.2.2: the newest `limit` versions) is `page_size` under the seed's other
/// name; both at once must agree.
Result<Paging, api::Error> version_paging(const http::Request& req) {
  auto paging = paging_params(req);
  if (!paging.ok()) return paging;
  auto limit = int_param(req, "limit", 1, 1000);
  if (!limit.ok()) return Unexpected{limit.error()};
  if (*limit) {
    if (req.query_param("page_size") && paging->page_size != **limit) {
      return Unexpected{make_error(Errc::kBadRequest,
                                   "limit is another name for page_size; give one of them",
                                   "limit")};
    }
    paging->page_size = **limit;
  }
  return paging;
}

}  // namespace

void Service::list_versions(const http::RequestPtr& req, const http::Reply& reply) {
  list_versions_as(req, reply, /*admin=*/false);
}

void Service::admin_list_versions(const http::RequestPtr& req, const http::Reply& reply) {
  list_versions_as(req, reply, /*admin=*/true);
}

void Service::diff_versions(const http::RequestPtr& req, const http::Reply& reply) {
  diff_versions_as(req, reply, /*admin=*/false);
}

void Service::admin_diff_versions(const http::RequestPtr& req, const http::Reply& reply) {
  diff_versions_as(req, reply, /*admin=*/true);
}

void Service::list_versions_as(const http::RequestPtr& req, const http::Reply& reply,
                               bool admin) {
  auto ns = required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto key = required_param(*req, "key");
  if (!key.ok()) return reply_error(reply, *req, key.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
  auto paging = version_paging(*req);
  if (!paging.ok()) return reply_error(reply, *req, paging.error());

  // The current version comes from the index; a deleted key has none. A disabled namespace or
  // config is not served to clients (DESIGN.md §5); the admin route shows it.
  int64_t current = 0;
  auto hidden = core_.hidden_from_clients(req->caller, *ns, *key, &current);
  if (hidden && !admin) return reply_error(reply, *req, *hidden);
  auto page = core_.versions(req->caller, *ns, *key, {paging->page, paging->page_size});
  if (!page.ok()) return reply_error(reply, *req, page.error());
  api::VersionList versions{*ns, *key, {}, pagination_of(*paging, page->total)};
  versions.list.reserve(page->items.size());
  for (auto& v : page->items) {
    versions.list.push_back(api::VersionRow{v.version, std::move(v.value), std::move(v.created_by),
                                            format_utc(v.created_at_ms), v.version == current,
                                            std::move(v.tags), v.secret});
  }
  std::string data = api::to_json(versions);
  reply_ok(reply, *req, "success", data);
}

void Service::diff_versions_as(const http::RequestPtr& req, const http::Reply& reply,
                               bool admin) {
  auto ns = required_param(*req, "namespace");
  if (!ns.ok()) return reply_error(reply, *req, ns.error());
  auto key = required_param(*req, "key");
  if (!key.ok()) return reply_error(reply, *req, key.error());
  if (auto bad = check_namespace(*ns); !bad.ok()) return reply_error(reply, *req, bad.error());
  if (auto bad = check_key(*key); !bad.ok()) return reply_error(reply, *req, bad.error());
  if (!admin) {
    if (auto hidden = core_.hidden_from_clients(req->caller, *ns, *key, nullptr)) {
      return reply_error(reply, *req, *hidden);
    }
  }

  // Both spellings of the seed are accepted: from/to (§3.6.2) and from_version/to_version.
  int64_t versions[2] = {0, 0};
  const char* names[2][2] = {{"from", "from_version"}, {"to", "to_version"}};
  for (int i = 0; i < 2; ++i) {
    for (const char* name : names[i]) {
      auto v = int_param(*req, name, 1, INT64_MAX);
      if (!v.ok()) return reply_error(reply, *req, v.error());
      if (*v) {
        versions[i] = **v;
        break;
      }
    }
    if (versions[i] == 0) {
      return reply_error(reply, *req,
                         make_error(Errc::kBadRequest,
                                    std::string(names[i][0]) + " (or " + names[i][1] +
                                        ") is required",
                                    names[i][1]));
    }
  }
  Json values[2];
  bool masked = false;
  for (int i = 0; i < 2; ++i) {
    auto row = core_.version(req->caller, *ns, *key, versions[i]);
    if (!row.ok()) return reply_error(reply, *req, row.error());
    if (row->secret && row->value == secrets::kMask) masked = true;
    auto parsed = parse_json(row->value, api::kMaxValueDepth + 1);
    if (!parsed) {
      return reply_error(reply, *req, make_error(Errc::kInternal, "stored value is not JSON"));
    }
    values[i] = std::move(*parsed);
  }
  api::Diff diff{*ns, *key, versions[0], versions[1], {}};
  if (masked) {
    // docs/secrets.md: a secret's versions differ, without saying how, to a caller that may not
    // see them (two versions of a key are written only when its value changed).
    if (versions[0] != versions[1]) {
      diff.changes.push_back(api::DiffChange{"", std::string(secrets::kMask),
                                             std::string(secrets::kMask), "modified"});
    }
    return reply_ok(reply, *req, "success", api::to_json(diff));
  }
  for (auto& change : json_diff(values[0], values[1])) {
    diff.changes.push_back(api::DiffChange{std::move(change.path), dump_compact(change.from),
                                           dump_compact(change.to), std::move(change.type)});
  }
  std::string data = api::to_json(diff);
  reply_ok(reply, *req, "success", data);
}

}  // namespace cairn::native
