// Reconciler: applying pushes, in full or forward by forward.

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/lib/sync_protocol.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/reconciler.h"
#include "node-agent/state/ipv6_forwards.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

bool Empty(const NatState& nat) {
  return nat.dnat.empty() && nat.masq.empty() && nat.structure_drift.empty();
}

// Sets or erases `key` in `m` to match `source`.
template <typename K, typename V>
void CopyKey(const K& key, const std::map<K, V>& source, std::map<K, V>& m) {
  auto it = source.find(key);
  if (it == source.end()) {
    m.erase(key);
  } else {
    m.insert_or_assign(key, it->second);
  }
}

// The touched keys of `state`, for NatTarget and DiffNat over them alone.
NatState Restrict(const NatState& state, const DesiredChange& change) {
  NatState out;
  out.table_present = state.table_present;
  for (const auto& [key, value] : change.dnat) {
    if (auto it = state.dnat.find(key); it != state.dnat.end())
      out.dnat.emplace_hint(out.dnat.end(), *it);
  }
  for (const auto& [key, value] : change.masq) {
    if (auto it = state.masq.find(key); it != state.masq.end())
      out.masq.emplace_hint(out.masq.end(), *it);
  }
  return out;
}

}  // namespace

bool Reconciler::Incremental() const {
  // A table whose structure differs is rebuilt or kept whole (NatTarget's
  // node-wide policy), which the touched keys alone cannot decide.
  return index_.has_value() && nat_kernel_.table_present && intent_.nat.table_present &&
         nat_kernel_.structure_drift.empty() && intent_.nat.structure_drift.empty();
}

absl::Status Reconciler::Apply(const ferry::v1::NodeConfig& config) {
  absl::MutexLock lock(&mu_);
  if (!adopted_) {
    return absl::FailedPreconditionError("kernel state not adopted yet (call Adopt first)");
  }
  std::map<std::string, std::string> errors;
  absl::Status status;
  const bool needs_ipv6 = NeedsIpv6(config);
  const absl::Status ipv6 = needs_ipv6 ? Ipv6Usable() : absl::OkStatus();
  if (ipv6.ok()) {
    status = ApplyServable(config);
  } else {
    errors = Unservable(Ipv6Forwards(config), ipv6);
    status = ApplyServable(WithoutIpv6(config, errors));
  }
  if (status.ok()) ipv6_usable_ = needs_ipv6 ? std::optional<bool>(ipv6.ok()) : std::nullopt;
  PublishLocked(status.ok() ? &errors : nullptr);
  return status;
}

absl::Status Reconciler::ApplyServable(const ferry::v1::NodeConfig& config) {
  if (Incremental()) {
    absl::Status status = ApplyUpdates(
        index_->UpdatesTo(config),
        DesiredSysctls{config.ipv4_forwarding(), config.ipv6_forwarding()}, config.version());
    // A failed batch that found the table gone must rebuild it whole.
    if (status.ok() || Incremental()) return status;
  }
  return ApplyFull(config);
}

absl::Status Reconciler::ApplyDelta(const ferry::v1::NodeConfigDelta& delta) {
  absl::MutexLock lock(&mu_);
  if (!adopted_) {
    return absl::FailedPreconditionError("kernel state not adopted yet (call Adopt first)");
  }
  // The forwards the delta does not name keep their standing; that holds
  // only while IPv6 works as it did when they were applied. Once it comes
  // or goes, the IPv6 forwards the delta does not name must be installed or
  // taken out too, and only the full config has them all.
  const bool needs_ipv6 = NeedsIpv6(delta);
  const absl::Status ipv6 =
      needs_ipv6 || ipv6_usable_.has_value() ? Ipv6Usable() : absl::OkStatus();
  if (ipv6_usable_.has_value() && *ipv6_usable_ != ipv6.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBaseVersionMismatch, ": IPv6 ", ipv6.ok() ? "works again" : "stopped working",
        " since version \"", version_, "\" was applied; send the full config"));
  }
  std::map<std::string, std::string> errors = forward_errors();
  for (const std::string& name : delta.forwards()) errors.erase(name);
  absl::Status status;
  if (!needs_ipv6 || ipv6.ok()) {
    status = ApplyServableDelta(delta);
  } else {
    std::map<std::string, std::string> named = Unservable(Ipv6Forwards(delta), ipv6);
    status = ApplyServableDelta(WithoutIpv6(delta, named));
    errors.merge(named);
  }
  if (status.ok() && needs_ipv6) ipv6_usable_ = ipv6.ok();
  PublishLocked(status.ok() ? &errors : nullptr);
  return status;
}

