#ifndef FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_
#define FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_

// What a NodeConfig asks of this node's kernel, in Ferry's own value types:
// the conversion of each pushed entry (ExpandDnat, ExpandReturn) and of a
// whole config. Pure: no kernel access, so every rule here is unit-testable.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/element_owners.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// One return path: replies from `source` on sport port_lo..port_hi, to
// connections that arrived on `interface`, go via `via`. The routing table
// and the interface's mark are chosen later (see route_tables.h), because
// they depend on what is already committed. An empty interface (from a
// controller that predates marks) matches replies by source alone.
struct DesiredReturn {
  std::string forward;
  IpAddress source;
  uint8_t proto = kProtoTcp;
  uint16_t port_lo = 0;
  uint16_t port_hi = 0;
  IpAddress via;
  std::string interface;
  auto operator<=>(const DesiredReturn&) const = default;
};

struct DesiredSysctls {
  bool ipv4_forwarding = false;
  bool ipv6_forwarding = false;
  bool operator==(const DesiredSysctls&) const = default;
};

struct DesiredState {
  NatState nat;
  std::vector<DesiredReturn> returns;  // sorted, duplicates removed
  DesiredSysctls sysctls;
  // Forwards whose driftPolicy is Alert: their drift is reported, never
  // repaired. Every other forward is Enforce.
  std::set<std::string> alert_forwards;
  // Elements that several forwards ask for identically (see
  // element_owners.h): an incremental push needs them to know whether an
  // element outlives the forward that named it.
  Sharers sharers;
};

// One DNAT rule, validated: frontend ports lo..hi map 1:1 onto the backend
// ports from `target` (api::ExpandPorts' reading of the entry).
struct DnatExpansion {
  IpAddress frontend;
  IpAddress backend;
  uint8_t proto = kProtoTcp;
  uint16_t lo = 0;
  uint16_t hi = 0;
  uint16_t target = 0;
  bool masquerade = false;
  uint16_t TargetOf(uint32_t port) const { return static_cast<uint16_t>(target + (port - lo)); }
};

// Validates one entry; `index` is its position in the pushed message, for
// errors such as `forward "web": dnat[3].port: must be 1..65535, got 0`.
absl::StatusOr<DnatExpansion> ExpandDnat(const ferry::v1::DnatRule& rule, int index);
absl::StatusOr<DesiredReturn> ExpandReturn(const ferry::v1::ReturnRoute& route, int index);

// The elements one entry asks for: each frontend port's DNAT element (mapped
// 1:1 onto the target range) and, if it masquerades, each backend port's
// masquerade key. Claimed as element_owners.h rules, under the entry's
// forward; errors are ExpandDnat's and ElementOwners::ClaimDnat's. A route
// query (DnatRule.route_query) is validated and claims nothing.
absl::Status ClaimDnatElements(const ferry::v1::DnatRule& rule, int index, ElementOwners& owners);
// Gives them up again, for an entry that was valid when it was claimed.
void ReleaseDnatElements(const ferry::v1::DnatRule& rule, ElementOwners& owners);

// Expands port ranges to one element per port (mapped 1:1 onto the target
// range) and adds masquerade keys for masquerading forwards, owned as
// element_owners.h says. The table is always desired present, even when
// empty, so later changes are element-only. The entries of `left_out`
// forwards are skipped (indices in errors still count them). Errors are
// INVALID_ARGUMENT naming the forward and field, e.g. `forward "web":
// dnat[0].backend_address: "x" is not an IPv4 ...`.
absl::StatusOr<DesiredState> BuildDesiredState(const ferry::v1::NodeConfig& config,
                                               const std::set<std::string>& left_out = {});

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_
