#include "tests/bench/bench_ferry.h"

#include "node-agent/kernel/netlink_backends.h"

namespace ferry::bench {

absl::StatusOr<std::unique_ptr<FerryNode>> StartFerryNode() {
  auto node = std::make_unique<FerryNode>();
  absl::StatusOr<std::unique_ptr<agent::NatBackend>> nat = agent::NewNetlinkNatBackend();
  if (!nat.ok()) return nat.status();
  node->nat = *std::move(nat);
  absl::StatusOr<std::unique_ptr<agent::RouteBackend>> routes = agent::NewNetlinkRouteBackend();
  if (!routes.ok()) return routes.status();
  node->routes = *std::move(routes);
  node->sysctls = agent::NewProcSysctlBackend();
  node->reconciler = std::make_unique<agent::Reconciler>(
      node->nat.get(), node->routes.get(), node->sysctls.get(), agent::Reconciler::Options{});
  node->drift = std::make_unique<agent::DriftChecker>(node->reconciler.get(), node->nat.get(),
                                                      node->routes.get(), node->sysctls.get());
  if (absl::Status s = node->reconciler->Adopt(); !s.ok()) return s;
  return node;
}

}  // namespace ferry::bench
