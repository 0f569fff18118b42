// POST /nacos/v1/auth/login (and /nacos/v1/auth/users/login): the password is a Cairn token,
// which the auth guard has checked as the route's token (routes/nacos.h); the answer gives it
// back as the accessToken that Nacos clients then send with every request.

#include <algorithm>

#include "common/json.h"
#include "common/time.h"
#include "frontends/nacos/frontend.h"

namespace cairn::nacos {

void Frontend::login(const http::RequestPtr& req, const http::Reply& reply) {
  auto params = request_params(*req);
  if (!params) {
    return reply(
        failure_response(*req, Wire::kV1, Failure{400, 20002, "the form body is malformed"}));
  }
  std::string username = param(*params, "username").value_or("");
  std::string token = param(*params, "password").value_or("");
  if (const std::string* h = req->header("authorization");
      h && h->size() > 7 && h->compare(0, 7, "Bearer ") == 0) {
    token = h->substr(7);  // the guard took this one
  }
  int64_t ttl_s = options_.token_ttl_s;
  bool global_admin = true;  // with auth off every caller may do everything
  if (auth_) {
    auto identity = auth_->authenticate(*req);
    if (!identity.ok())
      return reply(failure_response(*req, Wire::kV1, failure_of(identity.error())));
    global_admin = identity->cluster_admin();
    if (identity->expires_at_ms) {
      ttl_s = std::max<int64_t>(1, (identity->expires_at_ms - wall_clock_ms()) / 1000);
    }
    if (username.empty()) username = identity->name;
  }
  http::Response res;
  res.content_type = "application/json;charset=UTF-8";
  res.body = dump_compact(Json{{"accessToken", token},
                               {"tokenTtl", ttl_s},
                               {"globalAdmin", global_admin},
                               {"username", username}});
  reply(std::move(res));
}

}  // namespace cairn::nacos
