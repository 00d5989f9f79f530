#include "node-agent/reconcile/reconciler.h"

#include <map>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/state/desired_state.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

Reconciler::Reconciler(NatBackend* nat, RouteBackend* routes, SysctlBackend* sysctls,
                       Options options)
    : nat_(nat), routes_(routes), sysctls_(sysctls), options_(options) {}

absl::Status Reconciler::Adopt() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<NatState> nat = nat_->Load();
  if (!nat.ok()) return Annotate(nat.status(), "reading nftables table inet ferry");
  absl::StatusOr<RouteState> routes = routes_->Load();
  if (!routes.ok()) return Annotate(routes.status(), "reading Ferry's rules and routes");
  nat_kernel_ = *std::move(nat);
  routes_kernel_ = *std::move(routes);
  intent_ = Intent{nat_kernel_, routes_kernel_, {}, {}, {}};
  index_.reset();
  adopted_ = true;
  PublishLocked();
  LogInfo("adopted kernel state", {{"table_present", nat_kernel_.table_present ? "true" : "false"},
                                   {"dnat", absl::StrCat(nat_kernel_.dnat.size())},
                                   {"masq", absl::StrCat(nat_kernel_.masq.size())},
                                   {"rules", absl::StrCat(routes_kernel_.rules.size())},
                                   {"routes", absl::StrCat(routes_kernel_.routes.size())}});
  return absl::OkStatus();
}

namespace {

// True if every sysctl that could be read has the intended value (an
// unreadable one is not drift, as in FindDrift).
bool SysctlsMatch(const Intent& intent, const Observed& observed) {
  for (const auto& [key, want] : intent.sysctls) {
    auto it = observed.sysctls.find(key);
    if (it != observed.sysctls.end() && it->second != want) return false;
  }
  return true;
}

}  // namespace

DriftOutcome Reconciler::CheckDrift(const DriftCheck& check) {
  absl::MutexLock lock(&mu_);
  // A check changes what the kernel is known to hold (and a repair, what it
  // holds).
  absl::Cleanup publish = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { PublishLocked(); };
  DriftOutcome outcome;
  if (!adopted_ || version_.empty()) return outcome;
  outcome.checked = true;
  outcome.config_version = version_;
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
  observed.nat = nat_read.has_value() ? *std::move(nat_read) : std::move(nat_kernel_);
  observed.routes = routes_read.has_value() ? *std::move(routes_read) : std::move(routes_kernel_);
  for (const auto& [key, want] : intent_.sysctls) {
    if (!check.sysctls) {
      observed.sysctls[key] = want;
      continue;
    }
    absl::StatusOr<std::string> value = sysctls_->Read(key);
    if (value.ok()) observed.sysctls[key] = std::string(absl::StripAsciiWhitespace(*value));
  }
  if (!check.nat && !check.routes && persisting_drift_.has_value() &&
      SysctlsMatch(intent_, observed)) {
    // Nothing but sysctls was read and they match: the rest is as the last
    // full comparison left it.
    nat_kernel_ = std::move(observed.nat);
    routes_kernel_ = std::move(observed.routes);
    outcome.items = *persisting_drift_;
    outcome.repaired.assign(outcome.items.size(), false);
    outcome.in_sync = outcome.items.empty();
    return outcome;
  }
  outcome.items = FindDrift(intent_, observed);
  outcome.repaired.assign(outcome.items.size(), false);
  nat_kernel_ = std::move(observed.nat);
  routes_kernel_ = std::move(observed.routes);
  if (outcome.items.empty()) {
    persisting_drift_.emplace();
    return outcome;
  }
  if (absl::Status status = RepairDrift(outcome); !status.ok()) {
    LogWarning("drift repair failed", {{"error", std::string(status.message())}});
  }
  for (bool repaired : outcome.repaired) outcome.in_sync = outcome.in_sync && repaired;
  persisting_drift_.emplace();
  for (size_t i = 0; i < outcome.items.size(); ++i) {
    if (!outcome.repaired[i] && outcome.items[i].kind != "sysctl") {
      persisting_drift_->push_back(outcome.items[i]);
    }
  }
  return outcome;
}

absl::Status Reconciler::RepairDrift(DriftOutcome& outcome) {
  // Which kinds of object the repair restored; an item counts as repaired
  // only when its policy asked for it and its kind's write succeeded.
  bool nat_ok = true, routes_ok = true;
  absl::Status first_error;
  if (absl::Status s = ApplyNat(NatTarget(intent_, intent_, nat_kernel_)); !s.ok()) {
    nat_ok = false;
    first_error = s;
  }
  const RouteState route_target = RouteTarget(intent_, intent_, routes_kernel_);
  if (RoutePlan plan = DiffRoutes(routes_kernel_, route_target); !plan.empty()) {
    if (absl::Status s = routes_->Apply(plan); !s.ok()) {
      routes_ok = false;
      if (first_error.ok()) first_error = Annotate(s, "repairing rules and routes");
      absl::StatusOr<RouteState> actual = routes_->Load();
      if (actual.ok()) routes_kernel_ = *std::move(actual);
    } else {
      routes_kernel_ = route_target;
    }
  }
  std::map<std::string, bool> sysctl_ok;
  for (const auto& [key, value] : SysctlRepairs(intent_, outcome.items)) {
    absl::Status s = sysctls_->Write(key, value);
    sysctl_ok[key] = s.ok();
    if (!s.ok() && first_error.ok()) first_error = Annotate(s, absl::StrCat("repairing ", key));
  }
  for (size_t i = 0; i < outcome.items.size(); ++i) {
    const Drift& d = outcome.items[i];
    if (!d.repair) continue;
    if (d.kind == "nftables") {
      outcome.repaired[i] = nat_ok;
    } else if (d.kind == "rule" || d.kind == "route") {
      outcome.repaired[i] = routes_ok;
    } else if (d.kind == "sysctl") {
      outcome.repaired[i] = sysctl_ok[d.object.substr(sizeof("sysctl ") - 1)];
    }
  }
  return first_error;
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

void Reconciler::PublishLocked(std::map<std::string, std::string>* forward_errors) {
  Summary s{version_,
            nat_kernel_.dnat.size(),
            nat_kernel_.masq.size(),
            routes_kernel_.rules.size(),
            routes_kernel_.routes.size(),
            partial_};
  absl::MutexLock lock(&published_mu_);
  summary_ = std::move(s);
  if (forward_errors != nullptr) forward_errors_ = std::move(*forward_errors);
}

std::map<std::string, std::string> Reconciler::forward_errors() const {
  absl::MutexLock lock(&published_mu_);
  return forward_errors_;
}

Intent Reconciler::intent() const {
  absl::MutexLock lock(&mu_);
  return intent_;
}

Reconciler::Summary Reconciler::summary() const {
  absl::MutexLock lock(&published_mu_);
  return summary_;
}

}  // namespace ferry::agent
