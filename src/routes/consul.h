#pragma once

#include "routes/route.h"

// The Consul KV front-end's routes (docs/compat.md, "Consul KV"). The namespace is the first
// segment of the key path, which the auth guard cannot find: the KV and txn routes take any
// valid token and the core checks the namespace (read, or write for changes). Consul's clients
// send their token as X-Consul-Token or ?token=.

namespace cairn::routes {

inline constexpr TokenFrom kConsulToken{"x-consul-token", "token"};

inline constexpr Route kConsulKvGet{{"GET", "/v1/kv/{key...}"},
                                    Permission::kAnyToken,
                                    RateClass::kRead,
                                    Effect::kClientRead,
                                    "/v1/kv/{key}",
                                    {},
                                    kConsulToken};
inline constexpr Route kConsulKvPut{{"PUT", "/v1/kv/{key...}"},
                                    Permission::kAnyToken,
                                    RateClass::kWrite,
                                    Effect::kWrite,
                                    "/v1/kv/{key}",
                                    {},
                                    kConsulToken};
inline constexpr Route kConsulKvDelete{{"DELETE", "/v1/kv/{key...}"},
                                       Permission::kAnyToken,
                                       RateClass::kWrite,
                                       Effect::kWrite,
                                       "/v1/kv/{key}",
                                       {},
                                       kConsulToken};
inline constexpr Route kConsulTxn{{"PUT", "/v1/txn"},
                                  Permission::kAnyToken,
                                  RateClass::kWrite,
                                  Effect::kWrite,
                                  "/v1/txn",
                                  {},
                                  kConsulToken};
// Health probes and client libraries call these without a token (as Consul allows).
inline constexpr Route kConsulStatusLeader{{"GET", "/v1/status/leader"},
                                           Permission::kPublic,
                                           RateClass::kNone,
                                           Effect::kNone,
                                           "/v1/status/leader",
                                           {},
                                           kConsulToken};
inline constexpr Route kConsulStatusPeers{{"GET", "/v1/status/peers"},
                                          Permission::kPublic,
                                          RateClass::kNone,
                                          Effect::kNone,
                                          "/v1/status/peers",
                                          {},
                                          kConsulToken};
// Anything else under /v1/: 404 in Consul's plain-text style.
inline constexpr Route kConsulOtherGet{{"GET", "/v1/{path...}"},
                                       Permission::kPublic,
                                       RateClass::kNone,
                                       Effect::kNone,
                                       "/v1/{path}"};
inline constexpr Route kConsulOtherPut{{"PUT", "/v1/{path...}"},
                                       Permission::kPublic,
                                       RateClass::kNone,
                                       Effect::kNone,
                                       "/v1/{path}"};
inline constexpr Route kConsulOtherPost{{"POST", "/v1/{path...}"},
                                        Permission::kPublic,
                                        RateClass::kNone,
                                        Effect::kNone,
                                        "/v1/{path}"};
inline constexpr Route kConsulOtherDelete{{"DELETE", "/v1/{path...}"},
                                          Permission::kPublic,
                                          RateClass::kNone,
                                          Effect::kNone,
                                          "/v1/{path}"};

}  // namespace cairn::routes
