#pragma once

#include <string_view>

namespace cairn {

/// The host part of a peer address as a socket reports it, without the port: "10.0.0.7:5555"
/// → "10.0.0.7", "[::1]:8080" → "::1"; a bare IPv6 address ("::1") or a host without a port
/// is returned as it is.
inline std::string_view host_of(std::string_view remote_address) {
  if (!remote_address.empty() && remote_address.front() == '[') {
    const size_t close = remote_address.find(']');
    if (close != std::string_view::npos) return remote_address.substr(1, close - 1);
    return remote_address;
  }
  const size_t colon = remote_address.rfind(':');
  // More than one colon without brackets is a bare IPv6 address: no port to strip.
  if (colon == std::string_view::npos || remote_address.find(':') != colon) return remote_address;
  return remote_address.substr(0, colon);
}

}  // namespace cairn
