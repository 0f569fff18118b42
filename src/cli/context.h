#pragma once

// What every client subcommand shares: the global options, the output helpers and the exit
// codes. One file per area registers its subcommands on top of it (configs.cc, versions.cc,
// namespaces.cc, admin.cc, cluster.cc); commands.cc puts them together.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/wire.h"
#include "cairn/client.h"

namespace CLI {
class App;
}

namespace cairn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitUnreachable = 3;

/// The global options of every client subcommand and where its exit status goes. Owned (shared)
/// by the callbacks registered on the App, which outlive every run of them; used on the thread
/// that parses the command line (and, for `watch`, read by its listener).
struct Context {
  std::string endpoints = "http://127.0.0.1:8001";
  std::string token;
  std::string operator_name;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string output = "table";
  std::string cache_dir;
  double timeout_seconds = 10;
  int* exit_code = nullptr;

  bool json() const { return output == "json"; }
  ClientOptions client_options() const;
};

using ContextPtr = std::shared_ptr<Context>;

/// The `X-Client-ID` of the CLI: "cairn-cli@<host>".
std::string cli_client_id();

/// Adds the global options (--endpoints, --token, …) to `app`.
void add_globals(CLI::App& app, Context& ctx);

/// A subcommand that accepts the global options after its own name too.
CLI::App* leaf(CLI::App& parent, const std::string& name, const std::string& help);

// ---- output ----

/// Compact JSON of a document (the SDK's values), as the CLI has always printed it.
std::string compact(const Json& j);
std::string pretty(const Json& j);
std::string truncate(std::string s, size_t max = 60);

/// Prints `json_text` (with -o json) or `human`, and sets the exit code to 0.
void emit(Context& ctx, const std::string& json_text, const std::string& human);
void emit(Context& ctx, const Json& j, const std::string& human);

/// Prints a failed call and sets the exit code (1 server error, 2 bad input, 3 unreachable).
void fail(Context& ctx, const ClientError& e);
/// A refusal answered with the error envelope (`body`) as the SDK reports it.
ClientError envelope_error(int http_status, const std::string& body, const std::string& endpoint);
void bad_input(Context& ctx, const std::string& what);

/// The SDK's paging as the wire's, for the list codecs.
api::Pagination wire_pagination(const Pagination& p);

/// "(page 2 of 5, 20 of 93 shown; --page N)" under a table, or "" for a single page.
std::string page_footer(const Pagination& p, size_t shown);

/// Checks an `--at` argument before anything is sent; false after reporting bad input.
bool check_at(Context& ctx, const std::string& text);
extern const char* const kAtHelp;

void warn_stale(bool stale);

/// An optional numeric option (`--expected-version N`, where 0 means not given).
inline std::optional<int64_t> given(int64_t v) {
  return v > 0 ? std::optional<int64_t>(v) : std::nullopt;
}

// ---- the subcommands, one function each, by area ----

// configs.cc
void add_get(CLI::App& app, const ContextPtr& ctx);
void add_put(CLI::App& app, const ContextPtr& ctx);
void add_create(CLI::App& app, const ContextPtr& ctx);
void add_delete(CLI::App& app, const ContextPtr& ctx);
void add_list(CLI::App& app, const ContextPtr& ctx);
void add_watch(CLI::App& app, const ContextPtr& ctx);
// versions.cc
void add_history(CLI::App& app, const ContextPtr& ctx);
void add_versions(CLI::App& app, const ContextPtr& ctx);
void add_diff(CLI::App& app, const ContextPtr& ctx);
void add_rollback(CLI::App& app, const ContextPtr& ctx);
// namespaces.cc: `ns` and its list, get, create, delete
void add_ns(CLI::App& app, const ContextPtr& ctx);
// admin.cc: `token` (create, list, revoke), whoami, audit
void add_token(CLI::App& app, const ContextPtr& ctx);
void add_whoami(CLI::App& app, const ContextPtr& ctx);
void add_audit(CLI::App& app, const ContextPtr& ctx);
// cluster.cc: `cluster status`
void add_cluster(CLI::App& app, const ContextPtr& ctx);
// releases.cc: `clients`, `release` (start, status, promote, abort, pause, resume)
void add_clients(CLI::App& app, const ContextPtr& ctx);
void add_release(CLI::App& app, const ContextPtr& ctx);
// transfer.cc: export, import (docs/import-export.md)
void add_transfer(CLI::App& app, const ContextPtr& ctx);
// backup.cc: `backup --out FILE`, `backup verify FILE` (docs/operations.md)
void add_backup(CLI::App& app, const ContextPtr& ctx);
// secrets.cc: `secret rewrap` (docs/secrets.md)
void add_secret(CLI::App& app, const ContextPtr& ctx);

}  // namespace cairn::cli
