#include "node-agent/reconcile/reconciler.h"

#include <utility>

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
  nat_committed_ = *std::move(nat);
  routes_committed_ = *std::move(routes);
  adopted_ = true;
  LogInfo("adopted kernel state",
          {{"table_present", nat_committed_.table_present ? "true" : "false"},
           {"dnat", absl::StrCat(nat_committed_.dnat.size())},
           {"masq", absl::StrCat(nat_committed_.masq.size())},
           {"rules", absl::StrCat(routes_committed_.rules.size())},
           {"routes", absl::StrCat(routes_committed_.routes.size())}});
  return absl::OkStatus();
}

absl::Status Reconciler::Apply(const ferry::v1::NodeConfig& config) {
  absl::MutexLock lock(&mu_);
  if (!adopted_) {
    return absl::FailedPreconditionError("kernel state not adopted yet (call Adopt first)");
  }
  absl::StatusOr<DesiredState> desired = BuildDesiredState(config);
  if (!desired.ok()) return desired.status();
  absl::StatusOr<RouteState> desired_routes =
      BuildRouteState(desired->returns, routes_committed_, options_.tables);
  if (!desired_routes.ok()) return desired_routes.status();

  NatPlan nat_plan = DiffNat(nat_committed_, desired->nat);
  if (!nat_plan.empty()) {
    absl::Status status = nat_->Apply(nat_plan);
    // The batch is atomic: on failure the kernel still holds nat_committed_.
    if (!status.ok()) return Annotate(status, "applying nftables changes");
    nat_committed_ = desired->nat;
  }

  RoutePlan route_plan = DiffRoutes(routes_committed_, *desired_routes);
  if (!route_plan.empty()) {
    absl::Status status = routes_->Apply(route_plan);
    if (!status.ok()) {
      // Route messages are ACKed one by one, so part of the plan may have
      // landed: learn the truth so the next diff starts from it.
      absl::StatusOr<RouteState> actual = routes_->Load();
      if (actual.ok()) {
        routes_committed_ = *std::move(actual);
      } else {
        LogWarning("re-reading routes after a failed apply",
                   {{"error", std::string(actual.status().message())}});
      }
      return Annotate(status, "applying rules and routes");
    }
    routes_committed_ = *std::move(desired_routes);
  }

  absl::Status status = ApplySysctl(kIpv4ForwardingKey, desired->sysctls.ipv4_forwarding);
  if (status.ok()) {
    status = ApplySysctl(kIpv6ForwardingKey, desired->sysctls.ipv6_forwarding);
  }
  if (!status.ok()) return status;
  version_ = config.version();
  return absl::OkStatus();
}

absl::Status Reconciler::ApplySysctl(const std::string& key, bool wanted) {
  auto original = sysctl_original_.find(key);
  if (!wanted) {
    if (original == sysctl_original_.end()) return absl::OkStatus();
    absl::Status status = sysctls_->Write(key, original->second);
    if (!status.ok()) return Annotate(status, absl::StrCat("restoring ", key));
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
  // Someone may have reset it behind our back; the first value we saw is
  // still the one to restore.
  sysctl_original_.emplace(key, current);
  LogInfo("set sysctl", {{"key", key}, {"value", "1"}, {"was", current}});
  return absl::OkStatus();
}

Reconciler::Summary Reconciler::summary() const {
  absl::MutexLock lock(&mu_);
  return Summary{version_, nat_committed_.dnat.size(), nat_committed_.masq.size(),
                 routes_committed_.rules.size(), routes_committed_.routes.size()};
}

}  // namespace ferry::agent
