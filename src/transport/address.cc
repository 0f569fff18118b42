#include "transport/address.h"

namespace cairn::transport {

Result<HostPort, std::string> split_host_port(std::string_view address) {
  const std::string quoted = "\"" + std::string(address) + "\"";
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return Unexpected("address " + quoted + " lacks :port");
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return Unexpected("address " + quoted + ": write IPv6 hosts in brackets");
  }
  if (host.empty()) return Unexpected("address " + quoted + " lacks a host");
  if (port.empty() || port.size() > 5) return Unexpected("address " + quoted + ": bad port");
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Unexpected("address " + quoted + ": bad port");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return Unexpected("address " + quoted + ": port out of range");
  return HostPort{std::string(host), std::string(port)};
}

}  // namespace cairn::transport