absl::Status Reconciler::ApplyServableDelta(const ferry::v1::NodeConfigDelta& delta) {
  if (!index_.has_value() || version_.empty() || partial_ || delta.base_version() != version_) {
    return absl::FailedPreconditionError(absl::StrCat(
        kBaseVersionMismatch, ": the delta applies on version \"", delta.base_version(),
        "\" but this agent holds ",
        version_.empty() || !index_.has_value() ? "no applied config"
                                                : absl::StrCat("version \"", version_, "\""),
        partial_ ? " and its last push failed partway" : "", "; send the full config"));
  }
  absl::StatusOr<ForwardUpdates> updates = UpdatesOfDelta(delta);
  if (!updates.ok()) return updates.status();
  const DesiredSysctls sysctls{delta.ipv4_forwarding(), delta.ipv6_forwarding()};
  if (Incremental()) {
    absl::Status status = ApplyUpdates(*updates, sysctls, delta.version());
    if (status.ok() || Incremental()) return status;
  }
  // The table must be rebuilt whole: do it from the config the delta makes,
  // after checking the delta's own entries so errors name them.
  if (absl::StatusOr<DesiredChange> change = index_->Plan(*updates, intent_.nat); !change.ok()) {
    return change.status();
  }
  ferry::v1::NodeConfig config = index_->ToConfig(*updates);
  config.set_version(delta.version());
  config.set_ipv4_forwarding(sysctls.ipv4_forwarding);
  config.set_ipv6_forwarding(sysctls.ipv6_forwarding);
  return ApplyFull(config);
}

absl::Status Reconciler::ApplyFull(const ferry::v1::NodeConfig& config) {
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  if (!desired.ok()) return desired.status();
  absl::StatusOr<RouteState> desired_routes =
      BuildRouteState(desired->returns, intent_.routes, options_.tables);
  if (!desired_routes.ok()) return desired_routes.status();

  Intent next{std::move(desired->nat), *std::move(desired_routes), std::move(desired->returns),
              std::move(desired->alert_forwards), intent_.sysctls};
  // Both targets are measured against the intent being replaced.
  const RouteState route_target = RouteTarget(next, intent_, routes_kernel_);
  NatState nat_target;
  if (Empty(intent_.nat) && Empty(nat_kernel_)) {
    // Nothing committed and nothing found, so no element is kept as found:
    // the target is the desired state, without NatTarget's per-key
    // ownership walk (a cold sync of 100k forwards).
    nat_target.table_present =
        nat_kernel_.table_present || !intent_.nat.table_present || RepairsNodeWide(next);
    if (nat_target.table_present) nat_target = next.nat;
  } else {
    nat_target = NatTarget(next, intent_, nat_kernel_);
  }
  Undo undo = StartUndo();
  absl::Status status = ApplyNat(std::move(nat_target), &undo.nat);
  if (!status.ok()) return status;  // one atomic batch: nothing changed

  status = CommitRoutes(route_target, std::move(next.routes), &undo);
  if (status.ok())
    status = FinishApply(DesiredSysctls{config.ipv4_forwarding(), config.ipv6_forwarding()},
                         config.version(), &undo);
  // The new NAT intent is taken once the kernel holds it for good: after a
  // full success, or when the rollback could not take the elements back.
  RollbackResult rollback;
  if (!status.ok()) rollback = RollBack(undo);
  if (status.ok() || !rollback.nat_restored) {
    intent_.nat = std::move(next.nat);
    intent_.returns = std::move(next.returns);
    intent_.alert_forwards = std::move(next.alert_forwards);
    index_ = ForwardIndex::FromConfig(config, *desired);
    // The index now says this push; the routes may say the previous one.
    if (!status.ok()) routes_stale_ = true;
  }
  // A push rolled back to a partial state leaves it partial.
  partial_ = status.ok() ? false : partial_ || !rollback.status.ok();
  if (status.ok()) return status;
  return absl::Status(status.code(), RollbackMessage(status, rollback.status));
}

