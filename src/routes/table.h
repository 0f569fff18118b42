#pragma once

#include <string_view>

#include "routes/consul.h"
#include "routes/apollo.h"
#include "routes/nacos.h"
#include "routes/route.h"

// The route table: every route of a node, declared once, with what the auth guard, the limiter
// and telemetry need of it (routes/route.h). Modules register their handlers against these
// constants (`router.add(routes::kConfigGet, handler)`); the server's router refuses any other
// route, and src/server/tests/routes_test.cc checks that every route here has a handler.
//
// Adding a route: declare it here (a protocol front-end: in routes/<protocol>.h), add it to
// kAll, register its handler. Permissions follow
// docs/security.md (client reads need read, admin config calls write, namespace settings, tags
// and clean-up admin; cluster, tokens, audit and debug cluster-admin); rate classes follow
// docs/rate-limits.md (looking is reading wherever it is done; changes to configs are writes,
// other changes admin; health, metrics, watches, cluster status and the console are not
// counted); the label is the `api` label of metrics and spans (docs/observability.md).

namespace cairn::routes {

// Client reads (seed §3.8.3), versions (§3.8.5) and watch (docs/watch.md). A watch is held,
// not served, so it is not counted.
inline constexpr Route kConfigGet{{"GET", "/api/v1/config/get"},
                                  Permission::kRead,
                                  RateClass::kRead,
                                  Effect::kClientRead,
                                  "/api/v1/config/get"};
inline constexpr Route kConfigBatchGet{{"POST", "/api/v1/config/batch-get"},
                                       Permission::kRead,
                                       RateClass::kRead,
                                       Effect::kClientRead,
                                       "/api/v1/config/batch-get"};
inline constexpr Route kConfigNamespace{{"GET", "/api/v1/config/namespace/{namespace}"},
                                        Permission::kRead,
                                        RateClass::kRead,
                                        Effect::kClientRead,
                                        "/api/v1/config/namespace/{namespace}"};
inline constexpr Route kConfigVersions{{"GET", "/api/v1/config/versions"},
                                       Permission::kRead,
                                       RateClass::kRead,
                                       Effect::kClientRead,
                                       "/api/v1/config/versions"};
inline constexpr Route kConfigDiff{{"GET", "/api/v1/config/diff"},
                                   Permission::kRead,
                                   RateClass::kRead,
                                   Effect::kClientRead,
                                   "/api/v1/config/diff"};
inline constexpr Route kConfigWatch{{"GET", "/api/v1/config/watch"},
                                    Permission::kRead,
                                    RateClass::kNone,
                                    Effect::kNone,
                                    "/api/v1/config/watch"};
inline constexpr Route kConfigWatchStream{{"GET", "/api/v1/config/watch/stream"},
                                          Permission::kRead,
                                          RateClass::kNone,
                                          Effect::kNone,
                                          "/api/v1/config/watch/stream"};

// Client acknowledgements and the client registry (docs/releases.md): an ack is answered by
// the node that receives it (not a Raft write, never forwarded); the registry view asks every
// member. Without a namespace the view lists every client: cluster-admin only.
inline constexpr Route kConfigAck{{"POST", "/api/v1/config/ack"},
                                  Permission::kRead,
                                  RateClass::kRead,
                                  Effect::kNone,
                                  "/api/v1/config/ack"};
inline constexpr Route kClients{{"GET", "/api/v1/clients"},
                                Permission::kRead,
                                RateClass::kRead,
                                Effect::kNone,
                                "/api/v1/clients",
                                {.absent = NoNamespace::kClusterAdmin}};
// This node's registry alone (what /api/v1/clients asks each member for).
inline constexpr Route kClientsLocal{{"GET", "/api/v1/clients/local"},
                                     Permission::kRead,
                                     RateClass::kNone,
                                     Effect::kNone,
                                     "/api/v1/clients/local",
                                     {.absent = NoNamespace::kClusterAdmin}};

// Gray releases (docs/releases.md): admin on the release's namespace (checked by the core for
// the routes that name a release, whose namespace the path does not carry).
inline constexpr Route kReleaseStart{{"POST", "/api/v1/admin/releases"},
                                     Permission::kAdmin,
                                     RateClass::kAdmin,
                                     Effect::kWrite,
                                     "/api/v1/admin/releases"};
inline constexpr Route kReleaseList{{"GET", "/api/v1/admin/releases"},
                                    Permission::kAnyToken,
                                    RateClass::kRead,
                                    Effect::kNone,
                                    "/api/v1/admin/releases"};
inline constexpr Route kReleaseGet{{"GET", "/api/v1/admin/releases/{release}"},
                                   Permission::kAnyToken,
                                   RateClass::kRead,
                                   Effect::kNone,
                                   "/api/v1/admin/releases/{release}"};
inline constexpr Route kReleaseAction{{"POST", "/api/v1/admin/releases/{release}/{action}"},
                                      Permission::kAnyToken,
                                      RateClass::kAdmin,
                                      Effect::kWrite,
                                      "/api/v1/admin/releases/{release}/{action}"};

// Admin configs (§3.8.4), and the versions and diff for admins (disabled ones included).
inline constexpr Route kAdminConfigCreate{{"POST", "/api/v1/admin/config"},
                                          Permission::kWrite,
                                          RateClass::kWrite,
                                          Effect::kWrite,
                                          "/api/v1/admin/config"};
inline constexpr Route kAdminConfigUpdate{{"PUT", "/api/v1/admin/config"},
                                          Permission::kWrite,
                                          RateClass::kWrite,
                                          Effect::kWrite,
                                          "/api/v1/admin/config"};
inline constexpr Route kAdminConfigDelete{{"DELETE", "/api/v1/admin/config"},
                                          Permission::kWrite,
                                          RateClass::kWrite,
                                          Effect::kWrite,
                                          "/api/v1/admin/config"};
inline constexpr Route kAdminConfigList{{"GET", "/api/v1/admin/config/list"},
                                        Permission::kWrite,
                                        RateClass::kRead,
                                        Effect::kNone,
                                        "/api/v1/admin/config/list",
                                        {.absent = NoNamespace::kFiltered}};
inline constexpr Route kAdminConfigHistory{{"GET", "/api/v1/admin/config/history"},
                                           Permission::kWrite,
                                           RateClass::kRead,
                                           Effect::kNone,
                                           "/api/v1/admin/config/history"};
inline constexpr Route kAdminConfigVersions{{"GET", "/api/v1/admin/config/versions"},
                                            Permission::kWrite,
                                            RateClass::kRead,
                                            Effect::kNone,
                                            "/api/v1/admin/config/versions"};
inline constexpr Route kAdminConfigDiff{{"GET", "/api/v1/admin/config/diff"},
                                        Permission::kWrite,
                                        RateClass::kRead,
                                        Effect::kNone,
                                        "/api/v1/admin/config/diff"};
inline constexpr Route kAdminConfigRollback{{"POST", "/api/v1/admin/config/rollback"},
                                            Permission::kWrite,
                                            RateClass::kWrite,
                                            Effect::kWrite,
                                            "/api/v1/admin/config/rollback"};
inline constexpr Route kAdminConfigBatch{{"POST", "/api/v1/admin/config/batch"},
                                         Permission::kWrite,
                                         RateClass::kWrite,
                                         Effect::kWrite,
                                         "/api/v1/admin/config/batch"};

// Tags and retention (docs/versions.md): admin on the namespace; a clean-up that names none
// means every namespace.
inline constexpr Route kAdminConfigTag{{"POST", "/api/v1/admin/config/tag"},
                                       Permission::kAdmin,
                                       RateClass::kWrite,
                                       Effect::kWrite,
                                       "/api/v1/admin/config/tag"};
inline constexpr Route kAdminConfigUntag{{"DELETE", "/api/v1/admin/config/tag"},
                                         Permission::kAdmin,
                                         RateClass::kWrite,
                                         Effect::kWrite,
                                         "/api/v1/admin/config/tag"};
inline constexpr Route kAdminConfigCleanup{{"POST", "/api/v1/admin/config/cleanup"},
                                           Permission::kAdmin,
                                           RateClass::kWrite,
                                           Effect::kWrite,
                                           "/api/v1/admin/config/cleanup",
                                           {.absent = NoNamespace::kClusterAdmin}};

// Import and export (docs/import-export.md). Any token: the core checks read (export) and
// write (import) on every namespace the file or `namespace=all` names, which the route cannot
// see; an import is replicated, so it goes to the leader, its dry run included.
inline constexpr Route kAdminExport{{"GET", "/api/v1/admin/export"},
                                    Permission::kAnyToken,
                                    RateClass::kRead,
                                    Effect::kNone,
                                    "/api/v1/admin/export"};
inline constexpr Route kAdminImport{{"POST", "/api/v1/admin/import"},
                                    Permission::kAnyToken,
                                    RateClass::kWrite,
                                    Effect::kWrite,
                                    "/api/v1/admin/import"};

// Namespaces (§3.8.6). The list shows only what the token's grants match.
inline constexpr Route kNamespaceCreate{
    {"POST", "/api/v1/admin/namespace"}, Permission::kAdmin,    RateClass::kAdmin, Effect::kWrite,
    "/api/v1/admin/namespace",           {.body_field = "name"}};
inline constexpr Route kNamespaceUpdate{{"PUT", "/api/v1/admin/namespace/{id}"},
                                        Permission::kAdmin,
                                        RateClass::kAdmin,
                                        Effect::kWrite,
                                        "/api/v1/admin/namespace/{id}"};
inline constexpr Route kNamespaceDelete{{"DELETE", "/api/v1/admin/namespace/{id}"},
                                        Permission::kAdmin,
                                        RateClass::kAdmin,
                                        Effect::kWrite,
                                        "/api/v1/admin/namespace/{id}"};
// Typed namespaces (docs/schemas.md): reading the schema is a client read (SDKs and the console
// validate before sending); the dry run changes nothing, so it is counted as a read and served
// by any node.
inline constexpr Route kConfigSchema{{"GET", "/api/v1/config/schema"},
                                     Permission::kRead,
                                     RateClass::kRead,
                                     Effect::kNone,
                                     "/api/v1/config/schema"};
inline constexpr Route kNamespaceSchemaCheck{{"POST", "/api/v1/admin/namespace/{id}/schema/check"},
                                             Permission::kWrite,
                                             RateClass::kRead,
                                             Effect::kNone,
                                             "/api/v1/admin/namespace/{id}/schema/check"};
inline constexpr Route kNamespaceList{{"GET", "/api/v1/admin/namespace/list"},
                                      Permission::kAnyToken,
                                      RateClass::kRead,
                                      Effect::kNone,
                                      "/api/v1/admin/namespace/list"};

// Operations (§3.8.7, docs/observability.md). The fault route exists only with the config key
// fault_injection.
inline constexpr Route kHealth{{"GET", "/api/v1/health"},
                               Permission::kPublic,
                               RateClass::kNone,
                               Effect::kNone,
                               "/api/v1/health"};
inline constexpr Route kLivez{
    {"GET", "/livez"}, Permission::kPublic, RateClass::kNone, Effect::kNone, "/livez"};
inline constexpr Route kReadyz{
    {"GET", "/readyz"}, Permission::kPublic, RateClass::kNone, Effect::kNone, "/readyz"};
inline constexpr Route kMetrics{{"GET", "/api/v1/metrics"},
                                Permission::kScrape,
                                RateClass::kNone,
                                Effect::kNone,
                                "/api/v1/metrics"};
inline constexpr Route kDebugVars{{"GET", "/api/v1/debug/vars"},
                                  Permission::kClusterAdmin,
                                  RateClass::kNone,
                                  Effect::kNone,
                                  "/api/v1/debug/vars"};
inline constexpr Route kDebugFault{{"POST", "/api/v1/debug/fault"},
                                   Permission::kClusterAdmin,
                                   RateClass::kNone,
                                   Effect::kNone,
                                   "/api/v1/debug/fault"};

// Tokens and audit (docs/security.md). The token routes and whoami exist only with auth on;
// followers ship denials to the leader with POST /api/v1/admin/audit.
inline constexpr Route kTokenCreate{{"POST", "/api/v1/admin/tokens"},
                                    Permission::kClusterAdmin,
                                    RateClass::kAdmin,
                                    Effect::kWrite,
                                    "/api/v1/admin/tokens"};
inline constexpr Route kTokenList{{"GET", "/api/v1/admin/tokens"},
                                  Permission::kClusterAdmin,
                                  RateClass::kRead,
                                  Effect::kNone,
                                  "/api/v1/admin/tokens"};
inline constexpr Route kTokenRevoke{{"DELETE", "/api/v1/admin/tokens/{id}"},
                                    Permission::kClusterAdmin,
                                    RateClass::kAdmin,
                                    Effect::kWrite,
                                    "/api/v1/admin/tokens/{id}"};
inline constexpr Route kWhoami{{"GET", "/api/v1/auth/whoami"},
                               Permission::kAnyToken,
                               RateClass::kNone,
                               Effect::kNone,
                               "/api/v1/auth/whoami"};
inline constexpr Route kAuditList{{"GET", "/api/v1/admin/audit"},
                                  Permission::kClusterAdmin,
                                  RateClass::kRead,
                                  Effect::kNone,
                                  "/api/v1/admin/audit"};
inline constexpr Route kAuditAppend{{"POST", "/api/v1/admin/audit"},
                                    Permission::kClusterAdmin,
                                    RateClass::kAdmin,
                                    Effect::kWrite,
                                    "/api/v1/admin/audit"};

// Cluster status and membership (docs/cluster.md): cluster members only.
inline constexpr Route kCluster{{"GET", "/api/v1/cluster"},
                                Permission::kClusterAdmin,
                                RateClass::kNone,
                                Effect::kNone,
                                "/api/v1/cluster"};
inline constexpr Route kClusterStatus{{"GET", "/api/v1/cluster/status"},
                                      Permission::kClusterAdmin,
                                      RateClass::kNone,
                                      Effect::kNone,
                                      "/api/v1/cluster/status"};
inline constexpr Route kClusterHealth{{"GET", "/api/v1/cluster/health"},
                                      Permission::kClusterAdmin,
                                      RateClass::kNone,
                                      Effect::kNone,
                                      "/api/v1/cluster/health"};
inline constexpr Route kClusterTransferLeader{{"POST", "/api/v1/admin/cluster/transfer-leader"},
                                              Permission::kClusterAdmin,
                                              RateClass::kAdmin,
                                              Effect::kWrite,
                                              "/api/v1/admin/cluster/transfer-leader"};
inline constexpr Route kClusterMemberAdd{{"POST", "/api/v1/admin/cluster/members"},
                                         Permission::kClusterAdmin,
                                         RateClass::kAdmin,
                                         Effect::kWrite,
                                         "/api/v1/admin/cluster/members"};
inline constexpr Route kClusterMemberRemove{{"DELETE", "/api/v1/admin/cluster/members/{id}"},
                                            Permission::kClusterAdmin,
                                            RateClass::kAdmin,
                                            Effect::kWrite,
                                            "/api/v1/admin/cluster/members/{id}"};

// Backup and disaster recovery (docs/operations.md): a consistent copy of the node's state,
// served by the node asked (no forwarding); heavy, so counted as an admin call.
inline constexpr Route kAdminBackup{{"GET", "/api/v1/admin/backup"},
                                    Permission::kClusterAdmin,
                                    RateClass::kAdmin,
                                    Effect::kNone,
                                    "/api/v1/admin/backup"};

// Secrets (docs/secrets.md): the keys stored secrets are wrapped with, and their re-wrapping
// under the current key (replicated commands, so a write: sent to the leader).
inline constexpr Route kSecretStatus{{"GET", "/api/v1/admin/secrets"},
                                     Permission::kClusterAdmin,
                                     RateClass::kRead,
                                     Effect::kNone,
                                     "/api/v1/admin/secrets"};
inline constexpr Route kSecretRewrap{{"POST", "/api/v1/admin/secrets/rewrap"},
                                     Permission::kClusterAdmin,
                                     RateClass::kAdmin,
                                     Effect::kWrite,
                                     "/api/v1/admin/secrets/rewrap"};

// The admin console's static files (docs/console.md).
inline constexpr Route kUi{
    {"GET", "/ui"}, Permission::kPublic, RateClass::kNone, Effect::kNone, "/ui"};
inline constexpr Route kUiIndex{
    {"GET", "/ui/"}, Permission::kPublic, RateClass::kNone, Effect::kNone, "/ui/"};
inline constexpr Route kUiFile{
    {"GET", "/ui/{file}"}, Permission::kPublic, RateClass::kNone, Effect::kNone, "/ui/{file}"};

/// Every route above, once, then the protocol front-ends' (docs/compat.md), each from its own
/// header.
inline constexpr const Route* kAll[] = {
    &kConfigGet,
    &kConfigBatchGet,
    &kConfigNamespace,
    &kConfigVersions,
    &kConfigDiff,
    &kConfigWatch,
    &kConfigWatchStream,
    &kConfigAck,
    &kClients,
    &kClientsLocal,
    &kReleaseStart,
    &kReleaseList,
    &kReleaseGet,
    &kReleaseAction,
    &kAdminConfigCreate,
    &kAdminConfigUpdate,
    &kAdminConfigDelete,
    &kAdminConfigList,
    &kAdminConfigHistory,
    &kAdminConfigVersions,
    &kAdminConfigDiff,
    &kAdminConfigRollback,
    &kAdminConfigBatch,
    &kAdminConfigTag,
    &kAdminConfigUntag,
    &kAdminConfigCleanup,
    &kAdminExport,
    &kAdminImport,
    &kNamespaceCreate,
    &kNamespaceUpdate,
    &kNamespaceDelete,
    &kNamespaceList,
    &kConfigSchema,
    &kNamespaceSchemaCheck,
    &kHealth,
    &kLivez,
    &kReadyz,
    &kMetrics,
    &kDebugVars,
    &kDebugFault,
    &kTokenCreate,
    &kTokenList,
    &kTokenRevoke,
    &kWhoami,
    &kAuditList,
    &kAuditAppend,
    &kCluster,
    &kClusterStatus,
    &kClusterHealth,
    &kClusterTransferLeader,
    &kClusterMemberAdd,
    &kClusterMemberRemove,
    &kAdminBackup,
    &kSecretStatus,
    &kSecretRewrap,
    &kUi,
    &kUiIndex,
    &kUiFile,

    // Consul KV (routes/consul.h): its routes here.
    &kConsulKvGet,
    &kConsulKvPut,
    &kConsulKvDelete,
    &kConsulTxn,
    &kConsulStatusLeader,
    &kConsulStatusPeers,
    &kConsulOtherGet,
    &kConsulOtherPut,
    &kConsulOtherPost,
    &kConsulOtherDelete,

    // Nacos (routes/nacos.h): its routes here.
    &kNacosConfigGet,
    &kNacosConfigPublish,
    &kNacosConfigDelete,
    &kNacosListener,
    &kNacosV2ConfigGet,
    &kNacosV2ConfigPublish,
    &kNacosV2ConfigDelete,
    &kNacosLogin,
    &kNacosUsersLogin,

    // Apollo (routes/apollo.h): its routes here.
    &kApolloConfigs,
    &kApolloConfigFilesJson,
    &kApolloConfigFilesRaw,
    &kApolloConfigFiles,
    &kApolloNotifications,

};

/// The table's route of (method, path template), or nullptr.
const Route* find(std::string_view method, std::string_view path_template);

}  // namespace cairn::routes
