#include "node-agent/state/ipv6_forwards.h"

#include "absl/strings/match.h"

namespace ferry::agent {
namespace {

const std::string& AddressOf(const ferry::v1::DnatRule& rule) { return rule.frontend_address(); }
const std::string& AddressOf(const ferry::v1::ReturnRoute& route) { return route.source_address(); }

// IPv6 text always holds a ':', IPv4 text never: no parse per entry, which
// a 100k-entry push would pay on every node.
template <typename Entry>
bool IsIpv6(const Entry& entry) {
  return absl::StrContains(AddressOf(entry), ':');
}

template <typename Push>
bool HasIpv6(const Push& push) {
  if (push.ipv6_forwarding()) return true;
  for (const auto& rule : push.dnat()) {
    if (IsIpv6(rule)) return true;
  }
  for (const auto& route : push.return_routes()) {
    if (IsIpv6(route)) return true;
  }
  return false;
}

template <typename Push>
std::map<std::string, std::string> ForwardsOf(const Push& push) {
  std::map<std::string, std::string> out;
  for (const auto& rule : push.dnat()) {
    if (IsIpv6(rule)) out.emplace(rule.forward(), AddressOf(rule));
  }
  for (const auto& route : push.return_routes()) {
    if (IsIpv6(route)) out.emplace(route.forward(), AddressOf(route));
  }
  return out;
}

}  // namespace

bool NeedsIpv6(const ferry::v1::NodeConfig& config) { return HasIpv6(config); }
bool NeedsIpv6(const ferry::v1::NodeConfigDelta& delta) { return HasIpv6(delta); }

std::map<std::string, std::string> Ipv6Forwards(const ferry::v1::NodeConfig& config) {
  return ForwardsOf(config);
}
std::map<std::string, std::string> Ipv6Forwards(const ferry::v1::NodeConfigDelta& delta) {
  return ForwardsOf(delta);
}

}  // namespace ferry::agent
