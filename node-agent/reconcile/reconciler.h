#ifndef FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_
#define FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_

// Converges the kernel on the desired state by applying only the difference
// from the state Ferry last committed. The kernel is read once at start
// (adopt), after a failure whose effect is unknown, and by drift checks
// (DriftChecker, through Inspect), never on every change.
//
// A push is converted once, at the boundary, into an update to the desired
// state (state/desired_update.h). Every update then takes the one apply
// path, Converge: the intent the update makes, diffed against the kernel
// view, written (NAT as one transaction, then rules and routes, then
// sysctls), then committed or rolled back. A full config, a delta, a push
// with IPv6 forwards left out and a drift repair (an update that leaves the
// desired state as it is) differ only in what they update.
//
// Two states are kept: the intent (what the last config asked, with who
// owns what; drift is measured against it) and what the kernel holds as of
// the last write or check (diffs start from it). They differ only while an
// Alert forward's drift is left in place.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/kernel/nat_backend.h"
#include "node-agent/kernel/route_backend.h"
#include "node-agent/reconcile/drift.h"
#include "node-agent/state/desired_update.h"
#include "node-agent/state/forward_state.h"
#include "node-agent/state/kernel_changes.h"
#include "node-agent/state/kernel_state.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {

inline constexpr char kIpv4ForwardingKey[] = "net/ipv4/ip_forward";
inline constexpr char kIpv6ForwardingKey[] = "net/ipv6/conf/all/forwarding";
// Read (never written) to learn whether this namespace can serve IPv6.
inline constexpr char kIpv6DisableKey[] = "net/ipv6/conf/all/disable_ipv6";

// Which parts of a repair (Reconciler::Inspection::Repair) reached the
// kernel.
struct RepairResult {
  bool nat = true;
  bool routes = true;
  std::map<std::string, bool> sysctls;  // per key asked for
  absl::Status error;                   // the first failure
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
  // fully) it changes nothing and returns api::BaseVersionMismatch
  // (FAILED_PRECONDITION "base version mismatch: ...", reason
  // NACK_REASON_BASE_VERSION_MISMATCH), the controller's cue to send the
  // full config. Otherwise errors are as Apply's, and the result equals an
  // Apply of the equivalent full config.
  absl::Status ApplyDelta(const ferry::v1::NodeConfigDelta& delta);

  // What Apply(config) would change in the kernel as it is now, for
  // ResourceService.Diff (reconciler_preview.cc). Changes neither the
  // kernel nor this reconciler: under the apply lock it reads the kernel
  // (so a push in progress is seen whole or not at all), builds the whole
  // desired state the config makes (its IPv6 forwards left out on a node
  // that cannot serve them, as Apply leaves them out) and plans it as a
  // push that converges the whole table would: Alert forwards' drift is
  // kept, Enforce drift shows as the change that repairs it. Errors are
  // Apply's for an invalid config, or reading the kernel's.
  absl::StatusOr<KernelChanges> Preview(const ferry::v1::NodeConfig& config);

  // Forwards this node holds in its config but cannot serve, with why: a
  // push with IPv6 entries on a node without working IPv6 (disabled in the
  // namespace, or no IPv6 in the kernel) applies its IPv4 forwards and
  // leaves the IPv6 ones out, and each is named here ("kernel lacks IPv6
  // support: ..."). As of the last push that succeeded; the agent sends
  // it with every ACK, since the controller takes each ACK's list as the
  // whole truth. Like summary(), it never waits for a drift check that is
  // reading the kernel: the ACK that carries it must not.
  std::map<std::string, std::string> forward_errors() const;

  Summary summary() const;
  // What drift is measured against (a copy, for tests and diagnostics).
  Intent intent() const;

  // A drift check's hold on the reconciler (see DriftChecker): valid only
  // inside Inspect's callback, which runs under the apply lock, so a check
  // never sees half an apply and Ferry's own writes are never drift.
  class Inspection {
   public:
    // False before the first config is applied: nothing to compare with.
    bool has_config() const;
    const std::string& version() const;
    const Intent& intent() const;
    // Counts applied pushes: a comparison holds until the next one.
    uint64_t pushes() const;
    // What the kernel held as of the last write or check, moved out; the
    // check hands back what it read (or this) with Observe.
    NatState TakeNat();
    RouteState TakeRoutes();
    void Observe(NatState nat, RouteState routes);
    // Converges the kernel on the intent, from what was observed: the one
    // apply path with the desired state left as it is. `sysctls` are the
    // keys to restore. Nothing is rolled back on failure: every part
    // restored is the intent.
    RepairResult Repair(const std::vector<std::string>& sysctls);

