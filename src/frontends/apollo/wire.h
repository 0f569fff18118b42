#pragma once

// The Apollo config service's wire format (docs/compat.md, "Apollo"), as pure functions: how an
// Apollo namespace name maps to a Cairn namespace, how a namespace's revision becomes a
// releaseKey and a notificationId, and the request parsers and answer encoders of
// /configs, /configfiles and /notifications/v2. No state; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace cairn::apollo {

/// At most this many namespaces in one /notifications/v2 request.
inline constexpr size_t kMaxNotifications = 512;

/// An Apollo namespace name as Apollo's config service treats it: a trailing `.properties`
/// (any case) dropped; other names (`x.json`, `x.yaml`, `x.yml`, `x.xml`, `x.txt`) kept as
/// named. The result is the Cairn namespace's name.
std::string namespace_of(std::string_view namespace_name);

/// The format of a namespace, from its name's suffix (Apollo's ConfigFileFormat).
enum class Format { kProperties, kJson, kYaml, kYml, kXml, kTxt };
Format format_of(std::string_view namespace_name);
/// The Content-Type of /configfiles/raw for a format.
std::string_view raw_content_type(Format format);

/// A Cairn namespace's revision as Apollo's releaseKey and notificationId: never 0 (a namespace
/// always has a revision ≥ 1, but a client must never see 0) and monotonic.
int64_t notification_id(uint64_t revision);
std::string release_key(uint64_t revision);

/// One entry of /notifications/v2's `notifications` parameter.
struct Watched {
  std::string namespace_name;  // as the answer names it: the client's, `.properties` dropped
  std::string ns;              // the Cairn namespace
  int64_t notification_id = -1;
};

/// Parses `notifications` (`[{"namespaceName": "...", "notificationId": N}, ...]`) as Apollo's
/// config service does: entries without a namespace name are skipped; a namespace given twice
/// keeps its lower id. Errors (the message of Apollo's 400): not JSON, not a list of objects, an
/// id that is not an integer, nothing left to watch, more than kMaxNotifications entries, or a
/// name that no Cairn namespace can have (1–128 of [A-Za-z0-9._-]).
Result<std::vector<Watched>, std::string> parse_notifications(std::string_view text);

/// The configurations map of an answer: {key: text}, keys in the order given. `configs` holds
/// (key, stored value as compact JSON text); each value is given as text (frontends/text.h).
std::string configurations_json(const std::vector<std::pair<std::string, std::string>>& configs);

/// GET /configs's answer: {appId, cluster, namespaceName, configurations, releaseKey}.
std::string config_json(std::string_view app_id, std::string_view cluster,
                        std::string_view namespace_name,
                        const std::vector<std::pair<std::string, std::string>>& configs,
                        std::string_view release_key);

/// The configurations as a Java properties file (Properties.store without its date comment, as
/// Apollo's /configfiles answers): one `key=value` line each, `\n`-terminated, with Java's
/// escapes (`\\`, `\t`, `\n`, `\r`, `\f`, `\=`, `\:`, `\#`, `\!`, spaces in keys, a leading
/// space in values) and other control characters as `\uXXXX`.
std::string properties_text(const std::vector<std::pair<std::string, std::string>>& configs);

/// One namespace whose notificationId moved, as /notifications/v2 answers it.
struct Notification {
  std::string namespace_name;
  int64_t notification_id = 0;
};
/// [{namespaceName, notificationId, messages: {details: {"app+cluster+ns": id}}}, ...].
std::string notifications_json(std::string_view app_id, std::string_view cluster,
                               const std::vector<Notification>& notifications);

/// The body of an Apollo error answer (Spring's and Apollo's GlobalDefaultExceptionHandler's
/// shape): {timestamp, status, error, exception, message, path}.
std::string error_json(int status, std::string_view message, std::string_view path,
                       int64_t unix_ms);

}  // namespace cairn::apollo