absl::Status Reconciler::ApplyUpdates(const ForwardUpdates& updates, const DesiredSysctls& sysctls,
                                      const std::string& version) {
  absl::StatusOr<DesiredChange> change = index_->Plan(updates, intent_.nat);
  if (!change.ok()) return change.status();

  // Rules and routes are recomputed only when some return path changed.
  const bool routes_touched = change->returns_touched() || routes_stale_;
  std::vector<DesiredReturn> returns;
  RouteState desired_routes, route_target;
  if (routes_touched) {
    for (const DesiredReturn& r : intent_.returns) {
      if (!updates.contains(r.forward)) returns.push_back(r);
    }
    returns.insert(returns.end(), change->returns_added.begin(), change->returns_added.end());
    std::sort(returns.begin(), returns.end());
    returns.erase(std::unique(returns.begin(), returns.end()), returns.end());
    absl::StatusOr<RouteState> built = BuildRouteState(returns, intent_.routes, options_.tables);
    if (!built.ok()) return built.status();
    desired_routes = *std::move(built);
    Intent next;
    next.routes = desired_routes;
    next.returns = returns;
    next.alert_forwards = intent_.alert_forwards;
    for (const auto& [name, update] : updates) next.alert_forwards.erase(name);
    for (const auto& [name, alert] : change->alert) {
      if (alert) next.alert_forwards.insert(name);
    }
    route_target = RouteTarget(next, intent_, routes_kernel_);
  }

  Undo undo = StartUndo();
  if (absl::Status status = ApplyNatChange(*change, updates, &undo.nat); !status.ok()) {
    return status;  // one atomic batch: nothing changed
  }
  absl::Status status;
  if (routes_touched) status = CommitRoutes(route_target, std::move(desired_routes), &undo);
  if (status.ok()) status = FinishApply(sysctls, version, &undo);
  RollbackResult rollback;
  if (!status.ok()) rollback = RollBack(undo);
  // As in ApplyFull: the change is taken once the kernel holds it for good.
  if (status.ok() || !rollback.nat_restored) {
    for (const auto& [key, value] : change->dnat) {
      if (value.has_value()) {
        intent_.nat.dnat.insert_or_assign(key, *value);
      } else {
        intent_.nat.dnat.erase(key);
      }
    }
    for (const auto& [key, value] : change->masq) {
      if (value.has_value()) {
        intent_.nat.masq.insert_or_assign(key, *value);
      } else {
        intent_.nat.masq.erase(key);
      }
    }
    for (const auto& [name, update] : updates) intent_.alert_forwards.erase(name);
    for (const auto& [name, alert] : change->alert) {
      if (alert) intent_.alert_forwards.insert(name);
    }
    index_->Commit(updates, *change);
    if (routes_touched) intent_.returns = std::move(returns);
    if (!status.ok()) routes_stale_ = true;  // as in ApplyFull
  }
  // A push rolled back to a partial state leaves it partial.
  partial_ = status.ok() ? false : partial_ || !rollback.status.ok();
  if (status.ok()) return status;
  return absl::Status(status.code(), RollbackMessage(status, rollback.status));
}

