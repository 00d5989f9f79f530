#ifndef FERRY_NODE_AGENT_KERNEL_NETLINK_ROUTE_BACKEND_H_
#define FERRY_NODE_AGENT_KERNEL_NETLINK_ROUTE_BACKEND_H_

#include <memory>

#include "absl/status/statusor.h"
#include "node-agent/kernel/netlink_socket.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

// RouteBackend over rtnetlink (libmnl), both families. Lists and touches
// only routes and rules carrying kFerryRouteProtocol in the tables of
// `tables` (rtnl::ParseOwnRoute). Not thread-safe.
//
// Apply is make-before-break: routes_add, rules_add, then rules_delete,
// routes_delete, one ACKed message at a time, stopping at the first error.
// Idempotent: adding a rule that exists identically and deleting a route
// or rule that is already gone succeed.
class NetlinkRouteBackend : public RouteBackend {
 public:
  static absl::StatusOr<std::unique_ptr<NetlinkRouteBackend>> Create(
      const RouteTableOptions& tables = {});

  absl::StatusOr<RouteState> Load() override;
  absl::Status Apply(const RoutePlan& plan) override;

 private:
  NetlinkRouteBackend(std::unique_ptr<NetlinkSocket> sock, const RouteTableOptions& tables)
      : sock_(std::move(sock)), tables_(tables) {}

  std::unique_ptr<NetlinkSocket> sock_;
  const RouteTableOptions tables_;
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_KERNEL_NETLINK_ROUTE_BACKEND_H_
