// Reconciler: the one apply path. A pass takes an update to the desired
// state (none for a drift repair) and converges the kernel on the intent it
// makes: NAT as one transaction (the touched keys, or the whole table),
// then rules and routes, then the forwarding sysctls; then a push is
// committed or rolled back.
//
// A push is all or nothing (its NACK keeps the previous version in force),
// so it stops at its first failure and puts back what it changed. A repair
// leaves the desired state as it is: each part it restores is the intent
// on its own, so it does every part it can and keeps what landed.

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/reconciler.h"

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

// Sets or erases `key` in `m` as a change says.
template <typename K, typename V>
void ApplyKey(const K& key, const std::optional<V>& value, std::map<K, V>& m) {
  if (value.has_value()) {
    m.insert_or_assign(key, *value);
  } else {
    m.erase(key);
  }
}

// The touched keys of `state`, for NatTarget and DiffNat over them alone.
NatState Restrict(const NatState& state, const DesiredChange& change) {
  NatState out;
  out.table_present = state.table_present;
  for (const auto& [key, value] : change.dnat) {
    if (auto it = state.dnat.find(key); it != state.dnat.end()) {
      out.dnat.emplace_hint(out.dnat.end(), *it);
    }
  }
  for (const auto& [key, value] : change.masq) {
    if (auto it = state.masq.find(key); it != state.masq.end()) {
      out.masq.emplace_hint(out.masq.end(), *it);
    }
  }
  return out;
}

// `nat` with a change applied (the whole desired table).
NatState Changed(NatState nat, const DesiredChange& change) {
  nat.table_present = true;
  nat.structure_drift.clear();
  for (const auto& [key, value] : change.dnat) ApplyKey(key, value, nat.dnat);
  for (const auto& [key, value] : change.masq) ApplyKey(key, value, nat.masq);
  return nat;
}

}  // namespace

absl::StatusOr<Reconciler::Next> Reconciler::NextIntent(const Pass& pass) {
  Next next;
  DesiredUpdate& u = *pass.update;
  Intent& built = next.built;
  built.sysctls = intent_.sysctls;
  if (u.whole.has_value()) {
    // Moved, not copied: at a cold sync of 100k forwards this is the
    // whole table.
    built.nat = std::move(u.whole->nat);
    built.returns = std::move(u.whole->returns);
    built.alert_forwards = std::move(u.whole->alert_forwards);
    next.routes = true;
  } else {
    const DesiredChange& change = u.change;
    built.alert_forwards = intent_.alert_forwards;
    for (const auto& [name, update] : u.forwards) built.alert_forwards.erase(name);
    for (const auto& [name, alert] : change.alert) {
      if (alert) built.alert_forwards.insert(name);
    }
    if (pass.whole_nat) built.nat = Changed(intent_.nat, change);
    // Rules and routes are recomputed only when some return path changed,
    // or when the whole state is converged.
    next.routes = pass.whole_nat || change.returns_touched() || routes_stale_;
    if (next.routes) {
      for (const DesiredReturn& r : intent_.returns) {
        if (!u.forwards.contains(r.forward)) built.returns.push_back(r);
      }
      built.returns.insert(built.returns.end(), change.returns_added.begin(),
                           change.returns_added.end());
      std::sort(built.returns.begin(), built.returns.end());
      built.returns.erase(std::unique(built.returns.begin(), built.returns.end()),
                          built.returns.end());
    }
  }
  if (next.routes) {
    absl::StatusOr<RouteState> routes =
        BuildRouteState(built.returns, intent_.routes, options_.tables);
    if (!routes.ok()) return routes.status();
    built.routes = *std::move(routes);
  }
  return next;
}

