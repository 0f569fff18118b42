// Request routing: parse the target, then dispatch through http::Router with every route of
// the table (literal paths, {param} paths, a 404).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "http/router.h"
#include "http/types.h"
#include "routes/table.h"

namespace {

cairn::http::Router make_router() {
  namespace routes = cairn::routes;
  cairn::http::Router r(routes::declared);
  auto ok = [](cairn::http::RequestPtr, cairn::http::Reply reply) {
    cairn::http::Response res;
    reply(std::move(res));
  };
  for (const routes::Route* route : routes::kAll) r.add(*route, ok);
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
