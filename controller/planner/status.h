#ifndef FERRY_CONTROLLER_PLANNER_STATUS_H_
#define FERRY_CONTROLLER_PLANNER_STATUS_H_

// What a forward's status should say, from its resolution and what each
// involved node reported. Pure: the clock comes in as `now`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "controller/planner/planner.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

inline constexpr char kConditionAccepted[] = "Accepted";
inline constexpr char kConditionReady[] = "Ready";
inline constexpr char kReasonApplied[] = "Applied";
inline constexpr char kReasonPending[] = "Pending";
inline constexpr char kReasonApplyFailed[] = "ApplyFailed";
inline constexpr char kReasonNotAccepted[] = "NotAccepted";

inline constexpr char kStatePending[] = "Pending";
inline constexpr char kStateApplied[] = "Applied";
inline constexpr char kStateFailed[] = "Failed";

// One node's report about one forward.
struct NodeAckInfo {
  // The forward's generation in the node's last ACKed config; absent if
  // that config did not contain the forward (or nothing was ACKed).
  std::optional<int64_t> acked_generation;
  // The node rejected the push that carries the forward's current state.
  bool nacked = false;
  std::string error;  // the agent's error when nacked
};

ferry::v1::IPForwardStatus ComputeStatus(const ferry::v1::IPForward& forward,
                                         const ForwardResolution& resolution,
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
