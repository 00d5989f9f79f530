#ifndef FERRY_CONTROLLER_PLANNER_CONFIG_DELTA_H_
#define FERRY_CONTROLLER_PLANNER_CONFIG_DELTA_H_

// The incremental form of a node's config change (delta xDS): which forwards
// changed between the config an agent ACKed and the newly planned one. Pure,
// so the reconciler's choice between a delta and a full push is testable.

#include <string>

#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// The first agent version that applies NodeConfigDelta; older agents ignore
// the field and would apply an empty config.
inline constexpr char kMinDeltaAgentVersion[] = "0.2.0";

// Dotted numeric comparison ("0.10.0" > "0.9.1"); a missing component is 0
// and a non-numeric suffix of a component ("1-rc1") is ignored.
bool AgentVersionAtLeast(absl::string_view version, absl::string_view minimum);

// Every forward whose DNAT rules or return routes differ between `base` and
// `target` is named, with all of its entries in `target` (none: it is gone
// from the node). version = target's, base_version = base's; the forwarding
// flags are target's. Entries of a forward compare in config order, which
// the planner makes canonical. Both configs must have their entries sorted
// by forward (PlanFleet sorts them).
ferry::v1::NodeConfigDelta ComputeDelta(const ferry::v1::NodeConfig& base,
                                        const ferry::v1::NodeConfig& target);

// The config `delta` describes when applied on top of `base`, entries in the
// planner's order and version set from the delta. The inverse of
// ComputeDelta; used to check a delta before it is sent and by tests.
ferry::v1::NodeConfig ApplyDelta(const ferry::v1::NodeConfig& base,
                                 const ferry::v1::NodeConfigDelta& delta);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_CONFIG_DELTA_H_
