// Reconciler::Preview: the apply path's plans for a whole config, computed
// against the kernel as it is and then dropped. Nothing here writes: not
// the kernel, not the intent or the kernel view a later push diffs from.

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/reconciler.h"
#include "node-agent/state/ipv6_forwards.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

absl::StatusOr<KernelChanges> Reconciler::Preview(const ferry::v1::NodeConfig& config) {
  absl::MutexLock lock(&mu_);
  if (!adopted_) {
    return absl::FailedPreconditionError("kernel state not adopted yet (call Adopt first)");
  }
  // The forwards Apply would leave out, without naming them in a warning:
  // a preview installs nothing.
  LeftOut left_out;
  if (NeedsIpv6(config) && !Ipv6Usable().ok()) {
    for (const auto& [name, address] : Ipv6Forwards(config)) left_out.forwards.insert(name);
    left_out.ipv6_forwarding = true;
  }
  // Converted whole, as Apply converts a config with nothing held.
  absl::StatusOr<DesiredUpdate> update = UpdateOfConfig(config, nullptr, NatState(), left_out);
  if (!update.ok()) return update.status();
  Intent goal;
  goal.nat = std::move(update->whole->nat);
  goal.returns = std::move(update->whole->returns);
  goal.alert_forwards = std::move(update->whole->alert_forwards);
  // Tables and marks are assigned from the committed ones, as NextIntent
  // does, so a forward that keeps its hop keeps its table.
  absl::StatusOr<RouteState> routes =
      BuildRouteState(goal.returns, intent_.routes, options_.tables);
  if (!routes.ok()) return routes.status();
  goal.routes = *std::move(routes);

  absl::StatusOr<NatState> nat_kernel = nat_->Load();
  if (!nat_kernel.ok()) return Annotate(nat_kernel.status(), "reading nftables table inet ferry");
  absl::StatusOr<RouteState> routes_kernel = routes_->Load();
  if (!routes_kernel.ok()) {
    return Annotate(routes_kernel.status(), "reading Ferry's rules and routes");
  }
  KernelChanges changes;
  // Both targets are measured against the intent a push would replace. A
  // push leaves the rules and routes as their target; the table as its
  // batch leaves it (an absent target empties the table, which stays).
  const NatState nat_target = NatTarget(goal, intent_, *nat_kernel);
  changes.nat_after = NatStateAfter(*nat_kernel, DiffNat(*nat_kernel, nat_target));
  changes.routes_after = RouteTarget(goal, intent_, *routes_kernel);
  changes.nat_before = *std::move(nat_kernel);
  changes.routes_before = *std::move(routes_kernel);

  // The sysctl writes ApplySysctl would make, in its order.
  for (const auto& [key, wanted] :
       {std::pair<const char*, bool>{kIpv4ForwardingKey, update->sysctls.ipv4_forwarding},
        std::pair<const char*, bool>{kIpv6ForwardingKey, update->sysctls.ipv6_forwarding}}) {
    auto original = sysctl_original_.find(key);
    if (!wanted && original == sysctl_original_.end()) continue;  // never Ferry's to restore
    absl::StatusOr<std::string> value = sysctls_->Read(key);
    if (wanted && !value.ok()) return Annotate(value.status(), absl::StrCat("reading ", key));
    const std::string current(value.ok() ? absl::StripAsciiWhitespace(*value) : "");
    const std::string to = wanted ? "1" : original->second;
    // Apply writes back the value it found even over an equal one; that
    // changes nothing.
    if (value.ok() && current == to) continue;
    changes.sysctls.push_back(SysctlChange{key, current, to});
  }
  return changes;
}

}  // namespace ferry::agent
