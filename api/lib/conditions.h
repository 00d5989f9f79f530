#ifndef FERRY_API_LIB_CONDITIONS_H_
#define FERRY_API_LIB_CONDITIONS_H_

// The status vocabulary the controller writes and ferryctl reads: condition
// types, their reasons, and how a condition is looked up.

#include <string>

#include "absl/strings/string_view.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/repeated_field.h"

namespace ferry::api {

inline constexpr char kConditionAccepted[] = "Accepted";
inline constexpr char kConditionReady[] = "Ready";
inline constexpr char kConditionDrifted[] = "Drifted";
inline constexpr char kConditionInSync[] = "InSync";
inline constexpr char kConditionConnected[] = "Connected";  // a Node's agent stream
// A forward's probe, through its DNAT, tunnel, backend and return path.
inline constexpr char kConditionDataPathVerified[] = "DataPathVerified";

inline constexpr char kReasonAccepted[] = "Accepted";
inline constexpr char kReasonDriftDetected[] = "DriftDetected";
inline constexpr char kReasonInSync[] = "InSync";
inline constexpr char kReasonApplied[] = "Applied";
inline constexpr char kReasonPending[] = "Pending";
inline constexpr char kReasonApplyFailed[] = "ApplyFailed";
inline constexpr char kReasonNotAccepted[] = "NotAccepted";
// DataPathVerified's reasons, which are also DataPathVerdict.reason's.
inline constexpr char kReasonVerified[] = "Verified";        // True
inline constexpr char kReasonProbeFailed[] = "ProbeFailed";  // False
inline constexpr char kReasonUnproven[] = "Unproven";        // Unknown: e.g. UDP without a reply
inline constexpr char kReasonNotProbed[] = "NotProbed";      // Unknown: no verdict (yet)
// Ready=False after rollback OnProbeFailure returned the nodes to an earlier
// generation.
inline constexpr char kReasonRolledBack[] = "RolledBack";

// A node's state for one forward (NodeForwardStatus.state).
inline constexpr char kStatePending[] = "Pending";
inline constexpr char kStateApplied[] = "Applied";
inline constexpr char kStateFailed[] = "Failed";

using Conditions = google::protobuf::RepeatedPtrField<ferry::v1::Condition>;

// The condition of `type` (case-insensitive, as kubectl wait matches), or
// nullptr.
const ferry::v1::Condition* FindCondition(const Conditions& conditions, absl::string_view type);

// "True", "False" or "Unknown" (also when the condition is absent).
std::string ConditionStatus(const Conditions& conditions, absl::string_view type);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_CONDITIONS_H_
