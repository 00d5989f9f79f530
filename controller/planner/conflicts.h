#ifndef FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
#define FERRY_CONTROLLER_PLANNER_CONFLICTS_H_

#include <vector>

#include "absl/status/status.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::controller {

// Two forwards conflict if they claim the same frontend node, address,
// protocol and an overlapping port, or if they send the same backend
// address/protocol/port through one frontend node with different sourceIP
// modes (the masquerade set is keyed on the backend tuple). Returns
// ALREADY_EXISTS naming both forwards and the field, e.g.
//   "spec.ports[0]: TCP 192.0.2.1:80 on node node-a is already claimed by ipforward/web"
// Forwards with the candidate's name are ignored (an update of itself).
absl::Status CheckConflicts(const ferry::v1::IPForward& candidate,
                            const std::vector<ferry::v1::IPForward>& existing);

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_PLANNER_CONFLICTS_H_
