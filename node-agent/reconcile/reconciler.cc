// Reconciler: the boundary (a push becomes an update to the desired state,
// once), the IPv6 rule for what this node can serve, and what is published.
// The apply path itself is in reconciler_converge.cc, the rollback in
// reconciler_rollback.cc.

#include "node-agent/reconcile/reconciler.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/lib/sync_protocol.h"
#include "node-agent/state/ipv6_forwards.h"

namespace ferry::agent {
namespace {

absl::Status Annotate(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// The forwards this node leaves out, with IPv6 forwarding.
LeftOut LeftOutOf(const std::map<std::string, std::string>& unservable) {
  LeftOut left_out;
  for (const auto& [name, why] : unservable) left_out.forwards.insert(name);
  left_out.ipv6_forwarding = true;
  return left_out;
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
  forwards_.reset();
  adopted_ = true;
  PublishLocked();
  LogInfo("adopted kernel state", {{"table_present", nat_kernel_.table_present ? "true" : "false"},
                                   {"dnat", absl::StrCat(nat_kernel_.dnat.size())},
                                   {"masq", absl::StrCat(nat_kernel_.masq.size())},
                                   {"rules", absl::StrCat(routes_kernel_.rules.size())},
                                   {"routes", absl::StrCat(routes_kernel_.routes.size())}});
  return absl::OkStatus();
}

absl::Status Reconciler::Apply(const ferry::v1::NodeConfig& config) {
  absl::MutexLock lock(&mu_);
  if (!adopted_) {
    return absl::FailedPreconditionError("kernel state not adopted yet (call Adopt first)");
  }
  std::map<std::string, std::string> errors;
  LeftOut left_out;
  const bool needs_ipv6 = NeedsIpv6(config);
  const absl::Status ipv6 = needs_ipv6 ? Ipv6Usable() : absl::OkStatus();
  if (!ipv6.ok()) {
    errors = Unservable(Ipv6Forwards(config), ipv6);
    left_out = LeftOutOf(errors);
  }
  absl::StatusOr<DesiredUpdate> update =
      UpdateOfConfig(config, forwards_.has_value() ? &*forwards_ : nullptr, intent_.nat, left_out);
  const absl::Status status = update.ok() ? ApplyUpdate(*update) : update.status();
  if (status.ok()) ipv6_usable_ = needs_ipv6 ? std::optional<bool>(ipv6.ok()) : std::nullopt;
  PublishLocked(status.ok() ? &errors : nullptr);
  return status;
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
    return ferry::api::BaseVersionMismatch(
        absl::StrCat("IPv6 ", ipv6.ok() ? "works again" : "stopped working", " since version \"",
                     version_, "\" was applied; send the full config"));
  }
  std::map<std::string, std::string> errors = forward_errors();
  for (const std::string& name : delta.forwards()) errors.erase(name);
  LeftOut left_out;
  if (needs_ipv6 && !ipv6.ok()) {
    std::map<std::string, std::string> named = Unservable(Ipv6Forwards(delta), ipv6);
    left_out = LeftOutOf(named);
    errors.merge(named);
  }
  absl::Status status;
  if (!forwards_.has_value() || version_.empty() || partial_ || delta.base_version() != version_) {
    status = ferry::api::BaseVersionMismatch(absl::StrCat(
        "the delta applies on version \"", delta.base_version(), "\" but this agent holds ",
        version_.empty() || !forwards_.has_value() ? "no applied config"
                                                   : absl::StrCat("version \"", version_, "\""),
        partial_ ? " and its last push failed partway" : "", "; send the full config"));
  } else {
    absl::StatusOr<DesiredUpdate> update = UpdateOfDelta(delta, *forwards_, intent_.nat, left_out);
    status = update.ok() ? ApplyUpdate(*update) : update.status();
  }
  if (status.ok() && needs_ipv6) ipv6_usable_ = ipv6.ok();
  PublishLocked(status.ok() ? &errors : nullptr);
  return status;
}

absl::Status Reconciler::ApplyUpdate(DesiredUpdate& update) {
  const bool touched = !update.whole.has_value() && Incremental();
  absl::Status status = Converge(Pass{&update, /*whole_nat=*/!touched, {}}, nullptr);
  // A failed batch that found the table gone must rebuild it whole.
  if (touched && !status.ok() && !Incremental()) {
    status = Converge(Pass{&update, /*whole_nat=*/true, {}}, nullptr);
  }
  return status;
}

bool Reconciler::Incremental() const {
  // A table whose structure differs is rebuilt or kept whole (NatTarget's
  // node-wide policy), which the touched keys alone cannot decide.
  return forwards_.has_value() && nat_kernel_.table_present && intent_.nat.table_present &&
         nat_kernel_.structure_drift.empty() && intent_.nat.structure_drift.empty();
}

// A node without working IPv6 serves its IPv4 forwards and names the IPv6
// ones it leaves out, instead of ACKing elements no traffic can use
// (nftables accepts an inet element in a namespace with IPv6 disabled) or
// NACKing the whole push for them.
absl::Status Reconciler::Ipv6Usable() {
  absl::StatusOr<std::string> disabled = sysctls_->Read(kIpv6DisableKey);
  if (disabled.ok()) {
    if (absl::StripAsciiWhitespace(*disabled) != "1") return absl::OkStatus();
    return absl::FailedPreconditionError(
        "kernel lacks IPv6 support: IPv6 is disabled in this network namespace "
        "(net.ipv6.conf.all.disable_ipv6=1)");
  }
  // /proc/sys/net/ipv6 is missing (the sysctl backend's ENOENT on an IPv6
  // key already says "kernel lacks IPv6 support").
  const absl::StatusCode code = disabled.status().code();
  if (code == absl::StatusCode::kNotFound || code == absl::StatusCode::kFailedPrecondition) {
    return absl::FailedPreconditionError(
        "kernel lacks IPv6 support: this kernel has no IPv6 (no /proc/sys/net/ipv6: booted with "
        "ipv6.disable=1, or built without it)");
  }
  // Unreadable for another reason: the kernel's answer to the push decides.
  return absl::OkStatus();
}

std::map<std::string, std::string> Reconciler::Unservable(
    std::map<std::string, std::string> ipv6_forwards, const absl::Status& why) {
  for (auto& [name, address] : ipv6_forwards) {
    address = absl::StrCat(why.message(), "; the forward needs IPv6 (", address,
                           ") and is not installed on this node");
  }
  if (!ipv6_forwards.empty()) {
    LogWarning("IPv6 forwards not installed", {{"forwards", absl::StrCat(ipv6_forwards.size())},
                                               {"reason", std::string(why.message())}});
  }
  return ipv6_forwards;
}

void Reconciler::Inspect(absl::FunctionRef<void(Inspection&)> check) {
  absl::MutexLock lock(&mu_);
  Inspection inspection(this);
  check(inspection);
  // A check changes what the kernel is known to hold (and a repair, what it
  // holds).
  PublishLocked();
}

// Inspection's members run only inside Inspect, which holds mu_.
bool Reconciler::Inspection::has_config() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return r_->adopted_ && !r_->version_.empty();
}
const std::string& Reconciler::Inspection::version() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return r_->version_;
}
const Intent& Reconciler::Inspection::intent() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return r_->intent_;
}
uint64_t Reconciler::Inspection::pushes() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return r_->pushes_;
}
NatState Reconciler::Inspection::TakeNat() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return std::move(r_->nat_kernel_);
}
RouteState Reconciler::Inspection::TakeRoutes() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return std::move(r_->routes_kernel_);
}
void Reconciler::Inspection::Observe(NatState nat,
                                     RouteState routes) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  r_->nat_kernel_ = std::move(nat);
  r_->routes_kernel_ = std::move(routes);
}
RepairResult Reconciler::Inspection::Repair(const std::vector<std::string>& sysctls)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  RepairResult result;
  result.error = r_->Converge(Pass{nullptr, /*whole_nat=*/true, sysctls}, &result);
  return result;
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