absl::Status Reconciler::ApplyNatChange(const DesiredChange& change, const ForwardUpdates& updates,
                                        NatPlan* undo) {
  // NatTarget over the touched keys alone: every key's target depends only
  // on its own entries and its owners' policy, and the table is present.
  Intent desired, previous;
  desired.nat.table_present = true;
  previous.nat = Restrict(intent_.nat, change);
  for (const auto& [key, value] : change.dnat) {
    if (value.has_value()) desired.nat.dnat.emplace_hint(desired.nat.dnat.end(), key, *value);
  }
  for (const auto& [key, value] : change.masq) {
    if (value.has_value()) desired.nat.masq.emplace_hint(desired.nat.masq.end(), key, *value);
  }
  auto alert = [&](const std::string& forward) {
    if (auto it = change.alert.find(forward); it != change.alert.end()) return it->second;
    return !updates.contains(forward) && intent_.alert_forwards.contains(forward);
  };
  auto note_owners = [&](const NatState& nat) {
    for (const auto& [key, target] : nat.dnat) {
      if (std::string f = ForwardOfComment(target.comment); alert(f))
        desired.alert_forwards.insert(f);
    }
    for (const auto& [key, comment] : nat.masq) {
      if (std::string f = ForwardOfComment(comment); alert(f)) desired.alert_forwards.insert(f);
    }
  };

  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const NatState kernel = Restrict(nat_kernel_, change);
    desired.alert_forwards.clear();
    note_owners(desired.nat);
    note_owners(previous.nat);
    note_owners(kernel);
    NatState target = NatTarget(desired, previous, kernel);
    const NatPlan plan = DiffNat(kernel, target);
    status = plan.empty() ? absl::OkStatus() : nat_->Apply(plan);
    if (status.ok()) {
      *undo = UndoNat(kernel, plan);
      for (const auto& [key, value] : change.dnat) CopyKey(key, target.dnat, nat_kernel_.dnat);
      for (const auto& [key, value] : change.masq) CopyKey(key, target.masq, nat_kernel_.masq);
      return absl::OkStatus();
    }
    if (attempt > 0) break;
    // The batch is atomic, so the kernel holds what it held; if that is not
    // what we believed (drift not yet checked), diff again from the truth.
    absl::StatusOr<NatState> actual = nat_->Load();
    if (!actual.ok() || *actual == nat_kernel_) break;
    nat_kernel_ = *std::move(actual);
    if (!nat_kernel_.table_present) break;  // the next push rebuilds it whole
  }
  return Annotate(status, "applying nftables changes");
}

absl::Status Reconciler::ApplyNat(NatState target, NatPlan* undo) {
  NatPlan plan = DiffNat(nat_kernel_, target);
  if (plan.empty()) {
    nat_kernel_ = std::move(target);
    return absl::OkStatus();
  }
  absl::Status status = nat_->Apply(plan);
  if (!status.ok()) {
    // The batch is atomic, so the kernel holds what it held before; but if
    // that was not what we believed (drift not yet checked), diff again
    // from the truth.
    absl::StatusOr<NatState> actual = nat_->Load();
    if (!actual.ok() || *actual == nat_kernel_) {
      return Annotate(status, "applying nftables changes");
    }
    nat_kernel_ = *std::move(actual);
    plan = DiffNat(nat_kernel_, target);
    if (!plan.empty()) status = nat_->Apply(plan);
    if (!status.ok()) return Annotate(status, "applying nftables changes");
  }
  if (undo != nullptr) *undo = UndoNat(nat_kernel_, plan);
  nat_kernel_ = std::move(target);
  return absl::OkStatus();
}

absl::Status Reconciler::CommitRoutes(const RouteState& target, RouteState desired, Undo* undo) {
  RoutePlan route_plan = DiffRoutes(routes_kernel_, target);
  // Recorded whenever this step changes anything, the bookkeeping included:
  // a push whose routes are already in place still takes the new intent and
  // clears routes_stale_, and a later failed step must put both back.
  if (!route_plan.empty() || routes_stale_ || !(intent_.routes == desired)) {
    undo->routes_kernel = routes_kernel_;
    undo->intent_routes = intent_.routes;
    undo->routes_stale = routes_stale_;
  }
  if (!route_plan.empty()) {
    absl::Status status = routes_->Apply(route_plan);
    if (!status.ok()) {
      // Route messages are ACKed one by one, so part of the plan may have
      // landed: learn the truth so the rollback (or the next diff) starts
      // from it.
      absl::StatusOr<RouteState> actual = routes_->Load();
      if (actual.ok()) {
        routes_kernel_ = *std::move(actual);
        intent_.routes = routes_kernel_;
      } else {
        undo->routes_unknown = true;
        LogWarning("re-reading routes after a failed apply",
                   {{"error", std::string(actual.status().message())}});
      }
      routes_stale_ = true;
      return Annotate(status, "applying rules and routes");
    }
  }
  routes_kernel_ = target;
  intent_.routes = std::move(desired);
  routes_stale_ = false;
  return absl::OkStatus();
}

absl::Status Reconciler::FinishApply(const DesiredSysctls& sysctls, const std::string& version,
                                     Undo* undo) {
  absl::Status status = ApplySysctl(kIpv4ForwardingKey, sysctls.ipv4_forwarding, undo);
  if (status.ok()) status = ApplySysctl(kIpv6ForwardingKey, sysctls.ipv6_forwarding, undo);
  if (!status.ok()) return status;
  version_ = version;
  persisting_drift_.reset();
  return absl::OkStatus();
}

}  // namespace ferry::agent
