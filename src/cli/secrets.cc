// `cairn secret rewrap` (docs/secrets.md, "Rotation runbook"): re-wraps every stored secret
// under the current key, calling POST /api/v1/admin/secrets/rewrap until it says done, with
// progress (values re-wrapped of the values to re-wrap) on a terminal and quiet when piped.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>

#include "cli/context.h"
#include "cli/progress.h"
#include "client/http_transport.h"
#include "common/json.h"

namespace cairn::cli {
namespace {

namespace cd = client_detail;

void run_rewrap(Context& g, int64_t batch_size, int64_t batches_per_call) {
  const auto opts = g.client_options();
  std::shared_ptr<cd::TlsContext> tls;
  cd::HttpRequest req;
  req.method = "POST";
  req.target = "/api/v1/admin/secrets/rewrap";
  req.body = dump_compact(Json{{"batch_size", batch_size}, {"max_batches", batches_per_call}});
  req.headers.emplace_back("Content-Type", "application/json");
  if (!g.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + g.token);
  req.headers.emplace_back("X-Client-ID", cli_client_id());
  const auto request_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(std::max(g.timeout_seconds, 30.0) * 1000));

  Progress progress("re-wrapping secrets", Progress::Unit::kEntries);
  uint64_t rewrapped = 0;
  uint64_t batches = 0;
  std::string last_error = "no endpoint given";
  size_t endpoint = 0;
  for (;;) {
    if (endpoint >= opts.endpoints.size()) {
      progress.finish();
      ClientError e;
      e.message = "no endpoint answered: " + last_error;
      return fail(g, e);
    }
    auto ep = cd::parse_endpoint(opts.endpoints[endpoint]);
    if (!ep) {
      return bad_input(g, "endpoint '" + opts.endpoints[endpoint] + "' is not http(s)://host:port");
    }
    if (ep->tls && !tls) {
      std::string error;
      tls = cd::TlsContext::create(g.ca_file, g.cert_file, g.key_file, &error);
      if (!tls) return bad_input(g, error);
    }
    cd::HttpResponse r;
    cd::TransportError err;
    if (!cd::http_exchange(*ep, tls.get(), req, opts.connect_timeout, request_timeout, -1, &r,
                           &err)) {
      // Re-wrapping is idempotent (docs/secrets.md): any failure may simply be asked again
      // elsewhere.
      last_error = err.what;
      ++endpoint;
      continue;
    }
    if (r.status != 200) {
      progress.finish();
      return fail(g, envelope_error(r.status, r.body, ep->url));
    }
    auto env = parse_json(r.body, 16);
    const Json* data = nullptr;
    if (env && env->is_object()) {
      if (auto it = env->find("data"); it != env->end() && it->is_object()) data = &*it;
    }
    if (!data) {
      progress.finish();
      ClientError e;
      e.code = ClientError::kProtocol;
      e.endpoint = ep->url;
      e.message = "the answer is not the JSON envelope";
      return fail(g, e);
    }
    rewrapped += data->value("rewrapped", uint64_t{0});
    batches += data->value("batches", uint64_t{0});
    const uint64_t remaining = data->value("remaining", uint64_t{0});
    progress.update(rewrapped, rewrapped + remaining);
    if (data->value("done", false)) {
      progress.finish();
      Json out{{"current_key", data->value("current_key", "")},
               {"rewrapped", rewrapped},
               {"batches", batches},
               {"remaining", 0},
               {"done", true}};
      return emit(g, out,
                  "re-wrapped " + std::to_string(rewrapped) + " value(s) in " +
                      std::to_string(batches) + " batch(es) under key " +
                      data->value("current_key", "") + "; nothing left to re-wrap\n");
    }
  }
}

}  // namespace

void add_secret(CLI::App& app, const ContextPtr& g) {
  auto* secret = app.add_subcommand("secret", "Stored secrets (docs/secrets.md)");
  secret->require_subcommand(1);
  auto* rewrap = secret->add_subcommand(
      "rewrap",
      "Re-wrap every stored secret under the current key, until none is left (cluster-admin)");
  auto batch_size = std::make_shared<int64_t>(200);
  auto per_call = std::make_shared<int64_t>(5);
  rewrap->add_option("--batch-size", *batch_size, "Values per replicated batch (1-1000)")
      ->check(CLI::Range(int64_t{1}, int64_t{1000}));
  rewrap->add_option("--batches-per-call", *per_call, "Batches per request (1-10000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000}));
  rewrap->callback([g, batch_size, per_call] { run_rewrap(*g, *batch_size, *per_call); });
}

}  // namespace cairn::cli
