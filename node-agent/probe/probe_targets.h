#ifndef FERRY_NODE_AGENT_PROBE_PROBE_TARGETS_H_
#define FERRY_NODE_AGENT_PROBE_PROBE_TARGETS_H_

// A push's DNAT rules as the probes they ask for, converted once at the
// boundary: every rule but a route query is probed, every
// probe_period_seconds (0: the agent's --probe-period); a port range on its
// first port. Pure.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "ferry/v1/ferry.pb.h"
#include "node-agent/probe/prober.h"

namespace ferry::agent {

// Bounds on what a rule may ask for, so a timer never outlives reason.
inline constexpr absl::Duration kMinProbePeriod = absl::Seconds(1);
inline constexpr absl::Duration kDefaultProbePeriod = absl::Seconds(15);
inline constexpr absl::Duration kMaxProbeTimeout = absl::Seconds(60);

// One probed DNAT rule: what to probe, and how often.
struct ProbeRule {
  ProbeTarget target;
  absl::Duration period;
  bool operator==(const ProbeRule&) const = default;
};

// A forward's probed rules on this node, at its generation.
struct ForwardProbes {
  int64_t generation = 0;
  std::vector<ProbeRule> rules;  // in push order; never empty
  bool operator==(const ForwardProbes&) const = default;
};

// The probe of `rule`, or nullopt when it is not probed (a route query, or
// fields no validated push holds). `period` is the agent's default.
std::optional<ProbeRule> ProbeRuleOf(const ferry::v1::DnatRule& rule, absl::Duration period);

// The probed forwards of a full config; forwards without a probed rule
// are absent.
absl::flat_hash_map<std::string, ForwardProbes> ProbesOf(const ferry::v1::NodeConfig& config,
                                                         absl::Duration period);

// Each forward a delta names, with its probes (nullopt: none, the forward
// is gone or no longer probed here).
std::map<std::string, std::optional<ForwardProbes>> ProbesOf(
    const ferry::v1::NodeConfigDelta& delta, absl::Duration period);

}  // namespace ferry::agent

#endif  // FERRY_NODE_AGENT_PROBE_PROBE_TARGETS_H_
