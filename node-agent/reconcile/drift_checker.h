#ifndef FERRY_NODE_AGENT_RECONCILE_DRIFT_CHECKER_H_
#define FERRY_NODE_AGENT_RECONCILE_DRIFT_CHECKER_H_

// Drift checking, apart from applying: reads what a check asks for from the
// kernel, compares it with the reconciler's intent (FindDrift), decides
// what to repair (the policy in drift.h) and has the reconciler converge
// on its intent for that. It runs under the reconciler's lock
// (Reconciler::Inspect), so a check never sees half an apply and Ferry's
// own writes are never drift.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/reconcile/drift.h"
#include "node-agent/reconcile/reconciler.h"

namespace ferry::agent {

class DriftChecker {
 public:
  // Reads through the backends (never writes: repairs go through the
  // reconciler). All must outlive the checker.
  DriftChecker(Reconciler* reconciler, NatBackend* nat, RouteBackend* routes,
               SysctlBackend* sysctls);

  DriftChecker(const DriftChecker&) = delete;
  DriftChecker& operator=(const DriftChecker&) = delete;

  // Compares what `check` reads with the intent and repairs the Enforce
  // part (see drift.h for the policy).
  DriftOutcome Check(const DriftCheck& check);

 private:
  DriftOutcome CheckHeld(const DriftCheck& check, Reconciler::Inspection& held)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Reconciler* const reconciler_;
  NatBackend* const nat_;
  RouteBackend* const routes_;
  SysctlBackend* const sysctls_;

  // Held for a whole check, before the reconciler's lock.
  absl::Mutex mu_;
  // The NAT/route drift the last full comparison left unrepaired (Alert
  // drift), valid until the next push is applied (Inspection::pushes). A
  // sysctl-only check (the optional --sysctl-poll) reuses this instead of
  // re-comparing every element, which at 100k forwards and ten polls a
  // second cost a quarter of a core.
  struct Standing {
    uint64_t pushes = 0;
    std::vector<Drift> items;
  };
  std::optional<Standing> standing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_DRIFT_CHECKER_H_
