// Request routing: parse the target, then dispatch through http::Router with the API's route
// shapes (literal paths, {param} paths, a 404).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "http/router.h"
#include "http/types.h"

namespace {

cairn::http::Router make_router() {
  cairn::http::Router r;
  auto ok = [](cairn::http::RequestPtr, cairn::http::Reply reply) {
    cairn::http::Response res;
    reply(std::move(res));
  };
  const char* gets[] = {"/api/v1/config/get", "/api/v1/config/namespace/{namespace}",
                        "/api/v1/config/watch", "/api/v1/config/versions",
                        "/api/v1/admin/config/list", "/api/v1/admin/config/history",
                        "/api/v1/admin/namespace/list", "/api/v1/admin/namespace/{id}",
                        "/api/v1/cluster/status", "/api/v1/health", "/metrics"};
  for (const char* p : gets) r.add("GET", p, ok);
  const char* posts[] = {"/api/v1/config/batch-get", "/api/v1/admin/config",
                         "/api/v1/admin/config/rollback", "/api/v1/admin/config/batch",
                         "/api/v1/admin/namespace", "/api/v1/admin/config/tag"};
  for (const char* p : posts) r.add("POST", p, ok);
  r.add("PUT", "/api/v1/admin/config", ok);
  r.add("PUT", "/api/v1/admin/namespace/{id}", ok);
  r.add("DELETE", "/api/v1/admin/config", ok);
  return r;
}

void dispatch(benchmark::State& state, const char* method, const char* target) {
  auto router = make_router();
  size_t replies = 0;
  cairn::http::Reply reply = [&replies](cairn::http::Response) { ++replies; };
  for (auto _ : state) {
    auto req = std::make_shared<cairn::http::Request>();
    req->method = method;
    req->target = target;
    cairn::http::parse_target(req->target, req->path, req->query);
    router.dispatch(req, reply);
  }
  benchmark::DoNotOptimize(replies);
}

void BM_RouteConfigGet(benchmark::State& s) {
  dispatch(s, "GET", "/api/v1/config/get?namespace=user-service&key=database.mysql");
}
void BM_RouteNamespaceParam(benchmark::State& s) {
  dispatch(s, "GET", "/api/v1/config/namespace/user-service");
}
void BM_RouteNotFound(benchmark::State& s) { dispatch(s, "GET", "/api/v1/nope/nothing"); }

void BM_ParseTarget(benchmark::State& state) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  for (auto _ : state) {
    path.clear();
    query.clear();
    cairn::http::parse_target("/api/v1/config/get?namespace=user-service&key=database.mysql",
                              path, query);
    benchmark::DoNotOptimize(path.data());
  }
}

}  // namespace

BENCHMARK(BM_RouteConfigGet);
BENCHMARK(BM_RouteNamespaceParam);
BENCHMARK(BM_RouteNotFound);
BENCHMARK(BM_ParseTarget);
