#include "node-agent/probe/probe_targets.h"

#include <algorithm>
#include <utility>

#include "api/lib/port_mapping.h"
#include "api/lib/protocol.h"

namespace ferry::agent {
namespace {

// Adds `rule`'s `probe` to its forward's `probes`.
void Add(const ferry::v1::DnatRule& rule, ProbeRule probe, ForwardProbes& probes) {
  // Every entry of a forward carries its generation.
  probes.generation = std::max(probes.generation, rule.generation());
  probes.rules.push_back(std::move(probe));
}

}  // namespace

std::optional<ProbeRule> ProbeRuleOf(const ferry::v1::DnatRule& rule, absl::Duration period) {
  if (rule.route_query()) return std::nullopt;
  const uint8_t protocol = api::IpProtocolOf(rule.protocol());
  if (protocol != kProtoTcp && protocol != kProtoUdp) return std::nullopt;
  absl::StatusOr<IpAddress> frontend = IpAddress::Parse(rule.frontend_address());
  absl::StatusOr<IpAddress> backend = IpAddress::Parse(rule.backend_address());
  if (!frontend.ok() || !backend.ok() || frontend->family() != backend->family()) {
    return std::nullopt;
  }
  const api::PortSpan ports = api::ExpandPorts(rule);
  if (ports.first == 0 || ports.first > 65535 || ports.target_first == 0 ||
      ports.target_first > 65535) {
    return std::nullopt;
  }
  ProbeRule out;
  out.target.frontend = *frontend;
  out.target.port = static_cast<uint16_t>(ports.first);
  out.target.protocol = protocol;
  out.target.backend = *backend;
  out.target.target_port = static_cast<uint16_t>(ports.target_first);
  out.target.timeout =
      rule.probe_timeout_seconds() == 0
          ? kDefaultProbeTimeout
          : std::min(absl::Seconds(rule.probe_timeout_seconds()), kMaxProbeTimeout);
  out.period = std::max(
      rule.probe_period_seconds() == 0 ? period : absl::Seconds(rule.probe_period_seconds()),
      kMinProbePeriod);
  return out;
}

absl::flat_hash_map<std::string, ForwardProbes> ProbesOf(const ferry::v1::NodeConfig& config,
                                                         absl::Duration period) {
  absl::flat_hash_map<std::string, ForwardProbes> out;
  for (const ferry::v1::DnatRule& rule : config.dnat()) {
    std::optional<ProbeRule> probe = ProbeRuleOf(rule, period);
    if (probe.has_value()) Add(rule, *std::move(probe), out[rule.forward()]);
  }
  return out;
}

std::map<std::string, std::optional<ForwardProbes>> ProbesOf(
    const ferry::v1::NodeConfigDelta& delta, absl::Duration period) {
  std::map<std::string, std::optional<ForwardProbes>> out;
  for (const std::string& forward : delta.forwards()) out.emplace(forward, std::nullopt);
  for (const ferry::v1::DnatRule& rule : delta.dnat()) {
    // An applied delta names every forward it holds entries of.
    auto it = out.find(rule.forward());
    if (it == out.end()) continue;
    std::optional<ProbeRule> probe = ProbeRuleOf(rule, period);
    if (!probe.has_value()) continue;
    if (!it->second.has_value()) it->second.emplace();
    Add(rule, *std::move(probe), *it->second);
  }
  return out;
}

}  // namespace ferry::agent
