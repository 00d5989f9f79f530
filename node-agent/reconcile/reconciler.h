#ifndef FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_
#define FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_

// Converges the kernel on a NodeConfig by applying only the difference from
// the state Ferry last committed. The kernel is read once at start (adopt),
// after a failure whose effect is unknown, and by drift checks, never on
// every change.
//
// Two states are kept: the intent (what the last config asked, with who
// owns what; drift is measured against it) and what the kernel holds as of
// the last write or check (diffs start from it). They differ only while an
// Alert forward's drift is left in place.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/reconcile/drift.h"
#include "node-agent/state/desired_state.h"
#include "node-agent/state/forward_index.h"
#include "node-agent/state/kernel_state.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

inline constexpr char kIpv4ForwardingKey[] = "net/ipv4/ip_forward";
inline constexpr char kIpv6ForwardingKey[] = "net/ipv6/conf/all/forwarding";

// What one drift check reads from the kernel; the rest is taken as the
// reconciler last left it (e.g. NAT when the ruleset generation shows no
// foreign change since the last verification).
struct DriftCheck {
  bool nat = true;
  bool routes = true;
  bool sysctls = true;
};

struct DriftOutcome {
  bool checked = false;  // false before the first config is applied
  absl::Status error;    // reading the kernel failed; nothing was compared
  std::vector<Drift> items;
  std::vector<bool> repaired;  // per item: the repair was applied
  bool in_sync = true;         // the kernel matches the intent after repairs
  std::string config_version;
};

class Reconciler {
 public:
  struct Options {
    RouteTableOptions tables;
  };

  // Counts of what is committed, for log lines.
  struct Summary {
    std::string version;
    size_t dnat_elements = 0;
    size_t masq_elements = 0;
    size_t rules = 0;
    size_t routes = 0;
  };

  // The backends must outlive the reconciler.
  Reconciler(NatBackend* nat, RouteBackend* routes, SysctlBackend* sysctls, Options options);

  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Reads the kernel once and takes it as committed, so a restart changes
  // only the difference (never flush and refill: traffic keeps flowing).
  absl::Status Adopt();

  // Applies NAT as one transaction, then routes, then sysctls. On error the
  // returned status is the NACK reason:
  //  - invalid config or NAT failure: nothing changed, previous state kept;
  //  - route failure: NAT committed, routes re-read to learn the truth;
  //  - sysctl failure: NAT and routes committed.
  // Only a full success advances the applied version. Once a config has
  // been applied, only the forwards whose entries changed are recomputed
  // (a full push after a reconnect that changes nothing costs a comparison
  // per forward, not a rebuild).
  absl::Status Apply(const ferry::v1::NodeConfig& config);

  // Applies an incremental push: the forwards it names get its entries,
  // the others keep theirs, and only their keys are diffed and written, so
  // its cost does not grow with the forwards the node holds. Unless
  // delta.base_version() is the applied version (and the last push applied
  // fully) it changes nothing and returns FAILED_PRECONDITION starting with
  // "base version mismatch", the controller's cue to send the full config.
  // Otherwise errors are as Apply's, and the result equals an Apply of the
  // equivalent full config.
  absl::Status ApplyDelta(const ferry::v1::NodeConfigDelta& delta);

  // Compares what `check` reads with the intent under the same lock as
  // Apply, so a check never sees half an apply and Ferry's own writes are
  // never drift. Repairs the Enforce part (see drift.h for the policy).
  DriftOutcome CheckDrift(const DriftCheck& check);

  Summary summary() const;
  // What drift is measured against (a copy, for tests and diagnostics).
  Intent intent() const;

 private:
  absl::Status ApplySysctl(const std::string& key, bool wanted) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a push can be applied forward by forward: a config was applied
  // and the table is where and as it should be (a missing or altered
  // table is rebuilt whole).
  bool Incremental() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyFull(const ferry::v1::NodeConfig& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyUpdates(const ForwardUpdates& updates, const DesiredSysctls& sysctls,
                            const std::string& version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies the NAT part of `change` (touched keys only) as one batch,
  // retrying once from a re-read kernel as ApplyNat does.
  absl::Status ApplyNatChange(const DesiredChange& change, const ForwardUpdates& updates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The route and sysctl part of a push whose NAT part is committed.
  absl::Status CommitRoutes(const RouteState& target, RouteState desired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FinishApply(const DesiredSysctls& sysctls, const std::string& version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `target` over nat_kernel_ as one batch; on failure re-reads the
  // kernel and, if it was not what we believed (drift), tries once more.
  absl::Status ApplyNat(NatState target) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Repairs from nat_kernel_/routes_kernel_, which hold what was observed.
  absl::Status RepairDrift(DriftOutcome& outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  NatBackend* const nat_;
  RouteBackend* const routes_;
  SysctlBackend* const sysctls_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool adopted_ ABSL_GUARDED_BY(mu_) = false;
  Intent intent_ ABSL_GUARDED_BY(mu_);
  NatState nat_kernel_ ABSL_GUARDED_BY(mu_);
  RouteState routes_kernel_ ABSL_GUARDED_BY(mu_);
  std::string version_ ABSL_GUARDED_BY(mu_);
  // The applied config by forward; unset until a config is applied (after
  // Adopt the intent is what the kernel held, not a config).
  std::optional<ForwardIndex> index_ ABSL_GUARDED_BY(mu_);
  // A route apply failed: the next push recomputes every rule and route.
  bool routes_stale_ ABSL_GUARDED_BY(mu_) = false;
  // The last push failed after committing part of itself, so the kernel
  // matches neither version_ nor that push: a delta cannot build on it.
  bool partial_ ABSL_GUARDED_BY(mu_) = false;
  // The NAT/route drift the last full comparison left unrepaired (Alert
  // drift), valid until the next Apply. A sysctl-only poll runs ten times a
  // second: it reuses this instead of re-comparing every element, which at
  // 100k forwards cost a quarter of a core.
  std::optional<std::vector<Drift>> persisting_drift_ ABSL_GUARDED_BY(mu_);
  // Per sysctl key, the value found before Ferry changed it; present only
  // while Ferry's value is in force, so we restore only what we changed.
  std::map<std::string, std::string> sysctl_original_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_
