#ifndef FERRY_NODE_AGENT_KERNEL_NAT_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_NAT_BACKEND_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/state/kernel_state.h"

namespace ferry::agent {

// Owns exactly one nftables table, `inet ferry`:
//   map dnat4 { ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
//   map dnat6 { ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service }
//   set masq4 / masq6 { addr . inet_proto . inet_service }
//   chain prerouting (nat, dstnat):
//     dnat ip to ip daddr . meta l4proto . th dport map @dnat4 (and ip6)
//   chain postrouting (nat, srcnat):
//     ct status dnat ip daddr . meta l4proto . th dport @masq4 masquerade (and ip6)
//   chain output (nat, dstnat), the data-path probe's (node-agent/probe/):
//     meta mark & 0xff000000 == 0xff000000 dnat ip to ip daddr . meta l4proto
//       . th dport map @dnat4 (and ip6)
//     meta mark & 0xff000000 == 0xff000000 drop
//   Only packets marked kProbeMark take the output chain's DNAT, so the
//   node's own traffic is never translated; a probe that no element
//   matches is dropped rather than delivered to the frontend address here.
class NatBackend {
 public:
  virtual ~NatBackend() = default;
  // Reads the table's elements back. Used once at start (adopt, never
  // flush) and by the periodic verification; not on every change.
  virtual absl::StatusOr<NatState> Load() = 0;
  // Applies the plan as one netlink batch: all of it or nothing.
  virtual absl::Status Apply(const NatPlan& plan) = 0;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NAT_BACKEND_H_
