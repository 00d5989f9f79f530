#include "node-agent/reconcile/drift_checker.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// True if every sysctl that could be read has the intended value (an
// unreadable one is not drift, as in FindDrift).
bool SysctlsMatch(const Intent& intent, const Observed& observed) {
  for (const auto& [key, want] : intent.sysctls) {
    auto it = observed.sysctls.find(key);
    if (it != observed.sysctls.end() && it->second != want) return false;
  }
  return true;
}

// Which items the repair fixed: those the policy asked to repair whose
// kind of object was written back.
void MarkRepaired(const RepairResult& result, DriftOutcome& outcome) {
  for (size_t i = 0; i < outcome.items.size(); ++i) {
    const Drift& d = outcome.items[i];
    if (!d.repair) continue;
    if (d.kind == "nftables") {
      outcome.repaired[i] = IsMarkTableObject(d.object) ? result.routes : result.nat;
    } else if (d.kind == "rule" || d.kind == "route") {
      outcome.repaired[i] = result.routes;
    } else if (d.kind == "sysctl") {
      auto it = result.sysctls.find(d.object.substr(sizeof("sysctl ") - 1));
      outcome.repaired[i] = it != result.sysctls.end() && it->second;
    }
  }
}

}  // namespace

DriftChecker::DriftChecker(Reconciler* reconciler, NatBackend* nat, RouteBackend* routes,
                           SysctlBackend* sysctls)
    : reconciler_(reconciler), nat_(nat), routes_(routes), sysctls_(sysctls) {}

DriftOutcome DriftChecker::Check(const DriftCheck& check) {
  absl::MutexLock lock(&mu_);
  DriftOutcome outcome;
  reconciler_->Inspect([&](Reconciler::Inspection& held)
                           ABSL_NO_THREAD_SAFETY_ANALYSIS { outcome = CheckHeld(check, held); });
  return outcome;
}

DriftOutcome DriftChecker::CheckHeld(const DriftCheck& check, Reconciler::Inspection& held) {
  DriftOutcome outcome;
  if (!held.has_config()) return outcome;
  outcome.checked = true;
  outcome.config_version = held.version();
  const Intent& intent = held.intent();
  // What is not read is taken as last left, moved rather than copied: at
  // 100k elements a copy costs more than the comparison.
  std::optional<NatState> nat_read;
  if (check.nat) {
    absl::StatusOr<NatState> nat = nat_->Load();
    if (!nat.ok()) {
      outcome.error = Annotate(nat.status(), "reading nftables table inet ferry");
      return outcome;
    }
    nat_read = *std::move(nat);
  }
  std::optional<RouteState> routes_read;
  if (check.routes) {
    absl::StatusOr<RouteState> routes = routes_->Load();
    if (!routes.ok()) {
      outcome.error = Annotate(routes.status(), "reading Ferry's rules and routes");
      return outcome;
    }
    routes_read = *std::move(routes);
  }
  Observed observed;
  observed.nat = nat_read.has_value() ? *std::move(nat_read) : held.TakeNat();
  observed.routes = routes_read.has_value() ? *std::move(routes_read) : held.TakeRoutes();
  for (const auto& [key, want] : intent.sysctls) {
    if (!check.sysctls) {
      observed.sysctls[key] = want;
      continue;
    }
    absl::StatusOr<std::string> value = sysctls_->Read(key);
    if (value.ok()) observed.sysctls[key] = std::string(absl::StripAsciiWhitespace(*value));
  }
  if (!check.nat && !check.routes && standing_.has_value() && standing_->pushes == held.pushes() &&
      SysctlsMatch(intent, observed)) {
    // Nothing but sysctls was read and they match: the rest is as the last
    // full comparison left it.
    held.Observe(std::move(observed.nat), std::move(observed.routes));
    outcome.items = standing_->items;
    outcome.repaired.assign(outcome.items.size(), false);
    outcome.in_sync = outcome.items.empty();
    return outcome;
  }
  outcome.items = FindDrift(intent, observed);
  outcome.repaired.assign(outcome.items.size(), false);
  held.Observe(std::move(observed.nat), std::move(observed.routes));
  standing_ = Standing{held.pushes(), {}};
  if (outcome.items.empty()) return outcome;

  std::vector<std::string> sysctls;
  for (auto& [key, value] : SysctlRepairs(intent, outcome.items)) sysctls.push_back(key);
  const RepairResult result = held.Repair(sysctls);
  if (!result.error.ok()) {
    LogWarning("drift repair failed", {{"error", std::string(result.error.message())}});
  }
  MarkRepaired(result, outcome);
  for (bool repaired : outcome.repaired) outcome.in_sync = outcome.in_sync && repaired;
  for (size_t i = 0; i < outcome.items.size(); ++i) {
    if (!outcome.repaired[i] && outcome.items[i].kind != "sysctl") {
      standing_->items.push_back(outcome.items[i]);
    }
  }
  return outcome;
}

}  // namespace ferry::agent
