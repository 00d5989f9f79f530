#ifndef FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_
#define FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_

// What one NodeConfig asks of this node's kernel, in Ferry's own value types.
// Pure: no kernel access, so every rule here is unit-testable.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/lib/ip_address.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// One return path: replies from `source` on sport port_lo..port_hi go via
// `via`. The routing table is chosen later (see route_tables.h), because it
// depends on what is already committed.
struct DesiredReturn {
  std::string forward;
  IpAddress source;
  uint8_t proto = kProtoTcp;
  uint16_t port_lo = 0;
  uint16_t port_hi = 0;
  IpAddress via;
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
  // Elements that several forwards ask for identically: the owners besides
  // the one the element's comment names. An incremental push needs them to
  // know whether an element outlives the forward that named it.
  std::map<DnatKey, std::vector<std::string>> dnat_sharers;
  std::map<MasqKey, std::vector<std::string>> masq_sharers;
};

// One DNAT rule, validated: frontend ports lo..hi map 1:1 onto the backend
// ports from `target`.
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

// The comment stored with each kernel element, so `nft list` names the owner.
std::string ForwardComment(absl::string_view forward);
// The forward named by a ForwardComment, or "" for any other comment.
std::string ForwardOfComment(absl::string_view comment);

// Expands port ranges to one element per port (mapped 1:1 onto the target
// range) and adds masquerade keys for masquerading forwards. An element
// that several forwards ask for identically is commented with the smallest
// forward name, so the result does not depend on entry order (an
// incremental push must reach the same state as a full one). The table is
// always desired present, even when empty, so later changes are
// element-only. Errors are INVALID_ARGUMENT naming the forward and field,
// e.g. `forward "web": dnat[0].backend_address: "x" is not an IPv4 ...`.
absl::StatusOr<DesiredState> BuildDesiredState(const ferry::v1::NodeConfig& config);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_STATE_DESIRED_STATE_H_