   private:
    friend class Reconciler;
    explicit Inspection(Reconciler* reconciler) : r_(reconciler) {}
    Reconciler* const r_;
  };
  // Runs `check` under the apply lock; what it observed and repaired is
  // published (summary()) as it returns.
  void Inspect(absl::FunctionRef<void(Inspection&)> check);

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
  // One run of the apply path (see reconciler_converge.cc).
  struct Pass {
    DesiredUpdate* update = nullptr;  // nullptr: a repair
    bool whole_nat = false;           // converge the whole table, not the touched keys
    std::vector<std::string> sysctl_repairs;
  };
  // The intent a pass converges on: its update applied to intent_.
  struct Next {
    Intent built;
    bool routes = false;  // rules and routes were recomputed (built.routes, built.returns)
  };

  // A converted push through the one apply path: forward by forward when
  // the table is there as Ferry made it, else the whole table.
  absl::Status ApplyUpdate(DesiredUpdate& update) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The one apply path. For a repair, `repaired` says which parts landed.
  absl::Status Converge(const Pass& pass, RepairResult* repaired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Next> NextIntent(const Pass& pass) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // NAT in one batch, retried once from a re-read kernel if it was not what
  // we believed. With `undo`, sets it to the batch that reverts the write.
  absl::Status ConvergeNat(const Pass& pass, const Intent& next, NatPlan* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rules and routes, `plan` (from the kernel view to `target`) message by
  // message; on failure the kernel view is re-read, since part of the plan
  // may have landed. `undo` is a push's, nullptr for a repair.
  absl::Status ConvergeRoutes(const RouteState& target, const RoutePlan& plan, Undo* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ApplySysctl(const std::string& key, bool wanted, Undo* undo)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes a pass's update into the intent, once the kernel holds it.
  void CommitIntent(const Pass& pass, Next& next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a push can be applied forward by forward: a config was applied
  // and the table is where and as it should be (a missing or altered
  // table is rebuilt whole).
  bool Incremental() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Undo StartUndo() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Undoes sysctls, then routes, then NAT (the reverse order of a push).
  RollbackResult RollBack(const Undo& undo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The NACK reason for a push that failed with `error` after changing
  // the kernel, once the rollback's outcome is known.
  std::string RollbackMessage(const absl::Status& error, const absl::Status& rollback) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // OK if this namespace can serve IPv6; otherwise FAILED_PRECONDITION
  // "kernel lacks IPv6 support: <why>".
  absl::Status Ipv6Usable() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `ipv6_forwards` (name -> address) with each address replaced by the
  // error the forward is reported with, `why` being Ipv6Usable's.
  static std::map<std::string, std::string> Unservable(
      std::map<std::string, std::string> ipv6_forwards, const absl::Status& why);

  // Copies of what forward_errors() and summary() return, taken as each
  // public call ends, under a lock of their own: a check holds mu_ while it
  // dumps 100k elements (half a second), and the ACK must not wait for it.
  // `forward_errors`, when given, replaces the published ones (a push that
  // succeeded); it is moved from.
  void PublishLocked(std::map<std::string, std::string>* forward_errors = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

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
  uint64_t pushes_ ABSL_GUARDED_BY(mu_) = 0;
  // The forwards of the applied config; unset until a config is applied
  // (after Adopt the intent is what the kernel held, not a config).
  std::optional<ForwardState> forwards_ ABSL_GUARDED_BY(mu_);
  // A route apply failed: the next push recomputes every rule and route.
  bool routes_stale_ ABSL_GUARDED_BY(mu_) = false;
  // The last push failed after committing part of itself and could not be
  // rolled back, so the kernel matches neither version_ nor that push: a
  // delta cannot build on it.
  bool partial_ ABSL_GUARDED_BY(mu_) = false;
  // Whether IPv6 worked when the applied config's IPv6 forwards were
  // installed or left out; nullopt while it holds none.
  std::optional<bool> ipv6_usable_ ABSL_GUARDED_BY(mu_);
  // Per sysctl key, the value found before Ferry changed it; present only
  // while Ferry's value is in force, so we restore only what we changed.
  std::map<std::string, std::string> sysctl_original_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex published_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::map<std::string, std::string> forward_errors_ ABSL_GUARDED_BY(published_mu_);
  Summary summary_ ABSL_GUARDED_BY(published_mu_);
};

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_RECONCILE_RECONCILER_H_
