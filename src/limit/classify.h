#pragma once

#include <string>
#include <string_view>

#include "common/address.h"

namespace cairn::limit {

/// The IP part of a peer address "ip:port" or "[v6]:port" (common/address.h).
using cairn::host_of;

/// True for a usable `X-Client-ID`: 1–128 printable ASCII characters (0x21–0x7e).
bool is_valid_client_id(std::string_view id);

}  // namespace cairn::limit
