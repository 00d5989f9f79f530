#ifndef FERRY_API_LIB_FORWARD_SPEC_H_
#define FERRY_API_LIB_FORWARD_SPEC_H_

// The defaults of an IPForward's enums, once: an unspecified sourceIP means
// Preserve and an unspecified driftPolicy means Enforce, for the planner,
// the conflict checks and ferryctl alike.

#include <string>

#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::api {

inline bool IsMasquerade(const ferry::v1::IPForwardSpec& spec) {
  return spec.source_ip() == ferry::v1::MASQUERADE;
}

// driftPolicy Alert: agents report drift of this forward and never repair it.
inline bool IsAlertOnly(const ferry::v1::IPForwardSpec& spec) {
  return spec.drift_policy() == ferry::v1::ALERT;
}

// "Preserve" or "Masquerade", as manifests spell them.
inline std::string SourceIPName(ferry::v1::SourceIP source_ip) {
  return source_ip == ferry::v1::MASQUERADE ? "Masquerade" : "Preserve";
}

// "Enforce" or "Alert", as manifests spell them.
inline std::string DriftPolicyName(ferry::v1::DriftPolicy policy) {
  return policy == ferry::v1::ALERT ? "Alert" : "Enforce";
}

// rollback OnProbeFailure: a change whose probe fails is undone on every node.
inline bool RollsBackOnProbeFailure(const ferry::v1::IPForwardSpec& spec) {
  return spec.rollback() == ferry::v1::ON_PROBE_FAILURE;
}

// "Never" or "OnProbeFailure", as manifests spell them.
inline std::string RollbackPolicyName(ferry::v1::RollbackPolicy policy) {
  return policy == ferry::v1::ON_PROBE_FAILURE ? "OnProbeFailure" : "Never";
}

// rollback OnProbeFailure: how long after a node applied a change its probe
// has to pass (spec.probe.confirmSeconds, default 10 s).
inline absl::Duration ProbeConfirmDeadline(const ferry::v1::IPForwardSpec& spec) {
  return absl::Seconds(spec.probe().confirm_seconds() == 0 ? 10 : spec.probe().confirm_seconds());
}

}  // namespace ferry::api

#endif  // FERRY_API_LIB_FORWARD_SPEC_H_
