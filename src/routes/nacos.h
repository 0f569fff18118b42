#pragma once

#include "routes/route.h"

// The Nacos config front-end's routes (docs/compat.md, src/frontends/nacos). Nacos addresses a
// config by dataId, group and tenant in parameters, which the guard cannot map to a Cairn
// namespace: the routes need any valid token, and the core checks the namespace. Nacos clients
// send their token as the `accessToken` parameter (query string or form field), as an
// `accessToken` header, or give their username/password with every request (the password then
// is the Cairn token).

namespace cairn::routes {

inline constexpr TokenFrom kNacosToken{"accesstoken", "accessToken", "password", true};

// The v1 open API: the raw content, publish (upsert), delete.
inline constexpr Route kNacosConfigGet{{"GET", "/nacos/v1/cs/configs"},
                                       Permission::kAnyToken,
                                       RateClass::kRead,
                                       Effect::kClientRead,
                                       "/nacos/v1/cs/configs",
                                       {},
                                       kNacosToken};
inline constexpr Route kNacosConfigPublish{{"POST", "/nacos/v1/cs/configs"},
                                           Permission::kAnyToken,
                                           RateClass::kWrite,
                                           Effect::kWrite,
                                           "/nacos/v1/cs/configs",
                                           {},
                                           kNacosToken};
inline constexpr Route kNacosConfigDelete{{"DELETE", "/nacos/v1/cs/configs"},
                                          Permission::kAnyToken,
                                          RateClass::kWrite,
                                          Effect::kWrite,
                                          "/nacos/v1/cs/configs",
                                          {},
                                          kNacosToken};
// The long-polling listener: held, not served, so not counted (like the native watch).
inline constexpr Route kNacosListener{{"POST", "/nacos/v1/cs/configs/listener"},
                                      Permission::kAnyToken,
                                      RateClass::kNone,
                                      Effect::kNone,
                                      "/nacos/v1/cs/configs/listener",
                                      {},
                                      kNacosToken};
// The v2 open API: the same operations answered as {code, message, data}.
inline constexpr Route kNacosV2ConfigGet{{"GET", "/nacos/v2/cs/config"},
                                         Permission::kAnyToken,
                                         RateClass::kRead,
                                         Effect::kClientRead,
                                         "/nacos/v2/cs/config",
                                         {},
                                         kNacosToken};
inline constexpr Route kNacosV2ConfigPublish{{"POST", "/nacos/v2/cs/config"},
                                             Permission::kAnyToken,
                                             RateClass::kWrite,
                                             Effect::kWrite,
                                             "/nacos/v2/cs/config",
                                             {},
                                             kNacosToken};
inline constexpr Route kNacosV2ConfigDelete{{"DELETE", "/nacos/v2/cs/config"},
                                            Permission::kAnyToken,
                                            RateClass::kWrite,
                                            Effect::kWrite,
                                            "/nacos/v2/cs/config",
                                            {},
                                            kNacosToken};
// Login: the password is a Cairn token, which the guard checks like any other (failures are
// slowed and audited); the answer gives it back as the accessToken.
inline constexpr Route kNacosLogin{{"POST", "/nacos/v1/auth/login"},
                                   Permission::kAnyToken,
                                   RateClass::kNone,
                                   Effect::kNone,
                                   "/nacos/v1/auth/login",
                                   {},
                                   {"", "password", "", true}};
inline constexpr Route kNacosUsersLogin{{"POST", "/nacos/v1/auth/users/login"},
                                        Permission::kAnyToken,
                                        RateClass::kNone,
                                        Effect::kNone,
                                        "/nacos/v1/auth/users/login",
                                        {},
                                        {"", "password", "", true}};

}  // namespace cairn::routes