absl::Status Reconciler::Converge(const Pass& pass, RepairResult* repaired) {
  // 1. The intent to converge on: the update applied, or for a repair the
  // intent as it is.
  const bool push = pass.update != nullptr;
  std::optional<Next> next;
  if (push) {
    absl::StatusOr<Next> built = NextIntent(pass);
    if (!built.ok()) return built.status();  // nothing changed
    next = *std::move(built);
  }
  const Intent& goal = push ? next->built : intent_;
  const bool routes = !push || next->routes;
  // Both targets are measured against the intent being replaced.
  const RouteState route_target =
      routes ? RouteTarget(goal, intent_, routes_kernel_) : RouteState();

  // 2. NAT, one batch.
  Undo undo = StartUndo();
  absl::Status status = ConvergeNat(pass, goal, push ? &undo.nat : nullptr);
  if (!push) {
    repaired->nat = status.ok();
  } else if (!status.ok()) {
    return status;  // one atomic batch: nothing changed
  }
  absl::Status first_error = status;

  // 3. Rules and routes.
  if (routes) {
    // Recorded whenever a push changes anything here, the bookkeeping
    // included: a push whose routes are already in place still takes the
    // new intent and clears routes_stale_, and a later failed step must put
    // both back.
    const RoutePlan plan = DiffRoutes(routes_kernel_, route_target);
    if (push && (!plan.empty() || routes_stale_ || !(intent_.routes == goal.routes))) {
      undo.routes_kernel = routes_kernel_;
      undo.intent_routes = intent_.routes;
      undo.routes_stale = routes_stale_;
    }
    status = ConvergeRoutes(route_target, plan, push ? &undo : nullptr);
    if (!push) {
      repaired->routes = status.ok();
      if (first_error.ok()) first_error = status;
    } else if (status.ok()) {
      intent_.routes = std::move(next->built.routes);
      routes_stale_ = false;
    } else {
      // The kernel may hold part of the plan: the next push recomputes
      // every rule and route from what it was found to hold.
      if (!undo.routes_unknown) intent_.routes = routes_kernel_;
      routes_stale_ = true;
    }
  }

  // 4. The forwarding sysctls.
  if (!push) {
    for (const std::string& key : pass.sysctl_repairs) {
      absl::Status s = ApplySysctl(key, /*wanted=*/true, &undo);
      repaired->sysctls[key] = s.ok();
      if (first_error.ok()) first_error = s;
    }
    return first_error;  // the intent stands: nothing to commit or roll back
  }

  if (status.ok())
    status = ApplySysctl(kIpv4ForwardingKey, pass.update->sysctls.ipv4_forwarding, &undo);
  if (status.ok())
    status = ApplySysctl(kIpv6ForwardingKey, pass.update->sysctls.ipv6_forwarding, &undo);
  if (status.ok()) {
    version_ = pass.update->version;
    ++pushes_;
  }
  // 5. The update is taken into the intent once the kernel holds it for good:
  // after a full success, or when the rollback could not take the NAT
  // elements back.
  RollbackResult rollback;
  if (!status.ok()) rollback = RollBack(undo);
  if (status.ok() || !rollback.nat_restored) {
    CommitIntent(pass, *next);
    // The intent now says this push; the routes may say the previous one.
    if (!status.ok()) routes_stale_ = true;
  }
  // A push rolled back to a partial state leaves it partial.
  partial_ = status.ok() ? false : partial_ || !rollback.status.ok();
  if (status.ok()) return status;
  return absl::Status(status.code(), RollbackMessage(status, rollback.status));
}

void Reconciler::CommitIntent(const Pass& pass, Next& next) {
  DesiredUpdate& u = *pass.update;
  if (pass.whole_nat) {
    intent_.nat = std::move(next.built.nat);
  } else {
    for (const auto& [key, value] : u.change.dnat) ApplyKey(key, value, intent_.nat.dnat);
    for (const auto& [key, value] : u.change.masq) ApplyKey(key, value, intent_.nat.masq);
  }
  if (next.routes) intent_.returns = std::move(next.built.returns);
  intent_.alert_forwards = std::move(next.built.alert_forwards);
  if (u.whole.has_value()) {
    forwards_ = std::move(u.whole_forwards);
  } else {
    forwards_->Commit(u.forwards, u.change);
  }
}

