// Input: one byte choosing the method and the caller's token (root, none, a namespace-scoped
// one, garbage), then "<target>\n<body>". Every request runs through the real router, the auth
// guard and the handlers (the token and audit endpoints included) on a real SQLite store; every
// answer must be a well-formed envelope whose code agrees with its HTTP status.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "auth/secret.h"
#include "cache/index.h"
#include "common/json.h"
#include "core/state_machine.h"
#include "core/test_replicator.h"
#include "frontends/native/auth_api.h"
#include "frontends/native/service.h"
#include "http/router.h"
#include "routes/table.h"
#include "store/store.h"

using namespace cairn;

namespace {

struct World {
  std::unique_ptr<store::Store> store;
  cache::Index index;
  std::unique_ptr<core::ConfigStateMachine> sm;
  std::unique_ptr<core::InlineReplicator> replicator;
  std::unique_ptr<core::Core> core;
  std::unique_ptr<native::Service> service;
  std::unique_ptr<auth::Authenticator> auth;
  std::unique_ptr<native::AuthApi> auth_api;
  http::Router router{routes::declared};
  std::string scoped_token;  // read on "svc*", made through the API at start
};

constexpr const char* kRoot = "fuzz-root-secret";

World* world = nullptr;

std::string dispatch(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& token = kRoot) {
  auto req = std::make_shared<http::Request>();
  req->method = method;
  req->target = target;
  if (!http::parse_target(target, req->path, req->query)) return {};
  req->body = body;
  req->request_id = "fuzz";
  req->remote_address = "10.0.0.1:1";
  if (!token.empty()) req->headers.emplace_back("authorization", "Bearer " + token);
  int status = 0;
  std::string response;
  world->router.dispatch(req, [&](http::Response res) {
    status = res.status;
    response = std::move(res.body);
  });
  if (status == 0) std::abort();  // every request must be answered
  auto doc = parse_json(response, 200);
  if (!doc || !doc->is_object() || !doc->contains("code") || !doc->contains("request_id")) {
    std::abort();
  }
  int code = (*doc)["code"].get<int>();
  if (code == 0) {
    if (status != 200 && !(status == 503 && req->path == "/api/v1/health")) std::abort();
    if (!doc->contains("data")) std::abort();
  } else {
    if (api::error_info(static_cast<api::Errc>(code)).http_status != status) std::abort();
    if (!doc->contains("error")) std::abort();
  }
  return response;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto dir = std::filesystem::temp_directory_path() / ("cairn_fuzz_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  world = new World();
  store::Options options;
  options.path = (dir / "cairn.db").string();
  options.synchronous_full = false;
  options.max_value_bytes = 4096;
  auto opened = store::Store::open(options);
  if (!opened.ok()) std::abort();
  world->store = std::move(*opened);
  if (!world->index.load(*world->store).ok()) std::abort();
  world->sm = std::make_unique<core::ConfigStateMachine>(*world->store, world->index);
  world->replicator = std::make_unique<core::InlineReplicator>(*world->sm);
  native::ServiceOptions so;
  so.max_value_bytes = 4096;
  world->core = std::make_unique<core::Core>(core::CoreOptions{}, *world->store, world->index,
                                             *world->replicator);
  world->service = std::make_unique<native::Service>(so, *world->core);
  world->service->register_routes(world->router);
  auth::AuthOptions ao;
  ao.root_secret = kRoot;
  ao.failures = {1e9, 1e12};  // one fuzzing address: never slow it down
  world->auth = std::make_unique<auth::Authenticator>(ao, *world->store, [] { return int64_t{0}; });
  world->router.set_guard(
      world->auth->guard([](int64_t) { return std::nullopt; }, [](api::AuditEntry) {}));
  world->auth_api = std::make_unique<native::AuthApi>(world->auth.get(), *world->core);
  world->auth_api->register_routes(world->router);
  // Some state for the fuzzer to find: a namespace with a few versions of a key.
  dispatch("POST", "/api/v1/admin/namespace", R"({"name":"svc"})");
  dispatch("POST", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":{"a":[1,2]}})");
  dispatch("PUT", "/api/v1/admin/config", R"({"namespace":"svc","key":"k","value":{"a":[1]}})");
  auto made = parse_json(dispatch("POST", "/api/v1/admin/tokens",
                                  R"({"name":"fuzz","grants":[{"namespace":"svc*",)"
                                  R"("permission":"read"}]})"),
                         8);
  if (!made || !(*made)["data"].is_object()) std::abort();
  world->scoped_token = (*made)["data"]["token"].get<std::string>();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  std::string method = kMethods[data[0] % 5];
  const std::string tokens[] = {kRoot, "", world->scoped_token, "cairn_not-a-token"};
  const std::string& token = tokens[(data[0] / 5) % 4];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t nl = rest.find('\n');
  std::string target(rest.substr(0, nl));
  std::string body =
      nl == std::string_view::npos ? std::string() : std::string(rest.substr(nl + 1));
  dispatch(method, target, body, token);
  return 0;
}
