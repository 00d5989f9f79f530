#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_BACKENDS_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_BACKENDS_H_

// The real kernel backends, for the agent's main. Sockets are opened here
// and belong to the network namespace of the calling thread.

#include <memory>

#include "absl/status/statusor.h"
#include "node-agent/kernel/mark_backend.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

// nf_tables over NETLINK_NETFILTER; owns table `inet ferry`.
absl::StatusOr<std::unique_ptr<NatBackend>> NewNetlinkNatBackend();
// nf_tables over NETLINK_NETFILTER; owns table `inet ferry_return`.
absl::StatusOr<std::unique_ptr<MarkBackend>> NewNetlinkMarkBackend();
// Routes and policy rules over NETLINK_ROUTE, tagged kFerryRouteProtocol,
// in the routing tables of `tables`.
absl::StatusOr<std::unique_ptr<RouteBackend>> NewNetlinkRouteBackend(
    const RouteTableOptions& tables = {});
// /proc/sys; cannot fail to construct.
std::unique_ptr<SysctlBackend> NewProcSysctlBackend();

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_BACKENDS_H_