absl::Status Reconciler::ConvergeNat(const Pass& pass, const Intent& next, NatPlan* undo) {
  // The touched keys alone: every key's target depends only on its own
  // entries and its owners' policy, and the table is present.
  Intent desired, previous;
  const DesiredChange* change = pass.whole_nat ? nullptr : &pass.update->change;
  if (change != nullptr) {
    desired.nat.table_present = true;
    previous.nat = Restrict(intent_.nat, *change);
    for (const auto& [key, value] : change->dnat) {
      if (value.has_value()) desired.nat.dnat.emplace_hint(desired.nat.dnat.end(), key, *value);
    }
    for (const auto& [key, value] : change->masq) {
      if (value.has_value()) desired.nat.masq.emplace_hint(desired.nat.masq.end(), key, *value);
    }
  }
  // The Alert forwards among the owners of the touched keys, as next has them.
  auto note_owners = [&](const NatState& nat) {
    for (const auto& [key, target] : nat.dnat) {
      if (std::string f = ForwardOfComment(target.comment); next.alert_forwards.contains(f)) {
        desired.alert_forwards.insert(f);
      }
    }
    for (const auto& [key, comment] : nat.masq) {
      if (std::string f = ForwardOfComment(comment); next.alert_forwards.contains(f)) {
        desired.alert_forwards.insert(f);
      }
    }
  };

  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    NatState touched_kernel;
    NatState target;
    if (change != nullptr) {
      touched_kernel = Restrict(nat_kernel_, *change);
      desired.alert_forwards.clear();
      note_owners(desired.nat);
      note_owners(previous.nat);
      note_owners(touched_kernel);
      target = NatTarget(desired, previous, touched_kernel);
    } else if (Empty(intent_.nat) && Empty(nat_kernel_)) {
      // Nothing committed and nothing found, so no element is kept as
      // found: the target is the desired state, without NatTarget's
      // per-key ownership walk (a cold sync of 100k forwards).
      target.table_present =
          nat_kernel_.table_present || !intent_.nat.table_present || RepairsNodeWide(next);
      if (target.table_present) target = next.nat;
    } else {
      target = NatTarget(next, intent_, nat_kernel_);
    }
    const NatState& kernel = change != nullptr ? touched_kernel : nat_kernel_;
    const NatPlan plan = DiffNat(kernel, target);
    status = plan.empty() ? absl::OkStatus() : nat_->Apply(plan);
    if (status.ok()) {
      if (undo != nullptr && !plan.empty()) *undo = UndoNat(kernel, plan);
      if (change == nullptr) {
        nat_kernel_ = std::move(target);
      } else {
        for (const auto& [key, value] : change->dnat) CopyKey(key, target.dnat, nat_kernel_.dnat);
        for (const auto& [key, value] : change->masq) CopyKey(key, target.masq, nat_kernel_.masq);
      }
      return absl::OkStatus();
    }
    if (attempt > 0) break;
    // The batch is atomic, so the kernel holds what it held; if that is not
    // what we believed (drift not yet checked), diff again from the truth.
    absl::StatusOr<NatState> actual = nat_->Load();
    if (!actual.ok() || *actual == nat_kernel_) break;
    nat_kernel_ = *std::move(actual);
    if (change != nullptr && !nat_kernel_.table_present) break;  // rebuilt whole
  }
  return Annotate(status, "applying nftables changes");
}

absl::Status Reconciler::ConvergeRoutes(const RouteState& target, const RoutePlan& plan,
                                        Undo* undo) {
  if (plan.empty()) {
    // A push takes its target as what the kernel holds; a repair keeps
    // what it observed.
    if (undo != nullptr) routes_kernel_ = target;
    return absl::OkStatus();
  }
  absl::Status status = routes_->Apply(plan);
  if (status.ok()) {
    routes_kernel_ = target;
    return absl::OkStatus();
  }
  // Route messages are ACKed one by one, so part of the plan may have
  // landed: learn the truth so the rollback (or the next diff) starts from
  // it.
  absl::StatusOr<RouteState> actual = routes_->Load();
  if (actual.ok()) {
    routes_kernel_ = *std::move(actual);
  } else if (undo != nullptr) {
    undo->routes_unknown = true;
    LogWarning("re-reading routes after a failed apply",
               {{"error", std::string(actual.status().message())}});
  }
  return Annotate(status,
                  undo != nullptr ? "applying rules and routes" : "repairing rules and routes");
}

absl::Status Reconciler::ApplySysctl(const std::string& key, bool wanted, Undo* undo) {
  if (wanted) {
    intent_.sysctls.insert_or_assign(key, std::string(1, '1'));
  } else {
    intent_.sysctls.erase(key);
  }
  auto original = sysctl_original_.find(key);
  if (!wanted) {
    if (original == sysctl_original_.end()) return absl::OkStatus();
    // Ferry's value is in force unless it drifted: undo puts back what was read.
    absl::StatusOr<std::string> value = sysctls_->Read(key);
    const std::string replaced(value.ok() ? absl::StripAsciiWhitespace(*value) : "1");
    absl::Status status = sysctls_->Write(key, original->second);
    if (!status.ok()) return Annotate(status, absl::StrCat("restoring ", key));
    undo->sysctl_writes.emplace_back(key, replaced);
    LogInfo("restored sysctl", {{"key", key}, {"value", original->second}});
    sysctl_original_.erase(original);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> value = sysctls_->Read(key);
  if (!value.ok()) return Annotate(value.status(), absl::StrCat("reading ", key));
  std::string current(absl::StripAsciiWhitespace(*value));
  if (current == "1") return absl::OkStatus();
  absl::Status status = sysctls_->Write(key, "1");
  if (!status.ok()) return Annotate(status, absl::StrCat("setting ", key, "=1"));
  undo->sysctl_writes.emplace_back(key, current);
  // Someone may have reset it behind our back; the first value we saw is
  // still the one to restore.
  sysctl_original_.emplace(key, current);
  LogInfo("set sysctl", {{"key", key}, {"value", "1"}, {"was", current}});
  return absl::OkStatus();
}

}  // namespace ferry::agent
