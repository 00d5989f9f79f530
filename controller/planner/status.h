#ifndef FERRY_CONTROLLER_PLANNER_STATUS_H_
#define FERRY_CONTROLLER_PLANNER_STATUS_H_

// What a forward's status should say, from its resolution and what each
// involved node reported. Pure: the clock comes in as `now`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "api/lib/conditions.h"
#include "controller/planner/data_path.h"
#include "controller/planner/plan_forward.h"
#include "controller/planner/planner.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// The status vocabulary is the API's (api/lib/conditions.h).
using api::kConditionAccepted;
using api::kConditionDataPathVerified;
using api::kConditionDrifted;
using api::kConditionInSync;
using api::kConditionReady;
using api::kReasonApplied;
using api::kReasonApplyFailed;
using api::kReasonDriftDetected;
using api::kReasonInSync;
using api::kReasonNotAccepted;
using api::kReasonNotProbed;
using api::kReasonPending;
using api::kReasonProbeFailed;
using api::kReasonRolledBack;
using api::kReasonUnproven;
using api::kReasonVerified;
using api::kStateApplied;
using api::kStateFailed;
using api::kStatePending;

// One node's report about one forward.
inline constexpr char kReasonRolloutStopped[] = "RolloutStopped";

struct NodeAckInfo {
  // The forward's generation in the node's last ACKed config; absent if
  // that config did not contain the forward (or nothing was ACKed).
  std::optional<int64_t> acked_generation;
  // The node rejected the push that carries the forward's current state.
  bool nacked = false;
  std::string error;  // the agent's error when nacked
  // When the push carrying the forward's generation went to the node, if
  // it is still unanswered on the node's live stream: the node is busy
  // applying it rather than behind.
  std::optional<absl::Time> in_flight_since;
  // A frontend's latest data-path verdict on the forward, of whichever
  // generation it last probed; none before its first.
  std::optional<DataPathVerdict> data_path;
  // The node's agent probes (CAPABILITY_DATA_PATH_PROBE).
  bool probes = false;
};

// One difference a node reported for a forward and did not repair.
struct ForwardDrift {
  std::string node;
  ferry::v1::DriftItem item;
};

// "<object>: expected \"..\", found \"..\"", or "missing" / "unexpected" when
// one side is empty.
std::string DescribeDrift(const ferry::v1::DriftItem& item);

// Drifted: True (DriftDetected) while any involved node reports unrepaired
// drift of the forward, naming node, object, expected and found; else False
// (InSync). Repairs under driftPolicy Enforce are events, not this.
ferry::v1::Condition DriftedCondition(ForwardRef forward, const std::vector<ForwardDrift>& drift);

// The Node's InSync condition from its agent's latest drift report.
ferry::v1::Condition InSyncCondition(const ferry::v1::DriftReport& report, int64_t generation);

// Accepted: True (Accepted) or False with the resolution's reason and
// message, at `generation`. Also what an apply's dry run reports.
ferry::v1::Condition AcceptedCondition(const ForwardResolution& resolution, int64_t generation);

// DataPathVerified: True when every frontend's latest probe passed, False
// (ProbeFailed) when any failed, naming the nodes and what they saw, else
// Unknown: NotProbed while a frontend has no verdict, Unproven when a probe
// could not tell (UDP without a reply).
ferry::v1::Condition DataPathCondition(ForwardRef forward, const ForwardResolution& resolution,
                                       const std::map<std::string, NodeAckInfo>& node_acks);

ferry::v1::IPForwardStatus ComputeStatus(ForwardRef forward, const ForwardResolution& resolution,
                                         const std::map<std::string, NodeAckInfo>& node_acks,
                                         absl::Time now,
                                         const ferry::v1::IPForwardStatus& previous);

// Sets `condition` on `conditions`, keeping last_transition_time from the
// existing entry of that type when its status is unchanged. Shared with the
// Node writer.
void SetCondition(ferry::v1::Condition condition, absl::Time now,
                  const google::protobuf::RepeatedPtrField<ferry::v1::Condition>& previous,
                  google::protobuf::RepeatedPtrField<ferry::v1::Condition>* conditions);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_STATUS_H_
