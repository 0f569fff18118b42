#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cairn::transport {

/// A "host:port" split in two. IPv6 literals are written in brackets ("[::1]:7001"); the
/// brackets are removed from `host`.
struct HostPort {
  std::string host;
  std::string port;
  bool operator==(const HostPort&) const = default;
};

/// Splits `address`; an error text when the port is missing or not a number in 0..65535, or
/// the host is empty. Resolution happens later, on every dial, so that a peer's DNS name may
/// move.
Result<HostPort, std::string> split_host_port(std::string_view address);

}  // namespace cairn::transport
