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
// Read (never written) to learn whether this namespace can serve IPv6.
inline constexpr char kIpv6DisableKey[] = "net/ipv6/conf/all/disable_ipv6";

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
    // A push failed partway and could not be rolled back: the kernel holds
    // part of it, so it does not hold `version` either.
    bool partial = false;
  };

  // The backends must outlive the reconciler.
  Reconciler(NatBackend* nat, RouteBackend* routes, SysctlBackend* sysctls, Options options);

  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Reads the kernel once and takes it as committed, so a restart changes
  // only the difference (never flush and refill: traffic keeps flowing).
  absl::Status Adopt();

  // Applies NAT as one transaction, then routes, then sysctls. On error the
  // returned status is the NACK reason, and the kernel is left as it was:
  //  - invalid config or NAT failure: nothing changed;
  //  - route or sysctl failure: what the push already changed (sysctls,
  //    routes, and the NAT elements, in one batch) is put back, and the
  //    message says so after the original error. If that rollback fails
  //    too, the message adds its error and says the state is partial; the
  //    agent then refuses deltas until a full config lands.
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

  // Forwards this node holds in its config but cannot serve, with why: a
  // push with IPv6 entries on a node without working IPv6 (disabled in the
  // namespace, or no IPv6 in the kernel) applies its IPv4 forwards and
  // leaves the IPv6 ones out, and each is named here ("kernel lacks IPv6
  // support: ..."). As of the last push that succeeded; the agent sends
  // it with every ACK, since the controller takes each ACK's list as the
  // whole truth. Like summary(), it never waits for a drift check that is
  // reading the kernel: the ACK that carries it must not.
  std::map<std::string, std::string> forward_errors() const;

  // Compares what `check` reads with the intent under the same lock as
  // Apply, so a check never sees half an apply and Ferry's own writes are
  // never drift. Repairs the Enforce part (see drift.h for the policy).
  DriftOutcome CheckDrift(const DriftCheck& check);

  Summary summary() const;
  // What drift is measured against (a copy, for tests and diagnostics).
  Intent intent() const;

 private:
  // What a push changed before it failed, so RollBack can restore the
  // previous good state. Holds only what the push touched, so a delta's
  // undo stays as small as the delta.
  struct Undo {
    NatPlan nat;  // the batch that takes the table back (see UndoNat)
    // Set once the push reached the routes: what the kernel and the intent
    // held before it.
    std::optional<RouteState> routes_kernel;
    RouteState intent_routes;
    bool routes_stale = false;
    bool routes_unknown = false;  // a failed apply could not re-read them
    // Each sysctl the push wrote, with the value it replaced, in order.
    std::vector<std::pair<std::string, std::string>> sysctl_writes;
    std::map<std::string, std::string> intent_sysctls;
    std::map<std::string, std::string> sysctl_original;
  };
  struct RollbackResult {
    absl::Status status;        // OK: everything the push changed is undone
    bool nat_restored = false;  // the table holds its elements from before the push
  };

  Undo StartUndo() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Undoes sysctls, then routes, then NAT (the reverse order of a push).
  RollbackResult RollBack(const Undo& undo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The NACK reason for a push that failed with `error` after changing
  // the kernel, once the rollback's outcome is known.
  std::string RollbackMessage(const absl::Status& error, const absl::Status& rollback) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status ApplySysctl(const std::string& key, bool wanted, Undo* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a push can be applied forward by forward: a config was applied
  // and the table is where and as it should be (a missing or altered
  // table is rebuilt whole).
  bool Incremental() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Apply and ApplyDelta once the entries this node cannot serve are out.
  absl::Status ApplyServable(const ferry::v1::NodeConfig& config)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyServableDelta(const ferry::v1::NodeConfigDelta& delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if this namespace can serve IPv6; otherwise FAILED_PRECONDITION
  // "kernel lacks IPv6 support: <why>".
  absl::Status Ipv6Usable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `ipv6_forwards` (name -> address) with each address replaced by the
  // error the forward is reported with, `why` being Ipv6Usable's.
  static std::map<std::string, std::string> Unservable(
      std::map<std::string, std::string> ipv6_forwards, const absl::Status& why);
  absl::Status ApplyFull(const ferry::v1::NodeConfig& config) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplyUpdates(const ForwardUpdates& updates, const DesiredSysctls& sysctls,
                            const std::string& version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies the NAT part of `change` (touched keys only) as one batch,
  // retrying once from a re-read kernel as ApplyNat does.
  absl::Status ApplyNatChange(const DesiredChange& change, const ForwardUpdates& updates,
                              NatPlan* undo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The route and sysctl part of a push whose NAT part is committed; each
  // records in `undo` what it changes.
  absl::Status CommitRoutes(const RouteState& target, RouteState desired, Undo* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status FinishApply(const DesiredSysctls& sysctls, const std::string& version, Undo* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `target` over nat_kernel_ as one batch; on failure re-reads the
  // kernel and, if it was not what we believed (drift), tries once more.
  // With `undo`, sets it to the batch that reverts the committed one.
  absl::Status ApplyNat(NatState target, NatPlan* undo = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  // The last push failed after committing part of itself and could not be
  // rolled back, so the kernel matches neither version_ nor that push: a
  // delta cannot build on it.
  bool partial_ ABSL_GUARDED_BY(mu_) = false;
  // The NAT/route drift the last full comparison left unrepaired (Alert
  // drift), valid until the next Apply. A sysctl-only check (the optional
  // --sysctl-poll) reuses this instead of re-comparing every element, which
  // at 100k forwards and ten polls a second cost a quarter of a core.
  std::optional<std::vector<Drift>> persisting_drift_ ABSL_GUARDED_BY(mu_);
  // Copies of what forward_errors() and summary() return, taken as each
  // public call ends, under a lock of their own: a check holds mu_ while it
  // dumps 100k elements (half a second), and the ACK must not wait for it.
  // `forward_errors`, when given, replaces the published ones (a push that
  // succeeded); it is moved from.
  void PublishLocked(std::map<std::string, std::string>* forward_errors = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  mutable absl::Mutex published_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::map<std::string, std::string> forward_errors_ ABSL_GUARDED_BY(published_mu_);
  Summary summary_ ABSL_GUARDED_BY(published_mu_);
  // Whether IPv6 worked when the applied config's IPv6 forwards were
  // installed or left out; nullopt while it holds none.
  std::optional<bool> ipv6_usable_ ABSL_GUARDED_BY(mu_);
  // Per sysctl key, the value found before Ferry changed it; present only
  // while Ferry's value is in force, so we restore only what we changed.
  std::map<std::string, std::string> sysctl_original_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_
