#include "node-agent/kernel/netlink_backends.h"

#include "node-agent/kernel/netlink_mark_backend.h"
#include "node-agent/kernel/netlink_nat_backend.h"
#include "node-agent/kernel/netlink_route_backend.h"
#include "node-agent/kernel/proc_sysctl_backend.h"

namespace ferry::agent {

absl::StatusOr<std::unique_ptr<NatBackend>> NewNetlinkNatBackend() {
  absl::StatusOr<std::unique_ptr<NetlinkNatBackend>> b = NetlinkNatBackend::Create();
  if (!b.ok()) return b.status();
  return std::unique_ptr<NatBackend>(std::move(*b));
}

absl::StatusOr<std::unique_ptr<MarkBackend>> NewNetlinkMarkBackend() {
  absl::StatusOr<std::unique_ptr<NetlinkMarkBackend>> b = NetlinkMarkBackend::Create();
  if (!b.ok()) return b.status();
  return std::unique_ptr<MarkBackend>(std::move(*b));
}

absl::StatusOr<std::unique_ptr<RouteBackend>> NewNetlinkRouteBackend(
    const RouteTableOptions& tables) {
  absl::StatusOr<std::unique_ptr<NetlinkRouteBackend>> b = NetlinkRouteBackend::Create(tables);
  if (!b.ok()) return b.status();
  return std::unique_ptr<RouteBackend>(std::move(*b));
}

std::unique_ptr<SysctlBackend> NewProcSysctlBackend() {
  return std::make_unique<ProcSysctlBackend>();
}

}  // namespace ferry::agent
