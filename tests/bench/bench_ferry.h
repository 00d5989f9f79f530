#ifndef FERRY_TESTS_BENCH_BENCH_FERRY_H_
#define FERRY_TESTS_BENCH_BENCH_FERRY_H_

// Ferry's agent-side kernel stack as the agent assembles it: the netlink
// backends plus a Reconciler, opened in the calling thread's namespace.

#include <memory>

#include "absl/status/statusor.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"

namespace ferry::bench {

struct FerryNode {
  std::unique_ptr<agent::NatBackend> nat;
  std::unique_ptr<agent::RouteBackend> routes;
  std::unique_ptr<agent::SysctlBackend> sysctls;
  std::unique_ptr<agent::Reconciler> reconciler;
  std::unique_ptr<agent::DriftChecker> drift;  // reads through the backends above
};

// Opens the backends (their sockets join the calling thread's namespace)
// and adopts what the kernel holds, as ferry-agent does at start.
absl::StatusOr<std::unique_ptr<FerryNode>> StartFerryNode();

}  // namespace ferry::bench

#endif  // FERRY_TESTS_BENCH_BENCH_FERRY_H_
