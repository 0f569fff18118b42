#pragma once

// Network addresses as text: "host:port" with IPv6 literals in brackets ("[::1]:7001"). The one
// parser for listen addresses, peer and member addresses, URL authorities (OTLP, Redis, the
// SDK's endpoints) and the remote address a socket reports. Header-only, so that the SDK, which
// links no other Cairn library, uses it too.

#include <string>
#include <string_view>

#include "common/result.h"

namespace cairn {

/// A "host:port" split in two; the brackets of an IPv6 literal are removed from `host`.
struct HostPort {
  std::string host;
  std::string port;  // decimal digits, 0..65535
  bool operator==(const HostPort&) const = default;
};

/// Splits `address` ("host:port", "[v6]:port"). Without a `:port`, `default_port` is used when
/// it is not empty ("host", "[v6]"), else it is an error. An error text (naming the address) when
/// the host is empty, an IPv6 host lacks its brackets, or the port is not a number in 0..65535.
/// Only the syntax is checked: names are resolved later, by whoever dials.
inline Result<HostPort, std::string> split_host_port(std::string_view address,
                                                     std::string_view default_port = {}) {
  const std::string quoted = "\"" + std::string(address) + "\"";
  std::string_view host = address;
  std::string_view port = default_port;
  const size_t colon = address.rfind(':');
  const size_t close = address.rfind(']');
  const bool has_port =
      colon != std::string_view::npos && (close == std::string_view::npos || colon > close);
  if (has_port) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  } else if (default_port.empty()) {
    return Unexpected{"address " + quoted + " lacks :port"};
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of(":[]") != std::string_view::npos) {
    return Unexpected{"address " + quoted + ": write IPv6 hosts in brackets"};
  }
  if (host.empty()) return Unexpected{"address " + quoted + " lacks a host"};
  if (port.empty() || port.size() > 5) return Unexpected{"address " + quoted + ": bad port"};
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Unexpected{"address " + quoted + ": bad port"};
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return Unexpected{"address " + quoted + ": port out of range"};
  return HostPort{std::string(host), std::string(port)};
}

/// "host:port" again, with brackets around an IPv6 host: what split_host_port reads.
inline std::string join_host_port(std::string_view host, std::string_view port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  std::string out;
  out.reserve(host.size() + port.size() + 3);
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += port;
  return out;
}

/// The host part of a peer address as a socket reports it, without the port: "10.0.0.7:5555"
/// → "10.0.0.7", "[::1]:8080" → "::1"; a bare IPv6 address ("::1") or a host without a port
/// is returned as it is. Never fails (a remote address is whatever the socket said).
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
