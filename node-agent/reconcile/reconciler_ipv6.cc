// Reconciler: a node without working IPv6 serves its IPv4 forwards and
// names the IPv6 ones it leaves out, instead of ACKing elements no traffic
// can use (nftables accepts an inet element in a namespace with IPv6
// disabled) or NACKing the whole push for them.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "node-agent/reconcile/reconciler.h"

namespace ferry::agent {

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

}  // namespace ferry::agent
