#pragma once

#include "routes/route.h"

// The Apollo config service's routes (docs/compat.md, "Apollo"): what Apollo's clients call on a
// config service. They read only; Apollo's clients never write. The namespace a request names
// is an Apollo namespace name that the handler maps to a Cairn namespace (`.properties` dropped),
// so the guard asks only for a valid token (kAnyToken) and the core checks read on the mapped
// namespace. Apollo's clients send the token in `Authorization` (raw, or `Bearer …`).

namespace cairn::routes {

inline constexpr TokenFrom kApolloToken{"authorization", ""};

inline constexpr Route kApolloConfigs{{"GET", "/configs/{appId}/{cluster}/{namespaceName}"},
                                      Permission::kAnyToken,
                                      RateClass::kRead,
                                      Effect::kClientRead,
                                      "/configs/{appId}/{cluster}/{namespaceName}",
                                      {},
                                      kApolloToken};
inline constexpr Route kApolloConfigFilesJson{
    {"GET", "/configfiles/json/{appId}/{cluster}/{namespaceName}"},
    Permission::kAnyToken,
    RateClass::kRead,
    Effect::kClientRead,
    "/configfiles/json/{appId}/{cluster}/{namespaceName}",
    {},
    kApolloToken};
inline constexpr Route kApolloConfigFilesRaw{
    {"GET", "/configfiles/raw/{appId}/{cluster}/{namespaceName}"},
    Permission::kAnyToken,
    RateClass::kRead,
    Effect::kClientRead,
    "/configfiles/raw/{appId}/{cluster}/{namespaceName}",
    {},
    kApolloToken};
inline constexpr Route kApolloConfigFiles{{"GET", "/configfiles/{appId}/{cluster}/{namespaceName}"},
                                          Permission::kAnyToken,
                                          RateClass::kRead,
                                          Effect::kClientRead,
                                          "/configfiles/{appId}/{cluster}/{namespaceName}",
                                          {},
                                          kApolloToken};
// A long poll: held, not served, so not counted (like the native watch).
inline constexpr Route kApolloNotifications{{"GET", "/notifications/v2"},
                                            Permission::kAnyToken,
                                            RateClass::kNone,
                                            Effect::kNone,
                                            "/notifications/v2",
                                            {},
                                            kApolloToken};

}  // namespace cairn::routes
