#pragma once

// The client subcommands of the `cairn` binary (DESIGN.md §6), all on top of the SDK:
// get, put, create, delete, list, history, versions, diff, rollback, watch,
// ns list|create|delete|get, token create|list|revoke, whoami, audit, cluster status, clients
// and release start|status|promote|abort|pause|resume.
// docs/sdk.md has the reference. One function registers each subcommand (cli/context.h), in
// one file per area; rows are printed with the wire codecs of api/wire.h.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/backup.h"
#include "cairn/client.h"
#include "common/result.h"

namespace CLI {
class App;
}

namespace cairn::cli {

/// Adds the client subcommands and the global client options (--endpoints, --token, --operator,
/// -o, --timeout, --cache-dir) to `app`. When a subcommand runs, `exit_code` receives its exit
/// status: 0 success, 1 the server answered with an error, 2 bad input, 3 no endpoint answered.
/// `app` must outlive nothing registered here (the state lives in the callbacks it stores).
void register_client_commands(CLI::App& app, int& exit_code);

/// Checks a backup file completely (store/backup.h verify_backup): the full `cairn` binary
/// hands it in before parsing, so that `cairn backup verify` and `cairn backup --out` check the
/// database in the file; without it (the SDK-only build) only the header is read.
/// `progress(done, total)` is told of the bytes read; may be empty.
using BackupVerifier = std::function<Result<api::BackupHeader, std::string>(
    const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress)>;
void set_backup_verifier(BackupVerifier verify);

/// A VALUE argument: "-" reads stdin, "@path" reads a file, anything else is the text itself.
/// The text is parsed as JSON; text that is not JSON becomes a JSON string. False (and `error`)
/// when the file or stdin cannot be read.
bool read_value(const std::string& arg, Json* value, std::string* error);

/// Checks an `--at` argument: Unix milliseconds (digits only) or an RFC 3339 date-time with a
/// zone (`2026-12-02T06:30:00Z`, `2026-12-02T06:30:00.123+01:00`; `t`/`z` and a space for `T`
/// are accepted too; a fraction of 1-9 digits, kept to the millisecond), years 1970-9999, as
/// the server reads `at=`. `at` receives the instant; false, with a reason in `error`, otherwise.
bool parse_instant(const std::string& text, TimePoint* at, std::string* error);

/// The options of `cairn release start` (docs/releases-clients.md).
struct ReleaseArgs {
  std::string ns;
  std::vector<std::string> sets;     ///< KEY=VALUE (VALUE as read_value reads it)
  std::vector<std::string> deletes;  ///< KEY
  std::vector<std::string> labels;   ///< NAME=VALUE[,VALUE…]
  std::vector<std::string> ips;      ///< address or CIDR
  std::string percent;               ///< empty: not given
  std::vector<std::string> stages;   ///< PERCENT[:HOLD]
  std::optional<double> max_failed_ratio;
  std::optional<int64_t> min_acks;
  std::string ack_timeout;
  std::string on_failure;
  std::string description;
};

/// The body of `POST /api/v1/admin/releases` for `a` (contract of issue 18); false, with the
/// reason in `error`, for input the CLI refuses before sending (no changes, a malformed
/// --set/--label/--stage, a percent outside 0-100, a hold that is not a Go duration…).
bool build_release_request(const ReleaseArgs& a, Json* out, std::string* error);

/// A Go duration without sign ("90s", "10m", "1h30m", "1.5h").
bool valid_duration(const std::string& text);

/// Human renderings of the registry and release answers (the table output).
std::string render_clients(const Json& data, const std::string& ns);
std::string render_release(const Json& release);
std::string render_release_list(const Json& data);

/// Left-aligned columns separated by two spaces, header first.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace cairn::cli
